package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/reconcile"
	"github.com/superbot/superbot/messages"
)

// A reconciliation's plan is computed from a snapshot; the user data
// stream may record one of its trades, settle the order and forget it
// before the plan comes back. The plan's copy of that trade must not be
// booked a second time (the journal ignores the row, the books must too).
func TestReconcileFillOfAnOrderSettledMeanwhileIsBookedOnce(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	id := f.place(limitBuy("s1", "")).GetOrder().GetClientOrderId()
	f.sys.Root.Send(f.pid, trade(id, "FILLED", 11, "0.01", "0.01"))
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("filled")) == 1 }, "order filled")
	fill := &messages.TradeFill{ClientOrderId: id, Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Price: "50000", Quantity: "0.01",
		QuoteQty: "500", Fee: "0.01", FeeAsset: "USDT", TradeId: 11, TimeMs: 1}
	f.sys.Root.Send(f.pid, &reconcile.Result{Plan: reconcile.Plan{Fills: []*messages.TradeFill{fill}}})
	st := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{}) // after the result
	if st.GetReport().GetResult() != "ok" {
		t.Fatalf("report = %v", st.GetReport())
	}
	if p := f.positions("s1").GetPositions(); len(p) != 1 || p[0].GetQuantity() != "0.01" {
		t.Fatalf("position = %v, want 0.01 (the trade booked once)", p)
	}
}

// A plan's update computed before the stream moved an order further must
// not move it back.
func TestReconcileUpdateNeverMovesAnOrderBack(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	placed := f.place(limitBuy("s1", "")).GetOrder()
	f.sys.Root.Send(f.pid, trade(placed.GetClientOrderId(), "PARTIALLY_FILLED", 11, "0.004", "0.004"))
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("partially_filled")) == 1 }, "order partially filled")
	stale := clone(placed)
	stale.Status, stale.ExchangeOrderId, stale.NotFound = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, 7, 0
	f.sys.Root.Send(f.pid, &reconcile.Result{Plan: reconcile.Plan{Updates: []*messages.TradeOrder{stale}}})
	actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	got := f.orders("open")
	if len(got) != 1 || got[0].GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED || got[0].GetExecutedQty() != "0.004" {
		t.Fatalf("order after a stale plan = %v", got)
	}
}

// Two placements with one client id arrive while the symbol's first price
// is being fetched (warm): the order is placed once, both callers get it.
func TestSameClientIDDuringWarmPlacesOnce(t *testing.T) {
	hold := make(chan struct{})
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) { fx.holdTicker = hold })
	req := limitBuy("s1", "warm-1")
	first := f.sys.Root.RequestFuture(f.pid, req, 10*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ReconcileResponse](f.sys, f.pid, &messages.ReconcileRequest{}, time.Second)
		return err == nil && r.GetState() != nil
	}, "first placement admitted")
	second := f.sys.Root.RequestFuture(f.pid, req, 10*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("")) == 1 }, "second placement journaled")
	close(hold)
	for i, fut := range []*actor.Future{first, second} {
		res, err := fut.Result()
		r, _ := res.(*messages.PlaceTradeOrderResponse)
		if err != nil || r.GetOrder().GetClientOrderId() != "warm-1" {
			t.Fatalf("caller %d answered %v, %v", i, res, err)
		}
	}
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("new")) == 1 }, "order NEW")
	if n := f.fx.count(f.fx.places, "warm-1"); n != 1 {
		t.Fatalf("PlaceOrder sent %d times for one client id", n)
	}
}

// PrepareStop with cancel_orders_on_stop while a placement waits for the
// exchange: the order is canceled once its answer is in, and PrepareStop
// answers after that cancel (it does not leave the order on the exchange).
func TestPrepareStopCancelsAPlacementUnderWay(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.CancelOrdersOnStop = true
	hold := make(chan struct{})
	f := newFixtureWith(t, cfg, func(fx *fakeExchange) { fx.holdPlace = hold })
	placed := f.sys.Root.RequestFuture(f.pid, limitBuy("s1", "stop-1"), 10*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool { return f.fx.count(f.fx.places, "stop-1") == 1 }, "placement sent")
	stop := f.sys.Root.RequestFuture(f.pid, &PrepareStop{}, 10*time.Second)
	close(hold)
	if _, err := placed.Result(); err != nil {
		t.Fatal(err)
	}
	res, err := stop.Result()
	if r, _ := res.(*PrepareStopResult); err != nil || r == nil || r.Canceled != 1 {
		t.Fatalf("prepare stop = %+v, %v", res, err)
	}
	if n := f.fx.count(f.fx.cancels, "stop-1"); n != 1 {
		t.Fatalf("cancels of the order placed during the stop = %d, want 1", n)
	}
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("canceled")) == 1 }, "order canceled in the journal")
}

