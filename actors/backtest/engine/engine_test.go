package engine

import (
	"context"
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

func TestRunSMATrades(t *testing.T) {
	res, err := Run(context.Background(), smaConfig(5000), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Bars != 5000 || len(res.Equity) != 5000 {
		t.Fatalf("bars %d, equity points %d, want 5000", res.Bars, len(res.Equity))
	}
	if len(res.Orders) < 10 || len(res.Fills) != len(res.Orders) {
		t.Fatalf("%d orders, %d fills: sma_cross should trade market orders, each filled once", len(res.Orders), len(res.Fills))
	}
	for i, o := range res.Orders {
		if o.Status != "FILLED" || o.Type != "MARKET" || o.ID != "bench_"+itoa(o.Ref) {
			t.Fatalf("order %d: %+v", i, o)
		}
	}
}

func itoa(v uint64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + v%10)}, b...)
		v /= 10
		if v == 0 {
			return string(b)
		}
	}
}

func TestRunRefusesBadConfigs(t *testing.T) {
	good := func() Config { return smaConfig(100) }
	cases := map[string]struct {
		mod  func(*Config)
		want string
	}{
		"no legs":       {func(c *Config) { c.Legs = nil }, "no legs"},
		"unknown kind":  {func(c *Config) { c.Legs[0].Kind = "nope" }, "sma_cross"},
		"bad params":    {func(c *Config) { c.Legs[0].Params = map[string]any{"fast": 50, "slow": 10} }, "slow: must be > fast"},
		"no bars":       {func(c *Config) { c.Legs[0].Bars = nil }, "no bars"},
		"out of order":  {func(c *Config) { c.Legs[0].Bars[5], c.Legs[0].Bars[6] = c.Legs[0].Bars[6], c.Legs[0].Bars[5] }, "is not after"},
		"insane bar":    {func(c *Config) { c.Legs[0].Bars[3].Low = c.Legs[0].Bars[3].High * 2 }, "not a sane bar"},
		"NaN open":      {func(c *Config) { c.Legs[0].Bars[3].Open = math.NaN() }, "not a sane bar"},
		"NaN close":     {func(c *Config) { c.Legs[0].Bars[3].Close = math.NaN() }, "not a sane bar"},
		"Inf high":      {func(c *Config) { c.Legs[0].Bars[3].High = math.Inf(1) }, "not a sane bar"},
		"zero low":      {func(c *Config) { c.Legs[0].Bars[3].Low = 0 }, "not a sane bar"},
		"NaN volume":    {func(c *Config) { c.Legs[0].Bars[3].Volume = math.NaN() }, "not a sane bar"},
		"close < open":  {func(c *Config) { c.Legs[0].Bars[3].CloseTimeMs = c.Legs[0].Bars[3].OpenTimeMs - 1 }, "not a sane bar"},
		"bad fee":       {func(c *Config) { c.TakerFee = 1 }, "taker_fee"},
		"bad symbol":    {func(c *Config) { c.Legs[0].Symbol = "btc/usdt" }, "symbol"},
		"twice a name":  {func(c *Config) { c.Legs = append(c.Legs, c.Legs[0]) }, "used twice"},
		"empty window":  {func(c *Config) { c.FromMs, c.ToMs = t0+10*minute, t0+10*minute }, "before to"},
		"window misses": {func(c *Config) { c.FromMs = t0 + 1000*minute }, "no bars with an open time"},
		"bad filter":    {func(c *Config) { c.Filters = map[string]Filters{"BTCUSDT": {TickSize: -1}} }, "filters of BTCUSDT"},
	}
	for name, c := range cases {
		cfg := good()
		c.mod(&cfg)
		_, err := Run(context.Background(), cfg, nil)
		if !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want ErrBadConfig mentioning %q", name, err, c.want)
		}
	}
}

func TestRunBoundsAndReportsProgress(t *testing.T) {
	cfg := smaConfig(3000)
	cfg.FromMs, cfg.ToMs = t0+100*minute, t0+2100*minute
	var calls int
	var last [2]int64
	res, err := Run(context.Background(), cfg, func(done, total int64) { calls++; last = [2]int64{done, total} })
	if err != nil {
		t.Fatal(err)
	}
	if res.Bars != 2000 || res.Legs[0].Bars[0].OpenTimeMs != t0+100*minute || len(res.Legs[0].Bars) != 2000 {
		t.Fatalf("bars %d from %d", res.Bars, res.Legs[0].Bars[0].OpenTimeMs)
	}
	if calls < 10 || calls > 1001 || last != [2]int64{2000, 2000} {
		t.Fatalf("%d progress calls, last %v", calls, last)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg := smaConfig(200_000)
	_, err := Run(ctx, cfg, func(done, total int64) {
		if done > 10_000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

// resting places one buy far below the market at its start, then only
// watches: every bar then goes through the matcher's four trades.
type resting struct{ strategy.Base }

func (resting) Start(c *strategy.Context) {
	c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 1, Quantity: 1})
}
func (resting) Save() ([]byte, error) { return nil, nil }
func (resting) Restore([]byte) error  { return nil }

// ticking is resting asking for the trades too.
type ticking struct{ resting }

func (ticking) Feeds() strategy.Feeds { return strategy.FeedTicks }

var registerResting sync.Once

// TestHotPathAllocatesNothingPerBar: a bar that changes no order costs no
// allocation, with nothing resting (sma_cross that cannot spend), with an
// order resting (the four trades of the path), and with ticks.
func TestHotPathAllocatesNothingPerBar(t *testing.T) {
	registerResting.Do(func() {
		strategy.Register("test_engine_resting", func(map[string]any) (strategy.Strategy, error) { return resting{}, nil })
		strategy.Register("test_engine_ticking", func(map[string]any) (strategy.Strategy, error) { return ticking{}, nil })
	})
	for _, kind := range []string{"sma_cross", "test_engine_resting", "test_engine_ticking"} {
		cfg := smaConfig(5000)
		cfg.Legs[0].Kind, cfg.Legs[0].Allocation = kind, 0
		if kind != "sma_cross" {
			cfg.Legs[0].Params = nil
		}
		r, err := newRunner(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l := r.legs[0]
		i := 0
		allocs := testing.AllocsPerRun(2000, func() {
			l.step(&l.bars[i])
			i++
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per bar", kind, allocs)
		}
		if kind != "sma_cross" && len(l.resting) != 1 {
			t.Errorf("%s: %d orders resting", kind, len(l.resting))
		}
	}
}

// TestOneLegLoopEqualsTheMerge: the single-leg loop gives what the
// general merge gives.
func TestOneLegLoopEqualsTheMerge(t *testing.T) {
	for _, kind := range []string{"sma_cross", "grid"} {
		cfg := smaConfig(20_000)
		if kind == "grid" {
			cfg.Legs[0].Kind, cfg.Legs[0].Params = kind, map[string]any{"lower": 39000.0, "upper": 41000.0, "levels": 21, "quantity": 0.01}
		}
		a, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		r, err := newRunner(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.driveMany(&pacer{ctx: context.Background(), next: math.MaxInt64}); err != nil {
			t.Fatal(err)
		}
		if b := r.result(); !reflect.DeepEqual(a, b) || len(a.Fills) < 10 {
			t.Fatalf("%s: the two loops differ (%d and %d fills)", kind, len(a.Fills), len(b.Fills))
		}
	}
}
