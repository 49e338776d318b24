package strategy

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Factory builds a strategy from its params ([trading.strategies.NAME]
// params, as TOML or JSON decoded them). An error names the param first
// ("fast: must be ..."); ReadParams helps with that.
type Factory func(params map[string]any) (Strategy, error)

// ErrUnknownKind is returned by New for a kind nobody registered.
var ErrUnknownKind = errors.New("unknown strategy kind")

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
)

// Register makes a kind available. It panics on an empty kind, a nil
// factory or a kind registered twice: those are programming errors, made
// at init time.
func Register(kind string, f Factory) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" || f == nil {
		panic("strategy: Register needs a kind and a factory")
	}
	if _, dup := registry[kind]; dup {
		panic("strategy: kind " + kind + " registered twice")
	}
	registry[kind] = f
}

// Kinds lists the registered kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds a strategy of a registered kind from its params.
func New(kind string, params map[string]any) (Strategy, error) {
	registryMu.RLock()
	f := registry[kind]
	registryMu.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownKind, kind, strings.Join(Kinds(), ", "))
	}
	return f(params)
}

// Params reads a factory's params with typed getters whose errors start
// with the param's name, and tells the ones no getter asked for (Done).
type Params struct {
	raw  map[string]any
	used map[string]bool
}

// ReadParams wraps a factory's params.
func ReadParams(params map[string]any) Params {
	return Params{raw: params, used: map[string]bool{}}
}

// Done returns an error naming a param no getter asked for (a typo).
func (p Params) Done() error {
	var unknown []string
	for k := range p.raw {
		if !p.used[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("%s: unknown param", unknown[0])
}

// Has reports whether key is set.
func (p Params) Has(key string) bool {
	_, ok := p.raw[key]
	if ok {
		p.used[key] = true
	}
	return ok
}

// Float returns key as a number within [lo, hi], or def when absent.
func (p Params) Float(key string, def, lo, hi float64) (float64, error) {
	v, ok := p.raw[key]
	if !ok {
		return def, nil
	}
	p.used[key] = true
	f, ok := number(v)
	if !ok {
		return 0, fmt.Errorf("%s: must be a number, got %T", key, v)
	}
	if math.IsNaN(f) || f < lo || f > hi {
		return 0, fmt.Errorf("%s: must be within [%g, %g], got %g", key, lo, hi, f)
	}
	return f, nil
}

// Int returns key as a whole number within [lo, hi], or def when absent.
func (p Params) Int(key string, def, lo, hi int) (int, error) {
	v, ok := p.raw[key]
	if !ok {
		return def, nil
	}
	p.used[key] = true
	f, ok := number(v)
	if !ok || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s: must be a whole number, got %v", key, v)
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("%s: must be within [%d, %d], got %v", key, lo, hi, v)
	}
	return int(f), nil
}

// number accepts the numeric types TOML and JSON decoders produce.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case int:
		return float64(n), true
	case float64:
		return n, true
	case int32:
		return float64(n), true
	case float32:
		return float64(n), true
	}
	return 0, false
}
