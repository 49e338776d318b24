package engine

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Fees in these tests: maker 0.1 %, taker 0.2 %, slippage 0.1 %.

func TestMarketFillsAtCloseWithSlippageAndFee(t *testing.T) {
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 111, 99, 110, 10), bar(2, 110, 112, 108, 111, 10)}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		switch i {
		case 0:
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 2})
		case 1:
			c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Market, Quantity: 2})
		}
	}}
	res := runScript(t, s, bars, nil)
	// buy: 100 * 1.001 = 100.1; quote 200.2; fee 0.2 % = 0.4004
	// sell: 110 * 0.999 = 109.89; quote 219.78; fee 0.43956
	// realised (109.89 - 100.1) * 2 = 19.58
	// cash 10000 - 200.2 - 0.4004 + 219.78 - 0.43956 = 10018.74004
	want := []Fill{
		{OrderID: "s_1", Symbol: "BTCUSDT", Side: "BUY", Price: 100.1, Qty: 2, Fee: 0.4004, TimeMs: bars[0].CloseTimeMs},
		{OrderID: "s_2", Symbol: "BTCUSDT", Side: "SELL", Price: 109.89, Qty: 2, Fee: 0.43956, TimeMs: bars[1].CloseTimeMs},
	}
	if !slices.Equal(res.Fills, want) {
		t.Fatalf("fills %+v\nwant %+v", res.Fills, want)
	}
	o := res.Orders[0]
	if o.Status != "FILLED" || o.Type != "MARKET" || o.Executed != 2 || o.Quote != 200.2 || o.TimeMs != bars[0].CloseTimeMs {
		t.Fatalf("order %+v", o)
	}
	l := res.Legs[0]
	if l.Position != 0 || !near(l.RealizedPnL, 19.58) || !near(l.Fees, 0.83996) {
		t.Fatalf("leg %+v", l)
	}
	if e := res.Equity[2].Equity; !near(e, 10018.74004) || !near(res.Equity[0].Equity, 10000-200.2-0.4004+2*100) {
		t.Fatalf("equity %+v", res.Equity)
	}
	// What the strategy saw: FILLED (no NEW) with the position before the
	// fill, then the fill with it.
	if got := s.trace(); !slices.Equal(got, []string{"order #1 FILLED filled 2", "fill #1 BUY 2 @ 100.1",
		"order #2 FILLED filled 2", "fill #2 SELL 2 @ 109.89"}) {
		t.Fatalf("trace %q", got)
	}
	orders, fills := s.of("order"), s.of("fill")
	if orders[0].pos.Quantity != 0 || fills[0].pos.Quantity != 2 || fills[0].pos.AvgPrice != 100.1 || fills[0].pos.Fees != 0.4004 {
		t.Fatalf("positions seen: at the order %+v, at the fill %+v", orders[0].pos, fills[0].pos)
	}
	if fills[0].f.Fee != 0.4004 || fills[0].f.FeeAsset != "USDT" || fills[0].f.Maker || orders[0].u.AvgPrice != 100.1 {
		t.Fatalf("fill seen %+v, order seen %+v", fills[0].f, orders[0].u)
	}
	// Available on bar 1: 10000 - 2 * 100.1.
	if b := s.of("bar")[1]; !near(b.pos.Available, 10000-200.2) || b.pos.Quantity != 2 {
		t.Fatalf("bar 1 saw %+v", b.pos)
	}
}

