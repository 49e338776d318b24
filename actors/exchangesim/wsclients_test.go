package exchangesim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// nodeCheck is one JSON line a client script prints.
type nodeCheck struct {
	Check string `json:"check"`
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	MS    int64  `json:"ms"`
	raw   map[string]any
}

// runNodeClient starts a private exchange that ticks on its own, runs script against it
// with an account's key, and returns the checks the script reported by name.
func runNodeClient(t *testing.T, script string) (*Exchange, map[string]nodeCheck) {
	t.Helper()
	node, dir := nodeClients(t)
	cfg := testConfig()
	cfg.TickInterval = 50 * time.Millisecond
	cfg.PingInterval = time.Second
	ex := startExchange(t, cfg)
	key, secret := "node-key", "node-secret"
	if err := ex.AddAccount(Account{APIKey: key, SecretKey: secret, Balances: map[string]string{"USDT": "100000", "BTC": "1"}}); err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(c, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIM_HTTP="+ex.BaseURL(), "SIM_WS="+ex.WSBaseURL(), "SIM_KEY="+key, "SIM_SECRET="+secret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	checks := map[string]nodeCheck{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var ch nodeCheck
		if json.Unmarshal(sc.Bytes(), &ch) != nil || ch.Check == "" {
			continue
		}
		_ = json.Unmarshal(sc.Bytes(), &ch.raw)
		checks[ch.Check] = ch
		t.Logf("%s: %s", script, sc.Text())
	}
	if f, ok := checks["failed"]; ok {
		t.Fatalf("%s: %s\nstderr:\n%s", script, f.Error, tail(stderr.String(), 3000))
	}
	if err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", script, err, out, tail(stderr.String(), 3000))
	}
	return ex, checks
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func wantChecks(t *testing.T, checks map[string]nodeCheck, names ...string) {
	t.Helper()
	for _, n := range names {
		if c, ok := checks[n]; !ok || !c.OK {
			t.Errorf("check %s did not pass: %+v", n, c)
		}
	}
}

// TestCCXTProWebSocket runs ccxt.pro 4.5.84 (clients/ws_ccxt.mjs) with only its URLs
// overridden: watchTicker (@miniTicker, and @ticker with name "ticker"), watchTickers (@miniTicker, !miniTicker@arr),
// watchOrderBook (@depth@100ms + REST snapshot), watchTrades (@trade), watchOHLCV
// (@kline_1m), fetchOHLCVWs (WebSocket API klines), watchBalance and watchOrders
// (userDataStream.subscribe.signature) with createOrderWs, fetchOrderWs, fetchOrdersWs,
// fetchOpenOrdersWs, fetchMyTradesWs, cancelOrderWs, cancelAllOrdersWs and fetchBalanceWs
// (order.place, order.status, allOrders, openOrders.status, myTrades, order.cancel,
// openOrders.cancelAll, account.status).
func TestCCXTProWebSocket(t *testing.T) {
	ex, checks := runNodeClient(t, "ws_ccxt.mjs")
	wantChecks(t, checks, "watchTicker", "watchTickerFull", "watchTickers", "watchTickersAll", "watchOrderBook", "watchTrades", "watchOHLCV",
		"fetchOHLCVWs", "watchBalance", "watchOrders", "cancelAllOrdersWs")
	if id, _ := checks["watchOrders"].raw["order"].(string); id != "" {
		ex.mu.Lock()
		o := ex.accounts["node-key"].findOrder(ex.markets["BTCUSDT"], atoi(t, id), "")
		ex.mu.Unlock()
		if o == nil || o.status != statusCanceled || o.clientID != "ccxt-ws-1" {
			t.Fatalf("order %s on the exchange: %+v", id, o)
		}
	}
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	var v int64
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &v); err != nil {
		t.Fatalf("not an integer: %q", s)
	}
	return v
}

// TestBinanceConnectorWebSocket runs @binance/connector 3.6.1 (clients/ws_connector.mjs):
// WebsocketStream on /ws/<stream> and /stream?streams= with live SUBSCRIBE/UNSUBSCRIBE
// (@aggTrade, @ticker, !miniTicker@arr, @kline_1m, @trade, @bookTicker, @depth@100ms,
// @avgPrice, @depth5, @miniTicker, @depth10@1000ms) and WebsocketAPI (ping, time,
// exchangeInfo, depth, klines, ticker.price, ticker.24hr, ticker.book, order.test,
// order.place, order.status, openOrders.status, account.status, order.cancel, myTrades,
// allOrders, account.rateLimits.orders, and an error answer).
func TestBinanceConnectorWebSocket(t *testing.T) {
	ex, checks := runNodeClient(t, "ws_connector.mjs")
	wantChecks(t, checks, "rawStream", "combinedStream", "websocketAPI")
	id, _ := checks["websocketAPI"].raw["order"].(float64)
	ex.mu.Lock()
	o := ex.accounts["node-key"].findOrder(ex.markets["BTCUSDT"], int64(id), "conn-1")
	ex.mu.Unlock()
	if o == nil || o.status != statusCanceled {
		t.Fatalf("order %v on the exchange: %+v", id, o)
	}
}
