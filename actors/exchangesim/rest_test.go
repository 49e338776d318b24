package exchangesim

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
)

// signedReq sends query and body as given; sigIn says where the signature goes
// ("query" or "body"), computed over query+body (timestamp appended to the query, or
// to the body when the query is empty and the signature goes in the body).
func signedReq(t *testing.T, ex *Exchange, method, path, query, body, sigIn, key, secret string) rawResp {
	t.Helper()
	ts := "timestamp=" + strconv.FormatInt(ex.nowMs(), 10)
	if sigIn == "body" && query == "" {
		body = join(body, ts)
	} else {
		query = join(query, ts)
	}
	sig := "signature=" + hmacHex(secret, query+body)
	if sigIn == "body" {
		body = join(body, sig)
	} else {
		query = join(query, sig)
	}
	return rawDo(t, ex, method, path+"?"+query, body, map[string]string{"X-MBX-APIKEY": key})
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "&" + b
}

// TestSignedParamsAnywhere: rest-api.md "SIGNED endpoint examples for POST
// /api/v3/order": parameters in the query string (example 1), in the request body
// (example 2, what ccxt sends, signature included) or mixed (example 3); the signature
// covers totalParams = queryString + requestBody. Every signed method.
func TestSignedParamsAnywhere(t *testing.T) {
	ex := shared
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "100000"})
	order := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000"
	tests := []struct {
		name, method, path, query, body, sigIn string
	}{
		{"POST all in query", "POST", "/api/v3/order", order, "", "query"},
		{"POST all in body (ccxt)", "POST", "/api/v3/order", "", order, "body"},
		{"POST mixed, signature in query", "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY", "type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000", "query"},
		{"POST mixed, signature in body", "POST", "/api/v3/order", "symbol=BTCUSDT&side=BUY", "type=LIMIT&timeInForce=GTC&quantity=0.001&price=20000", "body"},
		{"GET in body", "GET", "/api/v3/account", "", "omitZeroBalances=true", "body"},
		{"GET in query", "GET", "/api/v3/openOrders", "symbol=BTCUSDT", "", "query"},
		{"DELETE all in body", "DELETE", "/api/v3/openOrders", "", "symbol=BTCUSDT", "body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := signedReq(t, ex, tt.method, tt.path, tt.query, tt.body, tt.sigIn, key, secret)
			if r.status != 200 {
				t.Fatalf("%d %s", r.status, r.raw)
			}
		})
	}
	t.Run("tampered body", func(t *testing.T) {
		ts := "timestamp=" + strconv.FormatInt(ex.nowMs(), 10)
		body := order + "&" + ts
		body += "&signature=" + hmacHex(secret, body)
		body = strings.Replace(body, "quantity=0.001", "quantity=0.002", 1)
		r := rawDo(t, ex, "POST", "/api/v3/order", body, map[string]string{"X-MBX-APIKEY": key})
		if r.status != 400 || r.body["code"] != float64(-1022) {
			t.Fatalf("%d %s", r.status, r.raw)
		}
	})
}

// TestLegacyWeightHeader: Binance sends X-MBX-USED-WEIGHT beside X-MBX-USED-WEIGHT-1M.
func TestLegacyWeightHeader(t *testing.T) {
	r := rawDo(t, shared, "GET", "/api/v3/ping", "", nil)
	if v := r.header.Get("X-MBX-USED-WEIGHT"); v == "" || v != r.header.Get("X-MBX-USED-WEIGHT-1M") {
		t.Fatalf("headers %v", r.header)
	}
}

// TestSapiRoutes: the /sapi calls clients make on load answer well-formed JSON.
func TestSapiRoutes(t *testing.T) {
	_, key, secret := newAccount(t, shared, map[string]string{"USDT": "5"})
	tests := []struct{ path, want string }{
		{"/sapi/v1/capital/config/getall", `"coin":"USDT","depositAllEnable":true,"free":"5.00000000"`},
		{"/sapi/v1/margin/allPairs", `[]`},
		{"/sapi/v1/margin/isolated/allPairs", `[]`},
		{"/sapi/v1/asset/tradeFee", `{"makerCommission":"0.001","symbol":"BTCUSDT","takerCommission":"0.001"}`},
		{"/sapi/v1/asset/assetDetail", `"BTC":{`},
		{"/sapi/v1/account/status", `{"data":"Normal"}`},
		{"/sapi/v1/capital/deposit/hisrec", `[]`},
	}
	for _, tt := range tests {
		r := rawSigned(t, shared, "GET", tt.path, "", "", key, secret)
		if r.status != 200 || !strings.Contains(r.raw, tt.want) {
			t.Errorf("%s: %d %s", tt.path, r.status, r.raw)
		}
	}
	if r := rawDo(t, shared, "GET", "/sapi/v1/system/status", "", nil); r.raw != `{"msg":"normal","status":0}` {
		t.Errorf("system/status: %s", r.raw)
	}
}

