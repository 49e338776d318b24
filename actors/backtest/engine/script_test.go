package engine

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// script is a test strategy: it places, cancels and arms what its hooks
// say, and records every call with the Position it saw.
type script struct {
	strategy.Base
	onBar   func(c *strategy.Context, i int, b *strategy.Bar)
	onOrder func(c *strategy.Context, u *strategy.OrderUpdate)
	ticks   bool
	bars    int
	calls   []call
}

// call is one recorded call.
type call struct {
	kind  string // "bar", "order", "fill", "timer", "tick"
	nowMs int64
	pos   strategy.Position
	bar   strategy.Bar
	u     strategy.OrderUpdate
	f     strategy.Fill
	tick  strategy.Tick
	timer int
}

func (s *script) OnBar(c *strategy.Context, b *strategy.Bar) {
	s.calls = append(s.calls, call{kind: "bar", nowMs: c.NowMs, pos: c.Position, bar: *b})
	if s.onBar != nil {
		s.onBar(c, s.bars, b)
	}
	s.bars++
}

func (s *script) OnOrder(c *strategy.Context, u *strategy.OrderUpdate) {
	s.calls = append(s.calls, call{kind: "order", nowMs: c.NowMs, pos: c.Position, u: *u})
	if s.onOrder != nil {
		s.onOrder(c, u)
	}
}

func (s *script) OnFill(c *strategy.Context, f *strategy.Fill) {
	s.calls = append(s.calls, call{kind: "fill", nowMs: c.NowMs, pos: c.Position, f: *f})
}

func (s *script) OnTimer(c *strategy.Context, id int) {
	s.calls = append(s.calls, call{kind: "timer", nowMs: c.NowMs, pos: c.Position, timer: id})
}

func (s *script) OnTick(c *strategy.Context, t *strategy.Tick) {
	s.calls = append(s.calls, call{kind: "tick", nowMs: c.NowMs, pos: c.Position, tick: *t})
}

func (s *script) Feeds() strategy.Feeds {
	if s.ticks {
		return strategy.FeedTicks
	}
	return 0
}

func (s *script) Save() ([]byte, error) { return nil, nil }
func (s *script) Restore([]byte) error  { return nil }

// of returns the recorded calls of one kind.
func (s *script) of(kind string) []call {
	var out []call
	for _, c := range s.calls {
		if c.kind == kind {
			out = append(out, c)
		}
	}
	return out
}

// trace renders the calls but bars, for comparisons.
func (s *script) trace() []string {
	var out []string
	for _, c := range s.calls {
		switch c.kind {
		case "order":
			out = append(out, fmt.Sprintf("order #%d %s filled %g", c.u.Ref, statusName(c.u.Status), c.u.Filled))
		case "fill":
			out = append(out, fmt.Sprintf("fill #%d %s %g @ %g", c.f.Ref, c.f.Side, c.f.Quantity, c.f.Price))
		}
	}
	return out
}

func statusName(s strategy.Status) string {
	return [...]string{"?", "PENDING", "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED", "UNKNOWN", "LOST"}[s]
}

var registerScript sync.Once

// scriptKind is the kind under which the test strategy is built: its
// params carry the *script itself.
const scriptKind = "test_engine_script"

// runScript runs s on bars with the given config changes.
func runScript(t *testing.T, s *script, bars []strategy.Bar, mod func(*Config)) *Result {
	t.Helper()
	registerScript.Do(func() {
		strategy.Register(scriptKind, func(p map[string]any) (strategy.Strategy, error) {
			s, _ := p["script"].(*script)
			if s == nil {
				return nil, fmt.Errorf("script: required")
			}
			return s, nil
		})
	})
	cfg := Config{
		Legs: []Leg{{Name: "s", Kind: scriptKind, Params: map[string]any{"script": s}, Symbol: "BTCUSDT",
			Interval: "1m", Allocation: 10_000, Bars: bars}},
		MakerFee: 0.001, TakerFee: 0.002, Slippage: 0.001,
	}
	if mod != nil {
		mod(&cfg)
	}
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// near compares floats to 1e-9 relative.
func near(a, b float64) bool {
	d := a - b
	if d < 0 {
		d = -d
	}
	return d <= 1e-9*max(1, abs(a), abs(b))
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}

// placeAt returns an onBar hook placing o on bar i.
func placeAt(i int, o strategy.Order) func(*strategy.Context, int, *strategy.Bar) {
	return func(c *strategy.Context, at int, _ *strategy.Bar) {
		if at == i {
			c.Place(o)
		}
	}
}
