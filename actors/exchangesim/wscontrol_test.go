package exchangesim

import (
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWsControl follows Binance "Web Socket Streams", Live Subscribing/Unsubscribing to
// streams: the request/answer pairs of Subscribe, Unsubscribe, Listing Subscriptions,
// Setting Properties, Retrieving Properties and the Error Messages table. The id may be a
// 64-bit signed integer, an alphanumeric string of at most 36 characters, or null.
func TestWsControl(t *testing.T) {
	c := dialWS(t, shared, "/ws/btcusdt@trade")
	steps := []struct{ name, req, want string }{
		{"subscribe", `{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}`, `{"id":1,"result":null}`},
		{"list", `{"method":"LIST_SUBSCRIPTIONS","id":3}`, `{"id":3,"result":["btcusdt@aggTrade","btcusdt@depth","btcusdt@trade"]}`},
		{"unsubscribe", `{"method":"UNSUBSCRIBE","params":["btcusdt@depth","btcusdt@aggTrade"],"id":312}`, `{"id":312,"result":null}`},
		{"string id", `{"method":"LIST_SUBSCRIPTIONS","id":"abc123"}`, `{"id":"abc123","result":["btcusdt@trade"]}`},
		{"null id", `{"method":"GET_PROPERTY","params":["combined"],"id":null}`, `{"id":null,"result":false}`},
		{"set combined", `{"method":"SET_PROPERTY","params":["combined",true],"id":5}`, `{"id":5,"result":null}`},
		{"get combined", `{"method":"GET_PROPERTY","params":["combined"],"id":2}`, `{"id":2,"result":true}`},
		{"unknown property", `{"method":"GET_PROPERTY","params":["speed"],"id":6}`, `{"error":{"code":0,"msg":"Unknown property"},"id":6}`},
		{"not a boolean", `{"method":"SET_PROPERTY","params":["combined","yes"],"id":7}`, `{"error":{"code":1,"msg":"Invalid value type: expected Boolean"},"id":7}`},
		{"property not a string", `{"method":"GET_PROPERTY","params":[1],"id":8}`, `{"error":{"code":2,"msg":"Invalid request: property name must be a string"},"id":8}`},
		{"no property", `{"method":"GET_PROPERTY","params":[],"id":9}`, `{"error":{"code":2,"msg":"Invalid request: property name must be a string"},"id":9}`},
		{"too many parameters", `{"method":"GET_PROPERTY","params":["combined",true],"id":10}`, `{"error":{"code":2,"msg":"Invalid request: too many parameters"},"id":10}`},
		{"bad id", `{"method":"LIST_SUBSCRIPTIONS","id":"has space"}`, `{"error":{"code":2,"msg":"Invalid request: request ID must be an unsigned integer"},"id":"has space"}`},
		{"unknown method", `{"method":"FOO","id":11}`, "{\"error\":{\"code\":2,\"msg\":\"Invalid request: unknown variant `FOO`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`\"},\"id\":11}"},
		{"missing method", `{"params":[],"id":12}`, "{\"error\":{\"code\":2,\"msg\":\"Invalid request: missing field `method`\"},\"id\":12}"},
		{"invalid stream", `{"method":"SUBSCRIBE","params":["nope@trade"],"id":13}`, `{"error":{"code":2,"msg":"Invalid request: invalid stream nope@trade"},"id":13}`},
		{"bad JSON", "{\n  \"method\": ,", `{"error":{"code":3,"msg":"Invalid JSON: expected value at line 2 column 13"}}`},
	}
	for _, st := range steps {
		advanceClock(250 * time.Millisecond) // stay within 5 messages per second
		c.send(t, st.req)
		got := c.next(t, nil, func(b []byte) bool { return !strings.Contains(string(b), `"trade"`) })
		if string(got) != st.want {
			t.Fatalf("%s:\n got  %s\n want %s", st.name, got, st.want)
		}
	}
}

// TestWsIncomingLimit: "WebSocket connections have a limit of 5 incoming messages per
// second ... A connection that goes beyond the limit will be disconnected" (Binance
// "Web Socket Streams", Websocket Limits). Binance does not document the close code;
// here it is 1008 (policy violation).
func TestWsIncomingLimit(t *testing.T) {
	tests := []struct {
		name string
		send func(c *websocket.Conn) error
	}{
		{"requests", func(c *websocket.Conn) error {
			return c.WriteMessage(websocket.TextMessage, []byte(`{"method":"LIST_SUBSCRIPTIONS","id":1}`))
		}},
		{"pings", func(c *websocket.Conn) error {
			return c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialWS(t, shared, "/ws")
			for range 20 { // 20 in far less than a second, even on a loaded machine
				if err := tt.send(c.c); err != nil {
					break // the server may already have closed
				}
			}
			select {
			case err := <-c.closed:
				if !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
					t.Fatalf("closed with %v, want 1008", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("connection over the message limit was not closed")
			}
			if n := len(c.msgs); n > maxIncoming {
				t.Fatalf("%d answers before the close, want at most %d", n, maxIncoming)
			}
		})
	}
}

// TestWsIncomingWithinLimit: five messages in a second are allowed, and the window slides.
func TestWsIncomingWithinLimit(t *testing.T) {
	wc := &wsConn{limited: true}
	for i, now := range []int64{0, 10, 20, 30, 40, 1000, 1010, 1020, 1030, 1040} {
		if !wc.incoming(now) {
			t.Fatalf("message %d at %d ms refused", i, now)
		}
	}
	if wc.incoming(1500) {
		t.Fatal("sixth message within a second accepted")
	}
}
