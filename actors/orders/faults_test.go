package orders

import (
	"context"
	"fmt"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// exchangeCounts counts the simulator's orders by client id.
func (ls *liveSim) exchangeCounts(t *testing.T) map[string]int {
	t.Helper()
	all, err := ls.direct(t).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := map[string]int{}
	for _, o := range all {
		n[o.ClientOrderID]++
	}
	return n
}

// The exchange creates the order, then answers 5xx, 429 or 418: the
// outcome is unknown, resolved by its client id (found: NEW with its
// exchange id), and the order is on the exchange exactly once.
func TestLiveFaultsAfterAcceptResolveWithoutResending(t *testing.T) {
	for _, fault := range []exchangesim.Fault{
		{Kind: exchangesim.FaultErrorAfter, Route: "POST /api/v3/order", Status: 502},
		{Kind: exchangesim.FaultRateLimitAfter, Route: "POST /api/v3/order"},
		{Kind: exchangesim.FaultBanAfter, Route: "POST /api/v3/order"},
	} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			ls := startLiveSim(t)
			pid := ls.startOrders(t, liveCfg(), t.TempDir())
			tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
			low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
			if err := ls.ex.InjectFault(fault); err != nil {
				t.Fatal(err)
			}
			id := "after-" + string(fault.Kind)
			r := actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, &messages.PlaceTradeOrderRequest{Strategy: "live",
				Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low, ClientOrderId: id})
			if s := r.GetOrder().GetStatus(); s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED || s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT {
				t.Fatalf("answer = %v: the order exists, it must not read as refused", r)
			}
			actortest.Eventually(t, 30*time.Second, func() bool {
				o := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "new"}).GetOrders()
				return len(o) == 1 && o[0].GetClientOrderId() == id && o[0].GetExchangeOrderId() != 0
			}, "order %s resolved as NEW (first answer %v)", id, r.GetOrder().GetStatus())
			if n := ls.exchangeCounts(t)[id]; n != 1 {
				t.Fatalf("the exchange holds %d orders %s, want 1", n, id)
			}
		})
	}
}

// The user data stream is cut while market orders fill: their trade
// reports are lost with the connection, and the reconciliation that runs
// after the reconnect records them (myTrades). Every order is filled in the
// journal with fills summing to its executed quantity, each on the
// exchange once, and the position is the sum.
func TestLiveStreamCutWhileOrdersFill(t *testing.T) {
	ls := startLiveSim(t)
	pid := ls.startOrders(t, liveCfg(), t.TempDir())
	// The reconnect's reconciliation closes the gate for a moment: a
	// placement refused then is retried (with its id, so at most once).
	place := func(id string) {
		var r *messages.PlaceTradeOrderResponse
		actortest.Eventually(t, 10*time.Second, func() bool {
			r = actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, &messages.PlaceTradeOrderRequest{Strategy: "cut",
				Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.001", ClientOrderId: id})
			return r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION
		}, "place %s admitted", id)
		if r.GetError() != nil {
			t.Fatalf("place %s: %v", id, r.GetError())
		}
	}
	place("cut-0") // warms the symbol's price before the cut
	before := actortest.Request[*messages.ReconcileResponse](t, ls.sys, pid, &messages.ReconcileRequest{}).GetReport().GetFinishedMs()
	if n := ls.ex.CloseStreams(false); n == 0 {
		t.Fatal("no stream to cut")
	}
	const n = 6
	for i := 1; i < n; i++ {
		place(fmt.Sprintf("cut-%d", i))
	}
	actortest.Eventually(t, 30*time.Second, func() bool {
		r := actortest.Request[*messages.ReconcileResponse](t, ls.sys, pid, &messages.ReconcileRequest{})
		if r.GetReport().GetFinishedMs() == before || r.GetReport().GetResult() != "ok" || r.GetState().GetGate() != gateOpen {
			return false
		}
		filled := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Strategy: "cut", Status: "filled"}).GetOrders()
		fills := actortest.Request[*messages.TradeFillsResponse](t, ls.sys, pid, &messages.TradeFillsRequest{Strategy: "cut"}).GetFills()
		sum := map[string]float64{}
		for _, f := range fills {
			sum[f.GetClientOrderId()] += dec(f.GetQuantity())
		}
		for _, o := range filled {
			if fmtDec(sum[o.GetClientOrderId()]) != fmtDec(dec(o.GetExecutedQty())) {
				return false
			}
		}
		return len(filled) == n
	}, "a reconciliation after the reconnect, and every order filled with all its fills")
	counts := ls.exchangeCounts(t)
	for i := range n {
		if id := fmt.Sprintf("cut-%d", i); counts[id] != 1 {
			t.Fatalf("the exchange holds %d orders %s, want 1", counts[id], id)
		}
	}
	p := actortest.Request[*messages.PositionsResponse](t, ls.sys, pid, &messages.PositionsRequest{Strategy: "cut"}).GetPositions()
	if len(p) != 1 || p[0].GetQuantity() != fmtDec(n*0.001) {
		t.Fatalf("position = %v, want %v", p, n*0.001)
	}
	t.Logf("last reconciliation: %v", actortest.Request[*messages.ReconcileResponse](t, ls.sys, pid, &messages.ReconcileRequest{}).GetReport())
}

// A cancel of an order whose placement is still unknown (the exchange has
// not created it yet) is refused by the exchange; the actor remembers it
// and cancels the order when it shows up (here: the delayed request lands,
// played by placing the same client id directly), instead of leaving it
// open.
func TestLiveCancelWhilePlacementUnknown(t *testing.T) {
	ls := startLiveSim(t)
	pid := ls.startOrders(t, liveCfg(), t.TempDir())
	tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
	low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
	if err := ls.ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultError, Route: "POST /api/v3/order", Status: 503}); err != nil {
		t.Fatal(err)
	}
	const id = "slow-1"
	r := actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, &messages.PlaceTradeOrderRequest{Strategy: "live",
		Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low, ClientOrderId: id})
	if s := r.GetOrder().GetStatus(); s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN {
		t.Fatalf("placement answered %v, want an unknown outcome", r)
	}
	c := actortest.Request[*messages.CancelTradeOrderResponse](t, ls.sys, pid, &messages.CancelTradeOrderRequest{ClientOrderId: id})
	if c.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("cancel of an order the exchange does not know answered %v", c)
	}
	if _, err := ls.direct(t).NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price(low).NewClientOrderID(id).Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, 30*time.Second, func() bool {
		o := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "canceled"}).GetOrders()
		return len(o) == 1 && o[0].GetClientOrderId() == id
	}, "the order canceled once it showed up")
	if n := ls.exchangeCounts(t)[id]; n != 1 {
		t.Fatalf("the exchange holds %d orders %s, want 1", n, id)
	}
}
