package daemon_test

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestWebUIServesRPCOverWebSocket: a real daemon autostarts the web UI on
// a free port, written to <state_dir>/webui.addr; /health answers; the
// daemon's token logs a browser in; its session opens /rpc, where
// daemon.status answers as on the socket and a subscription delivers the
// bus's events as notifications.
func TestWebUIServesRPCOverWebSocket(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, "")
	p.waitReady()
	state := filepath.Join(dir, ".superbot")
	var addr string
	until(t, 15*time.Second, "webui.addr", func() bool {
		b, err := os.ReadFile(filepath.Join(state, "webui.addr"))
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != ""
	})
	base := "http://" + addr
	if !strings.Contains(p.out.String(), "webui listening") {
		t.Fatalf("no webui listening line:\n%s", p.out.String())
	}

	res, err := http.Get(base + "/health")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/health: %s", res.Status)
	}

	tok, err := os.ReadFile(filepath.Join(state, "token"))
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"token": {strings.TrimSpace(string(tok))}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	res, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	u, _ := url.Parse(base)
	if res.StatusCode != http.StatusOK || len(jar.Cookies(u)) != 1 { // the redirect to / followed: the app page
		t.Fatalf("login: %s, cookies %v", res.Status, jar.Cookies(u))
	}

	h := http.Header{"Origin": {base}}
	h.Set("Cookie", jar.Cookies(u)[0].String())
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/rpc", h)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var notes []string // notifications read while waiting for answers
	call := func(msg string) map[string]any {
		t.Helper()
		if err := ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		for {
			_ = ws.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, b, err := ws.ReadMessage()
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if _, isNote := m["method"]; !isNote {
				return m
			}
			notes = append(notes, string(b))
		}
	}
	st := call(`{"jsonrpc":"2.0","method":"daemon.status","id":1}`)
	if r, ok := st["result"].(map[string]any); !ok || r["state"] != "running" {
		t.Fatalf("daemon.status over WebSocket: %v", st)
	}
	if got := nestedState(st["result"].(map[string]any), "modules", "webui"); got != "running" {
		t.Fatalf("webui module state %q", got)
	}
	if r := call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"module.heartbeat.>"},"id":2}`); r["error"] != nil {
		t.Fatalf("events.subscribe: %v", r)
	}
	if r := call(`{"jsonrpc":"2.0","method":"module.restart","params":{"module":"heartbeat"},"id":3}`); r["error"] != nil {
		t.Fatalf("module.restart: %v", r)
	}
	// The notifications came before or after the answer: read until one.
	deadline := time.Now().Add(15 * time.Second)
	for _, n := range notes {
		if strings.Contains(n, `"method":"events.event"`) && strings.Contains(n, `module.heartbeat.`) {
			return
		}
	}
	for {
		_ = ws.SetReadDeadline(deadline)
		_, b, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("no module.heartbeat event: %v", err)
		}
		if strings.Contains(string(b), `"method":"events.event"`) && strings.Contains(string(b), `module.heartbeat.`) {
			break
		}
	}
}

// webUIAddr waits for <state_dir>/webui.addr to name an address other
// than old, and returns it.
func webUIAddr(t *testing.T, dir, old string) string {
	t.Helper()
	var addr string
	until(t, 15*time.Second, "webui.addr", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, ".superbot", "webui.addr"))
		addr = strings.TrimSpace(string(b))
		return err == nil && addr != "" && addr != old
	})
	return addr
}

// TestWebUIConfigAppliesOnModuleRestart: a reloaded [webui] is applied by
// restarting the running module (health_auth here), not the daemon.
func TestWebUIConfigAppliesOnModuleRestart(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, "")
	c := p.client()
	p.waitReady()
	addr := webUIAddr(t, dir, "")
	health := func(addr string) int {
		res, err := http.Get("http://" + addr + "/health")
		if err != nil {
			t.Fatal(err)
		}
		_ = res.Body.Close()
		return res.StatusCode
	}
	if got := health(addr); got != http.StatusOK {
		t.Fatalf("/health: %d", got)
	}
	if err := os.WriteFile(filepath.Join(dir, "conf", "superbot.toml"), []byte("[webui]\nhealth_auth = true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	call(t, c, "daemon.reload_config", nil)
	addr = webUIAddr(t, dir, addr)
	if got := health(addr); got != http.StatusUnauthorized {
		t.Fatalf("/health after the reload and restart: %d", got)
	}
}

// TestWebUIPortTakenFailsTheModuleNotTheDaemon: a taken [webui] listen
// leaves the webui module failed, saying why, without restarts, and the
// daemon serves on.
func TestWebUIPortTakenFailsTheModuleNotTheDaemon(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := startDaemon(t, t.TempDir(), "[webui]\nlisten = \""+ln.Addr().String()+"\"\n")
	st := moduleStatus(t, p, "webui", func(st map[string]any) bool { return st["state"] == "failed" })
	if why, _ := st["last_error"].(string); !strings.Contains(why, "address already in use") || !strings.Contains(why, ln.Addr().String()) {
		t.Fatalf("last_error = %q", why)
	}
	if r, _ := st["restarts"].(float64); r != 0 {
		t.Fatalf("the web UI was restarted %v times", r)
	}
	if s := call(t, p.client(), "daemon.status", nil); s["state"] != "running" {
		t.Fatalf("daemon.status = %v", s)
	}
}
