package engine

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// randomTrader places market and limit orders and cancels at random
// (seeded), and records every call.
func randomTrader(seed uint64) *script {
	rng := rand.New(rand.NewPCG(seed, 11))
	var open []uint64
	s := &script{}
	s.onBar = func(c *strategy.Context, _ int, b *strategy.Bar) {
		switch r := rng.IntN(10); {
		case r < 2:
			side := strategy.Side(1 + rng.IntN(2))
			c.Place(strategy.Order{Side: side, Type: strategy.Market, Quantity: 0.01 + rng.Float64()})
		case r < 5:
			side := strategy.Side(1 + rng.IntN(2))
			price := math.Round(b.Close*(1+(rng.Float64()-0.5)*0.006)*100) / 100
			open = append(open, c.Place(strategy.Order{Side: side, Type: strategy.Limit, Price: price, Quantity: 0.01 + rng.Float64()}))
		case r < 6 && len(open) > 0:
			i := rng.IntN(len(open))
			c.Cancel(open[i])
			open = append(open[:i], open[i+1:]...)
		}
	}
	return s
}

// TestNoLookAhead: over random bars and a random trader, the strategy sees
// each bar once, in order, only at its close; nothing it is told happens
// after its NowMs; and every fill's price comes from the bar its time
// lies in (maker: at the order's price, which the bar reached; taker:
// that bar's close, plus slippage for a market order), never from a later
// bar.
func TestNoLookAhead(t *testing.T) {
	const slip = 0.001
	for seed := uint64(1); seed <= 20; seed++ {
		bars := walk(400, seed, 100)
		s := randomTrader(seed)
		res := runScript(t, s, bars, func(c *Config) { c.Legs[0].Allocation = 0 })
		seen := 0
		var lastNow int64
		for _, c := range s.calls {
			if c.nowMs < lastNow {
				t.Fatalf("seed %d: time went back from %d to %d", seed, lastNow, c.nowMs)
			}
			lastNow = c.nowMs
			if seen > 0 && bars[seen-1].CloseTimeMs > c.nowMs {
				t.Fatalf("seed %d: a %s call at %d after bar %d closing at %d", seed, c.kind, c.nowMs, seen-1, bars[seen-1].CloseTimeMs)
			}
			if seen < len(bars) && c.kind != "bar" && c.nowMs > bars[seen].CloseTimeMs {
				t.Fatalf("seed %d: a %s call at %d, after bar %d closed at %d, before the strategy saw it", seed, c.kind, c.nowMs, seen, bars[seen].CloseTimeMs)
			}
			switch c.kind {
			case "bar":
				if c.bar != bars[seen] || c.nowMs != bars[seen].CloseTimeMs {
					t.Fatalf("seed %d: call %d saw %+v at %d, want bar %d %+v", seed, seen, c.bar, c.nowMs, seen, bars[seen])
				}
				seen++
			case "fill":
				if c.f.TimeMs > c.nowMs {
					t.Fatalf("seed %d: fill at %d told at %d", seed, c.f.TimeMs, c.nowMs)
				}
			}
		}
		if seen != len(bars) {
			t.Fatalf("seed %d: saw %d bars of %d", seed, seen, len(bars))
		}
		orders := map[string]Order{}
		for _, o := range res.Orders {
			orders[o.ID] = o
		}
		if len(res.Fills) < 20 {
			t.Fatalf("seed %d: only %d fills", seed, len(res.Fills))
		}
		for _, f := range res.Fills {
			j := sort.Search(len(bars), func(i int) bool { return bars[i].CloseTimeMs >= f.TimeMs })
			b, o := bars[j], orders[f.OrderID]
			if f.TimeMs < b.OpenTimeMs || o.TimeMs > f.TimeMs {
				t.Fatalf("seed %d: fill %+v of order %+v outside bar %d", seed, f, o, j)
			}
			var ok bool
			switch {
			case f.Maker && f.Side == "BUY": // the path went down to its price (or gapped through it)
				ok = f.Price == o.Price && b.Low <= f.Price
			case f.Maker:
				ok = f.Price == o.Price && b.High >= f.Price
			case o.Type == "MARKET" && f.Side == "BUY":
				ok = near(f.Price, b.Close*(1+slip)) && f.TimeMs == b.CloseTimeMs
			case o.Type == "MARKET":
				ok = near(f.Price, b.Close*(1-slip)) && f.TimeMs == b.CloseTimeMs
			default: // a limit crossing on arrival
				ok = near(f.Price, b.Close) && f.TimeMs == b.CloseTimeMs
			}
			if !ok {
				t.Fatalf("seed %d: fill %+v of order %+v does not come from bar %d %+v", seed, f, o, j, b)
			}
		}
	}
}

