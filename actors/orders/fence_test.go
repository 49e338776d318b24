package orders

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// fakeFence answers MayAct with what the test sets; script, when set,
// decides per call (n counts from 1).
type fakeFence struct {
	token  atomic.Int64
	ok     atomic.Bool
	calls  atomic.Int64
	script func(n int64) (int64, bool)
}

func newFence(token int64) *fakeFence {
	f := &fakeFence{}
	f.set(token, true)
	return f
}

func (f *fakeFence) set(token int64, ok bool) { f.token.Store(token); f.ok.Store(ok) }

func (f *fakeFence) MayAct() (int64, bool) {
	n := f.calls.Add(1)
	if f.script != nil {
		return f.script(n)
	}
	return f.token.Load(), f.ok.Load()
}

// marker is sent to the bus probe to know every earlier event arrived.
type marker struct{}

// fenceAlerts returns the alert.cluster.fence events the actor published
// so far (everything it sent the bus before this call).
func (f *fixture) fenceAlerts() []*messages.FenceAlert {
	f.t.Helper()
	f.sys.Root.Send(f.bus.PID, marker{})
	var out []*messages.FenceAlert
	for {
		m, ok := f.bus.Next(10 * time.Second)
		if !ok {
			f.t.Fatal("the bus marker never came back")
		}
		if _, done := m.(marker); done {
			return out
		}
		if ev, isEv := m.(*messages.Event); isEv && ev.GetTopic() == "alert.cluster.fence" {
			p, err := ev.GetPayload().UnmarshalNew()
			if err != nil {
				f.t.Fatal(err)
			}
			out = append(out, p.(*messages.FenceAlert))
		}
	}
}

