package exchangesim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fuzzExchange is an exchange that is never started: requests go straight to its handlers.
func fuzzExchange(t testing.TB) *Exchange {
	cfg := testConfig()
	cfg.Backfill = time.Minute
	cfg.WeightLimit = 1 << 30
	cfg.OrderLimit10s = 1 << 30
	ex, err := New(cfg, WithClock(func() time.Time { return t0 }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// FuzzParams throws arbitrary methods, paths, queries, bodies and keys at the REST entry
// point: it must never panic, and must always answer JSON with a Binance error code on
// failure and a weight header.
func FuzzParams(f *testing.F) {
	ts := strconv.FormatInt(t0.UnixMilli(), 10)
	signed := func(q, body string) string { return q + "&signature=" + hmacHex(DefaultSecretKey, q+body) }
	f.Add("POST", "/api/v3/order", signed("timestamp="+ts, "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000"),
		"symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000", DefaultAPIKey)
	f.Add("DELETE", "/api/v3/order", signed("timestamp="+ts, "symbol=BTCUSDT&orderId=1"), "symbol=BTCUSDT&orderId=1", DefaultAPIKey)
	f.Add("GET", "/api/v3/klines", "symbol=BTCUSDT&interval=1m&limit=3&startTime=1", "", "")
	f.Add("GET", "/api/v3/ticker/price", "symbols=%5B%22BTCUSDT%22%2C%22ETHUSDT%22%5D", "", "")
	f.Add("GET", "/api/v3/depth", "symbol=BTCUSDT&limit=-1", "", "")
	f.Add("GET", "/api/v3/account", "timestamp=9999999999999999999&recvWindow=1.0001&signature=%zz", "a=%", DefaultAPIKey)
	f.Add("POST", "/api/v3/order/test", signed("timestamp="+ts, "symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=1e400"), "symbol=BTCUSDT&side=SELL&type=MARKET&quoteOrderQty=1e400", DefaultAPIKey)
	f.Add("GET", "/api/v3/historicalTrades", "symbol=BTCUSDT&fromId=9223372036854775807&limit=5", "", "")
	f.Add("GET", "/api/v3/aggTrades", "symbol=BTCUSDT&startTime=-5&endTime=9223372036854775807", "", "")
	f.Add("GET", "/api/v3/klines", "symbol=BTCUSDT&interval=1M&startTime=9223372036854775806&endTime=-1", "", "")
	f.Add("GET", "/api/v3/ticker", "symbols=%5B%22BTCUSDT%22%5D&windowSize=7d&type=MINI", "", "")
	f.Add("POST", "/api/v3/orderList/oco", signed("timestamp="+ts, "symbol=BTCUSDT&side=SELL&quantity=0.01&aboveType=LIMIT_MAKER&abovePrice=70000&belowType=STOP_LOSS&belowStopPrice=60000"), "symbol=BTCUSDT&side=SELL&quantity=0.01&aboveType=LIMIT_MAKER&abovePrice=70000&belowType=STOP_LOSS&belowStopPrice=60000", DefaultAPIKey)
	f.Add("POST", "/api/v3/order/cancelReplace", signed("timestamp="+ts, "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&cancelReplaceMode=ALLOW_FAILURE&cancelOrderId=1"), "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=60000&cancelReplaceMode=ALLOW_FAILURE&cancelOrderId=1", DefaultAPIKey)
	f.Add("GET", "/sapi/v1/capital/config/getall", signed("timestamp="+ts, ""), "", DefaultAPIKey)
	ex := fuzzExchange(f)
	f.Fuzz(func(t *testing.T, method, path, rawQuery, body, key string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		r := &http.Request{Method: method, URL: &url.URL{Path: path, RawQuery: rawQuery}, Header: http.Header{},
			Body: io.NopCloser(strings.NewReader(body)), RemoteAddr: "192.0.2.1:1234"}
		r = r.WithContext(t.Context())
		if key != "" {
			r.Header.Set("X-MBX-APIKEY", key)
		}
		w := httptest.NewRecorder()
		ex.serveAPI(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s?%s: status %d %s", method, path, rawQuery, w.Code, w.Body)
		}
		if w.Header().Get("X-MBX-USED-WEIGHT-1M") == "" {
			t.Fatalf("no weight header: %d %s", w.Code, w.Body)
		}
		var v any
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			t.Fatalf("not JSON: %q", w.Body)
		}
		if w.Code >= 400 && !bytes.Contains(w.Body.Bytes(), []byte(`"code":-`)) {
			t.Fatalf("error without code: %s", w.Body)
		}
	})
}

// FuzzWSAPI feeds arbitrary WebSocket API frames to the request handler.
func FuzzWSAPI(f *testing.F) {
	f.Add(`{"id":"1","method":"userDataStream.subscribe.signature","params":{"apiKey":"sim-api-key","timestamp":1,"signature":"00"}}`)
	f.Add(`{"id":2,"method":"ping"}`)
	f.Add(`{"id":null,"method":"time","params":[]}`)
	f.Add(`[]`)
	ex := fuzzExchange(f)
	f.Fuzz(func(t *testing.T, msg string) {
		wc := &wsConn{send: make(chan []byte, 4), quit: make(chan struct{}), subID: -1}
		ex.handleWSAPI(wc, []byte(msg))
		ex.handleStreamControl(wc, []byte(msg))
		for len(wc.send) > 0 {
			if b := <-wc.send; !json.Valid(b) {
				t.Fatalf("invalid JSON reply %q", b)
			}
		}
	})
}

// FuzzKlinesCSV checks the CSV parser never panics and only returns rows with a positive close.
func FuzzKlinesCSV(f *testing.F) {
	f.Add("1735689600000000,1,2,0.5,1.5,10,1735689659999999,15,3,5,7,0\n")
	f.Add("1698364800000,34151.66,34171.28,33972.39,34015.27,908.27,1698368399999,30937869.6,41459,416.4,14187002.7,0\n")
	f.Add("a,b\n")
	f.Fuzz(func(t *testing.T, in string) {
		rows, err := ParseKlinesCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, r := range rows {
			if !r.Close.IsPositive() {
				t.Fatalf("row %+v", r)
			}
		}
	})
}