func TestLimitRestsAndFillsWhenThePathTouchesIt(t *testing.T) {
	// Bar 1 rises (close >= open): open 100, low 97, high 103, close 101.
	// Bar 2 falls (close < open): open 101, high 104, low 96, close 100.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 8), bar(1, 100, 103, 97, 101, 8), bar(2, 101, 104, 96, 100, 8),
		bar(3, 100, 101, 99, 100, 8)}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		switch i {
		case 0: // both fill on bar 1: the buy at its low (trade 1), the sell at its high (trade 2)
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 98, Quantity: 1})
			c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: 102.5, Quantity: 1})
		case 1: // both fill on bar 2: the sell at its high (trade 1), the buy at its low (trade 2)
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 97, Quantity: 1})
			c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: 103.5, Quantity: 1})
		}
	}}
	res := runScript(t, s, bars, nil)
	span := minute - 1
	at := func(i int, k int64) int64 { return bars[i].OpenTimeMs + span*k/3 }
	// Maker fills at the limit price, fee 0.1 %.
	want := []Fill{
		{OrderID: "s_1", Symbol: "BTCUSDT", Side: "BUY", Price: 98, Qty: 1, Fee: 0.098, Maker: true, TimeMs: at(1, 1)},
		{OrderID: "s_2", Symbol: "BTCUSDT", Side: "SELL", Price: 102.5, Qty: 1, Fee: 0.1025, Maker: true, TimeMs: at(1, 2)},
		{OrderID: "s_4", Symbol: "BTCUSDT", Side: "SELL", Price: 103.5, Qty: 1, Fee: 0.1035, Maker: true, TimeMs: at(2, 1)},
		{OrderID: "s_3", Symbol: "BTCUSDT", Side: "BUY", Price: 97, Qty: 1, Fee: 0.097, Maker: true, TimeMs: at(2, 2)},
	}
	if !slices.Equal(res.Fills, want) {
		t.Fatalf("fills %+v\nwant %+v", res.Fills, want)
	}
	if got := s.trace(); !slices.Equal(got, []string{
		"order #1 NEW filled 0", "order #2 NEW filled 0",
		"order #1 FILLED filled 1", "fill #1 BUY 1 @ 98", "order #2 FILLED filled 1", "fill #2 SELL 1 @ 102.5",
		"order #3 NEW filled 0", "order #4 NEW filled 0",
		"order #4 FILLED filled 1", "fill #4 SELL 1 @ 103.5", "order #3 FILLED filled 1", "fill #3 BUY 1 @ 97",
	}) {
		t.Fatalf("trace %q", got)
	}
	// The fills of bar 1 are seen before bar 1 itself.
	var kinds []string
	for _, c := range s.calls {
		kinds = append(kinds, c.kind)
	}
	if got := strings.Join(kinds, " "); got != "bar order order order fill order fill bar order order order fill order fill bar bar" {
		t.Fatalf("calls %s", got)
	}
	// Position: buy 1 @ 98, sell 1 @ 102.5 (realised 4.5), sell 1 @ 103.5
	// (short 1 @ 103.5), buy 1 @ 97 (realised 6.5).
	if l := res.Legs[0]; l.Position != 0 || !near(l.RealizedPnL, 11) || !near(l.Fees, 0.098+0.1025+0.1035+0.097) {
		t.Fatalf("leg %+v", l)
	}
}

func TestLimitPartialFillsShareTheTradesVolume(t *testing.T) {
	// Volume 2: each of the four trades carries 0.5. Bar 1 (rising: open
	// 100, low 97, high 101, close 100.5) reaches a buy at 98 only at its
	// low: 0.5 of 1 fills.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 2), bar(1, 100, 101, 97, 100.5, 2), bar(2, 100.5, 101, 99, 100, 2)}
	s := &script{onBar: placeAt(0, strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 98, Quantity: 1})}
	res := runScript(t, s, bars, func(c *Config) { c.Legs[0].Allocation = 1000 })
	if len(res.Fills) != 1 || res.Fills[0].Qty != 0.5 || res.Fills[0].Price != 98 {
		t.Fatalf("fills %+v", res.Fills)
	}
	if o := res.Orders[0]; o.Status != "PARTIALLY_FILLED" || o.Executed != 0.5 {
		t.Fatalf("order %+v", o)
	}
	if got := s.trace(); !slices.Equal(got, []string{"order #1 NEW filled 0", "order #1 PARTIALLY_FILLED filled 0.5", "fill #1 BUY 0.5 @ 98"}) {
		t.Fatalf("trace %q", got)
	}
	// Available on bar 1: 1000 - 98 (the open buy); on bar 2: 1000 -
	// 0.5*98 (held) - 0.5*98 (still open).
	b := s.of("bar")
	if b[1].pos.Available != 902 || b[1].pos.OpenOrders != 1 || b[2].pos.Available != 902 || b[2].pos.Quantity != 0.5 {
		t.Fatalf("bars saw %+v / %+v", b[1].pos, b[2].pos)
	}
}

