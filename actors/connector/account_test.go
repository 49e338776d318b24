package connector

import (
	"context"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestAccountCalls: balances, open orders and trades as the exchange holds
// them, each charged its Binance weight to the connector's budget.
func TestAccountCalls(t *testing.T) {
	sc := simConfig()
	sc.WeightWindow = time.Hour // no rollover during the test
	ex := startSim(t, sc)
	f := startConnector(t, testConfig(ex))
	direct := directClient(t, ex)
	bg := context.Background()
	if _, err := direct.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		Quantity("0.01").NewClientOrderID("taker-1").Do(bg); err != nil {
		t.Fatal(err)
	}
	if _, err := direct.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Price("50000").Quantity("0.001").NewClientOrderID("resting-1").Do(bg); err != nil {
		t.Fatal(err)
	}
	// Sync the budget with the weight the direct client spent.
	actortest.Request[*messages.TickerResponse](t, f.sys, f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"})
	before := f.status(t).GetBudgetUsed()

	acc := actortest.Request[*messages.AccountResponse](t, f.sys, f.pid, &messages.AccountRequest{})
	bal := map[string]*messages.AssetBalance{}
	for _, b := range acc.GetBalances() {
		bal[b.GetAsset()] = b
	}
	if acc.GetError() != nil || acc.GetUpdateTimeMs() == 0 || bal["USDT"] == nil || bal["BTC"].GetFree() == "" || bal["USDT"].GetLocked() != "50.00000000" {
		t.Fatalf("account = %v", acc)
	}
	for _, req := range []*messages.OpenOrdersRequest{{Symbol: "btcusdt"}, {}} {
		oo := actortest.Request[*messages.OpenOrdersResponse](t, f.sys, f.pid, req)
		if oo.GetError() != nil || len(oo.GetOrders()) != 1 || oo.GetOrders()[0].GetClientOrderId() != "resting-1" || oo.GetOrders()[0].GetStatus() != "NEW" {
			t.Fatalf("open orders %v = %v", req, oo)
		}
	}
	tr := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT"})
	if tr.GetError() != nil || len(tr.GetTrades()) == 0 {
		t.Fatalf("trades = %v", tr)
	}
	last := tr.GetTrades()[len(tr.GetTrades())-1]
	if last.GetSymbol() != "BTCUSDT" || last.GetOrderId() == 0 || !last.GetIsBuyer() || last.GetIsMaker() || last.GetCommission() == "" || last.GetPrice() == "" {
		t.Fatalf("trade = %v", last)
	}
	later := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", FromId: last.GetId() + 1, Limit: 10})
	if later.GetError() != nil || len(later.GetTrades()) != 0 {
		t.Fatalf("trades after the last = %v", later)
	}
	if got, want := f.status(t).GetBudgetUsed()-before, int64(20+6+80+20+20); got != want {
		t.Fatalf("budget charged %d, want %d (account 20, openOrders 6 and 80, myTrades 20 twice)", got, want)
	}
	// order_id: that order's trades only, charged 5.
	before = f.status(t).GetBudgetUsed()
	mine := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", OrderId: last.GetOrderId()})
	if mine.GetError() != nil || len(mine.GetTrades()) == 0 {
		t.Fatalf("trades of order %d = %v", last.GetOrderId(), mine)
	}
	for _, tr := range mine.GetTrades() {
		if tr.GetOrderId() != last.GetOrderId() {
			t.Fatalf("trades of order %d include %v", last.GetOrderId(), tr)
		}
	}
	none := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", OrderId: last.GetOrderId() + 1000})
	if none.GetError() != nil || len(none.GetTrades()) != 0 {
		t.Fatalf("trades of an order without any = %v", none)
	}
	if got := f.status(t).GetBudgetUsed() - before; got != 10 {
		t.Fatalf("budget charged %d, want 10 (myTrades of one order 5, twice)", got)
	}
	// start_time_ms (from_id 0): the oldest trades at or after that time.
	since := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", StartTimeMs: last.GetTimeMs()})
	if since.GetError() != nil || len(since.GetTrades()) == 0 || since.GetTrades()[0].GetTimeMs() < last.GetTimeMs() {
		t.Fatalf("trades since the last's time = %v", since)
	}
	after := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", StartTimeMs: last.GetTimeMs() + 1})
	if after.GetError() != nil || len(after.GetTrades()) != 0 {
		t.Fatalf("trades after the last's time = %v", after)
	}
}

func TestAccountCallsValidation(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	before := f.status(t).GetUpstreamRequests()
	code := func(r messages.Responder) messages.ErrorCode { return r.GetError().GetCode() }
	cases := []struct {
		name string
		call func() messages.Responder
	}{
		{"open orders: bad symbol", func() messages.Responder {
			return actortest.Request[*messages.OpenOrdersResponse](t, f.sys, f.pid, &messages.OpenOrdersRequest{Symbol: "BTC/USDT"})
		}},
		{"trades: no symbol", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{})
		}},
		{"trades: limit 1001", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", Limit: 1001})
		}},
		{"trades: negative limit", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", Limit: -1})
		}},
		{"trades: negative from_id", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", FromId: -5})
		}},
		{"trades: negative order_id", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", OrderId: -1})
		}},
		{"trades: negative start_time_ms", func() messages.Responder {
			return actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT", StartTimeMs: -5})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if c := code(tc.call()); c != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
				t.Fatalf("code = %s", c)
			}
		})
	}
	if got := f.status(t).GetUpstreamRequests(); got != before {
		t.Fatalf("%d invalid requests went upstream", got-before)
	}
}

// TestAccountCallsRetried: account calls are idempotent GETs, retried on 5xx.
func TestAccountCallsRetried(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultError, Route: "/api/v3/account", Status: 502, Count: 2}); err != nil {
		t.Fatal(err)
	}
	acc := actortest.Request[*messages.AccountResponse](t, f.sys, f.pid, &messages.AccountRequest{})
	if acc.GetError() != nil || len(acc.GetBalances()) == 0 {
		t.Fatalf("account = %v", acc)
	}
	if r := f.status(t).GetRetries(); r != 2 {
		t.Fatalf("retries = %d, want 2", r)
	}
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultError, Route: "/api/v3/myTrades", Count: 3}); err != nil {
		t.Fatal(err)
	}
	tr := actortest.Request[*messages.MyTradesResponse](t, f.sys, f.pid, &messages.MyTradesRequest{Symbol: "BTCUSDT"})
	if tr.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("trades after 3 failures = %v", tr)
	}
}
