package webui

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/gorilla/websocket"

	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/messages"
)

// maxLoginBody bounds a POST /login body, in bytes.
const maxLoginBody = 4096

// securityHeaders are set on every answer: scripts, styles, images and
// connections (the WebSocket included) from this origin only, no framing,
// no MIME sniffing, no referrer to other sites (same-origin: with
// no-referrer Chromium sends "Origin: null" on the login form's POST, which
// the origin check refuses).
var securityHeaders = map[string]string{
	"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	"X-Content-Type-Options":  "nosniff",
	"X-Frame-Options":         "DENY",
	"Referrer-Policy":         "same-origin",
}

// web is the HTTP surface: it serves the UI's files, logins, /health,
// /metrics and JSON-RPC over WebSocket at /rpc. Its handlers run on
// net/http's goroutines.
type web struct {
	cfg      Config
	deps     Deps
	log      *slog.Logger
	rpc      *edge.Server
	sessions *sessions
	password *passwordHash // nil: the token only
	files    fs.FS
	static   http.Handler
	upgrader websocket.Upgrader
	conns    chan struct{} // one per open /rpc connection
	started  time.Time
	sys      *actor.ActorSystem // sends report's backtest.result calls

	mu   sync.Mutex
	live map[[sha256.Size]byte]map[*websocket.Conn]struct{} // /rpc connections per session
}

func newWeb(cfg Config, deps Deps, rpcSrv *edge.Server, started time.Time) (*web, error) {
	w := &web{cfg: cfg, deps: deps, log: deps.Logger, rpc: rpcSrv, files: deps.Files,
		sessions: newSessions(cfg.SessionTTL, cfg.MaxSessions), conns: make(chan struct{}, cfg.MaxConnections), started: started,
		live: map[[sha256.Size]byte]map[*websocket.Conn]struct{}{}}
	if cfg.PasswordHash != "" {
		h, err := parseHash(cfg.PasswordHash)
		if err != nil {
			return nil, errors.New("password_hash: " + err.Error())
		}
		w.password = h
	}
	w.static = http.FileServerFS(w.files)
	w.upgrader = websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 16 << 10,
		CheckOrigin: func(*http.Request) bool { return true }, // checked before Upgrade (sameOrigin)
	}
	return w, nil
}

// handler is the whole surface, with the security headers on every answer.
func (w *web) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", w.health)
	mux.HandleFunc("GET /metrics", w.metrics)
	mux.HandleFunc("GET /login", w.loginPage)
	mux.HandleFunc("POST /login", w.login)
	mux.HandleFunc("POST /logout", w.logout)
	mux.HandleFunc("GET /rpc", w.rpcSocket)
	mux.HandleFunc("GET /backtests/{id}/{kind}", w.report)
	mux.HandleFunc("GET /", w.page)
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		h := rw.Header()
		for k, v := range securityHeaders {
			h.Set(k, v)
		}
		mux.ServeHTTP(rw, r)
	})
}

// page serves the app (index.html) to a session, the login page to anyone
// else, and the UI's other files (scripts, styles) to all.
func (w *web) page(rw http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/" || r.URL.Path == "/index.html" {
		rw.Header().Set("Cache-Control", "no-store")
		if !w.hasSession(r) {
			http.ServeFileFS(rw, r, w.files, "login.html")
			return
		}
		http.ServeFileFS(rw, r, w.files, "index.html")
		return
	}
	w.static.ServeHTTP(rw, r)
}

func (w *web) loginPage(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Cache-Control", "no-store")
	http.ServeFileFS(rw, r, w.files, "login.html")
}

// health answers {"status":"ok",...} while the module runs.
func (w *web) health(rw http.ResponseWriter, r *http.Request) {
	if w.cfg.HealthAuth && !w.authorized(r) {
		writeJSON(rw, http.StatusUnauthorized, map[string]any{"error": "unauthorized"})
		return
	}
	writeJSON(rw, http.StatusOK, map[string]any{
		"status": "ok", "node": w.deps.Node, "version": w.deps.Version,
		"uptime_s": int64(time.Since(w.started) / time.Second),
	})
}