func TestLimitCrossingOnArrivalIsTaker(t *testing.T) {
	// A buy at 105 when the last trade is 100 fills at once at 100 (the
	// last trade price, no slippage for a limit order) as taker: fee 0.2 %.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 101, 99, 100, 10)}
	s := &script{onBar: placeAt(0, strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 105, Quantity: 1})}
	res := runScript(t, s, bars, nil)
	want := []Fill{{OrderID: "s_1", Symbol: "BTCUSDT", Side: "BUY", Price: 100, Qty: 1, Fee: 0.2, TimeMs: bars[0].CloseTimeMs}}
	if !slices.Equal(res.Fills, want) {
		t.Fatalf("fills %+v", res.Fills)
	}
	if got := s.trace(); !slices.Equal(got, []string{"order #1 FILLED filled 1", "fill #1 BUY 1 @ 100"}) {
		t.Fatalf("trace %q", got)
	}
}

func TestRefusedOrdersAreRejectedWithTheReason(t *testing.T) {
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 100.4, 99, 100, 10)}
	orders := []strategy.Order{
		{Side: strategy.Buy, Type: strategy.Limit, Price: 99.3, Quantity: 1},     // tick 0.5
		{Side: strategy.Buy, Type: strategy.Limit, Price: 99.5, Quantity: 0.015}, // step 0.01
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 0.05},              // 5 < min notional 10
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 11},                // 1100 > allocation 1000
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 0},
		{Side: strategy.Sell, Type: strategy.Limit, Price: 100.5, Quantity: 0.5}, // fine: rests
	}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		if i == 0 {
			for _, o := range orders {
				c.Place(o)
			}
		}
	}}
	res := runScript(t, s, bars, func(c *Config) {
		c.Legs[0].Allocation = 1000
		c.Filters = map[string]Filters{"BTCUSDT": {TickSize: 0.5, StepSize: 0.01, MinNotional: 10}}
	})
	reasons := []string{
		"exchange: Filter failure: PRICE_FILTER (-1013)",
		"exchange: Filter failure: LOT_SIZE (-1013)",
		"exchange: Filter failure: NOTIONAL (-1013)",
		"risk check allocation: strategy s would use 1100 of its allocation 1000 USDT",
		"invalid order: quantity: must be a decimal string > 0",
	}
	for i, want := range reasons {
		if o := res.Orders[i]; o.Status != "REJECTED" || o.Reason != want {
			t.Errorf("order %d: %s %q, want REJECTED %q", i, o.Status, o.Reason, want)
		}
	}
	if o := res.Orders[5]; o.Status != "NEW" {
		t.Errorf("the good order: %+v", o)
	}
	seen := s.of("order")
	if len(seen) != 6 {
		t.Fatalf("%d updates seen, want 6", len(seen))
	}
	for i, want := range reasons {
		if u := seen[i].u; u.Status != strategy.StatusRejected || u.Reason != want || u.Ref != uint64(i+1) {
			t.Errorf("update %d: %+v", i, u)
		}
	}
	if len(res.Fills) != 0 {
		t.Fatalf("fills %+v", res.Fills)
	}
}

