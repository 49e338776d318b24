package edge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// protocolVersion is the version rpc.discover gives the JSON-RPC protocol.
const protocolVersion = "1.0.0"

// maxKeptAnswer is the largest answer buffer a connection keeps for the
// next line.
const maxKeptAnswer = 64 << 10

// writeTimeout bounds one write to a client; a client that does not read is
// disconnected rather than allowed to hold anything up.
const writeTimeout = 10 * time.Second

// errTooLarge means a line exceeded MaxRequestBytes.
var errTooLarge = errors.New("request too large")

// conn is one client connection. serve runs on its own goroutine; stream
// notifications are written by a second goroutine (writeLoop).
type conn struct {
	s            *server
	t            Transport
	requireToken bool
	authed       bool
	failedLogins int
	module       bool      // a Unix peer that is one of the daemon's modules (peer.go)
	loginBy      time.Time // when a connection that must log in is closed if it has not

	wmu     sync.Mutex
	writeDL time.Time // under wmu

	readDL    time.Time // the read deadline set; zero: none (a stream)
	readDLSet bool

	done      chan struct{}
	closeOnce sync.Once
	drain     chan struct{} // closed: the writer writes what is queued, then exits

	inbox *rpc.Inbox // replies to this connection's calls (serve's goroutine only)

	out     chan []byte // notifications, bounded; full means dropped
	smu     sync.Mutex
	stream  *actor.PID // lazily spawned bus subscriber
	writing sync.WaitGroup
}

func newConn(s *server, nc net.Conn, requireToken bool) *conn {
	return newTransportConn(s, newLineTransport(nc), requireToken)
}

// newTransportConn is a connection on any transport.
func newTransportConn(s *server, t Transport, requireToken bool) *conn {
	c := &conn{s: s, t: t, requireToken: requireToken, authed: !requireToken,
		done: make(chan struct{}), drain: make(chan struct{})}
	if requireToken {
		c.loginBy = time.Now().Add(s.cfg.LoginTimeout)
	}
	return c
}

func (c *conn) close() {
	c.closeOnce.Do(func() {
		close(c.done)
		_ = c.t.Close()
	})
}

func (c *conn) serve() {
	defer func() {
		c.smu.Lock()
		stream := c.stream
		c.smu.Unlock()
		if stream != nil && c.s.quitting() {
			// The daemon is stopping: the events already on their way to
			// this client (system.shutdown among them) are written before
			// the connection closes. PoisonPill is a user message, so the
			// stream actor turns what is in its mailbox into notifications
			// first; the writer then writes what is queued. The server
			// closes connections that take longer than its grace period.
			_ = c.s.sys.Root.PoisonFuture(stream).Wait()
			close(c.drain)
			c.writing.Wait()
			stream = nil
		}
		c.close()
		c.closeInbox()
		if stream != nil {
			_ = c.s.sys.Root.StopFuture(stream).Wait()
		}
		c.writing.Wait()
	}()
	var out []byte // the answer being built; reused line after line
	for {
		if c.s.quitting() { // answer nothing more
			return
		}
		c.smu.Lock()
		streaming := c.stream != nil
		c.smu.Unlock()
		c.extendRead(streaming)
		if c.s.quitting() {
			return // shutdown may have set its read deadline just before ours
		}
		line, err := c.t.ReadMessage(c.s.cfg.MaxRequestBytes)
		if errors.Is(err, errTooLarge) {
			c.write((&response{JSONRPC: "2.0", ID: nullID,
				Error: &rpcError{Code: CodeInvalidRequest, Message: stdMessages[CodeInvalidRequest], Data: "request larger than the limit; connection closed"}}).encode())
			return
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return // a timeout or a broken connection: drop the partial line
		}
		if len(bytes.TrimSpace(line)) > 0 {
			var ok bool
			if out, ok = c.handleLine(out[:0], line); ok && !c.write(out) {
				return
			}
			if cap(out) > maxKeptAnswer {
				out = nil // a huge answer: do not hold its buffer
			}
		}
		if err != nil {
			return
		}
	}
}

