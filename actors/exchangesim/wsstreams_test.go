package exchangesim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/gorilla/websocket"
)

// wsClient is a raw WebSocket client: a reader goroutine delivers text frames on msgs and
// the read error on closed.
type wsClient struct {
	c      *websocket.Conn
	msgs   chan []byte
	closed chan error
}

func dialWS(t *testing.T, ex *Exchange, path string) *wsClient {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(ex.WSBaseURL()+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	wc := &wsClient{c: c, msgs: make(chan []byte, 4096), closed: make(chan error, 1)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, m, err := c.ReadMessage()
			if err != nil {
				wc.closed <- err
				return
			}
			select {
			case wc.msgs <- m:
			default: // the test stopped reading; drop
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-done
	})
	return wc
}

func (wc *wsClient) send(t *testing.T, msg string) {
	t.Helper()
	if err := wc.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatalf("send %s: %v", msg, err)
	}
}

// next returns the next frame for which keep is true, stepping ex meanwhile (step may be nil).
func (wc *wsClient) next(t *testing.T, step func(), keep func([]byte) bool) []byte {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case m := <-wc.msgs:
			if keep == nil || keep(m) {
				return m
			}
		case err := <-wc.closed:
			t.Fatalf("connection closed: %v", err)
		case <-tick.C:
			if step != nil {
				step()
			}
		case <-deadline:
			t.Fatal("timed out waiting for a frame")
		}
	}
}

// decimalRE is a decimal string as Binance writes them: "123.45000000", "-0.500".
var decimalRE = regexp.MustCompile(`^-?[0-9]+\.[0-9]+$`)

func hasPrefix(p string) func([]byte) bool {
	return func(b []byte) bool { return strings.HasPrefix(string(b), p) }
}

// TestWsNoStreamPaths: Binance "Web Socket Streams", General WSS information and Live
// Subscribing: a connection may start with no stream (ccxt dials /ws/<n> and subscribes)
// and SUBSCRIBE answers {"result":null,"id":…}; /stream connections wrap events.
func TestWsNoStreamPaths(t *testing.T) {
	for _, path := range []string{"/ws", "/ws/", "/ws/0", "/ws/someListenKeyLikeName", "/stream", "/stream?streams="} {
		t.Run(path, func(t *testing.T) {
			c := dialWS(t, shared, path)
			c.send(t, `{"method":"LIST_SUBSCRIPTIONS","id":1}`)
			if m := c.next(t, nil, nil); string(m) != `{"id":1,"result":[]}` {
				t.Fatalf("list = %s", m)
			}
			c.send(t, `{"method":"SUBSCRIBE","params":["btcusdt@aggTrade"],"id":2}`)
			if m := c.next(t, nil, nil); string(m) != `{"id":2,"result":null}` {
				t.Fatalf("subscribe = %s", m)
			}
			m := c.next(t, shared.Step, nil)
			if strings.HasPrefix(path, "/stream") {
				var env struct {
					Stream string          `json:"stream"`
					Data   json.RawMessage `json:"data"`
				}
				if json.Unmarshal(m, &env) != nil || env.Stream != "btcusdt@aggTrade" {
					t.Fatalf("combined event = %s", m)
				}
				m = env.Data
			}
			if !strings.Contains(string(m), `"e":"aggTrade"`) {
				t.Fatalf("event = %s", m)
			}
		})
	}
}