func TestAllocationCountsOpenBuysAndTheLongPosition(t *testing.T) {
	// Allocation 1000. Bar 0: buy 5 at market (fills at 100.1), then a
	// resting buy of 3 at 95: used 5*100 (position at the last price) +
	// 3*95 = 785. Then a buy of 2.2 at 97: 785 + 213.4 = 998.4 passes; a
	// buy of 0.1 more at 97 makes 1008.1: refused.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 101, 99, 100, 10)}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		if i == 0 {
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 5})
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 95, Quantity: 3})
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 97, Quantity: 2.2})
			c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 97, Quantity: 0.1})
		}
	}}
	res := runScript(t, s, bars, func(c *Config) { c.Legs[0].Allocation = 1000 })
	got := []string{res.Orders[0].Status, res.Orders[1].Status, res.Orders[2].Status, res.Orders[3].Status}
	if !slices.Equal(got, []string{"FILLED", "NEW", "NEW", "REJECTED"}) ||
		res.Orders[3].Reason != "risk check allocation: strategy s would use 1008.1 of its allocation 1000 USDT" {
		t.Fatalf("statuses %v, reason %q", got, res.Orders[3].Reason)
	}
	// Bar 1 sees Available = 1000 - 5*100.1 (position at cost) - 3*95 - 2.2*97 = 1.1.
	if b := s.of("bar")[1]; !near(b.pos.Available, 1.1) || b.pos.OpenOrders != 2 {
		t.Fatalf("bar 1 saw %+v", b.pos)
	}
}

func TestCancel(t *testing.T) {
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 101, 99, 100, 10), bar(2, 100, 101, 85, 100, 10)}
	var ref uint64
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		switch i {
		case 0:
			ref = c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: 90, Quantity: 1})
		case 1:
			c.Cancel(ref)
			c.Cancel(ref) // twice: the second is ignored
			c.Cancel(99)  // unknown: ignored
		case 2:
			c.Cancel(ref) // done: ignored
		}
	}}
	res := runScript(t, s, bars, nil)
	if len(res.Fills) != 0 || res.Orders[0].Status != "CANCELED" {
		t.Fatalf("orders %+v fills %+v", res.Orders, res.Fills)
	}
	if got := s.trace(); !slices.Equal(got, []string{"order #1 NEW filled 0", "order #1 CANCELED filled 0"}) {
		t.Fatalf("trace %q", got)
	}
	if b := s.of("bar")[2]; b.pos.OpenOrders != 0 || b.pos.Available != 10_000 {
		t.Fatalf("bar 2 saw %+v", b.pos)
	}
}

func TestReactionsRunBeforeTheNextBar(t *testing.T) {
	// On its buy's FILLED the strategy places a sell at market: it fills at
	// the same close, before bar 1; the buy's fill, queued first, comes
	// first.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 111, 99, 110, 10)}
	s := &script{onBar: placeAt(0, strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 1})}
	s.onOrder = func(c *strategy.Context, u *strategy.OrderUpdate) {
		if u.Ref == 1 && u.Status == strategy.StatusFilled {
			c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Market, Quantity: 1})
		}
	}
	res := runScript(t, s, bars, nil)
	if len(res.Fills) != 2 || res.Fills[1].Price != 99.9 || res.Fills[1].TimeMs != bars[0].CloseTimeMs {
		t.Fatalf("fills %+v", res.Fills)
	}
	var kinds []string
	for _, c := range s.calls {
		kinds = append(kinds, c.kind)
	}
	if got := strings.Join(kinds, " "); got != "bar order fill order fill bar" {
		t.Fatalf("calls %s", got)
	}
}

func TestTooManyOrdersInOneBarAreBounded(t *testing.T) {
	// A strategy placing again on every rejection would loop forever.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 101, 99, 100, 10)}
	s := &script{onBar: placeAt(0, strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 0})}
	s.onOrder = func(c *strategy.Context, u *strategy.OrderUpdate) {
		c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 0})
	}
	res := runScript(t, s, bars, nil)
	if n := len(res.Orders); n != maxPlacesPerBar+1 || res.Orders[n-1].Reason != reasonTooMany {
		t.Fatalf("%d orders, last %+v", n, res.Orders[n-1])
	}
	if len(s.of("bar")) != 2 {
		t.Fatal("the run did not go on")
	}
}

