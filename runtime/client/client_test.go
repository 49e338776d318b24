package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/client/clienttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dial connects to srv without a token (SUPERBOT_TOKEN is cleared).
func dial(t testing.TB, srv *clienttest.Server, opts client.Options) *client.Client {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = srv.Dir
	}
	c, err := client.Dial(context.Background(), opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func echo(_ *clienttest.Conn, params json.RawMessage) (any, error) { return params, nil }

func TestCallDecodesResult(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	t.Setenv(client.DaemonTokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.HandleResult("daemon.status", map[string]any{"version": "v1.2.3", "pid": 42, "uptime_seconds": 1.5})
	c := dial(t, srv, client.Options{})

	var st struct {
		Version string  `json:"version"`
		PID     int     `json:"pid"`
		Uptime  float64 `json:"uptime_seconds"`
	}
	if err := c.Call(context.Background(), "daemon.status", nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "v1.2.3" || st.PID != 42 || st.Uptime != 1.5 {
		t.Fatalf("got %+v", st)
	}
	var raw json.RawMessage
	if err := c.Call(context.Background(), "daemon.status", nil, &raw); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(raw) || !strings.Contains(string(raw), `"v1.2.3"`) {
		t.Fatalf("raw result %s", raw)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 || reqs[0].Method != "daemon.status" || len(reqs[0].Params) != 0 {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestConcurrentCallsAreMultiplexed(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	release := make(chan struct{})
	srv.Handle("slow", func(*clienttest.Conn, json.RawMessage) (any, error) {
		<-release // answered only after "fast" was: responses arrive out of order
		return "slow", nil
	})
	srv.Handle("fast", func(*clienttest.Conn, json.RawMessage) (any, error) {
		defer close(release)
		return "fast", nil
	})
	srv.Handle("echo", echo)
	c := dial(t, srv, client.Options{})

	var wg sync.WaitGroup
	var slow string
	var slowErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		slowErr = c.Call(context.Background(), "slow", nil, &slow)
	}()
	var fast string
	if err := c.Call(context.Background(), "fast", nil, &fast); err != nil || fast != "fast" {
		t.Fatalf("fast: %q %v", fast, err)
	}
	const n = 200
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got struct{ N int }
			if err := c.Call(context.Background(), "echo", map[string]int{"N": i}, &got); err != nil {
				errs <- err
				return
			}
			if got.N != i {
				errs <- fmt.Errorf("call %d got the answer of %d", i, got.N)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if slowErr != nil || slow != "slow" {
		t.Fatalf("slow: %q %v", slow, slowErr)
	}
}

func TestErrorMapping(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.HandleError("module.start", client.CodeNotFound, "unknown module", []string{"trading", "webui"})
	srv.HandleError("module.stop", client.CodeFailedPrecondition, "module is not running", nil)
	srv.HandleError("secret", client.CodeUnauthorized, "unauthorized", nil)
	srv.Handle("broken", func(*clienttest.Conn, json.RawMessage) (any, error) { return nil, errors.New("boom") })
	c := dial(t, srv, client.Options{})

	tests := []struct {
		name     string
		method   string
		code     int
		names    []string
		unauth   bool
		contains string
	}{
		{name: "not found with names", method: "module.start", code: client.CodeNotFound, names: []string{"trading", "webui"}, contains: "known: trading, webui"},
		{name: "precondition", method: "module.stop", code: client.CodeFailedPrecondition, contains: "module is not running (code -32006)"},
		{name: "unauthorized", method: "secret", code: client.CodeUnauthorized, unauth: true},
		{name: "method not found", method: "no.such", code: client.CodeMethodNotFound},
		{name: "internal", method: "broken", code: client.CodeInternalError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Call(context.Background(), tt.method, map[string]string{"module": "x"}, nil)
			var e *client.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not a *client.Error", err, err)
			}
			if e.Code != tt.code || client.CodeOf(err) != tt.code {
				t.Fatalf("code %d, want %d", e.Code, tt.code)
			}
			if fmt.Sprint(e.DataNames()) != fmt.Sprint(tt.names) {
				t.Fatalf("names %v, want %v", e.DataNames(), tt.names)
			}
			if errors.Is(err, client.ErrUnauthorized) != tt.unauth {
				t.Fatalf("errors.Is(ErrUnauthorized) = %v", !tt.unauth)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Fatalf("message %q does not contain %q", err, tt.contains)
			}
		})
	}
}

func TestAuth(t *testing.T) {
	const token = "s3cret"
	tests := []struct {
		name    string
		opts    client.Options
		env     string
		file    string
		callErr bool // Dial works, calls are refused (no token)
		source  string
	}{
		{name: "option", opts: client.Options{Token: token}, source: "option"},
		{name: "env", env: token, source: "env SUPERBOT_TOKEN"},
		{name: "file", file: token + "\n", source: "file"},
		{name: "option wins over env", opts: client.Options{Token: token}, env: "wrong", source: "option"},
		{name: "wrong token on the socket", opts: client.Options{Token: "wrong"}, callErr: true, source: "option"},
		{name: "no token", callErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(client.TokenEnv, tt.env)
			srv := clienttest.NewServer(t)
			srv.RequireToken(token)
			srv.HandleResult("ping", map[string]bool{"pong": true})
			if tt.file != "" {
				if err := os.WriteFile(filepath.Join(srv.Dir, client.TokenName), []byte(tt.file), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			opts := tt.opts
			opts.StateDir = srv.Dir
			want := tt.source
			if want == "file" {
				want = filepath.Join(srv.Dir, client.TokenName)
			}
			if _, src := opts.ResolveToken(); src != want {
				t.Fatalf("token source %q, want %q", src, want)
			}
			c, err := client.Dial(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			err = c.Call(context.Background(), "ping", nil, nil)
			if tt.callErr {
				if !errors.Is(err, client.ErrUnauthorized) {
					t.Fatalf("call error %v, want ErrUnauthorized", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if reqs[0].Method != "auth.login" || string(reqs[0].ID) != "0" {
				t.Fatalf("first request %s id %s, want auth.login id 0", reqs[0].Method, reqs[0].ID)
			}
			var p struct{ Token string }
			_ = json.Unmarshal(reqs[0].Params, &p)
			if p.Token != token {
				t.Fatalf("login token %q", p.Token)
			}
		})
	}
}

func TestLoginIgnoredWhenDaemonHasNoAuth(t *testing.T) {
	// The fake server always knows auth.login; a bare listener that answers
	// -32601 stands for a daemon without it.
	dir := shortTempDir(t)
	sock := filepath.Join(dir, client.SocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		buf := make([]byte, 4096)
		n, _ := conn.Read(buf)
		if !strings.Contains(string(buf[:n]), `"auth.login"`) {
			return
		}
		_, _ = conn.Write([]byte(`{"jsonrpc":"2.0","error":{"code":-32601,"message":"method not found"},"id":0}` + "\n"))
		_, _ = conn.Read(buf) // until the client closes
	}()
	c, err := client.Dial(context.Background(), client.Options{Socket: sock, Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	<-done
}

func shortTempDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "sbc")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

func TestDaemonNotRunning(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	t.Run("no socket", func(t *testing.T) {
		dir := shortTempDir(t)
		_, err := client.Dial(context.Background(), client.Options{StateDir: dir})
		if !errors.Is(err, client.ErrDaemonNotRunning) {
			t.Fatalf("error %v, want ErrDaemonNotRunning", err)
		}
		var nr *client.NotRunningError
		if !errors.As(err, &nr) || nr.Network != "unix" || nr.Address != filepath.Join(dir, client.SocketName) {
			t.Fatalf("error %#v", err)
		}
		if !strings.Contains(err.Error(), "no socket at "+nr.Address) {
			t.Fatalf("message %q", err)
		}
	})
	t.Run("stale socket", func(t *testing.T) {
		dir := shortTempDir(t)
		sock := filepath.Join(dir, client.SocketName)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		_ = ln.Close()
		_, err = client.Dial(context.Background(), client.Options{Socket: sock})
		if !errors.Is(err, client.ErrDaemonNotRunning) || !strings.Contains(err.Error(), "stale socket") {
			t.Fatalf("error %v, want ErrDaemonNotRunning (stale socket)", err)
		}
	})
	t.Run("tcp refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		_ = ln.Close()
		_, err = client.Dial(context.Background(), client.Options{Addr: addr, Token: "t"})
		if !errors.Is(err, client.ErrDaemonNotRunning) || !strings.Contains(err.Error(), "connection refused at "+addr) {
			t.Fatalf("error %v", err)
		}
	})
}

func TestTCP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			dec := json.NewDecoder(conn)
			for {
				var req struct {
					Method string
					Params struct{ Token string }
					ID     json.RawMessage
				}
				if dec.Decode(&req) != nil {
					break
				}
				if req.Method == "auth.login" && req.Params.Token != "t" {
					fmt.Fprintf(conn, `{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: bad token"},"id":%s}`+"\n", req.ID)
					continue
				}
				fmt.Fprintf(conn, `{"jsonrpc":"2.0","result":{"method":%q},"id":%s}`+"\n", req.Method, req.ID)
			}
			conn.Close()
		}
	}()
	// Over TCP a refused token fails Dial.
	if _, err := client.Dial(context.Background(), client.Options{Addr: ln.Addr().String(), Token: "bad"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("Dial with a bad token: %v, want ErrUnauthorized", err)
	}
	c, err := client.Dial(context.Background(), client.Options{Addr: ln.Addr().String(), Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ Method string }
	if err := c.Call(context.Background(), "daemon.status", nil, &res); err != nil || res.Method != "daemon.status" {
		t.Fatalf("%+v %v", res, err)
	}
	if nw, _ := c.Endpoint(); nw != "tcp" {
		t.Fatalf("endpoint %s", nw)
	}
	_ = c.Close()
	_ = ln.Close()
	<-done
}

func TestSubscribe(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.Handle("events.subscribe", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{
			Result: map[string]string{"subscription": "7"}, // protojson writes uint64 as a string
			After: func(c *clienttest.Conn) {
				for i := 1; i <= 3; i++ {
					_ = c.Notify("events.event", map[string]any{"topic": "price.BTCUSDT.update", "sequence": fmt.Sprint(i)})
				}
				_ = c.Notify("logs.line", map[string]any{"line": "not for this subscription"})
			},
		}, nil
	})
	srv.HandleResult("events.unsubscribe", map[string]bool{"removed": true})
	c := dial(t, srv, client.Options{})

	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]any{"pattern": "price.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	if sub.ID != 7 {
		t.Fatalf("subscription id %d", sub.ID)
	}
	for i := 1; i <= 3; i++ {
		n := recv(t, sub.C())
		var ev struct{ Topic, Sequence string }
		if err := json.Unmarshal(n.Params, &ev); err != nil || n.Method != "events.event" || ev.Sequence != fmt.Sprint(i) {
			t.Fatalf("notification %d: %s %s", i, n.Method, n.Params)
		}
	}
	if err := sub.Unsubscribe(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, open := <-sub.C(); open {
		t.Fatal("channel still open after Unsubscribe")
	}
	if sub.Err() != nil {
		t.Fatalf("Err after Unsubscribe: %v", sub.Err())
	}
	last := srv.Requests()[len(srv.Requests())-1]
	if last.Method != "events.unsubscribe" || string(last.Params) != `{"subscription":7}` {
		t.Fatalf("last request %s %s", last.Method, last.Params)
	}
}

func recv(t *testing.T, ch <-chan client.Notification) client.Notification {
	t.Helper()
	select {
	case n, ok := <-ch:
		if !ok {
			t.Fatal("subscription ended")
		}
		return n
	case <-time.After(5 * time.Second):
		t.Fatal("no notification within 5s")
	}
	return client.Notification{}
}

func TestSlowSubscriberDropsOldest(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.Handle("logs.stream", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{
			Result: map[string]int{"subscription": 1},
			After: func(c *clienttest.Conn) {
				for i := 1; i <= 5; i++ {
					_ = c.Notify("logs.line", map[string]int{"n": i})
				}
				_ = c.Notify("test.done", map[string]int{})
			},
		}, nil
	})
	srv.HandleResult("marker.subscribe", map[string]int{"subscription": 2})
	c := dial(t, srv, client.Options{SubscriptionBuffer: 2})

	marker, err := c.Subscribe(context.Background(), "marker.subscribe", nil, "test.done")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := c.Subscribe(context.Background(), "logs.stream", map[string]any{"module": "x", "lines": 5}, "logs.line")
	if err != nil {
		t.Fatal(err)
	}
	recv(t, marker.C()) // the reader has handled the five lines before it
	if sub.Dropped() != 3 {
		t.Fatalf("dropped %d, want 3", sub.Dropped())
	}
	for _, want := range []string{`{"n":4}`, `{"n":5}`} {
		if n := recv(t, sub.C()); string(n.Params) != want {
			t.Fatalf("got %s, want %s", n.Params, want)
		}
	}
}

func TestConnectionLost(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.HandleResult("events.subscribe", map[string]int{"subscription": 1})
	srv.Handle("daemon.stop", func(c *clienttest.Conn, _ json.RawMessage) (any, error) {
		c.CloseConn()
		return nil, nil
	})
	c := dial(t, srv, client.Options{})
	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]string{"pattern": ">"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Call(context.Background(), "daemon.stop", nil, nil)
	if !errors.Is(err, client.ErrConnectionLost) {
		t.Fatalf("call error %v, want ErrConnectionLost", err)
	}
	if _, open := <-sub.C(); open {
		t.Fatal("subscription still open")
	}
	if !errors.Is(sub.Err(), client.ErrConnectionLost) || !errors.Is(c.Err(), client.ErrConnectionLost) {
		t.Fatalf("Err %v / %v", sub.Err(), c.Err())
	}
	if err := c.Call(context.Background(), "daemon.status", nil, nil); !errors.Is(err, client.ErrConnectionLost) {
		t.Fatalf("call after loss %v", err)
	}
}

func TestCallTimeoutAndClose(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) }) // runs before the server's Close
	srv.Handle("hang", func(*clienttest.Conn, json.RawMessage) (any, error) {
		<-block
		return nil, nil
	})
	c := dial(t, srv, client.Options{Timeout: 50 * time.Millisecond})

	err := c.Call(context.Background(), "hang", nil, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want DeadlineExceeded", err)
	}
	// The pending call has its own deadline, far beyond the client's 50 ms:
	// the test's polling below can lose hundreds of ms on a loaded machine,
	// and the call must still be pending when Close comes.
	errc := make(chan error, 1)
	pendingCtx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	go func() { errc <- c.Call(pendingCtx, "hang", nil, nil) }()
	waitFor(t, func() bool { return len(srv.Requests()) == 2 })
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, client.ErrClosed) {
		t.Fatalf("pending call error %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := c.Call(context.Background(), "hang", nil, nil); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := c.Notify(context.Background(), "hang", nil); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("notify after Close: %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestBatchAndNotify(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.Handle("echo", echo)
	srv.HandleError("module.status", client.CodeNotFound, "unknown module", nil)
	srv.HandleResult("log.mark", nil)
	c := dial(t, srv, client.Options{})

	var a, b map[string]int
	elems := []client.BatchElem{
		{Method: "echo", Params: map[string]int{"a": 1}, Result: &a},
		{Method: "log.mark", Params: []int{1}, Notify: true},
		{Method: "module.status", Params: map[string]string{"module": "nope"}},
		{Method: "echo", Params: []int{2}, Result: &b},
	}
	if err := c.Batch(context.Background(), elems); err != nil {
		t.Fatal(err)
	}
	if a["a"] != 1 || elems[0].Error != nil {
		t.Fatalf("elem 0: %v %v", a, elems[0].Error)
	}
	if client.CodeOf(elems[2].Error) != client.CodeNotFound {
		t.Fatalf("elem 2: %v", elems[2].Error)
	}
	if elems[3].Error == nil { // [2] does not decode into a map
		t.Fatalf("elem 3 decoded %v", b)
	}
	if err := c.Notify(context.Background(), "log.mark", map[string]string{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(srv.Requests()) == 5 })
	if last := srv.Requests()[4]; last.Method != "log.mark" || last.ID != nil {
		t.Fatalf("notification sent as %+v", last)
	}
}

func TestParamsMustBeStructured(t *testing.T) {
	t.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(t)
	srv.Handle("echo", echo)
	c := dial(t, srv, client.Options{})
	for _, p := range []any{"x", 3, json.RawMessage(`{bad`), json.RawMessage(`true`)} {
		if err := c.Call(context.Background(), "echo", p, nil); err == nil {
			t.Errorf("params %v accepted", p)
		}
	}
	for _, p := range []any{nil, json.RawMessage(``), json.RawMessage(`null`), json.RawMessage(` [1] `), struct{}{}} {
		if err := c.Call(context.Background(), "echo", p, nil); err != nil {
			t.Errorf("params %v: %v", p, err)
		}
	}
	if got := len(srv.Requests()); got != 5 {
		t.Fatalf("%d requests reached the server, want 5", got)
	}
}

func BenchmarkCallSequential(b *testing.B) {
	b.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(b)
	srv.HandleResult("ping", map[string]bool{"pong": true})
	c := dial(b, srv, client.Options{})
	ctx := context.Background()
	var res struct{ Pong bool }
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, "ping", nil, &res); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallParallel(b *testing.B) {
	b.Setenv(client.TokenEnv, "")
	srv := clienttest.NewServer(b)
	srv.HandleResult("ping", map[string]bool{"pong": true})
	c := dial(b, srv, client.Options{})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var res struct{ Pong bool }
		for pb.Next() {
			if err := c.Call(context.Background(), "ping", nil, &res); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDaemonCallSequential measures a real daemon: set
// SUPERBOT_BENCH_STATE_DIR to its state directory (e.g. .superbot) and,
// optionally, SUPERBOT_BENCH_METHOD (default daemon.status).
func BenchmarkDaemonCallSequential(b *testing.B) {
	dir := os.Getenv("SUPERBOT_BENCH_STATE_DIR")
	if dir == "" {
		b.Skip("SUPERBOT_BENCH_STATE_DIR is not set")
	}
	method := os.Getenv("SUPERBOT_BENCH_METHOD")
	if method == "" {
		method = "daemon.status"
	}
	c, err := client.Dial(context.Background(), client.Options{StateDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var res json.RawMessage
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Call(ctx, method, nil, &res); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzReader feeds arbitrary daemon lines to the client: it must neither
// panic nor hang a call that gets a well-formed answer afterwards.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","result":{},"id":0}`,
		`[{"jsonrpc":"2.0","result":1,"id":0}]`,
		`{"jsonrpc":"2.0","method":"events.event","params":{"topic":"a"}}`,
		`{"jsonrpc":"2.0","error":{"code":-32700,"message":"parse error"},"id":null}`,
		`{"id":"x"}`, `[]`, `[null]`, `nul`, `{"error":{"data":[1]}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsRune(line, '\n') {
			return
		}
		a, b := net.Pipe()
		c := client.New(a, client.Options{Timeout: 10 * time.Second}) // a lost reply fails below; 10 s, as fuzz workers load both vCPUs
		defer c.Close()
		defer b.Close()
		done := make(chan struct{})
		go func() {
			defer close(done)
			buf := make([]byte, 4096)
			n, err := b.Read(buf) // the request
			if err != nil {
				return
			}
			var req struct{ ID json.RawMessage }
			_ = json.Unmarshal(buf[:n], &req)
			_, _ = b.Write([]byte(line + "\n"))
			_, _ = fmt.Fprintf(b, `{"jsonrpc":"2.0","result":{},"id":%s}`+"\n", req.ID)
		}()
		_, err := c.Subscribe(context.Background(), "x.subscribe", nil, "events.event")
		var rpcErr *client.Error
		if err != nil && !errors.As(err, &rpcErr) {
			t.Fatalf("subscribe: %v", err)
		}
		<-done
	})
}