// places counts every PlaceOrderRequest the exchange got; cancels likewise.
func (fx *fakeExchange) total(m map[string]int) int {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func wantFenced(t *testing.T, what string, e *messages.Error) {
	t.Helper()
	if e.GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(e.GetMessage(), "cluster lease is not provably alive") {
		t.Fatalf("%s: error %v, want the fence's UNAVAILABLE", what, e)
	}
}

// TestFenceAllowsThenRefuses runs a live order actor of term 370 behind a
// fence: allowed, a place goes out with the term in its client id and its
// journal row; refused (the lease not provably alive, or a token other
// than ours), places and cancels are answered UNAVAILABLE and nothing
// reaches the exchange or the journal; one alert per burst of refusals.
func TestFenceAllowsThenRefuses(t *testing.T) {
	const term = 370 // base 36: "aa"
	fence := newFence(term)
	f := newFixtureDeps(t, testCfg(ModeLive), nil, func(d *Deps) { d.Fence, d.Term = fence, term })

	r := f.place(limitBuy("trend", ""))
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if id := r.GetOrder().GetClientOrderId(); id != "sb-trend.aa-1" || r.GetOrder().GetTerm() != term {
		t.Fatalf("order %v: want id sb-trend.aa-1 of term %d", r.GetOrder(), term)
	}
	if got := f.orders("open"); len(got) != 1 || got[0].GetTerm() != term {
		t.Fatalf("journal: %v", got)
	}
	if n := f.fx.total(f.fx.places); n != 1 {
		t.Fatalf("%d places sent", n)
	}

	for _, refuse := range []struct {
		name  string
		token int64
		ok    bool
	}{{"lease not provably alive", 0, false}, {"a later leader's token", term + 1, true}, {"an earlier token", term - 1, true}} {
		fence.set(refuse.token, refuse.ok)
		wantFenced(t, refuse.name+": place", f.place(limitBuy("trend", "")).GetError())
		wantFenced(t, refuse.name+": place with an id", f.place(limitBuy("trend", "caller-id-1")).GetError())
		c := actortest.Request[*messages.CancelTradeOrderResponse](t, f.sys, f.pid, &messages.CancelTradeOrderRequest{ClientOrderId: "sb-trend.aa-1"})
		wantFenced(t, refuse.name+": cancel", c.GetError())
		ca := actortest.Request[*messages.CancelAllTradeOrdersResponse](t, f.sys, f.pid, &messages.CancelAllTradeOrdersRequest{})
		wantFenced(t, refuse.name+": cancel all", ca.GetError())
		if len(ca.GetOrders()) != 0 {
			t.Fatalf("%s: cancel all lists %v", refuse.name, ca.GetOrders())
		}
	}
	if n, c := f.fx.total(f.fx.places), f.fx.total(f.fx.cancels); n != 1 || c != 0 {
		t.Fatalf("refused actions reached the exchange: %d places, %d cancels", n, c)
	}
	if got := f.orders(""); len(got) != 1 {
		t.Fatalf("refused places were journaled: %v", got)
	}
	alerts := f.fenceAlerts()
	if len(alerts) != 1 || alerts[0].GetTerm() != term || alerts[0].GetAction() != actPlace {
		t.Fatalf("alerts of the first burst: %v, want one", alerts)
	}

	// Allowed again: the cancel goes out; the next refusal is a new burst.
	fence.set(term, true)
	c := actortest.Request[*messages.CancelTradeOrderResponse](t, f.sys, f.pid, &messages.CancelTradeOrderRequest{ClientOrderId: "sb-trend.aa-1"})
	if c.GetError() != nil || c.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED {
		t.Fatalf("allowed cancel: %v", c)
	}
	fence.set(term, false)
	wantFenced(t, "second burst", f.place(limitBuy("trend", "")).GetError())
	if alerts := f.fenceAlerts(); len(alerts) != 1 {
		t.Fatalf("alerts of the second burst: %v, want one", alerts)
	}
}

// TestFenceRefusedAfterTheIntent: the lease runs out while the intent is
// committed (the fence says yes at admission, no just before sending): the
// order never reaches the exchange, its caller gets the fence's error with
// the order NOT_SENT, and the journal says NOT_SENT.
func TestFenceRefusedAfterTheIntent(t *testing.T) {
	const term = 5
	fence := newFence(term)
	var refuseFrom atomic.Int64
	refuseFrom.Store(1 << 62)
	fence.script = func(n int64) (int64, bool) { return term, n < refuseFrom.Load() }
	f := newFixtureDeps(t, testCfg(ModeLive), nil, func(d *Deps) { d.Fence, d.Term = fence, term })
	refuseFrom.Store(fence.calls.Load() + 2) // admission yes, the send no
	r := f.place(limitBuy("trend", ""))
	wantFenced(t, "place", r.GetError())
	if o := r.GetOrder(); o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT || o.GetClientOrderId() != "sb-trend.5-1" {
		t.Fatalf("answered order %v, want sb-trend.5-1 NOT_SENT", o)
	}
	if n := f.fx.total(f.fx.places); n != 0 {
		t.Fatalf("%d places reached the exchange", n)
	}
	actortest.Eventually(t, 10*time.Second, func() bool {
		got := f.orders("")
		return len(got) == 1 && got[0].GetStatus() == messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT && got[0].GetTerm() == term
	}, "the journal records the intent NOT_SENT")
}

// TestFencePaper: in paper mode a refused order never reaches the paper
// matcher, and is not journaled.
func TestFencePaper(t *testing.T) {
	fence := newFence(9)
	cfg := testCfg(ModePaper)
	f := newFixtureDeps(t, cfg, nil, func(d *Deps) { d.Fence, d.Term = fence, 9 })
	fence.set(9, false)
	wantFenced(t, "paper place", f.place(limitBuy("trend", "")).GetError())
	if got := f.orders(""); len(got) != 0 {
		t.Fatalf("a refused paper order was journaled: %v", got)
	}
	fence.set(9, true)
	r := f.place(limitBuy("trend", ""))
	if r.GetError() != nil || r.GetOrder().GetClientOrderId() != "sb-trend.9-1" || r.GetOrder().GetTerm() != 9 {
		t.Fatalf("allowed paper place: %v", r)
	}
}

// TestCallerIDsWithATerm: a caller's client id may carry a term only as
// the strategy host's ids of this leader's term do; other ids with a dot
// are refused before anything is journaled.
func TestCallerIDsWithATerm(t *testing.T) {
	fence := newFence(9)
	f := newFixtureDeps(t, testCfg(ModePaper), nil, func(d *Deps) { d.Fence, d.Term = fence, 9 })
	host := clientid.Life("sb", "trend", 9, 1_700_000_000_000) + "_1"
	if r := f.place(limitBuy("trend", host)); r.GetError() != nil || r.GetOrder().GetClientOrderId() != host || r.GetOrder().GetTerm() != 9 {
		t.Fatalf("the strategy host's id of this term: %v", r)
	}
	for _, id := range []string{clientid.Life("sb", "trend", 8, 1_700_000_000_000) + "_1", "sb-trend.9-5", "sb-trend.9-x_1.2", "my.id", "xx-trend.9-loyw3v28_1"} {
		r := f.place(limitBuy("trend", id))
		if r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || !strings.Contains(r.GetError().String(), "a dot only") {
			t.Errorf("id %q: %v", id, r)
		}
	}
	if got := f.orders(""); len(got) != 1 {
		t.Fatalf("journal: %v", got)
	}
	single := newFixture(t, testCfg(ModePaper))
	if r := single.place(limitBuy("trend", host)); r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("a single node took an id with a term: %v", r)
	}
}

