package exchangesim

import (
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"net/http"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"github.com/gorilla/websocket"
)

// recv waits for the next value of ch, stepping the shared exchange meanwhile.
func recv[T any](t *testing.T, ch <-chan T, step func()) T {
	t.Helper()
	deadline := time.After(5 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case v := <-ch:
			return v
		case <-tick.C:
			if step != nil {
				step()
			}
		case <-deadline:
			t.Fatal("timed out waiting for a stream event")
		}
	}
}

// endStreams closes the shared exchange's streams and waits for go-binance to notice.
func endStreams(t *testing.T, doneC chan struct{}) {
	t.Helper()
	shared.CloseStreams(false)
	select {
	case <-doneC:
	case <-time.After(5 * time.Second):
		t.Fatal("stream did not end")
	}
}

func ignoreErr(error) {}

func TestWsKline(t *testing.T) {
	events := make(chan *binance.WsKlineEvent, 1024)
	doneC, _, err := binance.WsKlineServe("BTCUSDT", "1s", func(e *binance.WsKlineEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	ev := recv(t, events, shared.Step)
	if ev.Symbol != "BTCUSDT" || ev.Kline.Interval != "1s" || ev.Kline.Open == "" || ev.Kline.EndTime != ev.Kline.StartTime+999 {
		t.Fatalf("event = %+v", ev.Kline)
	}
	// move the exchange clock into the next second: the previous kline closes
	var final *binance.WsKlineEvent
	for final == nil {
		advanceClock(time.Second)
		shared.Step()
		for len(events) > 0 && final == nil {
			if e := <-events; e.Kline.IsFinal {
				final = e
			}
		}
	}
	ks, err := publicClient(t, shared).NewKlinesService().Symbol("BTCUSDT").Interval("1s").StartTime(final.Kline.StartTime).Limit(1).Do(ctx(t))
	if err != nil || len(ks) != 1 || ks[0].Close != final.Kline.Close || ks[0].TradeNum != final.Kline.TradeNum {
		t.Fatalf("REST kline %+v differs from final event %+v (%v)", ks, final.Kline, err)
	}
}

func TestWsTrade(t *testing.T) {
	events := make(chan *binance.WsTradeEvent, 1024)
	doneC, _, err := binance.WsTradeServe("ETHUSDT", func(e *binance.WsTradeEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	a := recv(t, events, shared.Step)
	b := recv(t, events, shared.Step)
	if a.Symbol != "ETHUSDT" || b.TradeID != a.TradeID+1 || a.Price == "" || a.Quantity == "" {
		t.Fatalf("trades %+v %+v", a, b)
	}
}

func TestWsBookTicker(t *testing.T) {
	events := make(chan *binance.WsBookTickerEvent, 1024)
	doneC, _, err := binance.WsBookTickerServe("BNBUSDT", func(e *binance.WsBookTickerEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	ev := recv(t, events, shared.Step)
	if ev.Symbol != "BNBUSDT" || ev.BestBidPrice >= ev.BestAskPrice || ev.UpdateID == 0 {
		t.Fatalf("event = %+v", ev)
	}
}

func TestWsDepthDiff(t *testing.T) {
	events := make(chan *binance.WsDepthEvent, 1024)
	doneC, _, err := binance.WsDepthServe100Ms("BTCUSDT", func(e *binance.WsDepthEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	snap, err := publicClient(t, shared).NewDepthService().Symbol("BTCUSDT").Limit(100).Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	shared.Step()
	first := recv(t, events, nil)
	if first.FirstUpdateID != snap.LastUpdateID+1 {
		t.Fatalf("first U=%d, snapshot lastUpdateId=%d", first.FirstUpdateID, snap.LastUpdateID)
	}
	// apply the diffs to the snapshot: the result must equal a fresh snapshot
	book := map[string]string{}
	for _, b := range snap.Bids {
		book["b"+b.Price] = b.Quantity
	}
	for _, a := range snap.Asks {
		book["a"+a.Price] = a.Quantity
	}
	apply := func(e *binance.WsDepthEvent) {
		for _, b := range e.Bids {
			book["b"+b.Price] = b.Quantity
		}
		for _, a := range e.Asks {
			book["a"+a.Price] = a.Quantity
		}
	}
	apply(first)
	prev := first
	for range 5 {
		shared.Step()
		e := recv(t, events, nil)
		if e.FirstUpdateID != prev.LastUpdateID+1 || e.LastUpdateID < e.FirstUpdateID {
			t.Fatalf("gap: prev u=%d, U=%d u=%d", prev.LastUpdateID, e.FirstUpdateID, e.LastUpdateID)
		}
		apply(e)
		prev = e
	}
	now, _ := publicClient(t, shared).NewDepthService().Symbol("BTCUSDT").Limit(100).Do(ctx(t))
	if now.LastUpdateID != prev.LastUpdateID {
		t.Fatalf("REST lastUpdateId %d != last u %d", now.LastUpdateID, prev.LastUpdateID)
	}
	live := 0
	for k, q := range book {
		if d(q).IsZero() {
			continue
		}
		live++
		found := false
		for _, l := range append(now.Bids, now.Asks...) {
			if strings.TrimLeft(k, "ab") == l.Price && q == l.Quantity {
				found = true
			}
		}
		if !found {
			t.Fatalf("level %s=%s not in snapshot", k, q)
		}
	}
	if live != len(now.Bids)+len(now.Asks) {
		t.Fatalf("book has %d levels, snapshot %d", live, len(now.Bids)+len(now.Asks))
	}
}

func TestWsPartialDepth(t *testing.T) {
	events := make(chan *binance.WsPartialDepthEvent, 1024)
	doneC, _, err := binance.WsPartialDepthServe("SOLUSDT", "5", func(e *binance.WsPartialDepthEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	ev := recv(t, events, shared.Step)
	if len(ev.Bids) != 5 || len(ev.Asks) != 5 || ev.Bids[0].Price == "" || ev.LastUpdateID == 0 {
		t.Fatalf("event = %+v", ev)
	}
}

func TestWsCombined(t *testing.T) {
	events := make(chan *binance.WsKlineEvent, 1024)
	doneC, _, err := binance.WsCombinedKlineServe(map[string]string{"BTCUSDT": "1m", "ETHUSDT": "5m"},
		func(e *binance.WsKlineEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	seen := map[string]string{}
	for len(seen) < 2 {
		e := recv(t, events, shared.Step)
		seen[e.Symbol] = e.Kline.Interval
	}
	if seen["BTCUSDT"] != "1m" || seen["ETHUSDT"] != "5m" {
		t.Fatalf("seen = %v", seen)
	}
}

func TestWsPingsAndShutdown(t *testing.T) {
	tests := []struct {
		name, path string
		wantStream string
	}{
		{"raw", "/ws/btcusdt@trade", ""},
		{"combined", "/stream?streams=btcusdt@trade/ethusdt@depth5", "!serverShutdown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := websocket.DefaultDialer.Dial(shared.WSBaseURL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var pings atomic.Int32
			c.SetPingHandler(func(s string) error {
				pings.Add(1)
				return c.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
			})
			// One channel, in the order read: the shutdown notice and the
			// close that follows it are both ready by the time the test
			// looks, and a select over two channels would pick either.
			type frame struct {
				msg []byte
				err error
			}
			frames := make(chan frame, 16)
			go func() {
				for {
					_, m, err := c.ReadMessage()
					if err == nil && !strings.Contains(string(m), "serverShutdown") {
						continue // market data: only the notice and the close matter
					}
					frames <- frame{m, err}
					if err != nil {
						return
					}
				}
			}()
			eventually(t, "3 pings", func() bool { return pings.Load() >= 3 })
			shared.CloseStreams(true)
			next := func(what string) frame {
				t.Helper()
				select {
				case f := <-frames:
					return f
				case <-time.After(5 * time.Second):
					t.Fatal(what)
					return frame{}
				}
			}
			f := next("no serverShutdown")
			if f.err != nil {
				t.Fatalf("closed before serverShutdown: %v", f.err)
			}
			var shutdown map[string]any
			if err := json.Unmarshal(f.msg, &shutdown); err != nil {
				t.Fatal(err)
			}
			if tt.wantStream != "" && shutdown["stream"] != tt.wantStream {
				t.Fatalf("shutdown = %v", shutdown)
			}
			if f = next("not closed"); !websocket.IsCloseError(f.err, websocket.CloseGoingAway) {
				t.Fatalf("after the notice: %q, %v; want a going-away close", f.msg, f.err)
			}
		})
	}
}

func TestWsBadStream(t *testing.T) {
	for _, p := range []string{"/ws/nope@trade", "/ws/btcusdt@kline_7m", "/stream?streams=btcusdt@trade/x"} {
		_, resp, err := websocket.DefaultDialer.Dial(shared.WSBaseURL()+p, nil)
		if err == nil || resp == nil || resp.StatusCode != 400 {
			t.Fatalf("%s: err=%v resp=%v", p, err, resp)
		}
		resp.Body.Close()
	}
}

// userSubscribed reports whether the account with key has a user data subscription.
func userSubscribed(key string) bool {
	shared.hub.mu.Lock()
	defer shared.hub.mu.Unlock()
	for wc := range shared.hub.conns {
		if wc.acct != nil && wc.acct.key == key {
			return true
		}
	}
	return false
}

func TestWsUserData(t *testing.T) {
	c, key, secret := newAccount(t, shared, map[string]string{"USDT": "100000"})
	events := make(chan *binance.WsUserDataEvent, 1024)
	doneC, _, err := binance.WsUserDataServeSignature(key, secret, common.KeyTypeHmac, c.TimeOffset,
		func(e *binance.WsUserDataEvent) { events <- e }, ignoreErr)
	if err != nil {
		t.Fatal(err)
	}
	defer endStreams(t, doneC)
	eventually(t, "subscription", func() bool { return userSubscribed(key) })
	o, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
		Quantity("0.01").NewClientOrderID("ud-1").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	var execs []binance.WsOrderUpdate
	var pos *binance.WsAccountUpdateList
	for pos == nil {
		e := recv(t, events, nil)
		switch e.Event {
		case binance.UserDataEventTypeExecutionReport:
			execs = append(execs, e.OrderUpdate)
		case binance.UserDataEventTypeOutboundAccountPosition:
			pos = &e.AccountUpdate
		}
	}
	if len(execs) != 1+len(o.Fills) || execs[0].ExecutionType != "NEW" || execs[0].ClientOrderId != "ud-1" {
		t.Fatalf("execution reports = %+v", execs)
	}
	last := execs[len(execs)-1]
	if last.ExecutionType != "TRADE" || last.Status != "FILLED" || last.FilledVolume != "0.01000000" || last.Id != o.OrderID || last.TradeId != o.Fills[len(o.Fills)-1].TradeID {
		t.Fatalf("last report = %+v", last)
	}
	b := balances(t, c)
	for _, u := range pos.WsAccountUpdates {
		if got := b[u.Asset]; u.Free != fmt8(got[0]) || u.Locked != fmt8(got[1]) {
			t.Fatalf("position %+v, account %v", u, got)
		}
	}
	lo, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Quantity("0.01").Price("1000").Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.NewCancelOrderService().Symbol("BTCUSDT").OrderID(lo.OrderID).Do(ctx(t)); err != nil {
		t.Fatal(err)
	}
	for {
		e := recv(t, events, nil)
		if e.Event == binance.UserDataEventTypeExecutionReport && e.OrderUpdate.ExecutionType == "CANCELED" {
			if e.OrderUpdate.Id != lo.OrderID || e.OrderUpdate.Status != "CANCELED" {
				t.Fatalf("cancel report = %+v", e.OrderUpdate)
			}
			break
		}
	}
}

func TestWsAPIErrors(t *testing.T) {
	c, _, err := websocket.DefaultDialer.Dial(shared.WSBaseURL()+"/ws-api/v3", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tests := []struct {
		name, req string
		want      string
	}{
		{"bad signature", `{"id":"1","method":"userDataStream.subscribe.signature","params":{"apiKey":"sim-api-key","timestamp":` +
			strconv.FormatInt(shared.nowMs(), 10) + `,"signature":"00"}}`, `"code":-1022`},
		{"unknown key", `{"id":"2","method":"userDataStream.subscribe.signature","params":{"apiKey":"zzz","timestamp":1,"signature":"00"}}`, `"code":-2015`},
		{"ping", `{"id":3,"method":"ping"}`, `"status":200`},
		{"garbage", `{nope`, `"status":400`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.WriteMessage(websocket.TextMessage, []byte(tt.req)); err != nil {
				t.Fatal(err)
			}
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, m, err := c.ReadMessage()
			if err != nil || !strings.Contains(string(m), tt.want) {
				t.Fatalf("reply %s, %v; want %s", m, err, tt.want)
			}
		})
	}
}

func websocketDial(u string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial(u, nil)
}

func TestWsSubscribe(t *testing.T) {
	c, _, err := websocket.DefaultDialer.Dial(shared.WSBaseURL()+"/ws/btcusdt@trade", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	steps := []struct{ name, req, want string }{
		{"subscribe", `{"method":"SUBSCRIBE","params":["ethusdt@bookTicker"],"id":1}`, `{"id":1,"result":null}`},
		{"list", `{"method":"LIST_SUBSCRIPTIONS","id":2}`, `ethusdt@bookTicker`},
		{"unsubscribe", `{"method":"UNSUBSCRIBE","params":["ethusdt@bookTicker"],"id":3}`, `{"id":3,"result":null}`},
		{"unknown stream", `{"method":"SUBSCRIBE","params":["nope@trade"],"id":4}`, `"code":2`},
		{"bad json", `{`, `"code":3`},
	}
	for _, st := range steps {
		if err := c.WriteMessage(websocket.TextMessage, []byte(st.req)); err != nil {
			t.Fatal(err)
		}
		for { // skip trade events pushed meanwhile
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, m, err := c.ReadMessage()
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if strings.Contains(string(m), `"e":"trade"`) {
				continue
			}
			if !strings.Contains(string(m), st.want) {
				t.Fatalf("%s: got %s, want %s", st.name, m, st.want)
			}
			break
		}
	}
}
