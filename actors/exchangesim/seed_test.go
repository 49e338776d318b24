package exchangesim

import (
	"encoding/json"
	"strings"
	"testing"

	binance "github.com/adshao/go-binance/v2"
)

// TestFaultsAfterProcessing: each *_after fault answers its error, yet the order exists
// (exactly once), and the client learns it only by querying the client order id.
func TestFaultsAfterProcessing(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, key, _ := newAccount(t, ex, map[string]string{"USDT": "100000"})
	tests := []struct {
		kind       FaultKind
		status     int
		wantCode   int64
		wantStatus int
	}{
		{FaultErrorAfter, 0, -1007, 503},
		{FaultErrorAfter, 500, -1000, 500},
		{FaultRateLimitAfter, 0, -1003, 429},
		{FaultBanAfter, 0, -1003, 418},
	}
	for i, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			if err := ex.InjectFault(Fault{Kind: tt.kind, Route: "POST /api/v3/order", Status: tt.status}); err != nil {
				t.Fatal(err)
			}
			id := "after-" + string(rune('a'+i))
			_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
				TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("1000").NewClientOrderID(id).Do(ctx(t))
			wantCode(t, err, tt.wantCode)
			if len(ex.Faults()) != 0 {
				t.Fatalf("fault not used up: %+v", ex.Faults())
			}
			o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID(id).Do(ctx(t))
			if err != nil || o.Status != binance.OrderStatusTypeNew {
				t.Fatalf("order not created behind the %s: %+v, %v", tt.kind, o, err)
			}
			counts, err := ex.ClientOrderCounts(key)
			if err != nil || counts[id] != 1 {
				t.Fatalf("counts[%s] = %d, %v", id, counts[id], err)
			}
		})
	}
	// A refused order (here: insufficient balance) does not consume an *_after fault.
	if err := ex.InjectFault(Fault{Kind: FaultErrorAfter, Route: "POST /api/v3/order"}); err != nil {
		t.Fatal(err)
	}
	_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("100").Price("60000").Do(ctx(t))
	wantCode(t, err, -2010)
	if len(ex.Faults()) != 1 {
		t.Fatalf("a refused order consumed the fault: %+v", ex.Faults())
	}
	ex.ClearFaults()
}

func TestFaultAfterHTTPStatus(t *testing.T) {
	ex := startExchange(t, testConfig())
	status, body := adminDo(t, ex, "POST", "/admin/faults", `{"kind":"rate_limit_after","route":"GET /api/v3/ping","retry_after":"3s"}`)
	if status != 200 {
		t.Fatalf("inject: %d %s", status, body)
	}
	if n := ex.RateLimitAnswers(); n != 0 {
		t.Fatalf("RateLimitAnswers = %d before any 429", n)
	}
	r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil)
	if r.status != 429 || r.header.Get("Retry-After") != "3" || r.header.Get("X-MBX-USED-WEIGHT-1M") == "" {
		t.Fatalf("got %d %v %s", r.status, r.header, r.raw)
	}
	if err := ex.InjectFault(Fault{Kind: FaultBan, Route: "GET /api/v3/ping"}); err != nil {
		t.Fatal(err)
	}
	if r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil); r.status != 418 {
		t.Fatalf("ban: %d", r.status)
	}
	if r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil); r.status != 200 {
		t.Fatalf("ping: %d", r.status)
	}
	if n := ex.RateLimitAnswers(); n != 2 {
		t.Fatalf("RateLimitAnswers = %d, want 2 (one 429, one 418)", n)
	}
	if status, body := adminDo(t, ex, "POST", "/admin/faults", `{"kind":"error_after","status":404}`); status != 400 || !strings.Contains(body, "5xx") {
		t.Fatalf("bad status accepted: %d %s", status, body)
	}
}

