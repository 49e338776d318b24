package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/messages"
)

func limitBuy(strategy, id string) *messages.PlaceTradeOrderRequest {
	return &messages.PlaceTradeOrderRequest{Strategy: strategy, Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.01", Price: "50000", ClientOrderId: id}
}

func TestPlaceAcceptedIsJournaledOnce(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	r := f.place(limitBuy("trend", ""))
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	o := r.GetOrder()
	if o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW || o.GetExchangeOrderId() != 7 {
		t.Fatalf("order = %v", o)
	}
	if o.GetClientOrderId() != "sb-trend-1" {
		t.Fatalf("client id = %q, want sb-trend-1", o.GetClientOrderId())
	}
	got := f.orders("open")
	if len(got) != 1 || got[0].GetClientOrderId() != "sb-trend-1" || got[0].GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
		t.Fatalf("journal open orders = %v", got)
	}
	if n := f.fx.count(f.fx.places, "sb-trend-1"); n != 1 {
		t.Fatalf("PlaceOrder sent %d times", n)
	}
	ev := actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return strings.HasPrefix(e.GetTopic(), "order.") })
	if ev.GetTopic() != "order.trend.BTCUSDT.new" {
		t.Fatalf("event topic = %s", ev.GetTopic())
	}
}

func TestPlaceRejectedOnlyOnADefinitiveAnswer(t *testing.T) {
	cases := []struct {
		name   string
		result *messages.OrderResult
		want   messages.TradeOrderStatus
	}{
		{"exchange refuses", &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED, ExchangeCode: -2010,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "exchange: insufficient balance (-2010)")},
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED},
		{"rate limited after sending", &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "the exchange is rate limiting this host")},
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN},
		{"backend timeout code", &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED, ExchangeCode: -1007,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "exchange: timeout (-1007)")},
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN},
		{"unknown outcome", &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "order outcome unknown")},
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN},
		{"never left", &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_NOT_SENT,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "queue timeout")},
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testCfg(ModeLive)
			cfg.InFlightCheck = time.Hour // no queries in this test
			f := newFixture(t, cfg)
			f.fx.place = func(*messages.PlaceOrderRequest) *messages.OrderResult { return c.result }
			r := f.place(limitBuy("s1", ""))
			if r.GetOrder().GetStatus() != c.want {
				t.Fatalf("status = %v, want %v (%v)", r.GetOrder().GetStatus(), c.want, r)
			}
			got := f.orders("")
			if len(got) != 1 || got[0].GetStatus() != c.want {
				t.Fatalf("journal = %v", got)
			}
		})
	}
}

// An unknown outcome is resolved by queries, never by sending again:
// "not found" lost_after times -> LOST, still queried; a later "found"
// revives it.
func TestUnknownOutcomeQueriedUntilLostNeverResent(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	f.fx.place = func(*messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "timeout")}
	}
	r := f.place(limitBuy("s1", ""))
	id := r.GetOrder().GetClientOrderId()
	if r.GetError() != nil || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
		t.Fatalf("answer = %v", r)
	}
	actortest.Eventually(t, 10*time.Second, func() bool {
		o := f.orders("lost")
		return len(o) == 1 && o[0].GetNotFound() >= 3
	}, "order LOST after 3 not-found answers")
	// Still watched: the exchange finds it at last.
	f.fx.mu.Lock()
	f.fx.get = func(m *messages.GetOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: &messages.Order{Symbol: m.GetSymbol(),
			ClientOrderId: m.GetClientOrderId(), OrderId: 99, Status: "FILLED", ExecutedQty: "0.01", CumulativeQuoteQty: "500"}}
	}
	f.fx.mu.Unlock()
	actortest.Eventually(t, 10*time.Second, func() bool {
		o := f.orders("filled")
		return len(o) == 1 && o[0].GetExchangeOrderId() == 99 && o[0].GetAvgPrice() == "50000"
	}, "LOST order revived as FILLED by a later query")
	if n := f.fx.count(f.fx.places, id); n != 1 {
		t.Fatalf("PlaceOrder sent %d times for one intent", n)
	}
}

func TestUnknownOutcomeFoundByQuery(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	f.fx.get = func(m *messages.GetOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: &messages.Order{Symbol: m.GetSymbol(),
			ClientOrderId: m.GetClientOrderId(), OrderId: 5, Status: "NEW", ExecutedQty: "0"}}
	}
	f.fx.place = func(*messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN}
	}
	r := f.place(limitBuy("s1", "mine-1"))
	if r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
		t.Fatalf("answer = %v", r)
	}
	actortest.Eventually(t, 10*time.Second, func() bool {
		o := f.orders("new")
		return len(o) == 1 && o[0].GetExchangeOrderId() == 5
	}, "resolved as NEW")
	if n := f.fx.count(f.fx.places, "mine-1"); n != 1 {
		t.Fatalf("PlaceOrder sent %d times", n)
	}
}

