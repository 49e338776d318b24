package orders

import (
	"context"
	"net/http"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// liveSim is a private simulated exchange, a real connector and a real bus.
type liveSim struct {
	ex   *exchangesim.Exchange
	sys  *actor.ActorSystem
	conn *actor.PID
	bus  *actor.PID
}

func startLiveSim(t testing.TB) *liveSim {
	t.Helper()
	scfg := exchangesim.DefaultConfig()
	scfg.Listen, scfg.TickInterval, scfg.Backfill, scfg.PingInterval = "127.0.0.1:0", 0, 10*time.Minute, 200*time.Millisecond
	if _, bench := t.(*testing.B); bench {
		scfg.OrderLimit10s = 1_000_000
	}
	ex, err := exchangesim.New(scfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	ccfg := connector.DefaultConfig()
	ccfg.BaseURL, ccfg.WSBaseURL = ex.BaseURL(), ex.WSBaseURL()
	ccfg.RequestTimeout = 3 * time.Second
	ccfg.Retry = connector.RetryConfig{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	ccfg.ReconnectBackoff, ccfg.ReconnectMaxBackoff = 50*time.Millisecond, 500*time.Millisecond
	if err := ccfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	log := actortest.Logger(t)
	ls := &liveSim{ex: ex, sys: sys}
	ls.bus = actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test-node", log))
	ls.conn = actortest.Spawn(t, sys, connector.Props(ccfg, connector.Deps{Bus: ls.bus, Logger: log}))
	actortest.Eventually(t, 10*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ConnectorStatusResponse](sys, ls.conn, &messages.ConnectorStatusRequest{}, time.Second)
		return err == nil && r.GetHealth() == "up"
	}, "connector up")
	return ls
}

func (ls *liveSim) direct(t testing.TB) *binance.Client {
	t.Helper()
	c := binance.NewClient(exchangesim.DefaultAPIKey, exchangesim.DefaultSecretKey)
	c.BaseURL = ls.ex.BaseURL()
	tr := &http.Transport{}
	c.HTTPClient = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	if _, err := c.NewSetServerTimeService().Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// startOrders spawns a live order actor on ls in dir and waits for its gate.
func (ls *liveSim) startOrders(t testing.TB, cfg Config, dir string, extra ...func(*Deps)) *actor.PID {
	t.Helper()
	deps := Deps{Bus: ls.bus, Connector: ls.conn, StateDir: dir, Logger: actortest.Logger(t)}
	for _, f := range extra {
		f(&deps)
	}
	pid := actortest.Spawn(t, ls.sys, Props(cfg, deps))
	actortest.Eventually(t, 20*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ReconcileResponse](ls.sys, pid, &messages.ReconcileRequest{}, time.Second)
		return err == nil && r.GetState().GetGate() == gateOpen
	}, "live gate open")
	return pid
}

func liveCfg() Config {
	cfg := DefaultConfig()
	cfg.Mode = ModeLive
	cfg.Risk = RiskConfig{MaxOpenOrders: 100} // no last price without trades on the quiet simulator
	cfg.InFlightCheck = 200 * time.Millisecond
	return cfg
}