// extendRead keeps the idle deadline: none while a stream runs, else at
// least IdleTimeout ahead. Setting a socket deadline updates a runtime timer,
// so it is pushed out in steps (to 1.5 x IdleTimeout whenever less than
// IdleTimeout is left) rather than on every request: an idle connection is
// closed after between 1 and 1.5 times IdleTimeout. The write deadline
// (write) works the same way.
func (c *conn) extendRead(streaming bool) {
	if !c.authed { // until it logs in, a connection has LoginTimeout, not more
		if !c.readDLSet {
			c.readDL, c.readDLSet = c.loginBy, true
			_ = c.t.SetReadDeadline(c.readDL)
		}
		return
	}
	if streaming {
		if !c.readDLSet || !c.readDL.IsZero() {
			_ = c.t.SetReadDeadline(time.Time{}) // a stream is not idle
			c.readDL, c.readDLSet = time.Time{}, true
		}
		return
	}
	idle := c.s.cfg.IdleTimeout
	if now := time.Now(); !c.readDLSet || c.readDL.IsZero() || c.readDL.Sub(now) < idle {
		c.readDL, c.readDLSet = now.Add(idle+idle/2), true
		_ = c.t.SetReadDeadline(c.readDL)
	}
}

// write sends one message under the write lock.
func (c *conn) write(b []byte) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if now := time.Now(); c.writeDL.Sub(now) < writeTimeout {
		c.writeDL = now.Add(writeTimeout + writeTimeout/2)
		_ = c.t.SetWriteDeadline(c.writeDL)
	}
	if err := c.t.WriteMessage(b); err != nil {
		c.close()
		return false
	}
	return true
}

