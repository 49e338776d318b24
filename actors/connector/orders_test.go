package connector

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// restingBuy is a LIMIT BUY far below the simulator's 65000 start price.
func restingBuy(id string) *messages.PlaceOrderRequest {
	return &messages.PlaceOrderRequest{Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: "50000", ClientOrderId: id}
}

// ordersWithID counts the exchange's orders (open or closed) with client order ID id.
func ordersWithID(t *testing.T, ex *exchangesim.Exchange, id string) int {
	t.Helper()
	all, err := directClient(t, ex).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range all {
		if o.ClientOrderID == id {
			n++
		}
	}
	return n
}

func placeOrder(t *testing.T, f *fixture, m *messages.PlaceOrderRequest) *messages.OrderResult {
	t.Helper()
	res, err := actortest.TryRequest[*messages.OrderResult](f.sys, f.pid, m, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestPlaceGetCancelOrder(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	res := placeOrder(t, f, restingBuy("oid-1"))
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED || res.GetOrder().GetStatus() != "NEW" ||
		res.GetOrder().GetClientOrderId() != "oid-1" || res.GetOrder().GetOrderId() == 0 {
		t.Fatalf("place = %v", res)
	}
	got := actortest.Request[*messages.OrderResult](t, f.sys, f.pid, &messages.GetOrderRequest{Symbol: "BTCUSDT", ClientOrderId: "oid-1"})
	if got.GetOrder().GetOrderId() != res.GetOrder().GetOrderId() || got.GetOrder().GetPrice() != "50000.00000000" {
		t.Fatalf("get = %v", got)
	}
	c := actortest.Request[*messages.OrderResult](t, f.sys, f.pid, &messages.CancelOrderRequest{Symbol: "BTCUSDT", OrderId: res.GetOrder().GetOrderId()})
	if c.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED || c.GetOrder().GetStatus() != "CANCELED" {
		t.Fatalf("cancel = %v", c)
	}
	again := actortest.Request[*messages.OrderResult](t, f.sys, f.pid, &messages.CancelOrderRequest{Symbol: "BTCUSDT", ClientOrderId: "oid-1"})
	if again.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_REJECTED || again.GetExchangeCode() != -2011 {
		t.Fatalf("second cancel = %v", again)
	}
	missing := actortest.Request[*messages.OrderResult](t, f.sys, f.pid, &messages.GetOrderRequest{Symbol: "BTCUSDT", ClientOrderId: "nope"})
	if missing.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND || missing.GetExchangeCode() != -2013 {
		t.Fatalf("get missing = %v", missing)
	}
}

func TestPlaceOrderRejectedByExchange(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	m := restingBuy("too-small")
	m.Quantity = "0.00001" // notional 0.5 USDT < 5
	res := placeOrder(t, f, m)
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_REJECTED || res.GetExchangeCode() != -1013 ||
		res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("res = %v", res)
	}
	if n := ordersWithID(t, ex, "too-small"); n != 0 {
		t.Fatalf("%d orders on the exchange", n)
	}
}

func TestPlaceOrderValidation(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	before := f.status(t).GetUpstreamRequests()
	cases := []struct {
		name string
		edit func(m *messages.PlaceOrderRequest)
	}{
		{"no client order id", func(m *messages.PlaceOrderRequest) { m.ClientOrderId = "" }},
		{"client order id with @", func(m *messages.PlaceOrderRequest) { m.ClientOrderId = "a@b" }},
		{"client order id too long", func(m *messages.PlaceOrderRequest) { m.ClientOrderId = "0123456789012345678901234567890123456" }},
		{"bad side", func(m *messages.PlaceOrderRequest) { m.Side = "HOLD" }},
		{"limit without price", func(m *messages.PlaceOrderRequest) { m.Price = "" }},
		{"market with price", func(m *messages.PlaceOrderRequest) { m.Type = "MARKET" }},
		{"float quantity", func(m *messages.PlaceOrderRequest) { m.Quantity = "1e-3" }},
		{"bad time in force", func(m *messages.PlaceOrderRequest) { m.TimeInForce = "DAY" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := restingBuy("valid_id-1")
			tc.edit(m)
			res := placeOrder(t, f, m)
			if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_REJECTED {
				t.Fatalf("res = %v", res)
			}
		})
	}
	if got := f.status(t).GetUpstreamRequests(); got != before {
		t.Fatalf("upstream requests %d -> %d", before, got)
	}
}

// TestOrderUnknownOutcomes: the answer to a placement is lost (dropped, a
// 5xx, a timeout). Querying the client order ID resolves it when the
// exchange has the order; when the query says "does not exist" (-2013) the
// connector never sends it again: it answers UNKNOWN naming the ID. The
// exchange's count of orders with the ID catches any resend (with a 5xx
// fault a resend would succeed and leave one order; a late timeout would
// leave a -2010).
func TestOrderUnknownOutcomes(t *testing.T) {
	cases := []struct {
		name  string
		fault exchangesim.Fault
		want  messages.OrderOutcome
		// orders is what the exchange ends up holding with the ID.
		orders int
	}{
		{"accepted, response dropped", exchangesim.Fault{Kind: exchangesim.FaultDrop, Route: "POST /api/v3/order"},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN_RESOLVED_FOUND, 1},
		{"503 before processing", exchangesim.Fault{Kind: exchangesim.FaultError, Route: "POST /api/v3/order", Status: 503},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, 0},
		{"500 before processing", exchangesim.Fault{Kind: exchangesim.FaultError, Route: "POST /api/v3/order", Status: 500},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, 0},
		{"timeout (the simulator drops it when the client gives up)", exchangesim.Fault{Kind: exchangesim.FaultLatency, Route: "POST /api/v3/order", Latency: 2 * time.Second},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, 0},
		{"429 after it left", exchangesim.Fault{Kind: exchangesim.FaultRateLimit, Route: "POST /api/v3/order", RetryAfter: time.Second},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, 0},
		{"418 after it left", exchangesim.Fault{Kind: exchangesim.FaultBan, Route: "POST /api/v3/order", RetryAfter: time.Second},
			messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := startSim(t, simConfig())
			cfg := testConfig(ex)
			cfg.RequestTimeout = 300 * time.Millisecond
			f := startConnector(t, cfg)
			if err := ex.InjectFault(tc.fault); err != nil {
				t.Fatal(err)
			}
			res := placeOrder(t, f, restingBuy("unknown-1"))
			// One placement and one query: never a second placement.
			if res.GetOutcome() != tc.want || res.GetAttempts() != 2 {
				t.Fatalf("res = %v, want outcome %s after 2 requests", res, tc.want)
			}
			switch tc.want {
			case messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN_RESOLVED_FOUND:
				if res.GetOrder().GetClientOrderId() != "unknown-1" || res.GetOrder().GetStatus() != "NEW" {
					t.Fatalf("order = %v", res.GetOrder())
				}
			default:
				if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), `"unknown-1"`) ||
					res.GetExchangeCode() != -2013 {
					t.Fatalf("res = %v: want UNAVAILABLE naming the client order id, exchange code -2013", res)
				}
			}
			ex.ClearFaults()
			if n := ordersWithID(t, ex, "unknown-1"); n != tc.orders {
				t.Fatalf("exchange holds %d orders with the id, want %d", n, tc.orders)
			}
		})
	}
}

