// Package edge is the JSON-RPC 2.0 door into superbotd: an actor that owns
// the Unix socket and TCP listeners (bound before it is spawned, see Listen)
// and serves every connection on goroutines of its own. Each message is one
// line (`\n`-terminated): a request, a notification or a batch. Each method
// goes through the rpc.Router: a proto request to the actor that owns the
// answer, with a deadline. Server-push streams (events.subscribe,
// logs.stream) are notifications on the same connection.
//
// The connection logic runs over a Transport: newline-delimited JSON on the
// socket and TCP, one WebSocket message per JSON-RPC message for the web
// UI, which serves its /rpc connections through a Server (the same router,
// methods, errors, limits and login limiter).
package edge

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Kind names the edge in the supervision tree.
const Kind = "edge"

// Deps are the edge's collaborators.
type Deps struct {
	Router    *rpc.Router
	Bus       *actor.PID
	Listeners *Listeners
	// Token is the RPC token, required on TCP and, when configured, on the
	// Unix socket. It is never logged.
	Token string
	// ModuleMarker is the value of SUPERBOT_DAEMON this daemon gives its
	// modules (modules.DaemonID). Set, the Unix socket counts module peers
	// (peer.go) against MaxModuleConnections; empty, every peer counts as
	// the owner.
	ModuleMarker string
	Logger       *slog.Logger
}

// StatsRequest asks the edge for its counters; it answers *Stats.
type StatsRequest struct{}

// Stats are the edge's counters.
type Stats struct {
	Connections int64
	Accepted    uint64
	Rejected    uint64
	Calls       uint64
}

// Props returns the edge actor's props. cfg must be valid (Validate).
func Props(cfg Config, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &edgeActor{cfg: cfg, deps: deps, log: deps.Logger}
	})
}

type edgeActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	srv  *server
}

func (a *edgeActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stop()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *StatsRequest:
		ctx.Respond(a.srv.stats())
	case *actor.Stopped:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *edgeActor) start(ctx actor.Context) {
	a.srv = newServer(ctx.ActorSystem(), a.cfg, a.deps)
	if l := a.deps.Listeners; l != nil {
		if l.Unix != nil {
			a.srv.serve(&listener{ln: l.Unix, requireToken: a.cfg.RequireTokenOnSocket,
				sem: make(chan struct{}, a.cfg.MaxConnections), rule: newModuleRule(a.deps.ModuleMarker),
				modules: make(chan struct{}, a.cfg.moduleLimit())})
		}
		if l.TCP != nil {
			a.srv.serve(&listener{ln: l.TCP, requireToken: true, sem: make(chan struct{}, a.cfg.MaxTCPConnections)})
		}
		a.log.Info("edge listening", "addrs", l.Addrs())
	}
}

func (a *edgeActor) stop() {
	if a.srv != nil {
		a.srv.shutdown()
		a.srv = nil
	}
}

// server holds what the connection goroutines share. Its methods run off the
// actor goroutine.
type server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	sys  *actor.ActorSystem
	quit chan struct{}
	wg   sync.WaitGroup

	logins  *loginLimiter
	refused *refusedLog

	mu    sync.Mutex
	conns map[*conn]struct{}

	open     atomic.Int64
	accepted atomic.Uint64
	rejected atomic.Uint64
	calls    atomic.Uint64
}

func newServer(sys *actor.ActorSystem, cfg Config, deps Deps) *server {
	return &server{
		cfg: cfg, deps: deps, log: deps.Logger, sys: sys,
		conns: map[*conn]struct{}{}, quit: make(chan struct{}),
		logins: newLoginLimiter(cfg), refused: &refusedLog{log: deps.Logger, interval: time.Second},
	}
}

// deadliner is what both listener types offer to interrupt Accept.
type deadliner interface{ SetDeadline(time.Time) error }

// listener is one listener and its limits: each has its own, so that
// clients of one (TCP) never take the room of the other's (the owner's Unix
// socket). On the socket, modules (rule) have a smaller limit of their own
// within it, so that the owner always has room too.
type listener struct {
	ln           net.Listener
	requireToken bool
	sem          chan struct{} // one per open connection
	rule         *moduleRule   // nil: every peer counts as the owner
	modules      chan struct{} // one per open module connection
}

