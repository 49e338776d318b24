package sma

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/actors/strategies/strategy/strategytest"
)

func mustNew(t testing.TB, params map[string]any) strategy.Strategy {
	t.Helper()
	s, err := strategy.New(Kind, params)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCrossOrders(t *testing.T) {
	tests := []struct {
		name   string
		params map[string]any
		closes []float64
		want   []string
	}{
		{
			name:   "up then down: buy then close",
			params: map[string]any{"fast": int64(2), "slow": int64(3), "quantity": 0.5},
			// ready at bar 2 below (sign -1); bar 3 crosses up; bar 6 crosses down.
			closes: []float64{10, 9, 8, 12, 13, 14, 5, 4},
			want: []string{
				"bar 3: place #1 BUY MARKET 0.5 @ 0",
				"bar 6: place #2 SELL MARKET 0.5 @ 0",
			},
		},
		{
			name:   "fraction of the allocation",
			params: map[string]any{"fast": int64(2), "slow": int64(3), "fraction": 0.5, "step": 0.001},
			closes: []float64{10, 9, 8, 12},
			// available 1000 * 0.5 / (12 * 1.002), the fee reserve kept: 41.583...
			want: []string{"bar 3: place #1 BUY MARKET 41.583 @ 0"},
		},
		{
			name:   "first sign sets no signal",
			params: map[string]any{"fast": int64(2), "slow": int64(3), "quantity": 1.0},
			closes: []float64{8, 9, 10, 11, 12},
			want:   nil,
		},
		{
			name:   "flat series: no order",
			params: map[string]any{"fast": int64(2), "slow": int64(3), "quantity": 1.0},
			closes: []float64{10, 10, 10, 10, 10},
			want:   nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := strategytest.New(mustNew(t, tc.params), 1000, 0)
			d.Closes(tc.closes...)
			if got := d.Places(); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("orders:\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestNoSecondOrderWhileInFlight(t *testing.T) {
	s := mustNew(t, map[string]any{"fast": int64(2), "slow": int64(3), "quantity": 1.0})
	d := strategytest.New(s, 1000, 0)
	d.Fill = false // orders never complete
	d.Closes(10, 9, 8, 12, 13, 14, 5, 4, 20, 21)
	if got := d.Places(); len(got) != 1 {
		t.Fatalf("want only the first order while it is in flight, got %q", got)
	}
}

func TestBadParams(t *testing.T) {
	tests := []struct {
		params map[string]any
		want   string
	}{
		{map[string]any{"fast": int64(0)}, "fast: must be within"},
		{map[string]any{"fast": 2.5}, "fast: must be a whole number"},
		{map[string]any{"fast": "ten"}, "fast: must be a whole number"},
		{map[string]any{"fast": int64(30), "slow": int64(10)}, "slow: must be > fast"},
		{map[string]any{"quantity": 1.0, "fraction": 0.5}, "quantity: set quantity or fraction"},
		{map[string]any{"fraction": 1.5}, "fraction: must be within"},
		{map[string]any{"quantity": -1.0}, "quantity: must be within"},
		{map[string]any{"quantity": 0.0}, "quantity: must be > 0"},
		{map[string]any{"speed": int64(3)}, "speed: unknown param"},
	}
	for _, tc := range tests {
		_, err := strategy.New(Kind, tc.params)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("params %v: error %v, want prefix %q", tc.params, err, tc.want)
		}
	}
}

// series is a deterministic wavy price series with crosses in both ways.
func series(n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = 100 + 10*math.Sin(float64(i)/7) + 3*math.Sin(float64(i)/2.3)
	}
	return out
}

func TestSaveRestoreSameBehaviour(t *testing.T) {
	params := map[string]any{"fast": int64(5), "slow": int64(12), "fraction": 0.9}
	closes := series(400)
	whole := strategytest.New(mustNew(t, params), 1000, 0)
	whole.Closes(closes...)
	if len(whole.Events) < 6 {
		t.Fatalf("series gives only %d orders: not a useful test", len(whole.Events))
	}

	first := strategytest.New(mustNew(t, params), 1000, 0)
	first.Closes(closes[:173]...)
	state, err := first.S.Save()
	if err != nil {
		t.Fatal(err)
	}
	restored := mustNew(t, params)
	if err := restored.Restore(state); err != nil {
		t.Fatal(err)
	}
	second := strategytest.New(restored, 1000, first.C.LastRef())
	second.C.Position = first.C.Position // the driver keeps the book, not the strategy
	second.Closes(closes[173:]...)

	var got []strategy.Action
	for _, e := range append(first.Events, second.Events...) {
		got = append(got, e.Action)
	}
	var want []strategy.Action
	for _, e := range whole.Events {
		want = append(want, e.Action)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore:\n got %v\nwant %v", got, want)
	}
}

func TestRestoreRejectsBadState(t *testing.T) {
	s := mustNew(t, map[string]any{"fast": int64(5), "slow": int64(12)})
	good, _ := s.Save()
	other := mustNew(t, map[string]any{"fast": int64(5), "slow": int64(13)})
	if err := other.Restore(good); err == nil || !strings.Contains(err.Error(), "params say") {
		t.Fatalf("restore with other params: %v", err)
	}
	for _, bad := range [][]byte{nil, {9}, good[:20], append(append([]byte{}, good...), 0)} {
		if err := s.Restore(bad); err == nil {
			t.Fatalf("restore of %d bytes: no error", len(bad))
		}
	}
}

// BenchmarkSMACrossBars drives sma_cross synchronously, as the backtester
// will: one reused context, actions read and dropped after each bar.
func BenchmarkSMACrossBars(b *testing.B) {
	s := mustNew(b, map[string]any{"fast": int64(10), "slow": int64(30), "quantity": 1.0})
	c := strategy.NewContext("BTCUSDT", 0)
	c.Position.Allocation, c.Position.Available = 1e9, 1e9
	closes := series(4096)
	bar := strategy.Bar{}
	var u strategy.OrderUpdate // the driver's, reused like the bar
	orders := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := closes[i&4095]
		bar.Open, bar.High, bar.Low, bar.Close, bar.CloseTimeMs = p, p, p, p, int64(i)
		c.Begin(bar.CloseTimeMs)
		s.OnBar(c, &bar)
		for _, a := range c.Actions() {
			if a.Kind == strategy.ActPlace {
				orders++
				u.Ref, u.Status = a.Ref, strategy.StatusFilled
				s.OnOrder(c, &u)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bars/s")
	if orders == 0 && b.N > 4096 {
		b.Fatal("no orders: the benchmark does not exercise signals")
	}
}

// FuzzRestore: a saved state comes from disk; no input may panic, and a
// state Restore accepts saves back to the same bytes.
func FuzzRestore(f *testing.F) {
	s := mustNew(f, map[string]any{"fast": int64(2), "slow": int64(3)})
	good, _ := s.Save()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		s := mustNew(t, map[string]any{"fast": int64(2), "slow": int64(3)})
		if s.Restore(b) == nil {
			if again, _ := s.Save(); !reflect.DeepEqual(again, b) {
				t.Fatalf("saved %v, restored from %v", again, b)
			}
		}
	})
}
