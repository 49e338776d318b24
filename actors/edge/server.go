package edge

import (
	"context"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Server serves JSON-RPC 2.0 connections that another component accepts
// (the web UI's WebSocket at /rpc) with the edge's own connection logic:
// the same router, methods, errors, notifications and limits as the Unix
// socket, and logins slowed per source address by the same limiter type.
// Its methods are safe for concurrent use.
type Server struct{ s *server }

// NewServer returns a server of the methods deps.Router answers, with the
// limits of cfg (which must be valid). deps.Listeners is not used: the
// caller accepts connections and hands them to Serve.
func NewServer(sys *actor.ActorSystem, cfg Config, deps Deps) *Server {
	deps.Listeners = nil
	return &Server{s: newServer(sys, cfg, deps)}
}

// Serve runs one connection on the caller's goroutine until it ends (the
// client leaves, breaks a limit, or Shutdown). An authed connection may
// call every method at once; one that is not must call auth.login with the
// daemon's token first, within Config.LoginTimeout.
func (s *Server) Serve(t Transport, authed bool) {
	srv := s.s
	c := newTransportConn(srv, t, !authed)
	srv.mu.Lock()
	if srv.quitting() {
		srv.mu.Unlock()
		_ = t.Close()
		return
	}
	srv.conns[c] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	srv.accepted.Add(1)
	srv.open.Add(1)
	defer func() {
		srv.mu.Lock()
		delete(srv.conns, c)
		srv.mu.Unlock()
		srv.open.Add(-1)
		srv.wg.Done()
	}()
	c.serve()
}

// Login runs one login attempt from source (the client's IP address) as
// auth.login does: it takes a turn from the per-source limiter, waits for
// it on the caller's goroutine (ctx ends the wait), then calls check,
// which says whether the credentials are right. The error is a
// *messages.Error: RATE_LIMITED when the source's turn is more than
// Config.LoginTimeout away (nothing is checked), UNAUTHENTICATED when check
// fails, UNAVAILABLE when ctx ended first. waited is how long the attempt
// was held back.
func (s *Server) Login(ctx context.Context, source string, check func() bool) (waited time.Duration, err error) {
	srv := s.s
	wait, ok := srv.logins.reserve(source, time.Now())
	if !ok {
		srv.refused.warn("remote", source, "reason", "too many failed logins")
		return 0, messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many failed logins from this address: try again in %s", srv.cfg.LoginTimeout)
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return wait, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "login abandoned")
		case <-srv.quit:
			return wait, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "server closing")
		}
	}
	if !check() {
		srv.refused.warn("remote", source)
		return wait, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "unauthorized: bad token")
	}
	srv.logins.succeeded(source)
	return wait, nil
}

// CheckToken reports, in constant time, whether token is the daemon's RPC
// token. An empty daemon token never matches.
func (s *Server) CheckToken(token string) bool { return s.s.checkToken(token) }

// Stats returns the server's counters.
func (s *Server) Stats() *Stats { return s.s.stats() }

// Shutdown stops every connection (answers in flight are written first,
// within a grace period) and waits for their goroutines. Serve refuses
// connections after it.
func (s *Server) Shutdown() {
	s.s.mu.Lock()
	select {
	case <-s.s.quit:
		s.s.mu.Unlock()
		return
	default:
	}
	close(s.s.quit)
	s.s.mu.Unlock()
	s.s.shutdownConns()
}
