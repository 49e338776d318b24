package webui_test

import (
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/webui"
	"github.com/superbot/superbot/actors/webui/ui"
)

func TestHealthIsOpenByDefault(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	c := f.client()
	c.origin = ""
	res, body := c.get("/health")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("/health: %s %s", res.Status, body)
	}
	var h map[string]any
	if err := json.Unmarshal([]byte(body), &h); err != nil || h["status"] != "ok" || h["node"] != "n1" {
		t.Fatalf("/health = %s (%v)", body, err)
	}
	if got := res.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'self'") || !strings.Contains(got, "frame-ancestors 'none'") {
		t.Fatalf("CSP = %q", got)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatal("no X-Content-Type-Options: nosniff")
	}
}

func TestNoSessionGetsTheLoginPage(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	login, _ := fs.ReadFile(ui.FS(), "login.html")
	index, _ := fs.ReadFile(ui.FS(), "index.html")
	c := f.client()
	res, body := c.get("/")
	if res.StatusCode != http.StatusOK || body != string(login) {
		t.Fatalf("GET / without a session: %s %q", res.Status, body)
	}
	if _, res, err := c.dialWS(); err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("WS upgrade without a session: %v %v", err, res)
	}
	if res := c.loginForm(token); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("form login: %s %s", res.Status, res.Header.Get("Location"))
	}
	res, body = c.get("/")
	if res.StatusCode != http.StatusOK || body != string(index) {
		t.Fatalf("GET / with a session: %s %q", res.Status, body)
	}
}

func TestLoginSetsAStrictHttpOnlyCookie(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	c := f.client()
	res := c.loginJSON(token)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", res.Status)
	}
	cs := res.Cookies()
	if len(cs) != 1 {
		t.Fatalf("cookies %v", cs)
	}
	ck := cs[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || len(ck.Value) != 64 || strings.Contains(ck.Value, token) {
		t.Fatalf("cookie %+v", ck)
	}
	ws := c.mustWS()
	if got := ws.call(`{"jsonrpc":"2.0","method":"daemon.status","id":1}`); !strings.Contains(got, `"version":"test"`) || !strings.Contains(got, `"id":1`) {
		t.Fatalf("daemon.status = %s", got)
	}
	// Logged out: the cookie no longer opens /rpc.
	res = c.do(http.MethodPost, "/logout", "application/json", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %s", res.Status)
	}
	c.hc.Jar.SetCookies(mustURL(f.base), []*http.Cookie{ck}) // a copy kept by an attacker
	if _, res, err := c.dialWS(); err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("WS after logout: %v", err)
	}
}

func TestCrossOriginIsRefused(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	evil := f.client()
	evil.origin = "http://evil.example"
	if res := evil.loginJSON(token); res.StatusCode != http.StatusForbidden || len(res.Cookies()) != 0 {
		t.Fatalf("cross-origin login: %s", res.Status)
	}
	// A logged-in browser tricked into a cross-site WebSocket.
	c := f.client()
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	c.origin = "http://evil.example"
	if _, res, err := c.dialWS(); err == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin WS: %v", err)
	}
	c.origin = "http://" + f.host + ".evil.example"
	if _, res, err := c.dialWS(); err == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("look-alike origin WS: %v", err)
	}
	// Sec-Fetch-Site without Origin.
	req, _ := http.NewRequest(http.MethodPost, f.base+"/logout", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site logout: %s", res.Status)
	}
}

// TestWrongTokensAreSlowed: past login_burst, failed logins from one
// address are held back (the server says how long) and then refused
// outright when the wait would pass the login timeout.
func TestWrongTokensAreSlowed(t *testing.T) {
	cfg := webui.DefaultConfig()
	cfg.LoginBurst = 2
	cfg.LoginBackoff = 300 * time.Millisecond // edge's login_timeout (5s) bounds the wait
	f := start(t, cfg, nil)
	c := f.client()
	for i := range cfg.LoginBurst {
		res := c.loginJSON("wrong")
		if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Login-Delay-Ms") != "" {
			t.Fatalf("login %d: %s delay %q", i, res.Status, res.Header.Get("X-Login-Delay-Ms"))
		}
	}
	res := c.loginJSON("wrong")
	if res.StatusCode != http.StatusUnauthorized || res.Header.Get("X-Login-Delay-Ms") == "" {
		t.Fatalf("login past the burst: %s, delay %q", res.Status, res.Header.Get("X-Login-Delay-Ms"))
	}
}

// TestLoginsPastTheTimeoutAreRefused: when an address's next turn is
// further away than the login timeout, it is refused at once (429 and
// Retry-After), the right token included: it is a guess like any other.
func TestLoginsPastTheTimeoutAreRefused(t *testing.T) {
	cfg := webui.DefaultConfig()
	cfg.LoginBurst = 1
	cfg.LoginBackoff = time.Hour
	f := start(t, cfg, nil)
	c := f.client()
	if res := c.loginJSON("wrong"); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("first login: %s", res.Status)
	}
	for _, tok := range []string{"wrong", token} {
		res := c.loginJSON(tok)
		if res.StatusCode != http.StatusTooManyRequests || res.Header.Get("Retry-After") == "" || len(res.Cookies()) != 0 {
			t.Fatalf("login with %q while limited: %s", tok, res.Status)
		}
	}
}

func TestModuleFailsWhenItsPortIsTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := webui.DefaultConfig()
	cfg.Listen = ln.Addr().String()
	f := start(t, cfg, nil)
	select {
	case reason := <-f.failed:
		if !strings.Contains(reason, ln.Addr().String()) {
			t.Fatalf("reason %q", reason)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ThreadFailed")
	}
}
