package webui_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/edge/edgetest"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/webui"
	"github.com/superbot/superbot/actors/webui/ui"
	"github.com/superbot/superbot/messages"
)

const token = "w3b-t0ken-for-tests"

type fixture struct {
	t      *testing.T
	sys    *actor.ActorSystem
	bus    *actor.PID
	router *rpc.Router
	base   string // http://127.0.0.1:PORT
	host   string // 127.0.0.1:PORT
	failed chan string
	module *actor.PID
	dir    string
}

// parent spawns the module as its child (as the modules supervisor does)
// and forwards a ThreadFailed reason to failed.
func parentProps(child *actor.Props, failed chan<- string) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Spawn(child)
		case *modules.ThreadFailed:
			failed <- m.Reason
		}
	})
}

// reportHTML is the HTML report of the fixture's backtest "bt1".
const reportHTML = "<!doctype html><title>bt1</title><p>report of bt1</p>"

// routes are the fixture's methods: the edge's conformance methods
// (edgetest.Routes), a daemon.status-like answer, and backtest.result
// knowing one job, "bt1", with an HTML report in a temporary directory.
func routes(t *testing.T, sys *actor.ActorSystem, busPID *actor.PID) []rpc.Route {
	status := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.DaemonStatusRequest); ok {
			ctx.Respond(&messages.DaemonStatusResponse{Version: "test", Node: "n1", State: "running"})
		}
	}))
	html := filepath.Join(t.TempDir(), "report.html")
	if err := os.WriteFile(html, []byte(reportHTML), 0o600); err != nil {
		t.Fatal(err)
	}
	results := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if m, ok := ctx.Message().(*messages.BacktestResultRequest); ok {
			if m.GetId() != "bt1" {
				ctx.Respond(&messages.BacktestResultResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no job %q", m.GetId())})
				return
			}
			ctx.Respond(&messages.BacktestResultResponse{Files: []*messages.BacktestFile{{Kind: "html", Path: html, Bytes: int64(len(reportHTML))}}})
		}
	}))
	return append(edgetest.Routes(t, sys, busPID),
		rpc.Route{Method: "daemon.status", New: func() proto.Message { return &messages.DaemonStatusRequest{} }, Target: status},
		rpc.Route{Method: "backtest.result", New: func() proto.Message { return &messages.BacktestResultRequest{} }, Target: results})
}

// start runs the web UI module on 127.0.0.1:0 and waits for its address.
func start(t *testing.T, cfg webui.Config, metrics http.Handler) *fixture {
	t.Helper()
	sys := actortest.NewSystem(t)
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "n1", actortest.Logger(t)))
	router := rpc.NewRouter(5 * time.Second)
	router.MustAdd(routes(t, sys, busPID)...)
	f := &fixture{t: t, sys: sys, bus: busPID, router: router, failed: make(chan string, 1), dir: t.TempDir()}
	if cfg.Listen == "" || cfg.Listen == webui.DefaultConfig().Listen { // never the real port
		cfg.Listen = "127.0.0.1:0"
	}
	ipc := edge.DefaultConfig()
	props := webui.ModuleProps(cfg, webui.Deps{Router: router, Bus: busPID, Token: token, IPC: ipc, Metrics: metrics,
		Files: ui.FS(), StateDir: f.dir, Node: "n1", Version: "test", Logger: actortest.Logger(t)})
	f.module = actortest.Spawn(t, sys, parentProps(props, f.failed))
	if !strings.HasSuffix(cfg.Listen, ":0") {
		return f
	}
	path := filepath.Join(f.dir, webui.AddrFile)
	actortest.Eventually(t, 10*time.Second, func() bool {
		b, err := os.ReadFile(path)
		if err == nil && strings.HasSuffix(string(b), "\n") {
			f.host = strings.TrimSpace(string(b))
			return true
		}
		return false
	}, "no %s", path)
	f.base = "http://" + f.host
	return f
}

// client is a browser-like HTTP client: cookies, and Origin set to the
// server's own origin unless told otherwise.
type client struct {
	f      *fixture
	hc     *http.Client
	origin string
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, origin: f.base, hc: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path, ctype string, body []byte) *http.Response {
	c.f.t.Helper()
	req, err := http.NewRequest(method, c.f.base+path, bytes.NewReader(body))
	if err != nil {
		c.f.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.origin != "" {
		req.Header.Set("Origin", c.origin)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	c.f.t.Cleanup(func() { _ = res.Body.Close() })
	return res
}

func (c *client) get(path string) (*http.Response, string) {
	c.f.t.Helper()
	res := c.do(http.MethodGet, path, "", nil)
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// loginJSON posts {"token": tok} to /login.
func (c *client) loginJSON(tok string) *http.Response {
	c.f.t.Helper()
	b, _ := json.Marshal(map[string]string{"token": tok})
	res := c.do(http.MethodPost, "/login", "application/json", b)
	_, _ = io.Copy(io.Discard, res.Body)
	return res
}

// loginForm posts the form field token to /login.
func (c *client) loginForm(tok string) *http.Response {
	c.f.t.Helper()
	res := c.do(http.MethodPost, "/login", "application/x-www-form-urlencoded", []byte(url.Values{"token": {tok}}.Encode()))
	_, _ = io.Copy(io.Discard, res.Body)
	return res
}

// dialWS opens /rpc with the client's cookies and Origin; it returns the
// connection or the refusing response.
func (c *client) dialWS() (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	if c.origin != "" {
		h.Set("Origin", c.origin)
	}
	u, _ := url.Parse(c.f.base)
	for _, ck := range c.hc.Jar.Cookies(u) {
		h.Add("Cookie", ck.Name+"="+ck.Value)
	}
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	ws, res, err := d.Dial("ws://"+c.f.host+"/rpc", h)
	if ws != nil {
		c.f.t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, res, err
}

func (c *client) mustWS() *wsClient {
	c.f.t.Helper()
	ws, res, err := c.dialWS()
	if err != nil {
		status := ""
		if res != nil {
			status = res.Status
		}
		c.f.t.Fatalf("dial /rpc: %v %s", err, status)
	}
	return &wsClient{t: c.f.t, ws: ws}
}

type wsClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func (w *wsClient) send(msg string) {
	w.t.Helper()
	if err := w.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() string {
	w.t.Helper()
	_ = w.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := w.ws.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return string(b)
}

// Send and Read make a wsClient an edgetest.Conn.
func (w *wsClient) Send(t testing.TB, msg string) {
	t.Helper()
	if err := w.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
}

func (w *wsClient) Read(t testing.TB) string {
	t.Helper()
	_ = w.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, b, err := w.ws.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

func (w *wsClient) call(msg string) string {
	w.t.Helper()
	w.send(msg)
	return w.read()
}