// TestOrderNotSentWhileBanned: with a ban in force that outlasts the queue
// timeout, a placement is answered NOT_SENT at once and nothing leaves.
func TestOrderNotSentWhileBanned(t *testing.T) {
	ex := startSim(t, simConfig())
	cfg := testConfig(ex)
	cfg.QueueTimeout = 2 * time.Second
	f := startConnector(t, cfg)
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultBan, Route: "/api/v3/ticker/24hr", RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	held := f.sys.Root.RequestFuture(f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"}, 10*time.Second)
	if r, err := held.Result(); err != nil || r.(*messages.TickerResponse).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("ticker = %v, %v: want RATE_LIMITED (the ban outlasts its queue timeout)", r, err)
	}
	up := f.status(t).GetUpstreamRequests()
	res := placeOrder(t, f, restingBuy("banned-1"))
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_NOT_SENT || res.GetAttempts() != 0 ||
		res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("res = %v", res)
	}
	if got := f.status(t).GetUpstreamRequests(); got != up {
		t.Fatalf("%d requests went upstream during the ban", got-up)
	}
	if n := ordersWithID(t, ex, "banned-1"); n != 0 {
		t.Fatalf("exchange holds %d orders with the id", n)
	}
}

func TestOrderSameIDInFlightRefused(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultLatency, Route: "POST /api/v3/order", Latency: 300 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	first := f.sys.Root.RequestFuture(f.pid, restingBuy("dup-1"), 5*time.Second)
	second := placeOrder(t, f, restingBuy("dup-1"))
	if second.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS {
		t.Fatalf("second = %v", second)
	}
	res, err := first.Result()
	if err != nil || res.(*messages.OrderResult).GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED {
		t.Fatalf("first = %v, %v", res, err)
	}
}