func TestSeed(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, key, _ := newAccount(t, ex, map[string]string{"USDT": "100"})
	before := balances(t, c)
	res, err := ex.Seed(Seed{APIKey: key, Symbol: "BTCUSDT", OpenOrders: 30, FilledOrders: 7, Trades: 100, ClientIDPrefix: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if res.OpenOrders != 30 || res.FilledOrders != 7 || res.Trades != 100 || res.LastTradeID-res.FirstTradeID != 99 {
		t.Fatalf("result %+v", res)
	}
	open, err := c.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(open) != 30 || open[0].ClientOrderID != "x-o-1" {
		t.Fatalf("open orders: %d %v", len(open), err)
	}
	trades, err := c.NewListTradesService().Symbol("BTCUSDT").Limit(1000).Do(ctx(t))
	if err != nil || len(trades) != 100 {
		t.Fatalf("trades: %d %v", len(trades), err)
	}
	perOrder := map[int64]int{}
	for _, tr := range trades {
		perOrder[tr.OrderID]++
	}
	if len(perOrder) != 7 {
		t.Fatalf("trades spread over %d orders, want 7", len(perOrder))
	}
	o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID("x-f-7").Do(ctx(t))
	if err != nil || o.Status != binance.OrderStatusTypeFilled {
		t.Fatalf("filled order: %+v %v", o, err)
	}
	after := balances(t, c)
	if !after["USDT"][0].Equal(before["USDT"][0]) || !after["USDT"][1].IsPositive() || !after["BTC"][0].IsPositive() {
		t.Fatalf("balances %v -> %v: free quote must stay, open orders lock credited quote, fills bring BTC", before, after)
	}
	counts, err := ex.ClientOrderCounts(key)
	if err != nil || len(counts) != 37 {
		t.Fatalf("counts %d %v", len(counts), err)
	}
	if _, err := ex.Seed(Seed{APIKey: key, Symbol: "BTCUSDT", OpenOrders: 1, ClientIDPrefix: "x"}); err == nil {
		t.Fatal("reused open client ids accepted")
	}
}

func TestSeedValidation(t *testing.T) {
	ex := startExchange(t, testConfig())
	_, key, _ := newAccount(t, ex, nil)
	tests := []struct {
		name string
		seed Seed
		want string
	}{
		{"no key", Seed{Symbol: "BTCUSDT", OpenOrders: 1}, "api_key"},
		{"unknown key", Seed{APIKey: "nope", Symbol: "BTCUSDT", OpenOrders: 1}, "unknown api_key"},
		{"unknown symbol", Seed{APIKey: key, Symbol: "XXXUSDT", OpenOrders: 1}, "unknown symbol"},
		{"too many orders", Seed{APIKey: key, Symbol: "BTCUSDT", OpenOrders: maxSeedOrders + 1}, "open_orders"},
		{"too many trades", Seed{APIKey: key, Symbol: "BTCUSDT", FilledOrders: 1, Trades: maxSeedTrades + 1}, "trades"},
		{"trades without orders", Seed{APIKey: key, Symbol: "BTCUSDT", Trades: 5}, "both 0"},
		{"fewer trades than orders", Seed{APIKey: key, Symbol: "BTCUSDT", FilledOrders: 5, Trades: 2}, "trades must be"},
		{"bad prefix", Seed{APIKey: key, Symbol: "BTCUSDT", OpenOrders: 1, ClientIDPrefix: "bad prefix"}, "client_id_prefix"},
		{"long prefix", Seed{APIKey: key, Symbol: "BTCUSDT", OpenOrders: 1, ClientIDPrefix: strings.Repeat("p", 30)}, "client_id_prefix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ex.Seed(tt.seed); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if orders, _ := ex.AccountOrders(key); len(orders) != 0 {
		t.Fatalf("a bad seed changed the account: %d orders", len(orders))
	}
}

func TestAdminSeedAndOrders(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, key, _ := newAccount(t, ex, map[string]string{"USDT": "1000"})
	status, body := adminDo(t, ex, "POST", "/admin/seed", `{"api_key":"`+key+`","symbol":"ETHUSDT","open_orders":3,"filled_orders":2,"trades":5}`)
	if status != 200 || !strings.Contains(body, `"trades":5`) {
		t.Fatalf("seed: %d %s", status, body)
	}
	if status, body := adminDo(t, ex, "POST", "/admin/seed", `{"api_key":"`+key+`","symbol":"ETHUSDT","open_orders":-1}`); status != 400 {
		t.Fatalf("bad seed: %d %s", status, body)
	}
	// A second order with a closed order's client id is allowed by Binance: a duplicate.
	for range 2 {
		if _, err := c.NewCreateOrderService().Symbol("ETHUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
			Quantity("0.01").NewClientOrderID("twice").Do(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	status, body = adminDo(t, ex, "GET", "/admin/orders?api_key="+key, "")
	var oc OrderCounts
	if err := json.Unmarshal([]byte(body), &oc); status != 200 || err != nil {
		t.Fatalf("orders: %d %s %v", status, body, err)
	}
	if oc.Orders != 7 || oc.ClientIDs != 6 || oc.Duplicates["twice"] != 2 || len(oc.Duplicates) != 1 {
		t.Fatalf("counts %+v", oc)
	}
	if status, _ := adminDo(t, ex, "GET", "/admin/orders?api_key=nope", ""); status != 400 {
		t.Fatalf("unknown key: %d", status)
	}
}

func TestSeedFillOpen(t *testing.T) {
	ex := startExchange(t, testConfig())
	c, key, _ := newAccount(t, ex, map[string]string{"USDT": "1000"})
	if _, err := ex.Seed(Seed{APIKey: key, Symbol: "BTCUSDT", FillOpen: 5}); err == nil || !strings.Contains(err.Error(), "no resting order") {
		t.Fatalf("fill_open without orders: %v", err)
	}
	for _, id := range []string{"j1", "j2", "j3"} {
		if _, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.0001").Price("60000").NewClientOrderID(id).Do(ctx(t)); err != nil {
			t.Fatal(err)
		}
	}
	// 0.0001 is 10 steps: 31 fills would give one order 11.
	if _, err := ex.Seed(Seed{APIKey: key, Symbol: "BTCUSDT", FillOpen: 31}); err == nil || !strings.Contains(err.Error(), "fewer than its 11 fills") {
		t.Fatalf("too many fills: %v", err)
	}
	res, err := ex.Seed(Seed{APIKey: key, Symbol: "BTCUSDT", FillOpen: 10, OpenOrders: 2})
	if err != nil || res.Filled != 3 || res.Trades != 10 || res.OpenOrders != 2 {
		t.Fatalf("seed: %+v %v", res, err)
	}
	for id, want := range map[string]int{"j1": 4, "j2": 3, "j3": 3} {
		o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrigClientOrderID(id).Do(ctx(t))
		if err != nil || o.Status != binance.OrderStatusTypeFilled || o.ExecutedQuantity != "0.00010000" {
			t.Fatalf("%s: %+v %v", id, o, err)
		}
		trades, err := c.NewListTradesService().Symbol("BTCUSDT").OrderId(o.OrderID).Do(ctx(t))
		if err != nil || len(trades) != want {
			t.Fatalf("%s: %d trades, want %d (%v)", id, len(trades), want, err)
		}
	}
	open, err := c.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(open) != 2 {
		t.Fatalf("open after seed: %d %v (the new seeded orders only)", len(open), err)
	}
	b := balances(t, c)
	if !b["USDT"][0].Equal(d("982")) || !b["BTC"][0].Equal(d("0.0002997")) {
		t.Fatalf("balances %v: 3 x 6 USDT paid, 0.0003 BTC less 0.1%% maker fees", b)
	}
}