// TestOnCommitGetsTheActorsWrites: Deps.OnCommit receives the journal ops
// the actor commits (here the intent and the exchange's answer).
func TestOnCommitGetsTheActorsWrites(t *testing.T) {
	var mu sync.Mutex
	var statuses []messages.TradeOrderStatus
	f := newFixtureDeps(t, testCfg(ModeLive), nil, func(d *Deps) {
		d.OnCommit = func(ops []journal.Op) {
			mu.Lock()
			defer mu.Unlock()
			for _, op := range ops {
				if po, ok := op.(journal.PutOrder); ok && po.Order.GetClientOrderId() == "sb-trend-1" {
					statuses = append(statuses, po.Order.GetStatus())
				}
			}
		}
	})
	if r := f.place(limitBuy("trend", "")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	actortest.Eventually(t, 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(statuses) >= 2
	}, "OnCommit sees the intent and the answer")
	mu.Lock()
	defer mu.Unlock()
	if statuses[0] != messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT || statuses[1] != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
		t.Fatalf("OnCommit saw %v", statuses)
	}
}

// TestFailoverAdoptsTheEarlierTermsOrder: the order actor of term 7 starts
// on an empty journal while the exchange holds an order the leader of term
// 5 placed: reconciliation adopts it into its strategy (not "external", no
// halt), and the new leader's own ids carry term 7.
func TestFailoverAdoptsTheEarlierTermsOrder(t *testing.T) {
	fence := newFence(7)
	f := newFixtureDeps(t, testCfg(ModeLive), func(fx *fakeExchange) {
		fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 3, ClientOrderId: "sb-trend.5-3", Side: "BUY", Type: "LIMIT",
			Price: "49000", OrigQty: "0.01", ExecutedQty: "0", Status: "NEW"}}
	}, func(d *Deps) { d.Fence, d.Term = fence, 7 })
	rep := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	if rep.GetState().GetGate() != gateOpen || rep.GetReport().GetAdoptedFromEarlierTerm() != 1 {
		t.Fatalf("after reconciliation: gate %s, report %v", rep.GetState().GetGate(), rep.GetReport())
	}
	open := f.orders("open")
	if len(open) != 1 || open[0].GetClientOrderId() != "sb-trend.5-3" || open[0].GetStrategy() != "trend" || open[0].GetTerm() != 5 {
		t.Fatalf("journal open orders: %v", open)
	}
	r := f.place(limitBuy("trend", ""))
	if r.GetError() != nil || r.GetOrder().GetClientOrderId() != "sb-trend.7-1" {
		t.Fatalf("the new leader's order: %v", r)
	}
}