// serve accepts on l until the listener closes or the server shuts down.
func (s *server) serve(l *listener) {
	if d, ok := l.ln.(deadliner); ok {
		_ = d.SetDeadline(time.Time{}) // a restarted edge reuses the listener
	}
	s.wg.Add(1)
	go s.acceptLoop(l)
}

// acceptLoop runs on its own goroutine. Where peers are told apart, the
// /proc reads run on a goroutine per connection (at most cap(l.sem) at
// once), so that a slow read holds up no other client.
func (s *server) acceptLoop(l *listener) {
	defer s.wg.Done()
	pending := make(chan struct{}, cap(l.sem))
	for {
		nc, err := l.ln.Accept()
		if err != nil {
			if s.acceptFailed(err) {
				return
			}
			continue
		}
		if l.rule == nil {
			s.admit(l, nc, false)
			continue
		}
		select {
		case pending <- struct{}{}:
		case <-s.quit:
			_ = nc.Close()
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			module := l.rule.isModule(peerPID(nc))
			<-pending
			s.admit(l, nc, module)
		}()
	}
}

// acceptFailed handles an Accept error: it reports whether the loop ends,
// else waits a little before the next Accept.
func (s *server) acceptFailed(err error) bool {
	select {
	case <-s.quit:
		return true
	default:
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	s.log.Warn("edge accept failed", "error", err)
	select {
	case <-time.After(10 * time.Millisecond):
		return false
	case <-s.quit:
		return true
	}
}

// admit serves nc if l has room for it (a module needs room among the
// modules too), else answers -32003 and closes it.
func (s *server) admit(l *listener, nc net.Conn, module bool) {
	if module {
		select {
		case l.modules <- struct{}{}:
		default:
			s.refuse(nc)
			return
		}
	}
	select {
	case l.sem <- struct{}{}:
	default:
		if module {
			<-l.modules
		}
		s.refuse(nc)
		return
	}
	s.accepted.Add(1)
	c := newConn(s, nc, l.requireToken)
	c.module = module
	s.mu.Lock()
	s.conns[c] = struct{}{}
	s.mu.Unlock()
	s.open.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.open.Add(-1)
		<-l.sem
		if module {
			<-l.modules
		}
	}()
}

// refuse answers a connection over its limit and closes it.
func (s *server) refuse(nc net.Conn) {
	s.rejected.Add(1)
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write([]byte(`{"jsonrpc":"2.0","error":{"code":-32003,"message":"too many connections"},"id":null}` + "\n"))
	_ = nc.Close()
}

// shutdown stops accepting, closes every connection and waits (bounded)
// for the goroutines.
func (s *server) shutdown() {
	close(s.quit)
	if l := s.deps.Listeners; l != nil {
		for _, ln := range []net.Listener{l.Unix, l.TCP} {
			if d, ok := ln.(deadliner); ok && ln != nil {
				_ = d.SetDeadline(time.Now()) // wake Accept without closing
			}
		}
	}
	s.shutdownConns()
}

// shutdownConns stops reading on every connection, but lets answers in
// flight (daemon.stop's among them) be written; then closes whatever is
// left, and waits (bounded) for the goroutines. quit is closed.
func (s *server) shutdownConns() {
	s.mu.Lock()
	for c := range s.conns {
		_ = c.t.SetReadDeadline(time.Now())
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return
	case <-time.After(time.Second):
	}
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	select {
	case <-done:
	case <-time.After(time.Second):
		s.log.Warn("edge connections still closing")
	}
}

// quitting reports whether the server is shutting down.
func (s *server) quitting() bool {
	select {
	case <-s.quit:
		return true
	default:
		return false
	}
}

func (s *server) stats() *Stats {
	return &Stats{Connections: s.open.Load(), Accepted: s.accepted.Load(), Rejected: s.rejected.Load(), Calls: s.calls.Load()}
}

// checkToken compares in constant time. An empty daemon token never matches.
func (s *server) checkToken(got string) bool {
	if s.deps.Token == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(s.deps.Token)) == 1
}