func getKlines(t *testing.T, ex *Exchange, q string) [][]any {
	t.Helper()
	r := rawDo(t, ex, "GET", "/api/v3/klines?symbol=BTCUSDT&"+q, "", nil)
	var ks [][]any
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &ks) != nil {
		t.Fatalf("klines %s: %d %s", q, r.status, r.raw)
	}
	return ks
}

// TestKlinesAnyRange: "Kline/Candlestick data" for any range: startTime=0 is the epoch,
// a year back is served, pages are contiguous across the join of the synthetic past and
// the live history, and the same seed and start give the same candles.
func TestKlinesAnyRange(t *testing.T) {
	clk := newFakeClock(t0)
	cfg := testConfig()
	ex := startExchange(t, cfg, WithClock(clk.now))
	epoch := getKlines(t, ex, "interval=1m&startTime=0&limit=3")
	if len(epoch) != 3 || epoch[0][0] != float64(0) || epoch[2][0] != float64(120000) {
		t.Fatalf("startTime=0: %v", epoch)
	}
	yearAgo := clk.millis() - 365*86400000
	page := getKlines(t, ex, "interval=1m&limit=1000&startTime="+strconv.FormatInt(yearAgo, 10))
	if len(page) != 1000 || page[0][0].(float64) < float64(yearAgo) || page[0][0].(float64) >= float64(yearAgo+60000) {
		t.Fatalf("a year back: %d, first %v", len(page), page[0][0])
	}
	// page over the genesis: 1m candles are contiguous, and the last synthetic candle
	// closes at the start price, where the live history's first candle opens
	g := ex.markets["BTCUSDT"].hist.genesis
	join := getKlines(t, ex, "interval=1m&limit=20&startTime="+strconv.FormatInt(g-10*60000, 10))
	for i := 1; i < len(join); i++ {
		if join[i][0].(float64) != join[i-1][0].(float64)+60000 {
			t.Fatalf("gap at %d", i)
		}
		if i < 10 && join[i][1] != join[i-1][4] { // synthetic minutes open at the previous close
			t.Fatalf("candle %d opens at %v, previous closed at %v", i, join[i][1], join[i-1][4])
		}
	}
	if join[10][1] != "65000.00000000" || join[9][4] != "65000.00000000" {
		t.Fatalf("join: %v / %v", join[9], join[10])
	}
	// determinism: a second exchange with the same seed and clock serves the same candles
	ex2 := startExchange(t, cfg, WithClock(clk.now))
	again := getKlines(t, ex2, "interval=1m&limit=1000&startTime="+strconv.FormatInt(yearAgo, 10))
	if b1, _ := json.Marshal(page); string(b1) != string(mustJSON(again)) {
		t.Fatal("same seed, different candles")
	}
	// coarse intervals aggregate the 1m candles
	day := getKlines(t, ex, "interval=1d&limit=1&startTime="+strconv.FormatInt(bucketStart(yearAgo, "1d")+86400000, 10))
	mins := getKlines(t, ex, "interval=1m&limit=1000&startTime="+strconv.FormatInt(int64(day[0][0].(float64)), 10))
	if day[0][1] != mins[0][1] || day[0][8].(float64) != 1440*synthPerMin {
		t.Fatalf("1d %v vs first 1m %v", day[0], mins[0])
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

// TestTradeLists: "Recent trades list", "Old trade lookup" (fromId) and
// "Compressed/Aggregate trades list" (fromId, startTime/endTime) over any range; ids
// increase across the join of the synthetic past and the live history.
func TestTradeLists(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	get := func(q string) []map[string]any {
		r := rawDo(t, ex, "GET", "/api/v3/"+q, "", nil)
		var out []map[string]any
		if r.status != 200 || json.Unmarshal([]byte(r.raw), &out) != nil {
			t.Fatalf("%s: %d %s", q, r.status, r.raw)
		}
		return out
	}
	recent := get("trades?symbol=BTCUSDT&limit=1000")
	if len(recent) != 1000 || recent[999]["id"].(float64) <= recent[0]["id"].(float64) {
		t.Fatalf("recent: %d", len(recent))
	}
	g := ex.markets["BTCUSDT"].hist.genesis
	firstLive := float64(g/60000*synthPerMin + 1)
	hist := get("historicalTrades?symbol=BTCUSDT&limit=20&fromId=" + strconv.FormatFloat(firstLive-10, 'f', 0, 64))
	for i, tr := range hist {
		if tr["id"].(float64) != firstLive-10+float64(i) {
			t.Fatalf("trade %d id %v", i, tr["id"])
		}
		if i > 0 && tr["time"].(float64) < hist[i-1]["time"].(float64) {
			t.Fatalf("time goes back at %d", i)
		}
	}
	start := clk.millis() - 30*86400000
	q := "aggTrades?symbol=BTCUSDT&limit=1000&startTime=" + strconv.FormatInt(start, 10) + "&endTime=" + strconv.FormatInt(start+3600000, 10)
	agg := get(q)
	if len(agg) != 60*synthPerMin || agg[0]["T"].(float64) < float64(start) {
		t.Fatalf("aggTrades by time: %d", len(agg))
	}
	if r := rawDo(t, ex, "GET", "/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=3600001", "", nil); r.body["code"] != float64(-1127) {
		t.Fatalf("window over 1h: %s", r.raw)
	}
}

// TestRollingTicker: "Rolling window price change statistics" (windowSize).
func TestRollingTicker(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	r := rawDo(t, ex, "GET", `/api/v3/ticker?symbols=["BTCUSDT","ETHUSDT"]&windowSize=2h`, "", nil)
	var ts []map[string]any
	if r.status != 200 || json.Unmarshal([]byte(r.raw), &ts) != nil || len(ts) != 2 {
		t.Fatalf("%d %s", r.status, r.raw)
	}
	if ts[0]["closeTime"].(float64)-ts[0]["openTime"].(float64) != 2*3600000 || ts[0]["count"].(float64) < 60*synthPerMin {
		t.Fatalf("ticker %v", ts[0])
	}
	if r.header.Get("X-MBX-USED-WEIGHT-1M") != "8" {
		t.Fatalf("weight %s", r.header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	for _, bad := range []string{"60m", "0m", "8d", "1y"} {
		if r := rawDo(t, ex, "GET", "/api/v3/ticker?symbol=BTCUSDT&windowSize="+bad, "", nil); r.status != 400 {
			t.Fatalf("windowSize %s: %d", bad, r.status)
		}
	}
}

// TestStopOrders: STOP_LOSS_LIMIT and TAKE_PROFIT wait (isWorking false, funds locked),
// trigger on the simulated price, and are refused when they would trigger at once.
func TestStopOrders(t *testing.T) {
	ex, c := orderExchange(t, nil)
	sl, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeStopLossLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.1").Price("58000").StopPrice("59000").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	o, err := c.NewGetOrderService().Symbol("BTCUSDT").OrderID(sl.OrderID).Do(ctx(t))
	if err != nil || o.IsWorking || o.Status != binance.OrderStatusTypeNew || o.StopPrice != "59000.00000000" {
		t.Fatalf("waiting stop: %+v %v", o, err)
	}
	if b := balances(t, c)["BTC"]; !b[1].Equal(d("0.1")) {
		t.Fatalf("locked %v", b)
	}
	_, err = c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeTakeProfit).
		Quantity("0.1").StopPrice("59500").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Type(binance.OrderTypeStopLoss).
		Quantity("0.1").StopPrice("61000").Do(ctx(t))
	wantCode(t, err, -2010)
	if err := ex.SetPrice("BTCUSDT", "58900"); err != nil { // triggers both
		t.Fatal(err)
	}
	o, _ = c.NewGetOrderService().Symbol("BTCUSDT").OrderID(sl.OrderID).Do(ctx(t))
	if o.Status != binance.OrderStatusTypeFilled || !o.IsWorking {
		t.Fatalf("after trigger: %+v", o)
	}
	open, _ := c.NewListOpenOrdersService().Symbol("BTCUSDT").Do(ctx(t))
	if len(open) != 0 {
		t.Fatalf("open after triggers: %d", len(open))
	}
	if b := balances(t, c); !b["BTC"][1].IsZero() || !b["USDT"][1].IsZero() {
		t.Fatalf("still locked: %v", b)
	}
}

// TestOCOAndCancelReplace: "New Order list - OCO": the legs rest, one fill expires the
// other; canceling one leg cancels the list. "Cancel an Existing Order and Send a New
// Order": both results, and -2022 with data when the cancel fails (STOP_ON_FAILURE).
func TestOCOAndCancelReplace(t *testing.T) {
	ex, _ := orderExchange(t, nil)
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "100000", "BTC": "1"})
	post := func(path, body string) rawResp { return rawSigned(t, ex, "POST", path, "", body, key, secret) }
	oco := url.Values{"symbol": {"BTCUSDT"}, "side": {"SELL"}, "quantity": {"0.5"}, "aboveType": {"LIMIT_MAKER"},
		"abovePrice": {"61000"}, "belowType": {"STOP_LOSS"}, "belowStopPrice": {"59000"}}
	r := post("/api/v3/orderList/oco", oco.Encode())
	if r.status != 200 || r.body["listOrderStatus"] != "EXECUTING" {
		t.Fatalf("oco: %d %s", r.status, r.raw)
	}
	if bal := balances(t, newClient(t, ex, key, secret))["BTC"]; !bal[1].Equal(d("0.5")) {
		t.Fatalf("an OCO locks its quantity once: %v", bal)
	}
	if err := ex.SetPrice("BTCUSDT", "61500"); err != nil {
		t.Fatal(err)
	}
	id := strconv.Itoa(int(r.body["orderListId"].(float64)))
	got := rawSigned(t, ex, "GET", "/api/v3/orderList", "orderListId="+id, "", key, secret)
	if got.body["listOrderStatus"] != "ALL_DONE" {
		t.Fatalf("after fill: %s", got.raw)
	}
	all := rawSigned(t, ex, "GET", "/api/v3/allOrders", "symbol=BTCUSDT", "", key, secret)
	if !strings.Contains(all.raw, `"status":"FILLED","timeInForce":"GTC","type":"LIMIT_MAKER"`) ||
		!strings.Contains(all.raw, `"status":"EXPIRED","timeInForce":"GTC","type":"STOP_LOSS"`) {
		t.Fatalf("legs: %s", all.raw)
	}
	// legacy BUY OCO: the LIMIT_MAKER leg comes first; the stop leg is still checked
	bad := post("/api/v3/order/oco", "symbol=BTCUSDT&side=BUY&quantity=0.01&price=60000&stopPrice=61000")
	if bad.status != 400 || !strings.Contains(bad.raw, msgBadOCOPrices) {
		t.Fatalf("BUY OCO with a stop that triggers at once: %d %s", bad.status, bad.raw)
	}
	// cancelReplace
	lim := post("/api/v3/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000")
	oid := strconv.Itoa(int(lim.body["orderId"].(float64)))
	cr := post("/api/v3/order/cancelReplace", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.02&price=50100&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId="+oid)
	if cr.status != 200 || cr.body["cancelResult"] != "SUCCESS" || cr.body["newOrderResult"] != "SUCCESS" {
		t.Fatalf("cancelReplace: %d %s", cr.status, cr.raw)
	}
	fail := post("/api/v3/order/cancelReplace", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.02&price=50100&cancelReplaceMode=STOP_ON_FAILURE&cancelOrderId="+oid)
	if fail.status != 400 || fail.body["code"] != float64(-2022) || !strings.Contains(fail.raw, `"newOrderResult":"NOT_ATTEMPTED"`) {
		t.Fatalf("failed cancel: %d %s", fail.status, fail.raw)
	}
	part := post("/api/v3/order/cancelReplace", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.02&price=50100&cancelReplaceMode=ALLOW_FAILURE&cancelOrderId="+oid)
	if part.status != 409 || part.body["code"] != float64(-2021) {
		t.Fatalf("partial: %d %s", part.status, part.raw)
	}
}

// TestGoBinanceNewServices drives the routes this issue added with go-binance v2.8.7's
// own services: aggTrades, historicalTrades, the rolling ticker, uiKlines, the legacy
// OCO (POST /api/v3/order/oco and DELETE /api/v3/orderList) and cancelReplace.
func TestGoBinanceNewServices(t *testing.T) {
	ex, c := orderExchange(t, nil)
	start := bucketStart(ex.nowMs()-5*86400000, "1m")
	agg, err := c.NewAggTradesService().Symbol("BTCUSDT").StartTime(start).EndTime(start + 599999).Do(ctx(t))
	if err != nil || len(agg) != 10*synthPerMin {
		t.Fatalf("aggTrades: %d %v", len(agg), err)
	}
	hist, err := c.NewHistoricalTradesService().Symbol("BTCUSDT").FromID(agg[0].AggTradeID).Limit(3).Do(ctx(t))
	if err != nil || len(hist) != 3 || hist[0].ID != agg[0].AggTradeID || hist[0].Price != agg[0].Price {
		t.Fatalf("historicalTrades: %+v %v", hist, err)
	}
	rt, err := c.NewListSymbolTickerService().Symbol("BTCUSDT").WindowSize("1h").Do(ctx(t))
	if err != nil || len(rt) != 1 || rt[0].CloseTime-rt[0].OpenTime != 3600000 {
		t.Fatalf("rolling ticker: %+v %v", rt, err)
	}
	if ks, err := c.NewUiKlinesService().Symbol("BTCUSDT").Interval("1h").Limit(2).Do(ctx(t)); err != nil || len(ks) != 2 {
		t.Fatalf("uiKlines: %d %v", len(ks), err)
	}
	oco, err := c.NewCreateOCOService().Symbol("BTCUSDT").Side(binance.SideTypeSell).Quantity("0.1").Price("62000").
		StopPrice("58000").StopLimitPrice("57900").StopLimitTimeInForce(binance.TimeInForceTypeGTC).Do(ctx(t))
	if err != nil || len(oco.Orders) != 2 {
		t.Fatalf("oco: %+v %v", oco, err)
	}
	if _, err := c.NewCancelOCOService().Symbol("BTCUSDT").OrderListID(oco.OrderListID).Do(ctx(t)); err != nil {
		t.Fatalf("cancel oco: %v", err)
	}
	o, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.1").Price("50000").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	cr, err := c.NewCancelReplaceOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		CancelReplaceMode(binance.CancelReplaceModeStopOnFailure).TimeInForce(binance.TimeInForceTypeGTC).
		Quantity("0.2").Price("50000").CancelOrderID(o.OrderID).Do(ctx(t))
	if err != nil || cr.NewOrderResponse == nil || cr.NewOrderResponse.OrigQuantity != "0.20000000" || cr.CancelResponse.Status != binance.OrderStatusTypeCanceled {
		t.Fatalf("cancelReplace: %+v %v", cr, err)
	}
}

// TestTrimmedHistoryKeepsKlines: ticks trimmed by max_history move into the 1m archive,
// so closed klines read the same before and after the trim.
func TestTrimmedHistoryKeepsKlines(t *testing.T) {
	clk := newFakeClock(t0)
	cfg := testConfig()
	cfg.Backfill = 0
	cfg.MaxHistory = 200
	ex := startExchange(t, cfg, WithClock(clk.now))
	for range 150 {
		clk.add(time.Second)
		ex.Step()
	}
	q := "interval=1m&limit=10&startTime=" + strconv.FormatInt(ex.markets["BTCUSDT"].hist.genesis-2*60000, 10)
	before := getKlines(t, ex, q)
	for range 600 {
		clk.add(time.Second)
		ex.Step()
	}
	m := ex.markets["BTCUSDT"]
	if len(m.hist.archive) == 0 || len(m.ticks) > 250 {
		t.Fatalf("no trim: %d archived minutes, %d ticks", len(m.hist.archive), len(m.ticks))
	}
	after := getKlines(t, ex, q)
	if string(mustJSON(before[:4])) != string(mustJSON(after[:4])) {
		t.Fatalf("closed klines changed by the trim:\n%v\n%v", before[:4], after[:4])
	}
	day := getKlines(t, ex, "interval=1h&limit=1&startTime="+strconv.FormatInt(bucketStart(m.hist.genesis, "1h"), 10))
	if day[0][8].(float64) < 700 { // ticks of all 3 sources, one per step
		t.Fatalf("1h kline over archive and ticks: %v", day[0])
	}
}

// TestCoarseKlinePagesAreBounded: a page of coarse klines aggregates at most 250 days of
// minutes (one call must not hold the exchange for seconds); clients page on with startTime.
func TestCoarseKlinePagesAreBounded(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	for _, tt := range []struct {
		iv   string
		want int
	}{{"1h", 1000}, {"1d", 250}, {"1w", 35}, {"1M", 8}} {
		if ks := getKlines(t, ex, "interval="+tt.iv+"&limit=1000&startTime=0"); len(ks) != tt.want {
			t.Errorf("%s: %d klines, want %d", tt.iv, len(ks), tt.want)
		}
	}
}