// TestClockResyncOnTimestampError: the exchange clock jumps 30 s ahead; the
// next signed request gets -1021, the connector re-syncs and sends it again.
func TestClockResyncOnTimestampError(t *testing.T) {
	var ahead atomic.Int64
	ex := startSim(t, simConfig(), exchangesim.WithClock(func() time.Time { return time.Now().Add(time.Duration(ahead.Load())) }))
	f := startConnector(t, testConfig(ex))
	ahead.Store(int64(30 * time.Second))
	res := placeOrder(t, f, restingBuy("clock-1"))
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED {
		t.Fatalf("res = %v", res)
	}
	if off := f.status(t).GetClockOffsetMs(); off > -29000 || off < -31000 {
		t.Fatalf("clock offset = %d ms, want about -30000", off)
	}
}

// TestOrderBannedAfterItLeft: a 418 answers the placement with a ban that
// outlasts the queue timeout, so the resolving query cannot leave either:
// the outcome is UNKNOWN (query later), never NOT_SENT and never a resend.
func TestOrderBannedAfterItLeft(t *testing.T) {
	ex := startSim(t, simConfig())
	cfg := testConfig(ex)
	cfg.QueueTimeout = 2 * time.Second
	f := startConnector(t, cfg)
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultBan, Route: "POST /api/v3/order", RetryAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	res := placeOrder(t, f, restingBuy("banned-after"))
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN || res.GetAttempts() != 1 ||
		res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), `"banned-after"`) {
		t.Fatalf("res = %v", res)
	}
	if st := f.status(t); !st.GetBanned() || st.GetBanStatus() != 418 {
		t.Fatalf("status = %v", st)
	}
	if n := ordersWithID(t, ex, "banned-after"); n != 0 {
		t.Fatalf("exchange holds %d orders with the id", n)
	}
}

// TestQueuedOrderShedOnBan: a placement waiting for a worker when a ban
// starts that outlasts its queue timeout is answered NOT_SENT at once (not
// after the 30 s queue timeout), and never leaves.
func TestQueuedOrderShedOnBan(t *testing.T) {
	ex := startSim(t, simConfig())
	cfg := testConfig(ex)
	cfg.IOWorkers = 1
	f := startConnector(t, cfg)
	for _, fault := range []exchangesim.Fault{
		{Kind: exchangesim.FaultLatency, Route: "/api/v3/ticker/24hr", Latency: 500 * time.Millisecond, Count: 1},
		{Kind: exchangesim.FaultBan, Route: "/api/v3/ticker/24hr", RetryAfter: time.Minute},
	} {
		if err := ex.InjectFault(fault); err != nil {
			t.Fatal(err)
		}
	}
	ticker := f.sys.Root.RequestFuture(f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"}, 10*time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool { return f.status(t).GetPool().GetBusyWorkers() == 1 }, "ticker in flight")
	order := f.sys.Root.RequestFuture(f.pid, restingBuy("queued-1"), 10*time.Second)
	res, err := order.Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(*messages.OrderResult); r.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_NOT_SENT || r.GetAttempts() != 0 ||
		r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("order = %v", r)
	}
	if r, err := ticker.Result(); err != nil || r.(*messages.TickerResponse).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("ticker = %v, %v", r, err)
	}
	if n := ordersWithID(t, ex, "queued-1"); n != 0 {
		t.Fatalf("exchange holds %d orders with the id", n)
	}
}
