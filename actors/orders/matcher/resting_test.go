package matcher

import (
	"errors"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// restingBook has, on an empty-market matcher that only saw a trade at 100,
// buys b1 at 95 (1), b2 at 95 (2, later), b3 at 94 (1) and sells s1 at 105
// (1), s2 at 106 (2).
func restingBook(t testing.TB) *Matcher {
	t.Helper()
	m := newMatcher(t)
	m.OnTrade(sym, 100, 1, 1)
	for _, o := range []Order{
		limit("b1", SideBuy, GTC, 95, 1), limit("b2", SideBuy, GTC, 95, 2), limit("b3", SideBuy, GTC, 94, 1),
		limit("s1", SideSell, GTC, 105, 1), limit("s2", SideSell, GTC, 106, 2),
	} {
		if u, f := m.Submit(o, 1); u.Status != StatusNew || f != nil {
			t.Fatalf("setup %s: %+v %v", o.ID, u, f)
		}
	}
	return m
}

// idq is a fill's order, price and quantity.
type idq struct {
	ID         string
	Price, Qty float64
}

func idqs(fs []Fill) []idq {
	var out []idq
	for _, f := range fs {
		out = append(out, idq{f.OrderID, f.Price, f.Qty})
	}
	return out
}

func statuses(us []Update) map[string]string {
	out := map[string]string{}
	for _, u := range us {
		out[u.OrderID] = u.Status
	}
	return out
}

func TestRestingOrdersFillAsMaker(t *testing.T) {
	tests := []struct {
		name     string
		event    func(m *Matcher) ([]Update, []Fill)
		fills    []idq
		statuses map[string]string
		open     []string
	}{
		{"a trade above the buys fills nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade(sym, 96, 5, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
		{"a trade at the price fills in time priority, up to its quantity", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade(sym, 95, 2, 9) },
			[]idq{{"b1", 95, 1}, {"b2", 95, 1}}, map[string]string{"b1": StatusFilled, "b2": StatusPartiallyFilled},
			[]string{"b2", "b3", "s1", "s2"}},
		{"a trade through fills at the limit price, best price first", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade(sym, 90, 10, 9) },
			[]idq{{"b1", 95, 1}, {"b2", 95, 2}, {"b3", 94, 1}},
			map[string]string{"b1": StatusFilled, "b2": StatusFilled, "b3": StatusFilled}, []string{"s1", "s2"}},
		{"a trade up through the sells fills them", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade(sym, 105.5, 1.5, 9) },
			[]idq{{"s1", 105, 1}}, map[string]string{"s1": StatusFilled}, []string{"b1", "b2", "b3", "s2"}},
		{"a book moving through fills up to the levels within the price", func(m *Matcher) ([]Update, []Fill) {
			return m.OnBook(sym, []Level{{93, 1}}, []Level{{94.5, 0.5}, {95, 1}, {96, 9}}, 9)
		}, []idq{{"b1", 95, 1}, {"b2", 95, 0.5}}, map[string]string{"b1": StatusFilled, "b2": StatusPartiallyFilled},
			[]string{"b2", "b3", "s1", "s2"}},
		{"a book bid through the sells fills them", func(m *Matcher) ([]Update, []Fill) {
			return m.OnBook(sym, []Level{{107, 5}}, []Level{{108, 1}}, 9)
		}, []idq{{"s1", 105, 1}, {"s2", 106, 2}}, map[string]string{"s1": StatusFilled, "s2": StatusFilled},
			[]string{"b1", "b2", "b3"}},
		{"a bar whose range holds the price fills it", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 97, 98, 94.5, 96, 100, 9) },
			[]idq{{"b1", 95, 1}, {"b2", 95, 2}}, map[string]string{"b1": StatusFilled, "b2": StatusFilled},
			[]string{"b3", "s1", "s2"}},
		{"a bar that gapped below the buys fills them at their price", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 90, 91, 89, 90, 100, 9) },
			[]idq{{"b1", 95, 1}, {"b2", 95, 2}, {"b3", 94, 1}},
			map[string]string{"b1": StatusFilled, "b2": StatusFilled, "b3": StatusFilled}, []string{"s1", "s2"}},
		{"a bar's volume caps the fills", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 104, 110, 100, 104, 1.5, 9) },
			[]idq{{"s1", 105, 1}, {"s2", 106, 0.5}}, map[string]string{"s1": StatusFilled, "s2": StatusPartiallyFilled},
			[]string{"b1", "b2", "b3", "s2"}},
		{"a bar without volume fills nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 90, 110, 80, 100, 0, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
		{"a bar out of the range fills nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 100, 104, 96, 100, 50, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
		{"another symbol's trade fills nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade("ETHUSDT", 1, 100, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
		{"a bad trade changes nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnTrade(sym, -90, 100, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
		{"a bar with low above high changes nothing", func(m *Matcher) ([]Update, []Fill) { return m.OnBar(sym, 90, 80, 100, 90, 100, 9) },
			nil, map[string]string{}, []string{"b1", "b2", "b3", "s1", "s2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := restingBook(t)
			ups, fills := tc.event(m)
			if d := cmp.Diff(tc.fills, idqs(fills), approx); d != "" {
				t.Errorf("fills (-want +got):\n%s", d)
			}
			for _, f := range fills {
				if !f.Maker || !approxEq(f.Fee, f.Quote*testCfg.MakerFee) || f.TimeMs != 9 {
					t.Errorf("fill %+v: want maker, fee = quote*maker fee, time 9", f)
				}
			}
			if d := cmp.Diff(tc.statuses, statuses(ups)); d != "" {
				t.Errorf("statuses (-want +got):\n%s", d)
			}
			var open []string
			for _, o := range m.Open() {
				open = append(open, o.ID)
			}
			if d := cmp.Diff(tc.open, open); d != "" {
				t.Errorf("open (-want +got):\n%s", d)
			}
		})
	}
}

func TestBookLiquidityIsTakenOnce(t *testing.T) {
	m := restingBook(t)
	// The ask at 95 (1) fills b1; b2 must not take the same quantity.
	_, fills := m.OnBook(sym, nil, []Level{{95, 1}, {99, 5}}, 2)
	if d := cmp.Diff([]idq{{"b1", 95, 1}}, idqs(fills), approx); d != "" {
		t.Fatalf("fills (-want +got):\n%s", d)
	}
	u, fills := m.Submit(market("m", SideBuy, 1), 3)
	if d := cmp.Diff([]idq{{"m", 99, 1}}, idqs(fills), approx); d != "" || u.Status != StatusFilled {
		t.Fatalf("a market order after the maker fill: %+v, fills (-want +got):\n%s", u, d)
	}
}

func TestTradeIDsIncrease(t *testing.T) {
	m := restingBook(t)
	_, f1 := m.OnTrade(sym, 90, 10, 2)
	_, f2 := m.Submit(market("m", SideSell, 1), 3)
	var ids []int64
	for _, f := range append(f1, f2...) {
		ids = append(ids, f.TradeID)
	}
	if d := cmp.Diff([]int64{1, 2, 3, 4}, ids); d != "" {
		t.Fatalf("trade ids (-want +got):\n%s", d)
	}
	m.ResumeTradeIDs(100)
	m.ResumeTradeIDs(50) // never goes back
	if _, f := m.Submit(market("m", SideSell, 1), 4); len(f) != 1 || f[0].TradeID != 101 {
		t.Fatalf("after ResumeTradeIDs(100): %+v, want trade id 101", f)
	}
}

func TestCancel(t *testing.T) {
	m := restingBook(t)
	m.OnTrade(sym, 95, 0.25, 2)
	u, ok := m.Cancel("b1", 3)
	want := Update{OrderID: "b1", Status: StatusCanceled, Executed: 0.25, Quote: 23.75}
	if !ok || !cmp.Equal(want, u, approx) {
		t.Fatalf("Cancel(b1) = %+v %v, want %+v", u, ok, want)
	}
	if _, ok := m.Cancel("b1", 4); ok {
		t.Error("a second Cancel(b1) = true, want false")
	}
	if _, ok := m.Cancel("nope", 4); ok {
		t.Error("Cancel(unknown) = true, want false")
	}
	m.OnTrade(sym, 90, 10, 5) // fills b2, b3
	if _, ok := m.Cancel("b2", 6); ok {
		t.Error("Cancel(filled b2) = true, want false")
	}
	// A canceled or filled order never fills again, and its id is free.
	if _, f := m.OnTrade(sym, 80, 10, 7); f != nil {
		t.Errorf("closed orders filled again: %+v", f)
	}
	if u, _ := m.Submit(limit("b1", SideBuy, GTC, 50, 1), 8); u.Status != StatusNew {
		t.Errorf("reusing a closed id: %+v", u)
	}
}

func TestRestoreAndOpen(t *testing.T) {
	m := newMatcher(t)
	o := limit("r1", SideSell, GTC, 110, 2)
	if err := m.Restore(o, 0.5, 55); err != nil {
		t.Fatal(err)
	}
	want := []OpenOrder{{Order: o, Executed: 0.5, Quote: 55}}
	if d := cmp.Diff(want, m.Open()); d != "" {
		t.Fatalf("Open (-want +got):\n%s", d)
	}
	ups, fills := m.OnTrade(sym, 111, 5, 2)
	if len(fills) != 1 || !approxEq(fills[0].Qty, 1.5) {
		t.Fatalf("fills = %+v, want the 1.5 left", fills)
	}
	wantU := []Update{{OrderID: "r1", Status: StatusFilled, Executed: 2, Quote: 220}}
	if d := cmp.Diff(wantU, ups, approx); d != "" {
		t.Fatalf("updates (-want +got):\n%s", d)
	}

	bad := []struct {
		name           string
		o              Order
		executed, quot float64
	}{
		{"market", market("x", SideBuy, 1), 0, 0},
		{"IOC", limit("x", SideBuy, IOC, 1, 1), 0, 0},
		{"executed all", limit("x", SideBuy, GTC, 1, 1), 1, 1},
		{"negative executed", limit("x", SideBuy, GTC, 1, 1), -1, 0},
		{"bad price", limit("x", SideBuy, GTC, 0, 1), 0, 0},
		{"NaN quote", limit("x", SideBuy, GTC, 1, 1), 0, math.NaN()},
		{"duplicate open id", limit("keep", SideBuy, GTC, 1, 1), 0, 0},
	}
	if err := m.Restore(limit("keep", SideBuy, GTC, 1, 1), 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		if err := m.Restore(b.o, b.executed, b.quot); !errors.Is(err, ErrInvalid) {
			t.Errorf("Restore %s = %v, want ErrInvalid", b.name, err)
		}
	}
	if open := m.Open(); len(open) != 1 || open[0].ID != "keep" {
		t.Fatalf("a refused Restore rested an order: %+v", open)
	}
}

func TestBookInputIsCleaned(t *testing.T) {
	m := newMatcher(t)
	// Out of order, with junk levels: sorted, junk dropped.
	m.OnBook(sym, []Level{{97, 1}, {99, 1}, {0, 1}}, []Level{{102, 1}, {100, -1}, {101, 1}}, 1)
	_, fills := m.Submit(market("m", SideBuy, 1), 2)
	if d := cmp.Diff([]idq{{"m", 101, 1}}, idqs(fills), approx); d != "" {
		t.Fatalf("fills (-want +got):\n%s", d)
	}
	_, fills = m.Submit(market("m", SideSell, 1), 2)
	if d := cmp.Diff([]idq{{"m", 99, 1}}, idqs(fills), approx); d != "" {
		t.Fatalf("fills (-want +got):\n%s", d)
	}
}
