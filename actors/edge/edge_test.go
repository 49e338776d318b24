package edge_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/edge/edgetest"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) {
	if os.Getenv(moduleHelperEnv) != "" {
		os.Exit(runModuleHelper())
	}
	goleak.VerifyTestMain(m)
}

const token = "s3cret-token"

// testMarker is the fixture daemon's module marker (Deps.ModuleMarker).
const testMarker = "4242.777"

type fixture struct {
	sys    *actor.ActorSystem
	socket string
	tcp    string
	bus    *actor.PID
	edge   *actor.PID
}

func start(t testing.TB, cfg edge.Config) *fixture {
	t.Helper()
	return startLogging(t, cfg, actortest.Logger(t))
}

// startLogging is start with the edge's logger given.
func startLogging(t testing.TB, cfg edge.Config, log *slog.Logger) *fixture {
	t.Helper()
	sys := actortest.NewSystem(t)
	dir := t.TempDir()
	cfg.TCPEnabled = true
	cfg.TCPAddr = "127.0.0.1:0"
	ls, err := edge.Listen(cfg, filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ls.Close)
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "n1", actortest.Logger(t)))
	router := rpc.NewRouter(5 * time.Second) // no test here waits for a timeout: generous for a loaded machine
	router.MustAdd(edgetest.Routes(t, sys, busPID)...)
	router.MustAdd(rpc.Route{Method: "logs.tail", New: func() proto.Message { return &messages.LogsTailRequest{} }, Target: tailer(t, sys)})
	cfg.RequestTimeout = 5 * time.Second
	edgePID := actortest.Spawn(t, sys, edge.Props(cfg, edge.Deps{Router: router, Bus: busPID, Listeners: ls, Token: token, ModuleMarker: testMarker, Logger: log}))
	return &fixture{sys: sys, socket: ls.SocketPath, tcp: ls.TCP.Addr().String(), bus: busPID, edge: edgePID}
}

// tailer answers logs.tail with lines "old 1" .. "old N" of the module.
func tailer(t testing.TB, sys *actor.ActorSystem) *actor.PID {
	return actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*messages.LogsTailRequest); ok {
			res := &messages.LogsTailResponse{Module: req.Module}
			for i := range req.Lines {
				res.Lines = append(res.Lines, &messages.LogLine{Module: req.Module, Line: fmt.Sprintf("old %d", i+1)})
			}
			ctx.Respond(res)
		}
	}))
}

type client struct {
	t  *testing.T
	c  net.Conn
	rd *bufio.Reader
}

func dial(t *testing.T, network, addr string) *client {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return &client{t: t, c: c, rd: bufio.NewReaderSize(c, 1<<20)}
}

func (c *client) send(line string) {
	c.t.Helper()
	if _, err := c.c.Write([]byte(line + "\n")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) read() string {
	c.t.Helper()
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := c.rd.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (got %q)", err, line)
	}
	return strings.TrimSpace(line)
}

func (c *client) call(line string) string {
	c.t.Helper()
	c.send(line)
	return c.read()
}

// sameJSON compares two JSON texts structurally (edgetest.SameJSON).
func sameJSON(t *testing.T, got, want string) {
	t.Helper()
	edgetest.SameJSON(t, got, want)
}

// Send and Read make a client an edgetest.Conn.
func (c *client) Send(t testing.TB, msg string) {
	c.t = t.(*testing.T)
	c.send(msg)
}

func (c *client) Read(t testing.TB) string {
	c.t = t.(*testing.T)
	return c.read()
}

// TestConformance runs the conformance cases (the JSON-RPC specification's
// examples, ids, validation, error mapping, notifications) on the Unix
// socket and, logged in, on TCP; the web UI runs the same on WebSocket.
func TestConformance(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	t.Run("unix", func(t *testing.T) { edgetest.Conformance(t, dial(t, "unix", f.socket)) })
	t.Run("tcp", func(t *testing.T) {
		c := dial(t, "tcp", f.tcp)
		edgetest.Unauthenticated(t, c, token)
		edgetest.Conformance(t, c)
	})
}

