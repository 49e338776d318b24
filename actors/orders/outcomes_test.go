package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func trade(id, status string, tradeID int64, qty, cum string) *messages.ExecutionReport {
	return &messages.ExecutionReport{Symbol: "BTCUSDT", ClientOrderId: id, OrderId: 7, Side: "BUY", Type: "LIMIT", ExecutionType: "TRADE",
		Status: status, CumulativeFilledQty: cum, LastFilledQty: qty, LastFilledPrice: "50000", Commission: "0.01", CommissionAsset: "USDT",
		TradeId: tradeID, TransactionTimeMs: 1}
}

// Execution reports move the order and record each fill once, however
// often the stream repeats a trade.
func TestExecutionReportsRecordFillsOnce(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	id := f.place(limitBuy("s1", "")).GetOrder().GetClientOrderId()
	f.sys.Root.Send(f.pid, trade(id, "PARTIALLY_FILLED", 11, "0.004", "0.004"))
	f.sys.Root.Send(f.pid, trade(id, "PARTIALLY_FILLED", 11, "0.004", "0.004"))
	f.sys.Root.Send(f.pid, trade(id, "FILLED", 12, "0.006", "0.01"))
	f.sys.Root.Send(f.pid, trade(id, "PARTIALLY_FILLED", 11, "0.004", "0.004")) // late duplicate
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("filled")) == 1 }, "order filled")
	fills := actortest.Request[*messages.TradeFillsResponse](t, f.sys, f.pid, &messages.TradeFillsRequest{}).GetFills()
	if len(fills) != 2 {
		t.Fatalf("fills = %v", fills)
	}
	p := f.positions("s1").GetPositions()
	if len(p) != 1 || p[0].GetQuantity() != "0.01" || p[0].GetFees() != "0.02" {
		t.Fatalf("position = %v", p)
	}
	if o := f.orders("filled")[0]; o.GetExecutedQty() != "0.01" {
		t.Fatalf("order = %v", o)
	}
}

// An exchange order with our prefix that the journal does not know is a
// lost record: trading halts with a report and an alert, and stays halted
// until a reconciliation passes.
func TestReconcileMismatchHaltsUntilARunPasses(t *testing.T) {
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) {
		fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 3, ClientOrderId: "sb-ghost-9", Side: "BUY", Type: "LIMIT",
			Price: "1", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	})
	g := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	if g.GetState().GetGate() != gateHalted || g.GetReport().GetResult() != "halted" || len(g.GetReport().GetMismatches()) == 0 {
		t.Fatalf("reconcile = %v", g)
	}
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "alert.risk.reconcile" })
	if r := f.place(limitBuy("s1", "")); !strings.Contains(r.GetError().GetMessage(), "halted") {
		t.Fatalf("placed while halted: %v", r)
	}
	if r := actortest.Request[*messages.TradingResumeResponse](t, f.sys, f.pid, &messages.TradingResumeRequest{}); r.GetError() == nil {
		t.Fatal("resume lifted a reconciliation halt without a passing run")
	}
	f.fx.mu.Lock()
	f.fx.open = nil
	f.fx.mu.Unlock()
	actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{Run: true})
	actortest.Eventually(t, 5*time.Second, func() bool { return f.gate().GetGate() == gateOpen }, "gate open after a passing run")
}

// An order only the exchange knows, without our prefix, is adopted as
// "external"; a user data stream reconnect reconciles again.
func TestReconcileAdoptsExternalOrdersAndRunsAfterAReconnect(t *testing.T) {
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) {
		fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 3, ClientOrderId: "web_abc", Side: "BUY", Type: "LIMIT",
			Price: "1", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	})
	if g := f.gate(); g.GetGate() != gateOpen {
		t.Fatalf("gate = %v", g)
	}
	o := f.orders("open")
	if len(o) != 1 || o[0].GetStrategy() != "external" {
		t.Fatalf("open orders = %v", o)
	}
	f.fx.mu.Lock()
	before := f.fx.openQueries
	f.fx.mu.Unlock()
	f.sys.Root.Send(f.pid, &messages.UserDataStreamState{Up: true, Reconnects: 1})
	actortest.Eventually(t, 5*time.Second, func() bool {
		f.fx.mu.Lock()
		defer f.fx.mu.Unlock()
		return f.fx.openQueries > before
	}, "reconciled after the reconnect")
}

// An order whose outcome was unknown when the actor stopped is resolved by
// the reconciliation at the next start, never placed again; the client id
// sequence goes on where it was.
func TestRestartResolvesAnUnknownOrderWithoutResending(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.InFlightCheck = time.Hour
	f := newFixture(t, cfg)
	f.fx.place = func(*messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN}
	}
	o := f.place(limitBuy("s1", "")).GetOrder()
	if o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
		t.Fatalf("order = %v", o)
	}
	f.fx.mu.Lock()
	f.fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 41, ClientOrderId: o.GetClientOrderId(), Side: "BUY", Type: "LIMIT",
		Price: "50000", OrigQty: "0.01", ExecutedQty: "0", Status: "NEW"}}
	f.fx.place = func(m *messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: exchangeOrder(m, "NEW", 42)}
	}
	f.fx.mu.Unlock()
	f.restart()
	if g := f.gate(); g.GetGate() != gateOpen {
		t.Fatalf("gate = %v", g)
	}
	got := f.orders("new")
	if len(got) != 1 || got[0].GetExchangeOrderId() != 41 {
		t.Fatalf("open orders after restart = %v", got)
	}
	if n := f.fx.count(f.fx.places, o.GetClientOrderId()); n != 1 {
		t.Fatalf("PlaceOrder sent %d times", n)
	}
	if next := f.place(limitBuy("s1", "")).GetOrder(); next.GetClientOrderId() != "sb-s1-2" {
		t.Fatalf("next id = %s", next.GetClientOrderId())
	}
}

