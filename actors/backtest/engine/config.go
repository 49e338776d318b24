package engine

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"

	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// The order actor's rules for a strategy's name and a symbol
// (actors/orders: strategyRE, symbolRE).
var (
	nameRE   = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
	symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)
)

// badConfig returns an error wrapping ErrBadConfig.
func badConfig(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
}

// checkConfig validates what does not depend on one leg.
func checkConfig(cfg *Config) error {
	if len(cfg.Legs) == 0 {
		return badConfig("no legs")
	}
	mc := matcher.Config{MakerFee: cfg.MakerFee, TakerFee: cfg.TakerFee, Slippage: cfg.Slippage}
	if err := mc.Validate(); err != nil {
		return badConfig("%v", err)
	}
	if cfg.FromMs != 0 && cfg.ToMs != 0 && cfg.FromMs >= cfg.ToMs {
		return badConfig("from (%d) must be before to (%d)", cfg.FromMs, cfg.ToMs)
	}
	syms := make([]string, 0, len(cfg.Filters))
	for sym := range cfg.Filters {
		syms = append(syms, sym)
	}
	sort.Strings(syms) // the first bad one, always the same
	for _, sym := range syms {
		f := cfg.Filters[sym]
		for _, v := range []float64{f.TickSize, f.StepSize, f.MinNotional} {
			if !(v >= 0) || math.IsInf(v, 0) {
				return badConfig("filters of %s: tick, step and minimum notional must be finite and >= 0", sym)
			}
		}
	}
	rl := cfg.Risk
	for _, v := range []float64{rl.MaxOrderNotional, rl.MaxPositionNotional, rl.PriceBand} {
		if !(v >= 0) || math.IsInf(v, 0) {
			return badConfig("risk limits must be finite and >= 0: %+v", rl)
		}
	}
	if rl.MaxOpenOrders < 0 {
		return badConfig("risk: max open orders must be >= 0, got %d", rl.MaxOpenOrders)
	}
	for _, asset := range sortedAssets(cfg.Balances) {
		if v := cfg.Balances[asset]; math.IsNaN(v) || math.IsInf(v, 0) {
			return badConfig("balance of %s: must be finite, got %v", asset, v)
		}
	}
	seen := make(map[string]bool, len(cfg.Legs))
	for i := range cfg.Legs {
		l := &cfg.Legs[i]
		switch {
		case !nameRE.MatchString(l.Name):
			return badConfig("leg %d: name %q must match %s", i, l.Name, nameRE)
		case seen[l.Name]:
			return badConfig("leg %d: name %q used twice", i, l.Name)
		case !symbolRE.MatchString(l.Symbol):
			return badConfig("leg %s: symbol %q must match %s", l.Name, l.Symbol, symbolRE)
		case !(l.Allocation >= 0) || math.IsInf(l.Allocation, 0):
			return badConfig("leg %s: allocation must be finite and >= 0, got %v", l.Name, l.Allocation)
		}
		seen[l.Name] = true
	}
	return nil
}

// buildStrategy builds a leg's strategy, naming the known kinds on an
// unknown one.
func buildStrategy(l *Leg) (strategy.Strategy, error) {
	s, err := strategy.New(l.Kind, l.Params)
	if err != nil {
		return nil, badConfig("leg %s: strategy %s: %v", l.Name, l.Kind, err)
	}
	return s, nil
}

// bound returns the bars whose open time is in [from, to) (0: unbounded)
// after checking (when check) that they are in order and sane.
func bound(l *Leg, from, to int64, check bool) ([]strategy.Bar, error) {
	bars := l.Bars
	if check {
		if err := checkBars(bars); err != nil {
			return nil, badConfig("leg %s: %v", l.Name, err)
		}
	}
	if from != 0 {
		bars = bars[sort.Search(len(bars), func(i int) bool { return bars[i].OpenTimeMs >= from }):]
	}
	if to != 0 {
		bars = bars[:sort.Search(len(bars), func(i int) bool { return bars[i].OpenTimeMs >= to })]
	}
	if len(bars) == 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "leg %s: no bars", l.Name)
		if from != 0 || to != 0 {
			fmt.Fprintf(&b, " with an open time in [%d, %d)", from, to)
		}
		return nil, badConfig("%s", b.String())
	}
	return bars, nil
}

// checkBars reports the first bar out of order (open and close times must
// both rise) or not sane (prices > 0 and finite, low <= open, close <=
// high, volume >= 0 and finite, close time >= open time).
func checkBars(bars []strategy.Bar) error {
	for i := range bars {
		b := &bars[i]
		// Written so that a NaN anywhere fails a comparison.
		sane := b.Low > 0 && b.High < math.Inf(1) && b.Open >= b.Low && b.Open <= b.High &&
			b.Close >= b.Low && b.Close <= b.High && b.Volume >= 0 && b.Volume < math.Inf(1) &&
			b.CloseTimeMs >= b.OpenTimeMs
		if !sane {
			return fmt.Errorf("bar %d (open time %d) is not a sane bar: %+v", i, b.OpenTimeMs, *b)
		}
		if i > 0 && (b.OpenTimeMs <= bars[i-1].OpenTimeMs || b.CloseTimeMs <= bars[i-1].CloseTimeMs) {
			return fmt.Errorf("bar %d (open time %d) is not after bar %d (open time %d)", i, b.OpenTimeMs, i-1, bars[i-1].OpenTimeMs)
		}
	}
	return nil
}

// positive reports whether v is a positive finite number.
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

// sortedAssets lists a balance map's assets, sorted.
func sortedAssets(m map[string]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