func TestRetryWithTheSameClientIDNeverPlacesTwice(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	f.fx.place = func(m *messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: exchangeOrder(m, "FILLED", 8)}
	}
	first := f.place(limitBuy("s1", "retry-1"))
	if first.GetError() != nil || first.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
		t.Fatal(first)
	}
	// The order is closed and out of memory: the journal answers retries.
	for i := 0; i < 3; i++ {
		again := f.place(limitBuy("s1", "retry-1"))
		if again.GetOrder().GetClientOrderId() != "retry-1" || again.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
			t.Fatalf("retry answered %v", again)
		}
	}
	f.restart()
	third := f.place(limitBuy("s1", "retry-1"))
	if third.GetOrder().GetClientOrderId() != "retry-1" || third.GetOrder().GetExchangeOrderId() != 8 {
		t.Fatalf("retry after restart answered %v", third)
	}
	if n := f.fx.count(f.fx.places, "retry-1"); n != 1 {
		t.Fatalf("PlaceOrder sent %d times for one client id", n)
	}
	// An id in the actor's own form that the journal does not know is
	// refused (it could collide with a generated one).
	bad := f.place(limitBuy("s1", "sb-s1-77"))
	if bad.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("reserved id answered %v", bad)
	}
}

func TestInvalidPlacementListsEveryProblem(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	r := f.place(&messages.PlaceTradeOrderRequest{Symbol: "btc usdt", Side: "HOLD", Type: "LIMIT", Quantity: "-1", ClientOrderId: "bad id!"})
	e := r.GetError()
	if e.GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || len(e.GetDetails()) != 5 {
		t.Fatalf("error = %v", e)
	}
	if len(f.orders("")) != 0 {
		t.Fatal("an invalid order was journaled")
	}
}

func TestClientIDsAreShortAndUnique(t *testing.T) {
	long := "a_very_long_strategy_name_that_goes_on_and_on"
	id := clientid.Make("sb", long, 0, 12345678901)
	if !orderIDRE.MatchString(id) || strings.Contains(id, ".") || len(id) > 36 {
		t.Fatalf("id %q", id)
	}
	if clientid.Make("sb", long, 0, 1) == clientid.Make("sb", long+"x", 0, 1) {
		t.Fatal("two long names gave one id")
	}
	if got := clientid.Make("sb", "grid", 0, 3); got != "sb-grid-3" {
		t.Fatalf("id = %q", got)
	}
}

// Callers may use the actor's prefix for ids of their own (the strategy
// host does: NAME-START_SEQ after the prefix) as long as the id does not
// end with -DIGITS, the actor's own form: such ids are placed once and
// answered from the journal on a retry; ids in the own form are refused,
// whatever strategy they seem to name.
func TestCallerIDsWithThePrefix(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	for _, id := range []string{"sb-btc_trend-loyw3v28_1", "sb-s1-x", "sb-s1-7a"} {
		for range 2 {
			r := f.place(limitBuy("s1", id))
			if r.GetError() != nil || r.GetOrder().GetClientOrderId() != id || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
				t.Fatalf("place %s answered %v", id, r)
			}
		}
		if n := f.fx.count(f.fx.places, id); n != 1 {
			t.Fatalf("PlaceOrder sent %d times for %s", n, id)
		}
	}
	for _, id := range []string{"sb-s1-77", "sb-other-3", "sb-s1-x-9", "sb-a-b-1"} {
		if r := f.place(limitBuy("s1", id)); r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
			t.Fatalf("id %s in the actor's own form answered %v", id, r)
		}
		if n := f.fx.count(f.fx.places, id); n != 0 {
			t.Fatalf("PlaceOrder sent for the refused id %s", id)
		}
	}
	// The generated ids go on from where they were, unaffected.
	if r := f.place(limitBuy("s1", "")); r.GetOrder().GetClientOrderId() != "sb-s1-1" {
		t.Fatalf("generated id %v", r)
	}
}

// The other direction: an exchange order with the prefix in the strategy
// host's form that the journal does not know is a lost record of ours
// (trading halts), not an external order to adopt.
func TestReconcileHaltsOnALostStrategyHostOrder(t *testing.T) {
	f := newFixtureWith(t, testCfg(ModeLive), func(fx *fakeExchange) {
		fx.open = []*messages.Order{{Symbol: "BTCUSDT", OrderId: 3, ClientOrderId: "sb-btc_trend-loyw3v28_5", Side: "BUY", Type: "LIMIT",
			Price: "1", OrigQty: "1", ExecutedQty: "0", Status: "NEW"}}
	})
	g := actortest.Request[*messages.ReconcileResponse](t, f.sys, f.pid, &messages.ReconcileRequest{})
	if g.GetState().GetGate() != gateHalted || len(g.GetReport().GetMismatches()) != 1 || g.GetReport().GetOrdersAdopted() != 0 {
		t.Fatalf("reconcile = %v", g)
	}
}
