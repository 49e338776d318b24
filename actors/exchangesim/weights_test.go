package exchangesim

import (
	"strconv"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
)

func TestWeightHeaders(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "100000"}) // newClient: GET time = 1
	steps := []struct {
		name      string
		method    string
		path      string
		body      string
		signed    bool
		wantUsed  int
		wantOrder bool
	}{
		{"ping", "GET", "/api/v3/ping", "", false, 2, false},
		{"exchangeInfo", "GET", "/api/v3/exchangeInfo", "", false, 22, false},
		{"error answer", "GET", "/api/v3/ticker/price?symbol=NOPE", "", false, 24, false},
		{"all prices", "GET", "/api/v3/ticker/price", "", false, 28, false},
		{"depth 500", "GET", "/api/v3/depth?symbol=BTCUSDT&limit=500", "", false, 53, false},
		{"24hr all", "GET", "/api/v3/ticker/24hr", "", false, 133, false},
		{"order costs 0 on success", "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000", true, 133, true},
		{"rejected order costs 1", "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=100", true, 134, false},
		{"account", "GET", "/api/v3/account", "", true, 154, false},
		{"myTrades with orderId", "GET", "/api/v3/myTrades?symbol=BTCUSDT&orderId=1", "", true, 159, false},
		{"openOrders without symbol", "GET", "/api/v3/openOrders", "", true, 239, false},
	}
	for _, st := range steps {
		var r rawResp
		if st.signed {
			path, q, _ := strings.Cut(st.path, "?")
			r = rawSigned(t, ex, st.method, path, q, st.body, key, secret)
		} else {
			r = rawDo(t, ex, st.method, st.path, st.body, nil)
		}
		if got := r.header.Get("X-MBX-USED-WEIGHT-1M"); got != strconv.Itoa(st.wantUsed) {
			t.Fatalf("%s: used weight %q, want %d (%d %s)", st.name, got, st.wantUsed, r.status, r.raw)
		}
		if has := r.header.Get("X-MBX-ORDER-COUNT-10S") != ""; has != st.wantOrder {
			t.Fatalf("%s: order count header present=%v", st.name, has)
		}
		if st.wantOrder && (r.header.Get("X-MBX-ORDER-COUNT-10S") != "1" || r.header.Get("X-MBX-ORDER-COUNT-1D") != "1") {
			t.Fatalf("%s: order counts %v", st.name, r.header)
		}
	}
	clk.add(time.Minute)
	if r := rawDo(t, ex, "GET", "/api/v3/ping", "", nil); r.header.Get("X-MBX-USED-WEIGHT-1M") != "1" {
		t.Fatalf("new window: %v", r.header)
	}
}

func TestRateLimitAndBan(t *testing.T) {
	clk := newFakeClock(t0) // 0.5 s into a minute
	cfg := testConfig()
	cfg.WeightLimit = 10
	cfg.BanAfter = 2
	cfg.BanBase = 2 * time.Minute
	ex := startExchange(t, cfg, WithClock(clk.now))
	ping := func() rawResp { return rawDo(t, ex, "GET", "/api/v3/ping", "", nil) }
	for i := range 10 {
		if r := ping(); r.status != 200 {
			t.Fatalf("ping %d: %d", i, r.status)
		}
	}
	clk.add(20 * time.Second)
	for i := range 3 { // the first 429 and BanAfter=2 more
		r := ping()
		if r.status != 429 || r.body["code"] != float64(-1003) || r.header.Get("Retry-After") != "40" {
			t.Fatalf("limited %d: %d %v %s", i, r.status, r.header, r.raw)
		}
	}
	wantBan := func(retryAfter string) {
		t.Helper()
		r := ping()
		if r.status != 418 || r.body["code"] != float64(-1003) || r.header.Get("Retry-After") != retryAfter ||
			!strings.Contains(r.raw, "IP banned until") {
			t.Fatalf("want ban %s: %d %v %s", retryAfter, r.status, r.header, r.raw)
		}
	}
	wantBan("120")
	clk.add(60 * time.Second) // new window, still banned
	wantBan("60")
	c := publicClient(t, ex)
	err := c.NewPingService().Do(ctx(t))
	wantCode(t, err, -1003)
	clk.add(61 * time.Second)
	if r := ping(); r.status != 200 {
		t.Fatalf("after ban: %d %s", r.status, r.raw)
	}
	for range 9 + 1 + 2 {
		ping()
	}
	wantBan("240") // second ban doubles
	ex.ResetLimits()
	if r := ping(); r.status != 200 {
		t.Fatalf("after reset: %d", r.status)
	}
}

// TestOrderRateLimit: the ORDERS limits count unfilled orders (rest-api.md "Unfilled
// Order Count", faqs/order_count_decrement.md): a resting order counts, an order that
// trades is taken off the count of the intervals it was placed in.
func TestOrderRateLimit(t *testing.T) {
	cfg := testConfig()
	cfg.OrderLimit10s = 2
	clk := newFakeClock(t0)
	ex := startExchange(t, cfg, WithClock(clk.now))
	c, _, _ := newAccount(t, ex, map[string]string{"USDT": "100000"})
	for i := range 5 { // filled at once: never counted
		if _, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).Quantity("0.001").Do(ctx(t)); err != nil {
			t.Fatalf("market order %d: %v", i, err)
		}
		if c.OrderCount.Count10s != 0 {
			t.Fatalf("a filled order counts: X-MBX-ORDER-COUNT-10S %d", c.OrderCount.Count10s)
		}
	}
	resting := func() error {
		_, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
			TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.001").Price("50000").Do(ctx(t))
		return err
	}
	for range 2 {
		if err := resting(); err != nil {
			t.Fatal(err)
		}
	}
	if c.OrderCount.Count10s != 2 || c.OrderCount.Count1d != 2 {
		t.Fatalf("counts %+v", c.OrderCount)
	}
	wantCode(t, resting(), -1015)
	rl, err := c.NewRateLimitService().Do(ctx(t))
	if err != nil || len(rl) != 2 || rl[0].Limit != 2 || rl[0].Count != 2 || rl[1].Count != 2 {
		t.Fatalf("rateLimit/order = %+v, %v", rl, err)
	}
	clk.add(10 * time.Second)
	c.TimeOffset -= 10000 // the client's clock did not move
	if err := resting(); err != nil {
		t.Fatalf("next window: %v", err)
	}
}
