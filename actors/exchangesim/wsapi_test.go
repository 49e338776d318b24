package exchangesim

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wsAPIResp is a WebSocket API answer (Binance "WebSocket API", Response format).
type wsAPIResp struct {
	ID     json.RawMessage `json:"id"`
	Status int             `json:"status"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code int    `json:"code"`
		Msg  string `json:"msg"`
	} `json:"error"`
	RateLimits []struct {
		RateLimitType string `json:"rateLimitType"`
		Interval      string `json:"interval"`
		IntervalNum   int    `json:"intervalNum"`
		Limit         int    `json:"limit"`
		Count         int    `json:"count"`
	} `json:"rateLimits"`
}

var wsAPISeq atomic.Int64

// wsAPICall sends one request and returns its answer; a non-empty secret signs it as
// Binance's "SIGNED request security" describes (params sorted, k=v&…, HMAC-SHA256 hex).
func wsAPICall(t *testing.T, c *wsClient, method string, params map[string]any, key, secret string) wsAPIResp {
	t.Helper()
	if params == nil {
		params = map[string]any{}
	}
	if secret != "" {
		params["apiKey"] = key
		params["timestamp"] = shared.nowMs()
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var sb strings.Builder
		for i, k := range keys {
			if i > 0 {
				sb.WriteByte('&')
			}
			v, _ := json.Marshal(params[k])
			sb.WriteString(k + "=" + rawScalar(v))
		}
		params["signature"] = hmacHex(secret, sb.String())
	}
	id := "req" + strconv.FormatInt(wsAPISeq.Add(1), 10)
	b, _ := json.Marshal(map[string]any{"id": id, "method": method, "params": params})
	c.send(t, string(b))
	m := c.next(t, nil, hasPrefix(`{"id":"`+id+`"`))
	var r wsAPIResp
	if err := json.Unmarshal(m, &r); err != nil {
		t.Fatalf("%s: %v in %s", method, err, m)
	}
	return r
}

func (r wsAPIResp) ok(t *testing.T, into any) {
	t.Helper()
	if r.Status != 200 || r.Error != nil {
		t.Fatalf("status %d error %+v", r.Status, r.Error)
	}
	if into != nil {
		if err := json.Unmarshal(r.Result, into); err != nil {
			t.Fatalf("result %s: %v", r.Result, err)
		}
	}
}

func (r wsAPIResp) limit(typ, interval string) (count int, ok bool) {
	for _, l := range r.RateLimits {
		if l.RateLimitType == typ && l.Interval == interval {
			return l.Count, true
		}
	}
	return 0, false
}

// TestWsAPITrading runs an order's life through the WebSocket API (Binance "WebSocket
// API": Trading requests order.place, order.status, openOrders.status, order.cancel;
// Account requests account.status) and checks that REST sees the same orders: both run
// the one order engine.
func TestWsAPITrading(t *testing.T) {
	rest, key, secret := newAccount(t, shared, map[string]string{"USDT": "10000"})
	c := dialWS(t, shared, "/ws-api/v3")
	var placed orderJSON
	r := wsAPICall(t, c, "order.place", map[string]any{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT",
		"timeInForce": "GTC", "quantity": "0.01", "price": "1000", "newClientOrderId": "ws-1"}, key, secret)
	r.ok(t, &placed)
	if placed.Status != "NEW" || placed.ClientOrderID != "ws-1" || placed.Fills == nil {
		t.Fatalf("placed = %+v", placed)
	}
	if n, ok := r.limit("ORDERS", "SECOND"); !ok || n < 1 {
		t.Fatalf("rateLimits %+v lack the ORDERS count", r.RateLimits)
	}
	if _, ok := r.limit("REQUEST_WEIGHT", "MINUTE"); !ok {
		t.Fatalf("rateLimits %+v lack REQUEST_WEIGHT", r.RateLimits)
	}
	got, err := rest.NewGetOrderService().Symbol("BTCUSDT").OrderID(placed.OrderID).Do(ctx(t))
	if err != nil || got.ClientOrderID != "ws-1" || string(got.Status) != "NEW" {
		t.Fatalf("REST sees %+v, %v", got, err)
	}
	var status queryOrderJSON
	wsAPICall(t, c, "order.status", map[string]any{"symbol": "BTCUSDT", "origClientOrderId": "ws-1"}, key, secret).ok(t, &status)
	if status.OrderID != placed.OrderID || status.Status != "NEW" {
		t.Fatalf("order.status = %+v", status)
	}
	var open []queryOrderJSON
	wsAPICall(t, c, "openOrders.status", map[string]any{"symbol": "BTCUSDT"}, key, secret).ok(t, &open)
	if len(open) != 1 || open[0].OrderID != placed.OrderID {
		t.Fatalf("openOrders.status = %+v", open)
	}
	var acct struct {
		Balances []struct{ Asset, Free, Locked string } `json:"balances"`
	}
	r = wsAPICall(t, c, "account.status", map[string]any{"returnRateLimits": false}, key, secret) // signed like any param (ccxt sends it)
	r.ok(t, &acct)
	if r.RateLimits != nil {
		t.Fatalf("returnRateLimits false, rateLimits %+v", r.RateLimits)
	}
	locked := ""
	for _, b := range acct.Balances {
		if b.Asset == "USDT" {
			locked = b.Locked
		}
	}
	if locked != "10.00000000" {
		t.Fatalf("account.status balances %+v", acct.Balances)
	}
	var canceled orderJSON
	wsAPICall(t, c, "order.cancel", map[string]any{"symbol": "BTCUSDT", "orderId": placed.OrderID}, key, secret).ok(t, &canceled)
	if canceled.Status != "CANCELED" || canceled.OrigClientOrderID != "ws-1" {
		t.Fatalf("order.cancel = %+v", canceled)
	}
	var filled orderJSON
	wsAPICall(t, c, "order.place", map[string]any{"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}, key, secret).ok(t, &filled)
	if filled.Status != "FILLED" || filled.Fills == nil || len(*filled.Fills) == 0 {
		t.Fatalf("market order = %+v", filled)
	}
}

// TestWsAPIErrorEnvelope checks Binance's failed-response shape {"id","status","error":{code,
// msg},"rateLimits"} (Binance "WebSocket API", Response format) for engine, parameter
// and signature errors.
func TestWsAPIErrorEnvelope(t *testing.T) {
	_, key, secret := newAccount(t, shared, map[string]string{"USDT": "10"})
	c := dialWS(t, shared, "/ws-api/v3")
	tests := []struct {
		name, method string
		params       map[string]any
		key, secret  string
		status, code int
	}{
		{"insufficient balance", "order.place", map[string]any{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
			"quantity": "1", "price": "1000"}, key, secret, 400, -2010},
		{"missing symbol", "depth", nil, "", "", 400, -1102},
		{"bad signature", "account.status", nil, key, "wrong", 400, -1022},
		{"unknown key", "account.status", nil, "nobody", secret, 401, -2015},
		{"unsigned", "account.status", nil, "", "", 401, -2014},
		{"unknown method", "no.such.method", nil, "", "", 400, -1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := wsAPICall(t, c, tt.method, tt.params, tt.key, tt.secret)
			if r.Status != tt.status || r.Error == nil || r.Error.Code != tt.code || r.Result != nil {
				t.Fatalf("answer status %d error %+v result %s; want %d %d", r.Status, r.Error, r.Result, tt.status, tt.code)
			}
		})
	}
	// garbage and a bare id still get the envelope
	c.send(t, `{nope`)
	if m := c.next(t, nil, hasPrefix(`{"id":null`)); !strings.Contains(string(m), `"status":400`) {
		t.Fatalf("garbage: %s", m)
	}
}

// TestWsAPIMarketData: ticker.price (symbol and symbols), depth and klines answer what the
// REST endpoints answer (Binance "WebSocket API", Market data requests); returnRateLimits
// false leaves rateLimits out (Binance "WebSocket API", Rate limits).
func TestWsAPIMarketData(t *testing.T) {
	c := dialWS(t, shared, "/ws-api/v3")
	var one priceJSON
	wsAPICall(t, c, "ticker.price", map[string]any{"symbol": "ETHUSDT"}, "", "").ok(t, &one)
	if one.Symbol != "ETHUSDT" || one.Price != shared.Price("ETHUSDT") {
		t.Fatalf("ticker.price = %+v", one)
	}
	var many []priceJSON
	wsAPICall(t, c, "ticker.price", map[string]any{"symbols": []string{"BTCUSDT", "BNBUSDT"}}, "", "").ok(t, &many)
	if len(many) != 2 || many[0].Symbol != "BTCUSDT" || many[1].Symbol != "BNBUSDT" {
		t.Fatalf("ticker.price symbols = %+v", many)
	}
	var book struct {
		LastUpdateID int64       `json:"lastUpdateId"`
		Bids         [][2]string `json:"bids"`
		Asks         [][2]string `json:"asks"`
	}
	wsAPICall(t, c, "depth", map[string]any{"symbol": "BTCUSDT", "limit": 5}, "", "").ok(t, &book)
	restBook, err := publicClient(t, shared).NewDepthService().Symbol("BTCUSDT").Limit(5).Do(ctx(t))
	if err != nil || book.LastUpdateID != restBook.LastUpdateID || len(book.Bids) != 5 || book.Bids[0][0] != restBook.Bids[0].Price {
		t.Fatalf("depth %+v, REST %+v (%v)", book, restBook, err)
	}
	var ks [][]any
	r := wsAPICall(t, c, "klines", map[string]any{"symbol": "BTCUSDT", "interval": "1m", "limit": 3, "returnRateLimits": false}, "", "")
	r.ok(t, &ks)
	if len(ks) != 3 || r.RateLimits != nil {
		t.Fatalf("klines = %v, rateLimits %v", ks, r.RateLimits)
	}
	restK, err := publicClient(t, shared).NewKlinesService().Symbol("BTCUSDT").Interval("1m").Limit(3).Do(ctx(t))
	if err != nil || int64(ks[0][0].(float64)) != restK[0].OpenTime || ks[0][1] != restK[0].Open {
		t.Fatalf("klines %v, REST %+v (%v)", ks[0], restK[0], err)
	}
}

// TestWsAPISignatureForms: the HMAC payload may carry the values raw (Binance's example,
// ccxt) or percent-encoded (go-binance, @binance/connector's encodeURIComponent); a
// signature over anything else is refused.
func TestWsAPISignatureForms(t *testing.T) {
	_, key, secret := newAccount(t, shared, map[string]string{"USDT": "10"})
	ts := strconv.FormatInt(shared.nowMs(), 10)
	symbols := `["BTCUSDT","ETHUSDT"]`
	raw := "apiKey=" + key + "&symbols=" + symbols + "&timestamp=" + ts
	js := "apiKey=" + key + "&symbols=" + strings.ReplaceAll(url.QueryEscape(symbols), "+", "%20") + "&timestamp=" + ts
	for _, tt := range []struct {
		name, payload string
		want          int
	}{{"raw", raw, 200}, {"encodeURIComponent", js, 200}, {"other", raw + "&x=1", 400}} {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWS(t, shared, "/ws-api/v3")
			msg := `{"id":"s1","method":"openOrders.status","params":{"apiKey":"` + key + `","symbols":` + symbols +
				`,"timestamp":` + ts + `,"signature":"` + hmacHex(secret, tt.payload) + `"}}`
			c.send(t, msg)
			var r wsAPIResp
			if err := json.Unmarshal(c.next(t, nil, nil), &r); err != nil || r.Status != tt.want {
				t.Fatalf("status %d error %+v (%v), want %d", r.Status, r.Error, err, tt.want)
			}
		})
	}
}

// TestWsAPIPing: ping and time answer with the envelope; the WebSocket API connection is
// not bound by the market streams' 5 messages/s limit.
func TestWsAPIPing(t *testing.T) {
	c := dialWS(t, shared, "/ws-api/v3")
	for i := range 10 {
		c.send(t, `{"id":`+strconv.Itoa(i)+`,"method":"ping"}`)
	}
	for i := range 10 {
		m := c.next(t, nil, nil)
		if !strings.HasPrefix(string(m), `{"id":`+strconv.Itoa(i)+`,`) || !strings.Contains(string(m), `"result":{}`) {
			t.Fatalf("ping %d: %s", i, m)
		}
	}
}

// TestWsAPISharedWeight: WebSocket API requests spend the IP's REQUEST_WEIGHT like REST
// ones (Binance "WebSocket API", Rate limits: the limits are shared with the REST API);
// over the limit the answer is 429 with -1003 and error.data.retryAfter. The URL's
// returnRateLimits=false leaves rateLimits out of every answer.
func TestWsAPISharedWeight(t *testing.T) {
	cfg := testConfig()
	cfg.WeightLimit = 10
	cfg.BanAfter = 100
	fixed := time.Now()
	ex := startExchange(t, cfg, WithClock(func() time.Time { return fixed })) // one weight window throughout
	c := dialWS(t, ex, "/ws-api/v3")
	quiet := dialWS(t, ex, "/ws-api/v3?returnRateLimits=false")
	send := func(c *wsClient, id string) wsAPIResp {
		c.send(t, `{"id":"`+id+`","method":"ping"}`)
		var r wsAPIResp
		if err := json.Unmarshal(c.next(t, nil, hasPrefix(`{"id":"`+id+`"`)), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := send(quiet, "q1"); r.Status != 200 || r.RateLimits != nil {
		t.Fatalf("returnRateLimits=false: %+v", r)
	}
	if r := send(c, "p1"); r.Status != 200 {
		t.Fatalf("ping: %+v", r)
	} else if n, _ := r.limit("REQUEST_WEIGHT", "MINUTE"); n != 2 {
		t.Fatalf("weight count %d after two pings, want 2", n)
	}
	rest := rawDo(t, ex, "GET", "/api/v3/ping", "", nil) // weight 1, same IP
	if rest.header.Get("X-MBX-USED-WEIGHT-1M") != "3" {
		t.Fatalf("REST used weight %q, want 3", rest.header.Get("X-MBX-USED-WEIGHT-1M"))
	}
	var r wsAPIResp
	for i := 0; r.Status != 429; i++ {
		if i > 10 {
			t.Fatalf("no 429 after %d pings: %+v", i, r)
		}
		r = send(c, "x"+strconv.Itoa(i))
	}
	var raw struct {
		Error struct {
			Code int              `json:"code"`
			Data map[string]int64 `json:"data"`
		} `json:"error"`
	}
	c.send(t, `{"id":"last","method":"ping"}`)
	if err := json.Unmarshal(c.next(t, nil, hasPrefix(`{"id":"last"`)), &raw); err != nil {
		t.Fatal(err)
	}
	if raw.Error.Code != -1003 || raw.Error.Data["retryAfter"] <= raw.Error.Data["serverTime"] {
		t.Fatalf("over the limit: %+v", raw.Error)
	}
}

// TestWsAPIRoutedMethods calls WebSocket API methods whose REST routes come with the
// REST side's trade lists, rolling ticker and order lists (Binance "WebSocket API":
// trades.recent, trades.aggregate, ticker, orderList.place.oco, openOrderLists.status).
// A case whose route this build lacks is skipped.
func TestWsAPIRoutedMethods(t *testing.T) {
	_, key, secret := newAccount(t, shared, map[string]string{"USDT": "100000", "BTC": "1"})
	c := dialWS(t, shared, "/ws-api/v3")
	tests := []struct {
		method string
		params map[string]any
		signed bool
		want   string // in the result
	}{
		{"trades.recent", map[string]any{"symbol": "BTCUSDT", "limit": 3}, false, `"isBuyerMaker"`},
		{"trades.aggregate", map[string]any{"symbol": "BTCUSDT", "limit": 3}, false, `"a":`},
		{"ticker", map[string]any{"symbol": "BTCUSDT", "windowSize": "1h"}, false, `"lastPrice"`},
		{"orderList.place.oco", map[string]any{"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.01", "aboveType": "LIMIT_MAKER",
			"abovePrice": "1000000", "belowType": "STOP_LOSS", "belowStopPrice": "1000"}, true, `"contingencyType":"OCO"`},
		{"openOrderLists.status", nil, true, `"contingencyType":"OCO"`},
	}
	for _, tt := range tests {
		t.Run(tt.method, func(t *testing.T) {
			if shared.routes[wsAPIRoutes[tt.method]] == nil {
				t.Skipf("no REST route %s in this build", wsAPIRoutes[tt.method])
			}
			k, s := "", ""
			if tt.signed {
				k, s = key, secret
			}
			r := wsAPICall(t, c, tt.method, tt.params, k, s)
			r.ok(t, nil)
			if !strings.Contains(string(r.Result), tt.want) {
				t.Fatalf("result %.300s lacks %s", r.Result, tt.want)
			}
		})
	}
}