// Live through the real connector and go-binance to the simulator: a
// resting limit order, a market order filled (its fill recorded from the
// user data stream), a cancel, and a placement whose answer the exchange
// drops after creating the order: resolved, never placed twice.
func TestLiveAgainstTheSimulator(t *testing.T) {
	ls := startLiveSim(t)
	pid := ls.startOrders(t, liveCfg(), t.TempDir())
	place := func(req *messages.PlaceTradeOrderRequest) *messages.TradeOrder {
		t.Helper()
		r := actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, req)
		if r.GetError() != nil {
			t.Fatalf("place %v: %v", req, r.GetError())
		}
		return r.GetOrder()
	}
	tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
	low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
	resting := place(&messages.PlaceTradeOrderRequest{Strategy: "live", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low})
	if resting.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW || resting.GetExchangeOrderId() == 0 {
		t.Fatalf("resting = %v", resting)
	}
	market := place(&messages.PlaceTradeOrderRequest{Strategy: "live", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.002"})
	actortest.Eventually(t, 10*time.Second, func() bool {
		p := actortest.Request[*messages.PositionsResponse](t, ls.sys, pid, &messages.PositionsRequest{Strategy: "live"}).GetPositions()
		f := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "filled"}).GetOrders()
		return len(p) == 1 && p[0].GetQuantity() == "0.002" && len(f) == 1 && f[0].GetClientOrderId() == market.GetClientOrderId()
	}, "the market order filled and its fill booked from the user data stream")
	c := actortest.Request[*messages.CancelTradeOrderResponse](t, ls.sys, pid, &messages.CancelTradeOrderRequest{ClientOrderId: resting.GetClientOrderId()})
	if c.GetError() != nil || c.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED {
		t.Fatalf("cancel = %v", c)
	}

	// The exchange creates the order and drops the answer.
	if err := ls.ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultDrop, Route: "POST /api/v3/order", Count: 1}); err != nil {
		t.Fatal(err)
	}
	dropped := place(&messages.PlaceTradeOrderRequest{Strategy: "live", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low, ClientOrderId: "drop-1"})
	actortest.Eventually(t, 15*time.Second, func() bool {
		r := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "new"})
		for _, o := range r.GetOrders() {
			if o.GetClientOrderId() == "drop-1" && o.GetExchangeOrderId() != 0 {
				return true
			}
		}
		return false
	}, "the dropped placement resolved as NEW (first answer %v)", dropped.GetStatus())
	all, err := ls.direct(t).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range all {
		if o.ClientOrderID == "drop-1" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the exchange holds %d orders drop-1, want exactly 1", n)
	}
}

// A restart against the real exchange: the journal's resting order is
// still open after the reconciliation, an order placed on the exchange by
// someone else while the actor was down is adopted as "external", and
// the gate opens with no mismatch.
func TestLiveRestartReconciles(t *testing.T) {
	ls := startLiveSim(t)
	dir := t.TempDir()
	pid := ls.startOrders(t, liveCfg(), dir)
	tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
	low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
	r := actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, &messages.PlaceTradeOrderRequest{Strategy: "live",
		Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low})
	if r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	if err := ls.sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := ls.direct(t).NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price(low).NewClientOrderID("web-1").Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid = ls.startOrders(t, liveCfg(), dir)
	rec := actortest.Request[*messages.ReconcileResponse](t, ls.sys, pid, &messages.ReconcileRequest{})
	if rec.GetReport().GetResult() != "ok" || rec.GetReport().GetOrdersAdopted() != 1 {
		t.Fatalf("report = %v", rec.GetReport())
	}
	open := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "open"}).GetOrders()
	byID := map[string]*messages.TradeOrder{}
	for _, o := range open {
		byID[o.GetClientOrderId()] = o
	}
	if len(open) != 2 || byID[r.GetOrder().GetClientOrderId()].GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW ||
		byID["web-1"].GetStrategy() != "external" {
		t.Fatalf("open orders after restart = %v", open)
	}
}

// Faults on the placement itself: the outcome is unknown, resolved by
// queries (the exchange never created the order: LOST), and the order is
// never sent twice: the exchange holds none with its id.
func TestLiveFaultsLeaveUnknownThenLost(t *testing.T) {
	for _, fault := range []exchangesim.Fault{
		{Kind: exchangesim.FaultError, Route: "POST /api/v3/order", Status: 503},
		{Kind: exchangesim.FaultRateLimit, Route: "POST /api/v3/order"},
	} {
		t.Run(string(fault.Kind), func(t *testing.T) {
			ls := startLiveSim(t)
			cfg := liveCfg()
			cfg.LostAfter = 2
			pid := ls.startOrders(t, cfg, t.TempDir())
			tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
			low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
			if err := ls.ex.InjectFault(fault); err != nil {
				t.Fatal(err)
			}
			id := "fault-" + string(fault.Kind)
			r := actortest.Request[*messages.PlaceTradeOrderResponse](t, ls.sys, pid, &messages.PlaceTradeOrderRequest{Strategy: "live",
				Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: low, ClientOrderId: id})
			if s := r.GetOrder().GetStatus(); s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW || s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED {
				t.Fatalf("answer = %v, want an unknown outcome", r)
			}
			actortest.Eventually(t, 20*time.Second, func() bool {
				o := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Status: "lost"}).GetOrders()
				return len(o) == 1 && o[0].GetClientOrderId() == id
			}, "order LOST after not-found queries")
			all, err := ls.direct(t).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range all {
				if o.ClientOrderID == id {
					t.Fatalf("the exchange holds order %s: it was sent again", id)
				}
			}
		})
	}
}