func (w *web) metrics(rw http.ResponseWriter, r *http.Request) {
	if w.cfg.MetricsAuth && !w.authorized(r) {
		http.Error(rw, "unauthorized", http.StatusUnauthorized)
		return
	}
	if w.deps.Metrics == nil {
		http.NotFound(rw, r)
		return
	}
	w.deps.Metrics.ServeHTTP(rw, r)
}

// login checks a token (or the password) from a form (field "token") or
// JSON ({"token": ...}) and starts a session. A form gets redirects: to /
// on success, to /login?error=CODE on failure (CODE: unauthorized,
// rate_limited, bad_request, unavailable, internal). JSON gets
// {"ok":true} or {"error": MESSAGE, "code": CODE} with the HTTP status
// (401, 429 with Retry-After, 400, 503, 500). A login held back by the
// rate limiter says how long in X-Login-Delay-Ms.
func (w *web) login(rw http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		w.refuseOrigin(rw, r)
		return
	}
	isJSON := isJSONRequest(r)
	token, err := loginToken(rw, r, isJSON)
	if err != nil {
		w.loginFailed(rw, r, isJSON, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	waited, err := w.rpc.Login(r.Context(), clientIP(r), func() bool {
		return w.rpc.CheckToken(token) || w.password.check(token)
	})
	if waited > 0 {
		rw.Header().Set("X-Login-Delay-Ms", strconv.FormatInt(waited.Milliseconds(), 10))
	}
	if err != nil {
		var me *messages.Error
		switch {
		case errors.As(err, &me) && me.Code == messages.ErrorCode_ERROR_CODE_RATE_LIMITED:
			rw.Header().Set("Retry-After", strconv.Itoa(int(w.cfg.LoginBackoff/time.Second)+1))
			w.loginFailed(rw, r, isJSON, http.StatusTooManyRequests, "rate_limited", "too many failed logins: try again later")
		case errors.As(err, &me) && me.Code == messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED:
			w.loginFailed(rw, r, isJSON, http.StatusUnauthorized, "unauthorized", "wrong token or password")
		default:
			w.loginFailed(rw, r, isJSON, http.StatusServiceUnavailable, "unavailable", "try again")
		}
		return
	}
	id, err := w.sessions.create(time.Now())
	if err != nil {
		w.log.Error("webui session not created", "error", err)
		w.loginFailed(rw, r, isJSON, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: id, Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: int(w.cfg.SessionTTL / time.Second)})
	w.log.Info("webui login", "remote", clientIP(r))
	if isJSON {
		writeJSON(rw, http.StatusOK, map[string]any{"ok": true})
		return
	}
	http.Redirect(rw, r, "/", http.StatusSeeOther)
}

func (w *web) loginFailed(rw http.ResponseWriter, r *http.Request, isJSON bool, status int, code, msg string) {
	if isJSON {
		writeJSON(rw, status, map[string]any{"error": msg, "code": code})
		return
	}
	http.Redirect(rw, r, "/login?error="+url.QueryEscape(code), http.StatusSeeOther)
}

// logout ends the session and clears its cookie.
func (w *web) logout(rw http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		w.refuseOrigin(rw, r)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		w.closeSession(w.sessions.remove(c.Value))
	}
	http.SetCookie(rw, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	if isJSONRequest(r) {
		writeJSON(rw, http.StatusOK, map[string]any{"ok": true})
		return
	}
	http.Redirect(rw, r, "/login", http.StatusSeeOther)
}

// rpcSocket upgrades /rpc to a WebSocket carrying JSON-RPC 2.0 (one
// message or batch per WebSocket message). A browser (it sends Origin)
// needs a session and the same origin; a client without Origin (a script)
// may connect without a session and must then call auth.login with the
// daemon's token first, as on the TCP edge. A session's connections end
// with it (logout or expiry).
func (w *web) rpcSocket(rw http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		w.refuseOrigin(rw, r)
		return
	}
	var key [sha256.Size]byte
	var exp time.Time
	authed := false
	if c, err := r.Cookie(sessionCookie); err == nil {
		key, exp, authed = w.sessions.lookup(c.Value, time.Now())
	}
	if !authed && r.Header.Get("Origin") != "" {
		http.Error(rw, "unauthorized: log in first", http.StatusUnauthorized)
		return
	}
	select {
	case w.conns <- struct{}{}:
	default:
		http.Error(rw, "too many connections", http.StatusServiceUnavailable)
		return
	}
	defer func() { <-w.conns }()
	ws, err := w.upgrader.Upgrade(rw, r, nil)
	if err != nil {
		return // Upgrade has answered the client
	}
	if authed {
		w.track(key, ws)
		defer w.untrack(key, ws)
		expire := time.AfterFunc(time.Until(exp), func() { _ = ws.Close() })
		defer expire.Stop()
	}
	w.rpc.Serve(edge.WebSocketTransport(ws), authed)
}

