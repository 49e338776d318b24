package grid

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/actors/strategies/strategy/strategytest"
)

var params = map[string]any{"lower": 90.0, "upper": 110.0, "levels": int64(5), "quantity": 0.1}

func mustNew(t testing.TB, p map[string]any) strategy.Strategy {
	t.Helper()
	s, err := strategy.New(Kind, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func bar(i int, lo, hi, cl float64) strategy.Bar {
	return strategy.Bar{Open: cl, High: hi, Low: lo, Close: cl, CloseTimeMs: int64(i) * 60_000}
}

func TestGridOrders(t *testing.T) {
	d := strategytest.New(mustNew(t, params), 1000, 0)
	d.Bar(bar(1, 101, 103, 102)) // arms the slots buying at 90, 95, 100
	d.Bar(bar(2, 99, 102, 99))   // the buy at 100 fills: its sell at 105
	d.Bar(bar(3, 99, 106, 104))  // the sell at 105 fills: the buy at 100 again
	d.Bar(bar(4, 94, 104, 96))   // the buys at 100 and 95 fill: sells at 105 and 100
	want := []string{
		"bar 0: place #1 BUY LIMIT 0.1 @ 90",
		"bar 0: place #2 BUY LIMIT 0.1 @ 95",
		"bar 0: place #3 BUY LIMIT 0.1 @ 100",
		"bar 1: place #4 SELL LIMIT 0.1 @ 105",
		"bar 2: place #5 BUY LIMIT 0.1 @ 100",
		"bar 3: place #6 SELL LIMIT 0.1 @ 100",
		"bar 3: place #7 SELL LIMIT 0.1 @ 105",
	}
	if got := d.Places(); !reflect.DeepEqual(got, want) {
		t.Fatalf("orders:\n got %q\nwant %q", got, want)
	}
	if got := d.OpenRefs(); !reflect.DeepEqual(got, []uint64{1, 6, 7}) {
		t.Fatalf("open refs %v", got)
	}
}

func TestCanceledBuyIsRearmedAndSellReplaced(t *testing.T) {
	g := mustNew(t, params)
	c := strategy.NewContext("X", 0)
	c.Begin(0)
	g.OnBar(c, &strategy.Bar{Close: 97}) // buys at 90 and 95
	if n := len(c.Actions()); n != 2 {
		t.Fatalf("%d actions", n)
	}
	c.Begin(1)
	g.OnOrder(c, &strategy.OrderUpdate{Ref: 2, Status: strategy.StatusRejected})
	g.OnOrder(c, &strategy.OrderUpdate{Ref: 1, Status: strategy.StatusFilled, Filled: 0.1})
	if a := c.Actions(); len(a) != 1 || a[0].Order.Side != strategy.Sell || a[0].Order.Price != 95 {
		t.Fatalf("after the fill: %+v", a)
	}
	sellRef := c.Actions()[0].Ref
	c.Begin(2)
	g.OnOrder(c, &strategy.OrderUpdate{Ref: sellRef, Status: strategy.StatusCanceled, Filled: 0.04})
	g.OnBar(c, &strategy.Bar{Close: 97})
	a := c.Actions()
	if len(a) != 2 || a[0].Order.Side != strategy.Sell || math.Abs(a[0].Order.Quantity-0.06) > 1e-12 ||
		a[1].Order.Side != strategy.Buy || a[1].Order.Price != 95 {
		t.Fatalf("next bar: want the rest sold again and the rejected buy re-armed, got %+v", a)
	}
}

func TestSaveRestoreSameBehaviour(t *testing.T) {
	bars := make([]strategy.Bar, 300)
	for i := range bars {
		p := 100 + 9*math.Sin(float64(i)/5)
		bars[i] = bar(i, p-1.5, p+1.5, p)
	}
	whole := strategytest.New(mustNew(t, params), 1000, 0)
	for _, b := range bars {
		whole.Bar(b)
	}
	if len(whole.Events) < 20 {
		t.Fatalf("only %d orders: not a useful test", len(whole.Events))
	}
	first := strategytest.New(mustNew(t, params), 1000, 0)
	for _, b := range bars[:131] {
		first.Bar(b)
	}
	state, err := first.S.Save()
	if err != nil {
		t.Fatal(err)
	}
	restored := mustNew(t, params)
	if err := restored.Restore(state); err != nil {
		t.Fatal(err)
	}
	// The second driver takes over the first's open orders and book.
	second := strategytest.New(restored, 1000, first.C.LastRef())
	second.C.Position = first.C.Position
	second.Adopt(first)
	for _, b := range bars[131:] {
		second.Bar(b)
	}
	var got, want []strategy.Action
	for _, e := range append(first.Events, second.Events...) {
		got = append(got, e.Action)
	}
	for _, e := range whole.Events {
		want = append(want, e.Action)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore: %d actions, want %d\n got %v\nwant %v", len(got), len(want), got, want)
	}
}

func TestBadParamsAndState(t *testing.T) {
	tests := []struct {
		p    map[string]any
		want string
	}{
		{map[string]any{"upper": 110.0, "levels": int64(5), "quantity": 0.1}, "lower: must be > 0"},
		{map[string]any{"lower": 90.0, "upper": 80.0, "levels": int64(5), "quantity": 0.1}, "upper: must be > lower"},
		{map[string]any{"lower": 90.0, "upper": 110.0, "levels": int64(1), "quantity": 0.1}, "levels: must be within"},
		{map[string]any{"lower": 90.0, "upper": 110.0, "quantity": 0.1}, "levels: required"},
		{map[string]any{"lower": 90.0, "upper": 110.0, "levels": int64(5)}, "quantity: must be > 0"},
		{map[string]any{"lower": "90", "upper": 110.0, "levels": int64(5), "quantity": 0.1}, "lower: must be a number"},
	}
	for _, tc := range tests {
		if _, err := strategy.New(Kind, tc.p); err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("params %v: error %v, want prefix %q", tc.p, err, tc.want)
		}
	}
	g := mustNew(t, params)
	good, _ := g.Save()
	other := mustNew(t, map[string]any{"lower": 90.0, "upper": 110.0, "levels": int64(6), "quantity": 0.1})
	if err := other.Restore(good); err == nil {
		t.Fatal("restore with other levels: no error")
	}
	huge := append([]byte{stateVersion}, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0)
	for _, bad := range [][]byte{nil, {7}, good[:10], huge, append(append([]byte{}, good...), 1)} {
		if err := g.Restore(bad); err == nil {
			t.Fatalf("restore of %v: no error", bad)
		}
	}
}

// FuzzRestore: a saved state comes from disk; no input may panic, and a
// state Restore accepts saves back to the same bytes.
func FuzzRestore(f *testing.F) {
	good, _ := mustNew(f, params).Save()
	f.Add(good)
	f.Fuzz(func(t *testing.T, b []byte) {
		g := mustNew(t, params)
		if g.Restore(b) == nil {
			if again, _ := g.Save(); !reflect.DeepEqual(again, b) {
				t.Fatalf("saved %v, restored from %v", again, b)
			}
		}
	})
}