// TestWsAggTradeAndTickers reads the new streams with go-binance's typed handlers (a
// field of the wrong JSON type is an error there) and compares them with REST.
// Binance "Web Socket Streams": Aggregate Trade Streams, Individual Symbol Ticker
// Streams, All Market Tickers Stream, All Market Mini Tickers Stream.
func TestWsAggTradeAndTickers(t *testing.T) {
	errs := make(chan error, 16)
	onErr := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	aggs := make(chan *binance.WsAggTradeEvent, 1024)
	doneA, _, err := binance.WsAggTradeServe("BTCUSDT", func(e *binance.WsAggTradeEvent) { aggs <- e }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	tickers := make(chan *binance.WsMarketStatEvent, 1024)
	doneT, _, err := binance.WsMarketStatServe("ETHUSDT", func(e *binance.WsMarketStatEvent) { tickers <- e }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	all := make(chan binance.WsAllMarketsStatEvent, 1024)
	doneAll, _, err := binance.WsAllMarketsStatServe(func(e binance.WsAllMarketsStatEvent) { all <- e }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	minis := make(chan binance.WsAllMiniMarketsStatEvent, 1024)
	doneM, _, err := binance.WsAllMiniMarketsStatServe(func(e binance.WsAllMiniMarketsStatEvent) { minis <- e }, onErr)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		shared.CloseStreams(false)
		for _, d := range []chan struct{}{doneA, doneT, doneAll, doneM} {
			<-d
		}
		select {
		case err := <-errs:
			if !strings.Contains(err.Error(), "going away") {
				t.Errorf("stream error: %v", err)
			}
		default:
		}
	}()
	a := recv(t, aggs, shared.Step)
	if a.Event != "aggTrade" || a.Symbol != "BTCUSDT" || a.FirstBreakdownTradeID != a.AggTradeID || a.LastBreakdownTradeID != a.AggTradeID || d(a.Price).IsZero() || d(a.Quantity).IsZero() {
		t.Fatalf("aggTrade = %+v", a)
	}
	tk := recv(t, tickers, shared.Step)
	rest, err := publicClient(t, shared).NewListPriceChangeStatsService().Symbol("ETHUSDT").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if tk.Event != "24hrTicker" || tk.Symbol != "ETHUSDT" || tk.OpenTime >= tk.CloseTime || tk.Count != tk.LastID-tk.FirstID+1 ||
		tk.OpenPrice != rest[0].OpenPrice || tk.FirstID != rest[0].FirstID {
		t.Fatalf("ticker %+v, REST %+v", tk, rest[0])
	}
	seen := map[string]bool{}
	for len(seen) < len(shared.symbols) {
		for _, e := range recv(t, all, shared.Step) {
			if e.Event != "24hrTicker" || d(e.LastPrice).IsZero() {
				t.Fatalf("!ticker@arr entry %+v", e)
			}
			seen[e.Symbol] = true
		}
	}
	clear(seen)
	for len(seen) < len(shared.symbols) {
		for _, e := range recv(t, minis, shared.Step) {
			if e.Event != "24hrMiniTicker" || d(e.LastPrice).IsZero() || d(e.BaseVolume).IsZero() {
				t.Fatalf("!miniTicker@arr entry %+v", e)
			}
			seen[e.Symbol] = true
		}
	}
}

// TestWsMiniTickerAndAvgPrice checks the payload fields of @miniTicker, @avgPrice and
// @ticker_1h (Binance "Web Socket Streams": Individual Symbol Mini Ticker Stream, Average
// Price, Individual Symbol Rolling Window Statistics Streams):
// every price a string, times integers.
func TestWsMiniTickerAndAvgPrice(t *testing.T) {
	c := dialWS(t, shared, "/stream?streams=bnbusdt@miniTicker/bnbusdt@avgPrice/bnbusdt@ticker_1h")
	want := map[string][]string{
		"bnbusdt@ticker_1h":  {"e=1hTicker", "E#", "s=BNBUSDT", "p$", "P$", "o$", "h$", "l$", "c$", "w$", "v$", "q$", "O#", "C#", "F#", "L#", "n#"},
		"bnbusdt@miniTicker": {"e=24hrMiniTicker", "E#", "s=BNBUSDT", "c$", "o$", "h$", "l$", "v$", "q$"},
		"bnbusdt@avgPrice":   {"e=avgPrice", "E#", "s=BNBUSDT", "i=5m", "w$", "T#"},
	}
	for len(want) > 0 {
		var env struct {
			Stream string         `json:"stream"`
			Data   map[string]any `json:"data"`
		}
		if err := json.Unmarshal(c.next(t, shared.Step, nil), &env); err != nil {
			t.Fatal(err)
		}
		fields, ok := want[env.Stream]
		if !ok {
			continue
		}
		if len(env.Data) != len(fields) {
			t.Fatalf("%s: fields %v, want %v", env.Stream, env.Data, fields)
		}
		for _, f := range fields {
			k, kind := f[:1], f[1:2]
			v := env.Data[k]
			switch kind {
			case "=":
				if v != f[2:] {
					t.Fatalf("%s: %s = %v, want %s", env.Stream, k, v, f[2:])
				}
			case "#":
				if n, ok := v.(float64); !ok || n <= 0 {
					t.Fatalf("%s: %s = %v, want a positive integer", env.Stream, k, v)
				}
			case "$":
				if s, ok := v.(string); !ok || !decimalRE.MatchString(s) {
					t.Fatalf("%s: %s = %v, want a decimal string", env.Stream, k, v)
				}
			}
		}
		delete(want, env.Stream)
	}
}

// TestHubDue: streams Binance pushes at an update speed (1000 ms, 100 ms) are sent at
// most once per period, and only while someone listens.
func TestHubDue(t *testing.T) {
	h := newHub()
	wc := &wsConn{send: make(chan []byte, 4), quit: make(chan struct{})}
	if h.due("s", "k", 1000, 1000) {
		t.Fatal("due without subscribers")
	}
	h.add(wc, []string{"s"})
	steps := []struct {
		now  int64
		want bool
	}{{1000, true}, {1500, false}, {1999, false}, {2000, true}, {2050, false}, {3500, true}}
	for _, st := range steps {
		if got := h.due("s", "k", st.now, 1000); got != st.want {
			t.Fatalf("due at %d = %v, want %v", st.now, got, st.want)
		}
	}
	if !h.due("s", "other key", 3500, 1000) {
		t.Fatal("keys are throttled apart")
	}
}

// manySymbols is a config with n symbols, enough for more than 1024 distinct streams.
func manySymbols(n int) Config {
	cfg := testConfig()
	cfg.Backfill = time.Minute
	cfg.Symbols = nil
	for i := range n {
		cfg.Symbols = append(cfg.Symbols, Symbol{Symbol: fmt.Sprintf("S%dUSDT", i), BaseAsset: fmt.Sprintf("S%d", i),
			QuoteAsset: "USDT", Price: "100", TickSize: "0.01", StepSize: "0.001", LevelQty: "1"})
	}
	return cfg
}

// allStreams lists every stream name ex serves for its symbols.
func allStreams(ex *Exchange) []string {
	var out []string
	for _, s := range ex.symbols {
		l := strings.ToLower(s) + "@"
		for _, k := range []string{"trade", "aggTrade", "bookTicker", "ticker", "miniTicker", "avgPrice", "depth", "depth@100ms"} {
			out = append(out, l+k)
		}
		for iv := range intervalMs {
			out = append(out, l+"kline_"+iv)
		}
		for _, n := range []string{"5", "10", "20"} {
			out = append(out, l+"depth"+n, l+"depth"+n+"@100ms")
		}
	}
	return out
}

// TestWsStreamLimit: "A single connection can listen to a maximum of 1024 streams"
// (Binance "Web Socket Streams", Websocket Limits). Binance does not document the error
// text; here SUBSCRIBE answers code 2 and a longer /stream URL gets HTTP 400.
func TestWsStreamLimit(t *testing.T) {
	ex := startExchange(t, manySymbols(40))
	names := allStreams(ex)[:maxStreams+1]
	c := dialWS(t, ex, "/ws")
	req, _ := json.Marshal(map[string]any{"method": "SUBSCRIBE", "params": names[:maxStreams], "id": 1})
	c.send(t, string(req))
	if m := c.next(t, nil, nil); string(m) != `{"id":1,"result":null}` {
		t.Fatalf("1024 streams: %s", m)
	}
	c.send(t, `{"method":"SUBSCRIBE","params":["`+names[maxStreams]+`"],"id":2}`)
	if m := c.next(t, nil, nil); !strings.Contains(string(m), `"code":2`) || !strings.Contains(string(m), "too many streams") {
		t.Fatalf("1025th stream: %s", m)
	}
	c.send(t, `{"method":"SUBSCRIBE","params":["`+names[0]+`"],"id":3}`) // already held: no new stream
	if m := c.next(t, nil, nil); string(m) != `{"id":3,"result":null}` {
		t.Fatalf("resubscribe: %s", m)
	}
	_, resp, err := websocket.DefaultDialer.Dial(ex.WSBaseURL()+"/stream?streams="+strings.Join(names, "/"), nil)
	if err == nil || resp == nil || resp.StatusCode != 400 {
		t.Fatalf("1025 streams in the URL: err=%v resp=%v", err, resp)
	}
	resp.Body.Close()
}

// TestWsSlowConsumerDropped: a client that stops reading is disconnected once its
// buffer fills (its socket is closed at once, so no writer waits on it); Step never
// waits for it and other clients keep receiving.
func TestWsSlowConsumerDropped(t *testing.T) {
	ex := startExchange(t, testConfig())
	var heavy []string // unthrottled streams: every step sends each of them
	for _, s := range allStreams(ex) {
		if strings.Contains(s, "@kline_") || strings.HasSuffix(s, "@depth@100ms") {
			heavy = append(heavy, s)
		}
	}
	slow, _, err := websocket.DefaultDialer.Dial(ex.WSBaseURL()+"/stream?streams="+strings.Join(heavy, "/"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close() // never read: frames pile up in the sockets, then in the send buffer
	fast := dialWS(t, ex, "/ws/btcusdt@trade")
	slowGone := func() bool {
		ex.hub.mu.Lock()
		defer ex.hub.mu.Unlock()
		return len(ex.hub.byStream[heavy[0]]) == 0
	}
	for i := 0; !slowGone(); i++ {
		if i > 20000 {
			t.Fatal("slow client still subscribed after 20000 steps")
		}
		ex.Step()
		for len(fast.msgs) > 0 {
			<-fast.msgs
		}
	}
	if m := fast.next(t, ex.Step, nil); !strings.Contains(string(m), `"e":"trade"`) {
		t.Fatalf("fast client got %s", m)
	}
}
