// Package clienttest is a small in-process JSON-RPC 2.0 server that speaks
// superbotd's wire protocol (one JSON message per line on a Unix socket,
// auth.login, notifications), for tests of runtime/client and the superbot
// CLI. It is not the daemon: handlers are registered by the test.
package clienttest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/superbot/superbot/runtime/client"
)

// Handler answers one method. It returns the result (marshalled with
// encoding/json; a json.RawMessage is sent as is) or an error: a
// *client.Error is sent as the error response, any other error as -32603.
// It runs on its own goroutine, so calls on one connection overlap.
type Handler func(c *Conn, params json.RawMessage) (any, error)

// Stream is a handler result that answers Result and then runs After on
// the request's goroutine, e.g. to send the notifications that follow an
// events.subscribe answer. After should return once Notify fails (the
// connection is gone).
type Stream struct {
	Result any
	After  func(c *Conn)
}

// Request is one request the server received.
type Request struct {
	// Method and Params are as sent; ID is nil for a notification.
	Method string
	Params json.RawMessage
	ID     json.RawMessage
}

// Server listens on a Unix socket in a temporary directory.
type Server struct {
	// Dir is the state directory holding the socket (and the token file
	// when the test writes one).
	Dir string
	// Socket is the socket path ("<Dir>/superbot.sock").
	Socket string

	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	handlers map[string]Handler
	token    string
	requests []Request
	conns    map[*Conn]struct{}
	closed   bool
}

// NewServer starts a server in a fresh temporary directory; it is closed
// when the test ends. auth.login is built in (see RequireToken).
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	dir := tb.TempDir()
	if len(dir) > 80 { // a socket path is limited to about 104 bytes
		d, err := os.MkdirTemp("", "sbct")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = os.RemoveAll(d) })
		dir = d
	}
	s := &Server{
		Dir:      dir,
		Socket:   filepath.Join(dir, client.SocketName),
		handlers: map[string]Handler{},
		conns:    map[*Conn]struct{}{},
	}
	ln, err := net.Listen("unix", s.Socket)
	if err != nil {
		tb.Fatal(err)
	}
	s.ln = ln
	s.wg.Add(1)
	go s.accept()
	tb.Cleanup(s.Close)
	return s
}

// Handle registers h for method, replacing any handler it had.
func (s *Server) Handle(method string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[method] = h
}

// HandleResult registers a handler that always answers result.
func (s *Server) HandleResult(method string, result any) {
	s.Handle(method, func(*Conn, json.RawMessage) (any, error) { return result, nil })
}

// HandleError registers a handler that always answers the error.
func (s *Server) HandleError(method string, code int, message string, data any) {
	var raw json.RawMessage
	if data != nil {
		raw, _ = json.Marshal(data)
	}
	s.Handle(method, func(*Conn, json.RawMessage) (any, error) {
		return nil, &client.Error{Code: code, Message: message, Data: raw}
	})
}

// RequireToken makes every method but auth.login fail with -32001 on a
// connection that has not logged in with token.
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Methods returns the method of every request received so far.
func (s *Server) Methods() []string {
	var out []string
	for _, r := range s.Requests() {
		out = append(out, r.Method)
	}
	return out
}

// Close stops listening, closes every connection and waits for the server's
// goroutines. It is safe to call more than once.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		_ = c.conn.Close()
	}
	s.mu.Unlock()
	_ = s.ln.Close()
	s.wg.Wait()
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		c := &Conn{s: s, conn: nc}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			_ = nc.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go c.serve()
	}
}

// Conn is one client connection.
type Conn struct {
	s      *Server
	conn   net.Conn
	wmu    sync.Mutex
	mu     sync.Mutex
	authed bool
	wg     sync.WaitGroup
}

// Notify sends a notification to the client. Safe for concurrent use.
func (c *Conn) Notify(method string, params any) error {
	b, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return err
	}
	return c.write(b)
}

// CloseConn closes the connection, as a daemon that stops would.
func (c *Conn) CloseConn() { _ = c.conn.Close() }

func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(append(b, '\n'))
	return err
}

type wireRequest struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params"`
	ID      json.RawMessage `json:"id"`
}

type wireResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *client.Error   `json:"error,omitempty"`
	ID      json.RawMessage `json:"id"`
}

