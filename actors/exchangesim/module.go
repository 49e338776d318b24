package exchangesim

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

// ErrStart wraps why the simulator could not start; the module that hosts
// it is then failed (modules.ThreadFailed), not restarted: a restart would
// meet the same taken port or bad config.
var ErrStart = errors.New("exchange-sim: start")

// ErrListenerInUse is returned by Listener.Lend while a simulator serves on
// the listener.
var ErrListenerInUse = errors.New("exchange-sim: listener in use by another simulator")

// ListenFunc gives a simulator the listener to serve on; ModuleProps calls
// it at each start.
type ListenFunc func() (net.Listener, error)

// ModuleProps returns the props of the actor that hosts the simulator as a
// thread module: it builds and starts the exchange when it starts and
// closes it when it stops or restarts. listen gives the listener (see
// Listener.Lend); nil binds cfg.Listen at each start. cfg must be valid.
func ModuleProps(cfg Config, listen ListenFunc, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &moduleActor{cfg: cfg, listen: listen, log: log} })
}

type moduleActor struct {
	cfg    Config
	listen ListenFunc
	log    *slog.Logger
	ex     *Exchange
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
	if err := a.start(); err != nil {
		a.log.Error("exchange simulator not started", "error", err)
		ctx.Request(ctx.Parent(), &modules.ThreadFailed{Reason: err.Error()})
	}
}

func (a *moduleActor) start() error {
	opts := []Option{WithLogger(a.log)}
	if a.listen != nil {
		ln, err := a.listen()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrStart, err)
		}
		opts = append(opts, WithListener(ln))
	}
	ex, err := New(a.cfg, opts...)
	if err == nil {
		err = ex.Start()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStart, err)
	}
	a.ex = ex
	a.log.Info("exchange simulator listening", "url", ex.BaseURL())
	return nil
}

func (a *moduleActor) close() {
	if a.ex != nil {
		_ = a.ex.Close()
		a.ex = nil
	}
}

// Listener is the simulator's listening socket as the daemon holds it:
// bound once, before the connector starts (so that the connector gets the
// bound address, even for port 0), lent to one running simulator at a time
// and kept across module restarts, so the address never changes and no
// other process can take the port in between. Safe for concurrent use.
type Listener struct {
	tcp *net.TCPListener

	mu     sync.Mutex
	lent   *lease
	closed bool
}

// Listen binds addr (host:port; port 0 picks a free one).
func Listen(addr string) (*Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	tcp, ok := ln.(*net.TCPListener)
	if !ok {
		_ = ln.Close()
		return nil, fmt.Errorf("listen %s: not a TCP listener", addr)
	}
	return &Listener{tcp: tcp}, nil
}

// Addr returns the bound host:port.
func (l *Listener) Addr() string { return l.tcp.Addr().String() }

// Lend returns a net.Listener on the socket for one simulator; closing it
// (the simulator's Close does) ends the loan, not the socket. Only one loan
// runs at a time.
func (l *Listener) Lend() (net.Listener, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.closed:
		return nil, net.ErrClosed
	case l.lent != nil:
		return nil, ErrListenerInUse
	}
	if err := l.tcp.SetDeadline(time.Time{}); err != nil { // an earlier loan's Close set one
		return nil, err
	}
	l.lent = &lease{l: l}
	return l.lent, nil
}

// Close closes the socket; a simulator serving on it stops accepting.
func (l *Listener) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	return l.tcp.Close()
}

// lease is one simulator's loan of the Listener's socket.
type lease struct {
	l      *Listener
	mu     sync.Mutex
	closed bool
}

// Accept waits for the next connection; after Close it fails.
func (s *lease) Accept() (net.Conn, error) {
	if s.isClosed() {
		return nil, net.ErrClosed
	}
	c, err := s.l.tcp.Accept()
	if s.isClosed() { // woken by Close's deadline, or raced with it
		if c != nil {
			_ = c.Close()
		}
		return nil, net.ErrClosed
	}
	return c, err
}

func (s *lease) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Close ends the loan: a pending Accept returns (the socket's deadline is
// set to now) and the socket stays open for the next loan.
func (s *lease) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.l.lent == s {
		s.l.lent = nil
	}
	if s.l.closed {
		return nil
	}
	return s.l.tcp.SetDeadline(time.Now())
}

// Addr returns the socket's address.
func (s *lease) Addr() net.Addr { return s.l.tcp.Addr() }