// handleLine appends the answer to one line (a request, a notification or
// a batch) to dst; ok is false, and dst unchanged, when nothing is to be
// sent back.
func (c *conn) handleLine(dst, line []byte) (out []byte, ok bool) {
	line = bytes.TrimSpace(line)
	if !json.Valid(line) {
		return append(dst, (&response{JSONRPC: "2.0", Error: stdError(CodeParseError, nil), ID: nullID}).encode()...), true
	}
	if line[0] != '[' {
		return c.handleOne(dst, line)
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(line, &elems); err != nil || len(elems) == 0 {
		return append(dst, (&response{JSONRPC: "2.0", Error: stdError(CodeInvalidRequest, nil), ID: nullID}).encode()...), true
	}
	start := len(dst)
	dst = append(dst, '[')
	answered := false
	for _, e := range elems {
		mark := len(dst)
		if answered {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = c.handleOne(dst, e); ok {
			answered = true
		} else {
			dst = dst[:mark]
		}
	}
	if !answered {
		return dst[:start], false
	}
	return append(dst, ']'), true
}

// handleOne appends the response to one request to dst; ok is false, and
// dst unchanged, for a notification.
func (c *conn) handleOne(dst []byte, raw json.RawMessage) ([]byte, bool) {
	req, bad := parseRequest(raw)
	if bad != nil {
		return append(dst, bad.encode()...), true
	}
	c.s.calls.Add(1)
	start := len(dst)
	dst = append(dst, `{"jsonrpc":"2.0","result":`...)
	var err error
	if !c.authed && req.Method != "auth.login" {
		err = messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "unauthorized: call auth.login with the daemon's token first")
	} else {
		dst, err = c.dispatch(dst, req)
	}
	if req.isNotification() {
		return dst[:start], false
	}
	if err != nil {
		rerr, internal := toRPCError(err)
		if internal {
			c.s.log.Error("rpc call failed", "method", req.Method, "error", err)
		}
		res := &response{JSONRPC: "2.0", Error: rerr, ID: req.ID}
		return append(dst[:start], res.encode()...), true
	}
	dst = append(dst, `,"id":`...)
	dst = append(dst, req.ID...)
	return append(dst, '}'), true
}

// edgeRoutes describe the methods the edge answers itself (for rpc.methods
// and rpc.discover; dispatch answers them). They have no Target.
var edgeRoutes = []rpc.Route{
	{Method: "auth.login", Doc: "log in with the daemon's token (required first on TCP)",
		New: func() proto.Message { return &messages.AuthLoginRequest{} }},
	{Method: "events.subscribe", Doc: "stream bus events matching pattern (default \">\") as events.event notifications",
		New: func() proto.Message { return &messages.EventsSubscribeRequest{} }},
	{Method: "events.unsubscribe", Doc: "end a subscription of this connection",
		New: func() proto.Message { return &messages.EventsUnsubscribeRequest{} }},
	{Method: "logs.stream", Doc: "stream a module's tail then its lines (no module or \"*\": every module and the daemon) as logs.line notifications",
		New: func() proto.Message { return &messages.LogsTailRequest{} }, Result: func() proto.Message { return &messages.EventsSubscribeResponse{} }},
	{Method: "rpc.methods", Doc: "the method names",
		New: func() proto.Message { return &emptypb.Empty{} }, Result: func() proto.Message { return &messages.MethodsResponse{} }},
	{Method: "rpc.discover", Doc: "this OpenRPC document",
		New: func() proto.Message { return &emptypb.Empty{} }, Result: func() proto.Message { return &structpb.Struct{} }},
}

// edgeRoute returns the edge's own route of method.
func edgeRoute(method string) rpc.Route {
	for _, rt := range edgeRoutes {
		if rt.Method == method {
			return rt
		}
	}
	panic("edge: no route " + method) // a programming error: dispatch and edgeRoutes disagree
}

// dispatch appends the result of one call to dst (on error, dst as it was).
func (c *conn) dispatch(dst []byte, req *request) ([]byte, error) {
	var res json.RawMessage
	var err error
	switch req.Method {
	case "auth.login":
		res, err = c.login(req.Params)
	case "rpc.methods":
		res, err = c.methods()
	case "rpc.discover":
		res, err = c.discover()
	case "events.subscribe":
		res, err = c.subscribeEvents(req.Params)
	case "events.unsubscribe":
		res, err = c.unsubscribe(req.Params)
	case "logs.stream":
		res, err = c.streamLogs(req.Params)
	default:
		return c.call(dst, req)
	}
	return append(dst, res...), err
}

// call sends a routed method's request to the actor that answers it.
func (c *conn) call(dst []byte, req *request) ([]byte, error) {
	router := c.s.deps.Router
	rt, ok := router.Lookup(req.Method)
	if !ok {
		return dst, rpc.ErrUnknownMethod
	}
	msg, err := rpc.Decode(rt, req.Params)
	if err != nil {
		return dst, err
	}
	res, err := c.send(rt, msg)
	if err != nil {
		return dst, err
	}
	return rpc.AppendEncode(dst, res)
}

// send sends a decoded request along rt and waits for the answer, through
// the connection's Inbox (serve's goroutine only).
func (c *conn) send(rt rpc.Route, msg proto.Message) (proto.Message, error) {
	if c.inbox == nil {
		c.inbox = rpc.NewInbox(c.s.sys)
	}
	return c.inbox.Call(c.s.deps.Router, rt, msg)
}

func (c *conn) closeInbox() {
	if c.inbox != nil {
		c.inbox.Close()
	}
}

func (c *conn) login(params json.RawMessage) (json.RawMessage, error) {
	m, err := rpc.Decode(edgeRoute("auth.login"), params)
	if err != nil {
		return nil, err
	}
	token := m.(*messages.AuthLoginRequest).Token
	source := sourceOf(c.t.RemoteAddr(), c.module)
	wait, ok := c.s.logins.reserve(source, time.Now())
	if !ok {
		c.s.refused.warn("remote", source, "reason", "too many failed logins")
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "too many failed logins from this address: try again in %s", c.s.cfg.LoginTimeout)
	}
	if wait > 0 && !c.pause(wait) {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "connection closing")
	}
	if !c.s.checkToken(token) {
		c.failedLogins++
		c.s.refused.warn("remote", source, "failures", c.failedLogins)
		if c.failedLogins >= c.s.cfg.LoginBurst {
			defer c.close()
		}
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED, "unauthorized: bad token")
	}
	c.s.logins.succeeded(source)
	c.authed = true
	return rpc.Encode(&messages.AuthLoginResponse{Ok: true})
}

// pause waits d on the connection's goroutine (a slowed login); false when
// the connection or the server closed meanwhile.
func (c *conn) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.done:
		return false
	case <-c.s.quit:
		return false
	}
}

func (c *conn) methods() (json.RawMessage, error) {
	all := c.s.deps.Router.Methods()
	for _, rt := range edgeRoutes {
		all = append(all, rt.Method)
	}
	return rpc.Encode(&messages.MethodsResponse{Methods: sortedUnique(all)})
}

// discover answers rpc.discover: an OpenRPC document of the routed methods
// and the edge's own.
func (c *conn) discover() (json.RawMessage, error) {
	return rpc.Discover("superbotd", protocolVersion, append(c.s.deps.Router.Routes(), edgeRoutes...), errorDocs)
}