func TestTimersFireAtTheirDueTimeBetweenBars(t *testing.T) {
	bars := walk(5, 3, 100)
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		if i == 0 {
			c.After(7, 90*time.Second)
			c.After(8, 10*time.Second)
			c.After(8, 70*time.Second) // replaces the first 8
		}
	}}
	runScript(t, s, bars, nil)
	var got []string
	for _, c := range s.calls {
		got = append(got, c.kind)
		if c.kind == "timer" {
			if want := bars[0].CloseTimeMs + map[int]int64{7: 90_000, 8: 70_000}[c.timer]; c.nowMs != want {
				t.Errorf("timer %d at %d, want %d", c.timer, c.nowMs, want)
			}
		}
	}
	// 8 is due at close0+70s (before bar 2 closes at close0+120s), 7 at
	// close0+90s: both fire, 8 first, between bars 1 and 2.
	if s := strings.Join(got, " "); s != "bar bar timer timer bar bar bar" {
		t.Fatalf("calls %s", s)
	}
	if c := s.of("timer"); c[0].timer != 8 || c[1].timer != 7 {
		t.Fatalf("timers %+v", c)
	}
}

func TestTicksFollowThePath(t *testing.T) {
	bars := []strategy.Bar{bar(0, 100, 103, 97, 101, 8), bar(1, 101, 104, 96, 100, 8)}
	s := &script{ticks: true}
	runScript(t, s, bars, nil)
	var prices []float64
	for _, c := range s.of("tick") {
		prices = append(prices, c.tick.Price)
		if c.tick.Quantity != 2 || c.nowMs != c.tick.TimeMs {
			t.Fatalf("tick %+v at %d", c.tick, c.nowMs)
		}
	}
	if !slices.Equal(prices, []float64{100, 97, 103, 101, 101, 104, 96, 100}) {
		t.Fatalf("tick prices %v", prices)
	}
}

func TestPaperBalancesBoundWhatTheAccountPays(t *testing.T) {
	// USDT 1000. A market buy of 9.9 needs 9.9*100*(1+0.1 %)*(1+0.2 %) =
	// 992.97198 (at the last price plus slippage, plus the taker fee):
	// it fills at 100.1 (quote 990.99, fee 1.98198), leaving 7.02802 USDT
	// and 9.9 BTC. Selling 10 needs more BTC than there is; a resting
	// sell of 9.9 locks all of it, so a market sell of 0.1 finds none
	// free; a buy of 1 at 7 needs 7.014 of the 7.02802 USDT; then 0.02
	// at 1 needs 0.02004 of the 0.02802 left unlocked.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 100.5, 99, 100, 10)}
	orders := []strategy.Order{
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 9.9},
		{Side: strategy.Sell, Type: strategy.Limit, Price: 105, Quantity: 10},
		{Side: strategy.Sell, Type: strategy.Limit, Price: 105, Quantity: 9.9},
		{Side: strategy.Sell, Type: strategy.Market, Quantity: 0.1},
		{Side: strategy.Buy, Type: strategy.Limit, Price: 7, Quantity: 1},
		{Side: strategy.Buy, Type: strategy.Limit, Price: 1, Quantity: 0.02},
		{Side: strategy.Buy, Type: strategy.Limit, Price: 1, Quantity: 0.01},
	}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		if i == 0 {
			for _, o := range orders {
				c.Place(o)
			}
		}
	}}
	res := runScript(t, s, bars, func(c *Config) { c.Balances = map[string]float64{"USDT": 1000} })
	want := []string{"FILLED", "REJECTED", "NEW", "REJECTED", "NEW", "NEW", "REJECTED"}
	for i, o := range res.Orders {
		if o.Status != want[i] {
			t.Errorf("order %d: %s %q, want %s", i, o.Status, o.Reason, want[i])
		}
	}
	for i, reason := range map[int]string{
		1: "insufficient paper balance: 10 BTC needed, 9.9 free",
		3: "insufficient paper balance: 0.1 BTC needed, 0 free",
		6: "insufficient paper balance: 0.01002 USDT needed, 0.00802 free",
	} {
		if res.Orders[i].Reason != reason {
			t.Errorf("order %d: reason %q, want %q", i, res.Orders[i].Reason, reason)
		}
	}
}