func (c *Conn) serve() {
	defer c.s.wg.Done()
	defer func() {
		c.wg.Wait()
		_ = c.conn.Close()
		c.s.mu.Lock()
		delete(c.s.conns, c)
		c.s.mu.Unlock()
	}()
	r := bufio.NewReader(c.conn)
	for {
		line, err := r.ReadBytes('\n')
		if line = bytes.TrimSpace(line); len(line) > 0 {
			c.wg.Add(1)
			go func(line []byte) {
				defer c.wg.Done()
				c.handleLine(line)
			}(line)
		}
		if err != nil {
			return
		}
	}
}

func (c *Conn) handleLine(line []byte) {
	if line[0] == '[' {
		var reqs []wireRequest
		if err := json.Unmarshal(line, &reqs); err != nil || len(reqs) == 0 {
			c.send(errResponse(nil, client.CodeInvalidRequest, "invalid batch"))
			return
		}
		var out []wireResponse
		var afters []func(*Conn)
		for _, rq := range reqs {
			resp, after, ok := c.handle(rq)
			if ok {
				out = append(out, resp)
			}
			if after != nil {
				afters = append(afters, after)
			}
		}
		if len(out) > 0 {
			c.send(out)
		}
		for _, after := range afters {
			after(c)
		}
		return
	}
	var rq wireRequest
	if err := json.Unmarshal(line, &rq); err != nil {
		c.send(errResponse(nil, client.CodeParseError, "parse error"))
		return
	}
	resp, after, ok := c.handle(rq)
	if ok {
		c.send(resp)
	}
	if after != nil {
		after(c)
	}
}

func (c *Conn) send(v any) {
	b, _ := json.Marshal(v)
	_ = c.write(b)
}

// handle answers one request; ok is false for a notification. after is the
// Stream's After, if any.
func (c *Conn) handle(rq wireRequest) (resp wireResponse, after func(*Conn), ok bool) {
	s := c.s
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: rq.Method, Params: rq.Params, ID: rq.ID})
	h := s.handlers[rq.Method]
	token := s.token
	s.mu.Unlock()
	isCall := len(rq.ID) > 0 && string(rq.ID) != "null"
	if rq.JSONRPC != "2.0" || rq.Method == "" {
		return errResponse(rq.ID, client.CodeInvalidRequest, "invalid request"), nil, isCall
	}
	if rq.Method == "auth.login" {
		var p struct {
			Token string `json:"token"`
		}
		_ = json.Unmarshal(rq.Params, &p)
		if token != "" && p.Token != token {
			return errResponse(rq.ID, client.CodeUnauthorized, "invalid token"), nil, isCall
		}
		c.mu.Lock()
		c.authed = true
		c.mu.Unlock()
		return wireResponse{JSONRPC: "2.0", Result: json.RawMessage(`{"ok":true}`), ID: rq.ID}, nil, isCall
	}
	c.mu.Lock()
	authed := c.authed
	c.mu.Unlock()
	if token != "" && !authed {
		return errResponse(rq.ID, client.CodeUnauthorized, "unauthorized: send auth.login first"), nil, isCall
	}
	if h == nil {
		return errResponse(rq.ID, client.CodeMethodNotFound, "method not found: "+rq.Method), nil, isCall
	}
	res, err := h(c, rq.Params)
	if err != nil {
		var ce *client.Error
		if errors.As(err, &ce) {
			return wireResponse{JSONRPC: "2.0", Error: ce, ID: rq.ID}, nil, isCall
		}
		return errResponse(rq.ID, client.CodeInternalError, err.Error()), nil, isCall
	}
	if st, ok := res.(Stream); ok {
		res, after = st.Result, st.After
	}
	raw, ok := res.(json.RawMessage)
	if !ok {
		var merr error
		if raw, merr = json.Marshal(res); merr != nil {
			return errResponse(rq.ID, client.CodeInternalError, merr.Error()), nil, isCall
		}
	}
	return wireResponse{JSONRPC: "2.0", Result: raw, ID: rq.ID}, after, isCall
}

func errResponse(id json.RawMessage, code int, msg string) wireResponse {
	if len(id) == 0 {
		id = json.RawMessage("null")
	}
	return wireResponse{JSONRPC: "2.0", Error: &client.Error{Code: code, Message: msg}, ID: id}
}