// A cancel refused while the placement was unknown is sent when a
// reconciliation finds the order open.
func TestCancelWantedIsSentWhenReconciliationFindsTheOrder(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.InFlightCheck = time.Hour // the reconciliation, not a query, finds it
	f := newFixture(t, cfg)
	f.fx.mu.Lock()
	f.fx.place = func(*messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "order outcome unknown")}
	}
	refuse := true
	f.fx.cancel = func(m *messages.CancelOrderRequest) *messages.OrderResult {
		if refuse {
			return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED, ExchangeCode: -2011,
				Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "exchange: Unknown order sent. (-2011)")}
		}
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED,
			Order: &messages.Order{Symbol: m.GetSymbol(), ClientOrderId: m.GetClientOrderId(), OrderId: 7, Status: "CANCELED"}}
	}
	f.fx.mu.Unlock()
	o := f.place(limitBuy("s1", "")).GetOrder()
	if o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
		t.Fatalf("placement = %v", o)
	}
	c := actortest.Request[*messages.CancelTradeOrderResponse](t, f.sys, f.pid, &messages.CancelTradeOrderRequest{ClientOrderId: o.GetClientOrderId()})
	if c.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("cancel = %v", c)
	}
	f.fx.mu.Lock()
	refuse = false
	f.fx.mu.Unlock()
	found := clone(o)
	found.Status, found.ExchangeOrderId, found.Reason = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, 7, ""
	f.sys.Root.Send(f.pid, &reconcile.Result{Plan: reconcile.Plan{Updates: []*messages.TradeOrder{found}}})
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("canceled")) == 1 }, "the order canceled once found")
	if n := f.fx.count(f.fx.cancels, o.GetClientOrderId()); n != 2 {
		t.Fatalf("cancels sent = %d, want 2 (refused, then sent when found)", n)
	}
}

// The user data stream's NEW report can overtake the REST answer (the
// simulator and Binance send it first): the caller is answered with the
// REST answer's state (FILLED), not with the report's older commit.
func TestExecutionReportBeforeTheAnswerDoesNotAnswerTheCaller(t *testing.T) {
	hold := make(chan struct{})
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) {
		fx.holdPlace = hold
		fx.place = func(m *messages.PlaceOrderRequest) *messages.OrderResult {
			return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: exchangeOrder(m, "FILLED", 9)}
		}
	})
	placed := f.sys.Root.RequestFuture(f.pid, limitBuy("s1", "ioc-first"), 10*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool { return f.fx.count(f.fx.places, "ioc-first") == 1 }, "placement sent")
	f.sys.Root.Send(f.pid, &messages.ExecutionReport{Symbol: "BTCUSDT", ClientOrderId: "ioc-first", OrderId: 9, Side: "BUY", Type: "LIMIT",
		ExecutionType: "NEW", Status: "NEW", Price: "50000", Quantity: "0.01", CumulativeFilledQty: "0", CumulativeQuoteQty: "0"})
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "order.s1.BTCUSDT.new" })
	close(hold)
	res, err := placed.Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(*messages.PlaceTradeOrderResponse); r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
		t.Fatalf("answer = %v, want the REST answer's FILLED", r)
	}
}

// A caller waiting on a placement when the actor stops (a deposed leader,
// a shutdown) is answered at once: UNAVAILABLE, with the order as the
// journal holds it, never left to time out.
func TestStopAnswersThePlacementsWaiting(t *testing.T) {
	hold := make(chan struct{})
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) { fx.holdPlace = hold })
	defer close(hold)
	placed := f.sys.Root.RequestFuture(f.pid, limitBuy("s1", "stopped-1"), 30*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool { return f.fx.count(f.fx.places, "stopped-1") == 1 }, "placement sent")
	again := f.sys.Root.RequestFuture(f.pid, limitBuy("s1", "stopped-1"), 30*time.Second) // a retry waits on the same order
	time.Sleep(50 * time.Millisecond)
	if err := f.sys.Root.StopFuture(f.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	for _, fut := range []*actor.Future{placed, again} {
		res, err := fut.Result()
		if err != nil {
			t.Fatal(err)
		}
		r := res.(*messages.PlaceTradeOrderResponse)
		if r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(r.GetError().GetMessage(), "stopped-1") ||
			r.GetOrder().GetClientOrderId() != "stopped-1" || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT {
			t.Fatalf("answer = %v", r)
		}
	}
}