// TestFenceStopsTheCloseOut: PrepareStop on a node whose lease is not
// provably alive neither cancels the open order nor closes the position
// (the new leader owns them now); with the fence allowing, the same
// actor does both (TestPrepareStopCancelsAndCloses without a fence).
func TestFenceStopsTheCloseOut(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.CancelOrdersOnStop, cfg.ClosePositionsOnStop = true, true
	fence := newFence(4)
	f := newFixtureDeps(t, cfg, nil, func(d *Deps) { d.Fence, d.Term = fence, 4 })
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	if r := f.place(buy("s1", "MARKET", "0.01", "")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if r := f.place(buy("s1", "LIMIT", "0.01", "49000")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	fence.set(4, false)
	res := actortest.Request[*PrepareStopResult](t, f.sys, f.pid, &PrepareStop{})
	if res.Err != nil || res.Closing != 0 {
		t.Fatalf("prepare stop = %+v", res)
	}
	if got := f.orders("canceled"); len(got) != 0 {
		t.Fatalf("a fenced stop canceled %v", got)
	}
	if got := f.orders(""); len(got) != 2 {
		t.Fatalf("a fenced stop placed close-out orders: %v", got)
	}
	p := f.positions("s1").GetPositions()
	if len(p) != 1 || p[0].GetQuantity() != "0.01" {
		t.Fatalf("positions after a fenced stop: %v", p)
	}
	alerts := f.fenceAlerts()
	if len(alerts) != 1 || alerts[0].GetAction() != actClose {
		t.Fatalf("alerts %v, want one for the close-out", alerts)
	}
}

// TestLiveFencedAgainstTheSimulator: the ids of a term go through the real
// connector and go-binance to the simulator: a place, an unknown outcome
// resolved by querying the id, and a cancel; then a refusing fence keeps
// every order off the exchange.
func TestLiveFencedAgainstTheSimulator(t *testing.T) {
	ls := startLiveSim(t)
	fence := newFence(3)
	pid := ls.startOrders(t, liveCfg(), t.TempDir(), func(d *Deps) { d.Fence, d.Term = fence, 3 })
	place := func() *messages.PlaceTradeOrderResponse {
		t.Helper()
		tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
		low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
		return actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid,
			&messages.PlaceTradeOrderRequest{Strategy: "live", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low})
	}
	r := place()
	if o := r.GetOrder(); r.GetError() != nil || o.GetClientOrderId() != "sb-live.3-1" || o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW || o.GetExchangeOrderId() == 0 {
		t.Fatalf("place: %v", r)
	}
	if err := ls.ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultDrop, Route: "POST /api/v3/order", Count: 1}); err != nil {
		t.Fatal(err)
	}
	place()
	actortest.Eventually(t, 15*time.Second, func() bool {
		for _, o := range actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "new"}).GetOrders() {
			if o.GetClientOrderId() == "sb-live.3-2" && o.GetExchangeOrderId() != 0 && o.GetTerm() == 3 {
				return true
			}
		}
		return false
	}, "the dropped placement of a term id resolved as NEW by querying its id")
	c := actortest.Request[*messages.CancelTradeOrderResponse](t, ls.sys, pid, &messages.CancelTradeOrderRequest{ClientOrderId: "sb-live.3-1"})
	if c.GetError() != nil || c.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED {
		t.Fatalf("cancel: %v", c)
	}
	fence.set(0, false)
	wantFenced(t, "place", place().GetError())
	c = actortest.Request[*messages.CancelTradeOrderResponse](t, ls.sys, pid, &messages.CancelTradeOrderRequest{ClientOrderId: "sb-live.3-2"})
	wantFenced(t, "cancel", c.GetError())
	all, err := ls.direct(t).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range all {
		ids = append(ids, o.ClientOrderID+":"+string(o.Status))
	}
	if got := strings.Join(ids, ","); got != "sb-live.3-1:CANCELED,sb-live.3-2:NEW" {
		t.Fatalf("exchange orders %s", got)
	}
}
