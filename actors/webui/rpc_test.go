package webui_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/superbot/superbot/actors/edge/edgetest"
	"github.com/superbot/superbot/actors/webui"
)

// TestConformanceOverWebSocket runs the edge's conformance cases (the same
// table as the Unix socket's) on /rpc: in a browser's session, and from a
// script that sends no Origin and logs in with auth.login first.
func TestConformanceOverWebSocket(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	t.Run("session", func(t *testing.T) {
		c := f.client()
		if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
			t.Fatalf("login: %s", res.Status)
		}
		edgetest.Conformance(t, c.mustWS())
	})
	t.Run("script", func(t *testing.T) {
		c := f.client()
		c.origin = ""
		ws := c.mustWS()
		edgetest.Unauthenticated(t, ws, token)
		edgetest.Conformance(t, ws)
	})
}

// TestSubscriptionsArriveAsNotifications: events.subscribe on /rpc
// delivers the bus's matching events as events.event notifications, each
// one WebSocket message, until events.unsubscribe.
func TestSubscriptionsArriveAsNotifications(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	c := f.client()
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	ws := c.mustWS()
	var sub struct {
		Result struct {
			Subscription uint64 `json:"subscription"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(ws.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"price.>"},"id":1}`)), &sub); err != nil || sub.Result.Subscription == 0 {
		t.Fatalf("subscribe: %v %+v", err, sub)
	}
	other := f.client()
	if res := other.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	pub := other.mustWS()
	for i, topic := range []string{"price.BTCUSDT.update", "other.topic", "price.ETHUSDT.update"} {
		got := pub.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"events.publish_test","params":{"event":{"topic":%q}},"id":%d}`, topic, i))
		if strings.Contains(got, `"error"`) {
			t.Fatalf("publish %s: %s", topic, got)
		}
	}
	for _, want := range []string{"price.BTCUSDT.update", "price.ETHUSDT.update"} {
		var n struct {
			Method string `json:"method"`
			Params struct {
				Subscription uint64 `json:"subscription"`
				Topic        string `json:"topic"`
			} `json:"params"`
		}
		got := ws.read()
		if err := json.Unmarshal([]byte(got), &n); err != nil || n.Method != "events.event" || n.Params.Topic != want || n.Params.Subscription != sub.Result.Subscription {
			t.Fatalf("notification %s (want topic %s): %v", got, want, err)
		}
	}
	edgetest.SameJSON(t, ws.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"events.unsubscribe","params":[%d],"id":2}`, sub.Result.Subscription)),
		`{"jsonrpc":"2.0","result":{"removed":true},"id":2}`)
}

// TestOversizedMessageClosesOnlyThatConnection: the edge's message size
// limit holds on /rpc.
func TestOversizedMessageClosesOnlyThatConnection(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	c := f.client()
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	good, bad := c.mustWS(), c.mustWS()
	big := `{"jsonrpc":"2.0","method":"sum","params":[` + strings.Repeat("1,", 1<<20) + `1],"id":1}`
	_ = bad.ws.WriteMessage(websocket.TextMessage, []byte(big)) // may fail: the server closes as it reads
	_ = bad.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, msg, err := bad.ws.ReadMessage()
		if err == nil {
			if !strings.Contains(string(msg), `"code":-32600`) {
				t.Fatalf("answer to an oversized message: %.200s", msg)
			}
			continue
		}
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the oversized message's connection stayed open")
		}
		break // closed
	}
	edgetest.SameJSON(t, good.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
}
