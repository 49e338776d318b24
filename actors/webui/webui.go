// Package webui is the daemon's HTTP surface, run as the thread module
// "webui": the embedded UI (actors/webui/ui), logins with a session cookie,
// /health, Prometheus /metrics, and JSON-RPC 2.0 over WebSocket at /rpc,
// served by the edge's connection logic (edge.Server) through the daemon's
// one router: the same methods, errors and notifications as the Unix
// socket.
//
// Auth: GET / without a session is the login page. POST /login takes the
// daemon's RPC token, or a password matching [webui] password_hash, as the
// form field "token" or JSON {"token": ...}, and sets an HttpOnly,
// SameSite=Strict session cookie. Every POST and the /rpc upgrade must come
// from this origin (Origin, else Sec-Fetch-Site). A browser's /rpc needs a
// session; a client that sends no Origin (a script) may connect without
// one and then call auth.login with the token first, as on the TCP edge.
// Failed logins are slowed per client address. The address bound is
// logged ("webui listening") and written to <state_dir>/webui.addr.
package webui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Name is the thread module's name (daemon.modules.webui).
const Name = "webui"

// AddrFile is the file, in the state directory, that holds the address the
// web UI bound (host:port and a newline) while it runs.
const AddrFile = "webui.addr"

// ErrStart is why the module could not start (its address taken, ...).
var ErrStart = errors.New("webui: start")

// Deps are the web UI's collaborators.
type Deps struct {
	// Router answers /rpc's methods (the daemon's one router).
	Router *rpc.Router
	// Bus streams events.subscribe and logs.stream.
	Bus *actor.PID
	// Token is the daemon's RPC token. Never logged.
	Token string
	// IPC is the edge's config: /rpc gets its limits (message size,
	// queue, idle and request timeouts).
	IPC edge.Config
	// Metrics serves /metrics; nil answers 404.
	Metrics http.Handler
	// Files are the UI's files: index.html, login.html and what they load.
	Files fs.FS
	// StateDir receives AddrFile; empty writes none.
	StateDir string
	// Node and Version are shown by /health.
	Node, Version string
	// Logger is the module's logger.
	Logger *slog.Logger
}

// ModuleProps returns the web UI module actor's props. cfg must be valid.
func ModuleProps(cfg Config, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &moduleActor{cfg: cfg, deps: deps, log: deps.Logger} })
}

type moduleActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	srv    *http.Server
	rpc    *edge.Server
	served chan struct{} // closed when srv.Serve has returned
	addr   string
}

func (a *moduleActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.close()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Name})
	}
}

func (a *moduleActor) onStarted(ctx actor.Context) {
	if err := a.start(ctx.ActorSystem()); err != nil {
		a.log.Error("webui not started", "listen", a.cfg.Listen, "error", err)
		ctx.Request(ctx.Parent(), &modules.ThreadFailed{Reason: err.Error()})
	}
}

func (a *moduleActor) start(sys *actor.ActorSystem) error {
	ipc := a.deps.IPC
	ipc.LoginBurst, ipc.LoginBackoff = a.cfg.LoginBurst, a.cfg.LoginBackoff
	rpcSrv := edge.NewServer(sys, ipc, edge.Deps{Router: a.deps.Router, Bus: a.deps.Bus, Token: a.deps.Token, Logger: a.log})
	w, err := newWeb(a.cfg, a.deps, rpcSrv, time.Now())
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	w.sys = sys
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("%w: webui.listen %s: %w (port 0 picks a free one)", ErrStart, a.cfg.Listen, err)
	}
	a.rpc, a.addr = rpcSrv, ln.Addr().String()
	a.srv = &http.Server{Handler: w.handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		MaxHeaderBytes: 64 << 10, ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelDebug)}
	a.served = make(chan struct{})
	go func(srv *http.Server, done chan struct{}) {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("webui serve failed", "error", err)
		}
	}(a.srv, a.served)
	a.writeAddr()
	a.log.Info("webui listening", "addr", a.addr, "url", "http://"+a.addr+"/")
	return nil
}

// writeAddr writes AddrFile (0600, replaced atomically).
func (a *moduleActor) writeAddr() {
	if a.deps.StateDir == "" {
		return
	}
	path := filepath.Join(a.deps.StateDir, AddrFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(a.addr+"\n"), 0o600); err != nil {
		a.log.Warn("webui address file not written", "path", path, "error", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		a.log.Warn("webui address file not written", "path", path, "error", err)
	}
}

// close ends the WebSocket connections (answers in flight written first),
// then the HTTP server, within a few seconds.
func (a *moduleActor) close() {
	if a.srv == nil {
		return
	}
	if a.deps.StateDir != "" {
		_ = os.Remove(filepath.Join(a.deps.StateDir, AddrFile))
	}
	a.rpc.Shutdown() // also ends logins waiting their turn
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := a.srv.Shutdown(ctx); err != nil {
		_ = a.srv.Close()
	}
	<-a.served
	a.srv, a.rpc = nil, nil
}