// external = "cancel": an order only the exchange knows is canceled, not
// adopted.
func TestReconcileCancelsExternalOrdersWhenConfigured(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.External = ExternalCancel
	f := newFixtureWith(t, cfg, func(fx *fakeExchange) {
		fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 3, ClientOrderId: "web_abc", Side: "BUY", Type: "LIMIT",
			Price: "1", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	})
	actortest.Eventually(t, 5*time.Second, func() bool { return f.fx.count(f.fx.cancels, "web_abc") == 1 }, "external order canceled")
	if o := f.orders("open"); len(o) != 0 {
		t.Fatalf("adopted anyway: %v", o)
	}
}

// The periodic open-orders check notices an order that appeared on the
// exchange behind the actor's back and reconciles (it is adopted).
func TestOpenOrdersCheckFindsNewExchangeOrders(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.OpenOrdersCheck = time.Second
	f := newFixture(t, cfg)
	f.fx.mu.Lock()
	f.fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 4, ClientOrderId: "app_1", Side: "SELL", Type: "LIMIT",
		Price: "90000", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	f.fx.mu.Unlock()
	actortest.Eventually(t, 10*time.Second, func() bool {
		o := f.orders("open")
		return len(o) == 1 && o[0].GetClientOrderId() == "app_1" && o[0].GetStrategy() == "external"
	}, "order adopted after the periodic check")
	if g := f.gate(); g.GetGate() != gateOpen {
		t.Fatalf("gate = %v", g)
	}
	bal := actortest.Request[*messages.BalanceResponse](t, f.sys, f.pid, &messages.BalanceRequest{})
	if bal.GetMode() != ModeLive || len(bal.GetBalances()) != 1 || bal.GetBalances()[0].GetFree() != "1000" {
		t.Fatalf("live balances = %v", bal)
	}
}

// An order a query found FILLED before its trades were recorded is still
// settled after a restart: the reconciliation records its trades instead
// of halting on "a trade of an order nobody knows".
func TestRestartSettlesAnOrderFilledWithoutItsTrades(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.OpenOrdersCheck = time.Second
	f := newFixture(t, cfg)
	o := f.place(limitBuy("s1", "")).GetOrder()
	f.fx.mu.Lock()
	f.fx.get = func(m *messages.GetOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: &messages.Order{Symbol: "BTCUSDT", OrderId: 7,
			ClientOrderId: o.GetClientOrderId(), Side: "BUY", Type: "LIMIT", Price: "50000", OrigQty: "0.01", ExecutedQty: "0.01",
			CumulativeQuoteQty: "500", Status: "FILLED"}}
	}
	f.fx.mu.Unlock()
	actortest.Eventually(t, 10*time.Second, func() bool { return len(f.orders("filled")) == 1 }, "FILLED by the periodic check's query")
	f.fx.mu.Lock()
	f.fx.trades = []*messages.ExchangeTrade{{Symbol: "BTCUSDT", Id: 500, OrderId: 7, Price: "50000", Qty: "0.01", QuoteQty: "500",
		Commission: "0.5", CommissionAsset: "USDT", TimeMs: 1, IsBuyer: true}}
	f.fx.mu.Unlock()
	f.restart()
	rec := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	if rec.GetState().GetGate() != gateOpen {
		t.Fatalf("reconcile = %v", rec)
	}
	p := f.positions("s1").GetPositions()
	if len(p) != 1 || p[0].GetQuantity() != "0.01" {
		t.Fatalf("positions = %v", p)
	}
}

// A mismatch seen by a reconciliation beside trading (its snapshot can be
// stale) is checked again with the gate closed; gone then, nothing halts.
func TestTransientMismatchDoesNotHalt(t *testing.T) {
	cfg := testCfg(ModeLive)
	cfg.OpenOrdersCheck = time.Second
	f := newFixture(t, cfg)
	f.fx.mu.Lock()
	f.fx.transient = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 9, ClientOrderId: "sb-s1-99", Side: "BUY", Type: "LIMIT",
		Price: "1", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	f.fx.openOnce = 2 // the periodic check and the run it starts
	f.fx.mu.Unlock()
	actortest.Eventually(t, 10*time.Second, func() bool {
		f.fx.mu.Lock()
		defer f.fx.mu.Unlock()
		return f.fx.openOnce == 0 && f.fx.openQueries >= 3
	}, "checked again")
	actortest.Eventually(t, 10*time.Second, func() bool {
		r := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
		return r.GetState().GetGate() == gateOpen && r.GetReport().GetResult() == "ok"
	}, "gate open after the gated re-run")
}

// A reconciliation whose fetch fails (here: the account call refused for
// rate) explains nothing: it is run again after a backoff, the gate stays
// closed meanwhile, and trading opens once a run succeeds. It never halts.
func TestFailedReconciliationIsRetriedNotHalted(t *testing.T) {
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) { fx.accountErrors = 2 })
	r := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	if g := r.GetState().GetGate(); g != gateOpen || r.GetReport().GetResult() != "ok" {
		t.Fatalf("gate %q, report %v: want open after the retries", g, r.GetReport())
	}
	f.fx.mu.Lock()
	n := f.fx.accounts
	f.fx.mu.Unlock()
	if n < 3 {
		t.Fatalf("account requests = %d, want 3 (two failed runs, then one that passed)", n)
	}
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "alert.risk.reconcile" })
}
