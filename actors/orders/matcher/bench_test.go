package matcher

import (
	"fmt"
	"testing"
)

// bars are 1024 bars oscillating between 99 and 101.
var bars = func() [][5]float64 {
	out := make([][5]float64, 1024)
	for i := range out {
		o := 100 + float64(i%7-3)*0.25
		out[i] = [5]float64{o, o + 0.5, o - 0.5, o + 0.1, 10}
	}
	return out
}()

func reportBars(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bars/s")
}

// BenchmarkOnBarNoOrders is the backtester's common case: a bar on a symbol
// with nothing resting.
func BenchmarkOnBarNoOrders(b *testing.B) {
	m := newMatcher(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := bars[i&1023]
		m.OnBar(sym, x[0], x[1], x[2], x[3], x[4], int64(i))
	}
	reportBars(b)
}

// BenchmarkOnBarNoOrdersManySymbols feeds 20 symbols in turn, so every
// bar looks its symbol up in the map.
func BenchmarkOnBarNoOrdersManySymbols(b *testing.B) {
	m := newMatcher(b)
	var symbols [20]string
	for i := range symbols {
		symbols[i] = fmt.Sprintf("SYM%dUSDT", i)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		x := bars[i&1023]
		m.OnBar(symbols[i%20], x[0], x[1], x[2], x[3], x[4], int64(i))
	}
	reportBars(b)
}

// BenchmarkOnBarRestingOrders drives bars over 10 resting orders (5 buys
// below the bars' range, 5 sells above): "untouched" never fills them;
// "filling" fills the best buy on every bar and places it again (the
// Submit is in the measure).
func BenchmarkOnBarRestingOrders(b *testing.B) {
	setup := func(b *testing.B) *Matcher {
		m := newMatcher(b)
		m.OnTrade(sym, 100, 1, 0)
		for i := range 5 {
			m.Submit(limit(fmt.Sprint("b", i), SideBuy, GTC, 98-float64(i), 1), 0)
			m.Submit(limit(fmt.Sprint("s", i), SideSell, GTC, 102+float64(i), 1), 0)
		}
		return m
	}
	b.Run("untouched", func(b *testing.B) {
		m := setup(b)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			x := bars[i&1023]
			m.OnBar(sym, x[0], x[1], x[2], x[3], x[4], int64(i))
		}
		reportBars(b)
		if n := len(m.Open()); n != 10 {
			b.Fatalf("open = %d, want 10", n)
		}
	})
	b.Run("filling", func(b *testing.B) {
		m := setup(b)
		m.Cancel("b0", 0)
		again := limit("b0", SideBuy, GTC, 99, 1)
		m.Submit(again, 0)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_, fills := m.OnBar(sym, 100, 100.5, 99, 99.5, 1, int64(i))
			if len(fills) != 1 {
				b.Fatalf("fills = %+v, want 1", fills)
			}
			m.Submit(again, int64(i))
		}
		reportBars(b)
	})
}

// BenchmarkSubmitMarket measures a MARKET order: "best-level" fills at the
// best level of a deep book; "walk-3-levels" gives a 20-level book and then
// walks 3 of its levels (OnBook is in the measure).
func BenchmarkSubmitMarket(b *testing.B) {
	b.Run("best-level", func(b *testing.B) {
		m := newMatcher(b)
		m.OnBook(sym, []Level{{99, 1e12}}, []Level{{100, 1e12}}, 0)
		buy, sell := market("m", SideBuy, 0.01), market("m", SideSell, 0.01)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o := buy
			if i&1 == 1 {
				o = sell
			}
			if u, _ := m.Submit(o, int64(i)); u.Status != StatusFilled {
				b.Fatal(u)
			}
		}
	})
	b.Run("walk-3-levels", func(b *testing.B) {
		m := newMatcher(b)
		bids, asks := make([]Level, 20), make([]Level, 20)
		for i := range 20 {
			bids[i] = Level{99 - 0.01*float64(i), 1}
			asks[i] = Level{100 + 0.01*float64(i), 1}
		}
		o := market("m", SideBuy, 2.5)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			m.OnBook(sym, bids, asks, int64(i))
			if u, fills := m.Submit(o, int64(i)); u.Status != StatusFilled || len(fills) != 3 {
				b.Fatal(u, fills)
			}
		}
	})
}