func TestRiskLimitsAsTheOrderActorWordsThem(t *testing.T) {
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 100.5, 99.5, 100, 10)}
	orders := []strategy.Order{
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 9},              // 900 > 800
		{Side: strategy.Buy, Type: strategy.Limit, Price: 80, Quantity: 1},    // 20 % from 100
		{Side: strategy.Buy, Type: strategy.Market, Quantity: 4},              // fills: position 4
		{Side: strategy.Buy, Type: strategy.Limit, Price: 99, Quantity: 5},    // rests (position 9 * 99 = 891 <= 1000)
		{Side: strategy.Buy, Type: strategy.Limit, Price: 99, Quantity: 7},    // position 11 * 99 = 1089 > 1000
		{Side: strategy.Buy, Type: strategy.Limit, Price: 95, Quantity: 1},    // rests: 2 open
		{Side: strategy.Buy, Type: strategy.Limit, Price: 96, Quantity: 1},    // a third
		{Side: strategy.Sell, Type: strategy.Limit, Price: 101, Quantity: 20}, // 2020 > 800
	}
	s := &script{onBar: func(c *strategy.Context, i int, _ *strategy.Bar) {
		if i == 0 {
			for _, o := range orders {
				c.Place(o)
			}
		}
	}}
	res := runScript(t, s, bars, func(c *Config) {
		c.Risk = RiskLimits{MaxOrderNotional: 800, MaxPositionNotional: 1000, MaxOpenOrders: 2, PriceBand: 0.1}
	})
	want := []struct{ status, reason string }{
		{"REJECTED", "risk check max_order_notional: order notional 900 exceeds 800"},
		{"REJECTED", "risk check price_band: price 80 is more than 10% from the last price 100"},
		{"FILLED", ""},
		{"NEW", ""},
		{"REJECTED", "risk check max_position: position of s in BTCUSDT would be 11 (notional 1089, limit 1000)"},
		{"NEW", ""},
		{"REJECTED", "risk check max_open_orders: strategy s has 2 open orders (limit 2)"},
		{"REJECTED", "risk check max_order_notional: order notional 2020 exceeds 800"},
	}
	for i, w := range want {
		if o := res.Orders[i]; o.Status != w.status || o.Reason != w.reason {
			t.Errorf("order %d: %s %q, want %s %q", i, o.Status, o.Reason, w.status, w.reason)
		}
	}
}

func TestPaperBalanceOfAMarketBuyCountsTheSlippage(t *testing.T) {
	// 9.98 at 100 plus the taker fee is 999.996, within 1000 USDT; at the
	// fill's price (plus 0.1 % slippage) it is 1000.995996: refused.
	bars := []strategy.Bar{bar(0, 100, 101, 99, 100, 10), bar(1, 100, 100.5, 99, 100, 10)}
	s := &script{onBar: placeAt(0, strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 9.98})}
	res := runScript(t, s, bars, func(c *Config) { c.Balances = map[string]float64{"USDT": 1000} })
	if o := res.Orders[0]; o.Status != "REJECTED" || o.Reason != "insufficient paper balance: 1000.995996 USDT needed, 1000 free" {
		t.Fatalf("order %+v", o)
	}
}
