package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client/clienttest"
)

// eventsServer answers events.subscribe with n events, then waits until the
// connection ends.
func eventsServer(t *testing.T, n int) *clienttest.Server {
	srv := newServer(t)
	srv.Handle("events.subscribe", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{Result: map[string]string{"subscription": "3"}, After: func(c *clienttest.Conn) {
			for i := 1; i <= n; i++ {
				_ = c.Notify("events.event", json.RawMessage(`{"topic":"price.BTCUSDT.update","source":"connector","time":"2026-11-26T10:00:00Z",
				  "node":"node-a","sequence":"`+string(rune('0'+i))+`","payload":{"@type":"type.googleapis.com/superbot.v1.PriceUpdate","symbol":"BTCUSDT","price":"100.5"}}`))
			}
		}}, nil
	})
	srv.HandleResult("events.unsubscribe", map[string]bool{"removed": true})
	return srv
}

func TestEventsTail(t *testing.T) {
	srv := eventsServer(t, 3)
	code, out, errs := cli(t, srv, "events", "tail", "price.>", "--count", "2", "--queue", "64")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	re := regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000  price\.BTCUSDT\.update  connector@node-a  #[12]  \{"symbol":"BTCUSDT","price":"100\.5"\}$`)
	if len(lines) != 2 || !re.MatchString(lines[0]) || !re.MatchString(lines[1]) {
		t.Fatalf("output:\n%s", out)
	}
	reqs := srv.Requests()
	if reqs[0].Method != "events.subscribe" || string(reqs[0].Params) != `{"pattern":"price.\u003e","queue_size":64}` {
		t.Fatalf("subscribe %s %s", reqs[0].Method, reqs[0].Params)
	}
	if last := reqs[len(reqs)-1]; last.Method != "events.unsubscribe" || string(last.Params) != `{"subscription":3}` {
		t.Fatalf("last request %s %s", last.Method, last.Params)
	}

	code, out, _ = cli(t, srv, "events", "tail", "--json", "--count", "3")
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if code != exitOK || len(lines) != 3 {
		t.Fatalf("exit %d output %q", code, out)
	}
	for _, l := range lines {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not JSON: %s", l)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a polling reader.
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

func TestEventsTailStopsOnCancel(t *testing.T) {
	srv := eventsServer(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() { done <- runContext(ctx, []string{"--state-dir", srv.Dir, "events", "tail"}, &out, &errb) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "price.BTCUSDT.update") {
		if time.Now().After(deadline) {
			t.Fatalf("no event printed; stderr %q", errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel() // Ctrl-C
	if code := <-done; code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if m := srv.Methods(); m[len(m)-1] != "events.unsubscribe" {
		t.Fatalf("methods %v", m)
	}
}

func TestLogsFollow(t *testing.T) {
	srv := newServer(t)
	srv.Handle("logs.stream", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{Result: map[string]int{"subscription": 1}, After: func(c *clienttest.Conn) {
			_ = c.Notify("logs.line", map[string]string{"module": "trading", "stream": "stdout", "line": "started", "time": "2026-11-26T10:00:00Z"})
			_ = c.Notify("logs.line", map[string]string{"module": "trading", "stream": "stdout", "line": "tick", "time": "2026-11-26T10:00:01Z"})
			c.CloseConn() // the daemon stops
		}}, nil
	})
	code, out, errs := cli(t, srv, "logs", "-f", "-n", "2", "trading")
	if code != exitUnreachable || !strings.Contains(errs, "connection to superbotd lost") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	if !regexp.MustCompile(`(?m)stdout started\n.*stdout tick\n$`).MatchString(out) {
		t.Fatalf("output %q", out)
	}
	if p := srv.Requests()[0]; p.Method != "logs.stream" || string(p.Params) != `{"lines":2,"module":"trading"}` {
		t.Fatalf("sent %s %s", p.Method, p.Params)
	}
}
