package webui_test

import (
	"encoding/json"
	"errors"
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
	// Logged out: the session's connection is closed, and the cookie no
	// longer opens /rpc.
	res = c.do(http.MethodPost, "/logout", "application/json", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("logout: %s", res.Status)
	}
	expectClosed(t, ws)
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

// expectClosed waits (10 s at most) for the server to close ws.
func expectClosed(t *testing.T, ws *wsClient) {
	t.Helper()
	_ = ws.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ws.ReadMessage()
		if err == nil {
			continue
		}
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("the connection stayed open")
		}
		return
	}
}

// TestSessionsExpire: past session_ttl the session's /rpc connection is
// closed and its cookie opens nothing.
func TestSessionsExpire(t *testing.T) {
	cfg := webui.DefaultConfig()
	cfg.SessionTTL = 300 * time.Millisecond // below what Validate allows: a test's shortcut
	f := start(t, cfg, nil)
	c := f.client()
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	ws, res, err := c.dialWS()
	if err != nil {
		if res != nil && res.StatusCode == http.StatusUnauthorized {
			t.Skip("the machine took longer than the session's 300 ms to dial")
		}
		t.Fatal(err)
	}
	expectClosed(t, &wsClient{t: t, ws: ws})
	if _, res, err := c.dialWS(); err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("WS with an expired session: %v", err)
	}
	if res, body := c.get("/"); res.StatusCode != http.StatusOK || !strings.Contains(body, "login") {
		t.Fatalf("GET / with an expired session: %s", res.Status)
	}
}

// TestPasswordLogin: with password_hash set, the password logs in as the
// token does; a wrong one does not.
func TestPasswordLogin(t *testing.T) {
	h, err := webui.HashPasswordCheap("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	cfg := webui.DefaultConfig()
	cfg.PasswordHash = h
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f := start(t, cfg, nil)
	c := f.client()
	if res := c.loginForm("correct horse battery stapl"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login?error=unauthorized" || len(res.Cookies()) != 0 {
		t.Fatalf("wrong password: %s %s", res.Status, res.Header.Get("Location"))
	}
	if res := c.loginForm("correct horse battery staple"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" || len(res.Cookies()) != 1 {
		t.Fatalf("password: %s %s", res.Status, res.Header.Get("Location"))
	}
	if res := f.client().loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatalf("token beside the password: %s", res.Status)
	}
}

// TestMetricsAndHealthBehindAuth: with metrics_auth and health_auth, both
// need a session or the token as a bearer; open by default.
func TestMetricsAndHealthBehindAuth(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("superbot_up 1\n")) })
	open := start(t, webui.DefaultConfig(), metrics)
	if res, body := open.client().get("/metrics"); res.StatusCode != http.StatusOK || body != "superbot_up 1\n" {
		t.Fatalf("open /metrics: %s %q", res.Status, body)
	}
	cfg := webui.DefaultConfig()
	cfg.MetricsAuth, cfg.HealthAuth = true, true
	f := start(t, cfg, metrics)
	c := f.client()
	for _, path := range []string{"/metrics", "/health"} {
		if res, _ := c.get(path); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s without auth: %s", path, res.Status)
		}
		for _, bearer := range []string{"wrong", token} {
			req, _ := http.NewRequest(http.MethodGet, f.base+path, nil)
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if want := map[string]int{"wrong": 401, token: 200}[bearer]; res.StatusCode != want {
				t.Fatalf("%s with bearer %q: %s", path, bearer, res.Status)
			}
		}
	}
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatal(res.Status)
	}
	if res, body := c.get("/metrics"); res.StatusCode != http.StatusOK || body != "superbot_up 1\n" {
		t.Fatalf("/metrics with a session: %s %q", res.Status, body)
	}
}