func (w *web) track(key [sha256.Size]byte, ws *websocket.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.live[key] == nil {
		w.live[key] = map[*websocket.Conn]struct{}{}
	}
	w.live[key][ws] = struct{}{}
}

func (w *web) untrack(key [sha256.Size]byte, ws *websocket.Conn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.live[key], ws)
	if len(w.live[key]) == 0 {
		delete(w.live, key)
	}
}

// closeSession closes the /rpc connections of an ended session.
func (w *web) closeSession(key [sha256.Size]byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ws := range w.live[key] {
		_ = ws.Close()
	}
}

func (w *web) refuseOrigin(rw http.ResponseWriter, r *http.Request) {
	w.log.Warn("webui cross-origin request refused", "remote", clientIP(r), "path", r.URL.Path)
	http.Error(rw, "forbidden: cross-origin request", http.StatusForbidden)
}

// hasSession reports whether the request carries a live session cookie.
func (w *web) hasSession(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return false
	}
	_, _, ok := w.sessions.lookup(c.Value, time.Now())
	return ok
}

// authorized: a session, or the RPC token as "Authorization: Bearer TOKEN"
// (what a Prometheus scraper sends).
func (w *web) authorized(r *http.Request) bool {
	if w.hasSession(r) {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && w.rpc.CheckToken(tok)
}

// sameOrigin reports whether a browser sent the request from this site:
// its Origin names this host (and scheme), or, without Origin,
// Sec-Fetch-Site says same-origin or none. A request with neither header
// does not come from a browser page (a script), so it cannot be forged
// cross-site and is let through.
func sameOrigin(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || u.Host == "" {
			return false // "null" included
		}
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return strings.EqualFold(u.Scheme, scheme) && strings.EqualFold(u.Host, r.Host)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

func isJSONRequest(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/json"
}

// loginToken reads the token from the form field "token" or the JSON
// member "token", reading at most maxLoginBody bytes.
func loginToken(rw http.ResponseWriter, r *http.Request, isJSON bool) (string, error) {
	r.Body = http.MaxBytesReader(rw, r.Body, maxLoginBody)
	if isJSON {
		var body struct {
			Token string `json:"token"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			return "", errors.New("body: want {\"token\": \"...\"}")
		}
		return body.Token, nil
	}
	if err := r.ParseForm(); err != nil {
		return "", errors.New("body: want a form with the field token")
	}
	return r.PostForm.Get("token"), nil
}

// clientIP is the address logins are counted by: the peer's IP, written as
// the edge writes a TCP peer's.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil {
		return ip.String()
	}
	return host
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.Header().Set("Cache-Control", "no-store")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}