// aggregate makes k-minute bars of 1m bars.
func aggregate(bars []strategy.Bar, k int) []strategy.Bar {
	var out []strategy.Bar
	for i := 0; i+k <= len(bars); i += k {
		b := bars[i]
		for _, x := range bars[i+1 : i+k] {
			b.High, b.Low, b.Close, b.CloseTimeMs = max(b.High, x.High), min(b.Low, x.Low), x.Close, x.CloseTimeMs
			b.Volume += x.Volume
		}
		out = append(out, b)
	}
	return out
}

// multiLeg is three legs: sma_cross on 1m and 5m bars of one symbol, and
// a grid (resting limit orders) on another.
func multiLeg() Config {
	btc, eth := walk(6_000, 5, 40_000), walk(6_000, 6, 2_000)
	return Config{
		Legs: []Leg{
			{Name: "fast", Kind: "sma_cross", Params: map[string]any{"fast": 5, "slow": 20}, Symbol: "BTCUSDT", Allocation: 5000, Bars: btc},
			{Name: "slow", Kind: "sma_cross", Params: map[string]any{"fast": 3, "slow": 8}, Symbol: "BTCUSDT", Allocation: 5000, Bars: aggregate(btc, 5)},
			{Name: "ladder", Kind: "grid", Params: map[string]any{"lower": 1900.0, "upper": 2100.0, "levels": 21, "quantity": 0.1},
				Symbol: "ETHUSDT", Allocation: 5000, Bars: eth},
		},
		MakerFee: 0.001, TakerFee: 0.001, Slippage: 0.0005,
		Filters: map[string]Filters{"ETHUSDT": {TickSize: 0.01, StepSize: 0.0001, MinNotional: 5}},
	}
}

func TestDeterministic(t *testing.T) {
	run := func() (*Result, [32]byte) {
		res, err := Run(context.Background(), multiLeg(), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		return res, sha256.Sum256(b)
	}
	a, ha := run()
	b, hb := run()
	if !reflect.DeepEqual(a, b) || ha != hb {
		t.Fatal("two runs of the same config differ")
	}
	legs := map[int]int{}
	for _, f := range a.Fills {
		legs[f.Leg]++
	}
	if legs[0] < 10 || legs[1] < 10 || legs[2] < 10 {
		t.Fatalf("fills per leg %v: every leg should trade", legs)
	}
	// Equity: one point per distinct close time (the 5m closes are 1m
	// closes too), ascending.
	if len(a.Equity) != 6_000 || a.Bars != 6_000+1_200+6_000 {
		t.Fatalf("%d equity points, %d bars", len(a.Equity), a.Bars)
	}
	for i := 1; i < len(a.Equity); i++ {
		if a.Equity[i].TimeMs <= a.Equity[i-1].TimeMs {
			t.Fatalf("equity point %d not after the one before", i)
		}
	}
}

// TestMultiLegInTimeOrder: legs' bars interleave by close time, ties in
// leg order, and each leg's equity share adds up.
func TestMultiLegInTimeOrder(t *testing.T) {
	one := walk(10, 9, 100)
	five := aggregate(one, 5)
	var order []string
	mk := func(name string) *script {
		return &script{onBar: func(c *strategy.Context, i int, b *strategy.Bar) { order = append(order, name) }}
	}
	_ = runScript(t, &script{}, one, nil) // registers the kind
	cfg := Config{Legs: []Leg{
		{Name: "five", Kind: scriptKind, Params: map[string]any{"script": mk("5")}, Symbol: "BTCUSDT", Bars: five},
		{Name: "one", Kind: scriptKind, Params: map[string]any{"script": mk("1")}, Symbol: "BTCUSDT", Bars: one},
	}}
	res, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The 5m bar closes with the fifth 1m bar: "five" is listed first, so
	// it goes first.
	if got := joined(order); got != "111151111151" {
		t.Fatalf("order %s", got)
	}
	if len(res.Equity) != 10 {
		t.Fatalf("%d equity points", len(res.Equity))
	}
}

func joined(s []string) string {
	out := ""
	for _, x := range s {
		out += x
	}
	return out
}