func TestTokenRequiredOnTCP(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	c := dial(t, "tcp", f.tcp)
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: call auth.login with the daemon's token first"},"id":1}`)
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"auth.login","params":{"token":"wrong"},"id":2}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: bad token"},"id":2}`)
	// a bad token changed nothing: still refused
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"events.publish_test","params":{"event":{"topic":"x"}},"id":3}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: call auth.login with the daemon's token first"},"id":3}`)
	if st := actortest.Request[*messages.BusStatsResponse](t, f.sys, f.bus, &messages.BusStatsRequest{}); st.Published != 0 {
		t.Fatalf("an unauthenticated call reached the bus: %v", st)
	}
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"auth.login","params":["`+token+`"],"id":4}`), `{"jsonrpc":"2.0","result":{"ok":true},"id":4}`)
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":5}`), `{"jsonrpc":"2.0","result":3,"id":5}`)
	// the socket needs no token by default
	u := dial(t, "unix", f.socket)
	sameJSON(t, u.call(`{"jsonrpc":"2.0","method":"sum","params":[2],"id":1}`), `{"jsonrpc":"2.0","result":2,"id":1}`)
}

func TestHugeLineClosesOnlyThatConnection(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	good := dial(t, "unix", f.socket)
	bad := dial(t, "unix", f.socket)
	go func() { // 10 MiB without a newline; the server stops reading early
		chunk := []byte(strings.Repeat("x", 64<<10))
		for i := 0; i < 160; i++ {
			if _, err := bad.c.Write(chunk); err != nil {
				return
			}
		}
	}()
	resp := bad.read()
	if !strings.Contains(resp, `"code":-32600`) {
		t.Fatalf("oversized line answered %s", resp)
	}
	_ = bad.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := bad.rd.ReadString('\n'); err == nil {
		t.Fatal("connection left open after an oversized line")
	}
	sameJSON(t, good.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
}

func TestSlowAndIdleClients(t *testing.T) {
	// The good client's call must reach the edge within the idle timeout
	// of its accept: 1 s, not less, on a machine whose goroutines can stall
	// for hundreds of ms. The slow one goes after 1 to 1.5 s.
	cfg := edge.DefaultConfig()
	cfg.IdleTimeout = time.Second
	f := start(t, cfg)
	slow := dial(t, "unix", f.socket)
	if _, err := slow.c.Write([]byte(`{"jsonrpc":"2.0",`)); err != nil { // half a request, then nothing
		t.Fatal(err)
	}
	good := dial(t, "unix", f.socket)
	sameJSON(t, good.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
	_ = slow.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if line, err := slow.rd.ReadString('\n'); err == nil || line != "" {
		t.Fatalf("a slowloris client was not disconnected: got %q", line)
	}
}

func TestBusyConnectionOutlivesTheIdleTimeout(t *testing.T) {
	// A connection that keeps calling is never idle, however long it lives:
	// the deadline is pushed out in steps, never let lapse. Calls come every
	// 100 ms for more than 1.5 idle timeouts (an idle connection is closed
	// after 1 to 1.5 of them); the timeout is large beside that gap because
	// sleeps here can end up to ~900 ms late.
	cfg := edge.DefaultConfig()
	cfg.IdleTimeout = 2 * time.Second
	f := start(t, cfg)
	busy := dial(t, "unix", f.socket)
	for end := time.Now().Add(cfg.IdleTimeout * 3 / 2).Add(200 * time.Millisecond); time.Now().Before(end); {
		sameJSON(t, busy.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
		time.Sleep(100 * time.Millisecond)
	}
	sameJSON(t, busy.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
}

func TestConnectionLimit(t *testing.T) {
	cfg := edge.DefaultConfig()
	cfg.MaxConnections = 3
	f := start(t, cfg)
	good := dial(t, "unix", f.socket)
	sameJSON(t, good.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
	// the 4th concurrent connection is refused politely
	a, b := dial(t, "unix", f.socket), dial(t, "unix", f.socket)
	sameJSON(t, a.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
	sameJSON(t, b.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
	over := dial(t, "unix", f.socket)
	if got := over.read(); !strings.Contains(got, "too many connections") {
		t.Fatalf("over the limit: %s", got)
	}
}

func TestEventsSubscribeStreamsNotifications(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	c := dial(t, "unix", f.socket)
	sub := c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"price.*.update"},"id":1}`)
	if !strings.Contains(sub, `"subscription"`) {
		t.Fatalf("subscribe = %s", sub)
	}
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"a.>.b"},"id":2}`),
		`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"pattern \"a.>.b\": invalid topic: '>' must be the last segment"},"id":2}`)
	f.sys.Root.Send(f.bus, messages.NewEvent("price.BTCUSDT.update", "test", structpb.NewStringValue("42")))
	f.sys.Root.Send(f.bus, messages.NewEvent("price.BTCUSDT.trade", "test", nil))
	f.sys.Root.Send(f.bus, messages.NewEvent("price.ETHUSDT.update", "test", nil))
	for _, want := range []string{"price.BTCUSDT.update", "price.ETHUSDT.update"} {
		var n struct {
			Method string `json:"method"`
			Params struct {
				Subscription uint64 `json:"subscription"`
				Topic        string `json:"topic"`
			} `json:"params"`
		}
		line := c.read()
		if err := json.Unmarshal([]byte(line), &n); err != nil || n.Method != "events.event" || n.Params.Topic != want || n.Params.Subscription != 1 {
			t.Fatalf("notification %s, want topic %s", line, want)
		}
		// 64-bit integers are numbers; an Any is what it holds, no @type.
		if strings.Contains(line, `"sequence":"`) || strings.Contains(line, "@type") ||
			(want == "price.BTCUSDT.update" && !strings.Contains(line, `"payload":"42"`)) {
			t.Fatalf("notification %s", line)
		}
	}
	var id struct {
		Result struct {
			Subscription uint64 `json:"subscription"` // a number, though 64 bits
		} `json:"result"`
	}
	_ = json.Unmarshal([]byte(sub), &id)
	sameJSON(t, c.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"events.unsubscribe","params":[%d],"id":3}`, id.Result.Subscription)),
		`{"jsonrpc":"2.0","result":{"removed":true},"id":3}`)
	actortest.Eventually(t, time.Second, func() bool {
		return actortest.Request[*messages.BusStatsResponse](t, f.sys, f.bus, &messages.BusStatsRequest{}).Subscriptions == 0
	}, "unsubscribed")
	_ = c.c.Close()
}

func TestListenRefusesATakenSocket(t *testing.T) {
	dir := t.TempDir()
	cfg := edge.DefaultConfig()
	first, err := edge.Listen(cfg, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	if _, err := edge.Listen(cfg, dir); err == nil || !strings.Contains(err.Error(), "address in use") {
		t.Fatalf("second Listen = %v", err)
	}
	first.Close()
	again, err := edge.Listen(cfg, dir) // the socket file was removed on close
	if err != nil {
		t.Fatal(err)
	}
	again.Close()
}

// Events already on their way to a subscribed client when the edge stops
// (the daemon's system.shutdown among them) are written before its
// connection closes.
func TestStopWritesQueuedNotifications(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	c := dial(t, "unix", f.socket)
	if sub := c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"x.>"},"id":1}`); !strings.Contains(sub, `"subscription"`) {
		t.Fatalf("subscribe = %s", sub)
	}
	const n = 300
	for i := range n {
		f.sys.Root.Send(f.bus, messages.NewEvent(fmt.Sprintf("x.e%d", i), "test", nil))
	}
	// The bus answers in order: every event is with the subscriber now.
	actortest.Request[*messages.BusStatsResponse](t, f.sys, f.bus, &messages.BusStatsRequest{})
	stopped := make(chan error, 1)
	go func() { stopped <- f.sys.Root.StopFuture(f.edge).Wait() }() // the client reads meanwhile
	_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range n {
		line, err := c.rd.ReadString('\n')
		if err != nil {
			t.Fatalf("event %d of %d: %v (the connection closed with events queued)", i, n, err)
		}
		if want := fmt.Sprintf(`"topic":"x.e%d"`, i); !strings.Contains(line, want) {
			t.Fatalf("event %d: %s", i, line)
		}
	}
	if line, err := c.rd.ReadString('\n'); err == nil {
		t.Fatalf("after the last event: %s", line)
	}
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
}

// TestLogsStreamAllModules: logs.stream with no module (or "*") follows
// every module and the daemon interleaved, each line naming its module;
// with a module, that module's tail and then its lines only.
func TestLogsStreamAllModules(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	type line struct {
		Method string `json:"method"`
		Params struct {
			Subscription uint64 `json:"subscription"`
			Module       string `json:"module"`
			Line         string `json:"line"`
		} `json:"params"`
	}
	early := map[*client][]string{} // notifications written before the answer (a tail may be)
	readLine := func(c *client) line {
		t.Helper()
		var raw string
		if q := early[c]; len(q) > 0 {
			raw, early[c] = q[0], q[1:]
		} else {
			raw = c.read()
		}
		var l line
		if err := json.Unmarshal([]byte(raw), &l); err != nil || l.Method != "logs.line" {
			t.Fatalf("want a logs.line notification, got %s", raw)
		}
		return l
	}
	answer := func(c *client, req string) string {
		t.Helper()
		c.send(req)
		for {
			got := c.read()
			if !strings.Contains(got, `"method":"logs.line"`) {
				return got
			}
			early[c] = append(early[c], got)
		}
	}
	all := dial(t, "unix", f.socket)
	star := dial(t, "unix", f.socket)
	one := dial(t, "unix", f.socket)
	for _, sub := range []struct {
		c      *client
		params string
	}{{all, `{}`}, {star, `{"module":"*"}`}, {one, `{"module":"a","lines":2}`}} {
		if got := answer(sub.c, `{"jsonrpc":"2.0","method":"logs.stream","params":`+sub.params+`,"id":1}`); got != `{"jsonrpc":"2.0","result":{"subscription":1},"id":1}` {
			t.Fatalf("logs.stream %s = %s", sub.params, got)
		}
	}
	for i, want := range []string{"old 1", "old 2"} {
		if l := readLine(one); l.Params.Module != "a" || l.Params.Line != want {
			t.Fatalf("tail line %d = %+v", i, l)
		}
	}
	for _, ev := range []struct{ module, text string }{{"a", "a1"}, {"daemon", "d1"}, {"b", "b1"}, {"a", "a2"}} {
		f.sys.Root.Send(f.bus, messages.NewEvent("logs."+ev.module, ev.module, &messages.LogLine{Module: ev.module, Line: ev.text}))
	}
	f.sys.Root.Send(f.bus, messages.NewEvent("module.started", "test", nil)) // not a log line
	for _, c := range []*client{all, star} {
		for _, want := range []string{"a:a1", "daemon:d1", "b:b1", "a:a2"} {
			if l := readLine(c); l.Params.Module+":"+l.Params.Line != want {
				t.Fatalf("got %+v, want %s", l.Params, want)
			}
		}
	}
	for _, want := range []string{"a1", "a2"} {
		if l := readLine(one); l.Params.Module != "a" || l.Params.Line != want {
			t.Fatalf("module a's stream: %+v, want %s", l.Params, want)
		}
	}
	sameJSON(t, answer(one, `{"jsonrpc":"2.0","method":"logs.stream","params":{"module":"a..b"},"id":2}`),
		`{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":"module \"a..b\": not a module name"},"id":2}`)
}
