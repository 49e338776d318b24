package connector

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func TestRedact(t *testing.T) {
	signed := "http://127.0.0.1:18080/api/v3/order?symbol=BTCUSDT&timestamp=1700000000000&signature=deadbeefcafe"
	for _, tc := range []struct {
		name, in, want string
	}{
		{"url.Error", (&url.Error{Op: "Post", URL: signed, Err: errors.New("EOF")}).Error(),
			`Post "http://127.0.0.1:18080/api/v3/order?redacted": EOF`},
		{"bare query", "body symbol=BTCUSDT&timestamp=17&signature=abc&apiKey=k1",
			"body symbol=BTCUSDT&timestamp=redacted&signature=redacted&apiKey=redacted"},
		{"websocket", `dial "wss://stream.example/ws/abc?listenKey=secret": refused`, `dial "wss://stream.example/ws/abc?redacted": refused`},
		{"no query", `Get "http://127.0.0.1:1/api/v3/time": connection refused`, `Get "http://127.0.0.1:1/api/v3/time": connection refused`},
		{"user info", "http://user:pw@host/x?signature=1", "http://host/x?redacted"},
		{"no url", "context deadline exceeded", "context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := redact(tc.in); got != tc.want {
				t.Fatalf("redact(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// syncBuffer is a log sink the connector's goroutines and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// dropSigned is a proxy to base that closes the connection of every signed
// request without an answer, and keeps the signatures it saw in dropped.
func dropSigned(t *testing.T, base string, dropped *sync.Map) string {
	t.Helper()
	target, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.RawQuery, "signature=") {
			proxy.ServeHTTP(w, r)
			return
		}
		dropped.Store(r.URL.Query().Get("signature"), true)
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			_ = conn.Close() // no answer: the client sees EOF
		}
	}))
	t.Cleanup(front.Close)
	return front.URL
}

// TestSignedURLsNeverLeak: an exchange that drops every signed request (the
// connection closes without an answer) makes go-binance return *url.Error
// texts that quote the signed URL. Neither the logs, nor the bus, nor the
// answers may carry the signature, the timestamp or the API key.
func TestSignedURLsNeverLeak(t *testing.T) {
	ex := startSim(t, simConfig())
	var dropped sync.Map
	cfg := testConfig(ex)
	cfg.BaseURL = dropSigned(t, ex.BaseURL(), &dropped)
	var logs syncBuffer
	sys := actortest.NewSystem(t)
	f := &fixture{sys: sys, bus: actortest.NewProbe(t, sys), cache: newFakeCache(t, sys)}
	f.pid = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: f.bus.PID, Cache: f.cache.pid,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}))
	actortest.Eventually(t, 5*time.Second, func() bool { return f.status(t).GetHealth() == "up" }, "connector up")

	res := placeOrder(t, f, restingBuy("leak-1"))
	if res.GetOutcome() != messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN {
		t.Fatalf("outcome = %v, want unknown (every signed request was dropped)", res)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return f.status(t).GetHealth() == "down" }, "connector down after the dropped requests")

	apiKey, secretKey := cfg.keys()
	if apiKey == "" || secretKey == "" {
		t.Fatal("the test config has no keys to look for")
	}
	var leaks []string
	check := func(where, text string) {
		for _, secret := range []string{"signature=", "timestamp=1", "recvWindow=", apiKey, secretKey} {
			if strings.Contains(text, secret) {
				leaks = append(leaks, where+" has "+secret+": "+text)
			}
		}
		dropped.Range(func(sig, _ any) bool {
			if s, _ := sig.(string); s != "" && strings.Contains(text, s) {
				leaks = append(leaks, where+" has a signature: "+text)
			}
			return true
		})
	}
	logText := logs.String()
	for _, line := range strings.Split(logText, "\n") {
		check("the log", line)
	}
	check("the order result", res.String())
	check("connector.status", f.status(t).String())
	var events []string
	for {
		m, ok := f.bus.Next(10 * time.Millisecond)
		if !ok {
			break
		}
		if ev, ok := m.(*messages.Event); ok {
			var h messages.ConnectorHealth
			if ev.GetPayload().UnmarshalTo(&h) == nil {
				events = append(events, h.GetReason())
			}
			check("bus event "+ev.GetTopic(), ev.String()+" "+h.GetReason())
		}
	}
	for _, l := range leaks {
		t.Error(l)
	}
	// Not vacuous: the errors were there, with the URL's path.
	if !strings.Contains(logText, "order outcome unknown") || !strings.Contains(logText, "/api/v3/order?redacted") {
		t.Fatalf("the log lacks the redacted error:\n%s", logText)
	}
	if !strings.Contains(strings.Join(events, "\n"), "/api/v3/order?redacted") {
		t.Fatalf("no health event with the redacted reason: %q", events)
	}
}
