// Package client is the Go JSON-RPC 2.0 client of superbotd, used by the
// superbot CLI, tests and benchmarks.
//
// One Client holds one connection (a Unix socket, or TCP) that carries one
// JSON message per line. Calls from many goroutines are multiplexed over it
// by request id. A lone call reads its own answer; once calls overlap, or
// Done or Subscribe is called, a reader goroutine routes responses to their
// callers and notifications (events.event, logs.line) to subscriptions (see
// Client). Close ends the reader: it returns once the connection has ended,
// and the reader goroutine exits right after.
//
// With the zero Options, Dial finds the daemon from any directory (see
// Options.Locate): $SUPERBOT_SOCKET, the nearest .superbot/ in or above the
// working directory, then ~/.superbot/.
//
//	c, err := client.Dial(ctx, client.Options{})
//	if errors.Is(err, client.ErrDaemonNotRunning) { ... }
//	defer c.Close()
//	var st struct{ Version string `json:"version"` }
//	err = c.Call(ctx, "daemon.status", nil, &st)
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults used by Dial for the zero Options.
const (
	// DefaultStateDir is the name of the daemon's default state directory
	// (daemon.state_dir), relative to the directory it was started from.
	DefaultStateDir = ".superbot"
	// SocketName is the socket's file name inside the state directory.
	SocketName = "superbot.sock"
	// TokenName is the token file's name inside the state directory.
	TokenName = "token"
	// TokenEnv is the environment variable that holds the token.
	TokenEnv = "SUPERBOT_TOKEN"
	// DaemonTokenEnv is the daemon's own variable for the token
	// (daemon.ipc.auth_token); the client reads it after TokenEnv.
	DaemonTokenEnv = "SUPERBOT_DAEMON_IPC_AUTH_TOKEN"
	// DefaultAddr is the daemon's TCP address.
	DefaultAddr = "127.0.0.1:9999"
	// DefaultTimeout bounds dialing and each call whose context has no deadline.
	DefaultTimeout = 30 * time.Second
	// DefaultSubscriptionBuffer is the number of notifications a subscription
	// holds for a slow reader before it drops the oldest.
	DefaultSubscriptionBuffer = 1024
	// maxLine is the longest line the reader accepts (the daemon's own
	// request limit is 1 MiB; answers such as logs.tail may be longer).
	maxLine = 64 << 20
)

// Options says where the daemon listens and how to authenticate.
type Options struct {
	// Socket is the Unix socket path. Default "<StateDir>/superbot.sock",
	// else the search of Locate.
	Socket string
	// Addr is a TCP host:port. When set, Dial uses TCP instead of the socket.
	Addr string
	// Token is the auth token. Empty means $SUPERBOT_TOKEN, else
	// $SUPERBOT_DAEMON_IPC_AUTH_TOKEN, else the token file of Locate, else
	// none.
	Token string
	// StateDir is the daemon's state directory. Empty means the search of
	// Locate.
	StateDir string
	// Timeout bounds dialing, logging in and every call whose context has
	// no deadline. Zero means DefaultTimeout; negative means no bound.
	Timeout time.Duration
	// SubscriptionBuffer is the notification buffer of each subscription.
	// Zero means DefaultSubscriptionBuffer.
	SubscriptionBuffer int
}

func (o Options) withDefaults() Options {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.SubscriptionBuffer <= 0 {
		o.SubscriptionBuffer = DefaultSubscriptionBuffer
	}
	return o
}

// SocketPath returns the socket path Dial uses (see Locate).
func (o Options) SocketPath() string { return o.Locate().Socket }

// ResolveToken finds the token the way Dial does: Token, else $SUPERBOT_TOKEN,
// else $SUPERBOT_DAEMON_IPC_AUTH_TOKEN, else the token file of Locate
// (surrounding white space trimmed). source says where it came from
// ("option", "env SUPERBOT_TOKEN", or the file path); both are empty when
// there is no token.
func (o Options) ResolveToken() (token, source string) {
	return o.resolveToken(o.Locate)
}

// resolveToken is ResolveToken with the search for the state directory
// given: it runs only when no option or variable holds the token.
func (o Options) resolveToken(locate func() Location) (token, source string) {
	if o.Token != "" {
		return o.Token, "option"
	}
	for _, env := range []string{TokenEnv, DaemonTokenEnv} {
		if t := strings.TrimSpace(os.Getenv(env)); t != "" {
			return t, "env " + env
		}
	}
	path := locate().TokenFile
	b, err := os.ReadFile(path)
	if err != nil {
		return "", ""
	}
	if t := strings.TrimSpace(string(b)); t != "" {
		return t, path
	}
	return "", ""
}

// Client is a connection to superbotd. It is safe for concurrent use.
//
// Who reads the connection: until Done or Subscribe is called, Close, or
// two calls overlap, no goroutine of its own does. A call reads its own
// answer, dispatching whatever other lines come first (other calls'
// answers go to their callers). This saves a hand-off between goroutines
// on every call, which is a wake-up of another CPU and costs more than the
// call itself on a small machine. From then on a reader goroutine reads
// every line as it comes (notifications, the connection's end, answers to
// concurrent calls) and calls wait for it.
type Client struct {
	conn     net.Conn
	network  string
	address  string
	timeout  time.Duration
	subBuf   int
	nextID   atomic.Uint64
	wmu      sync.Mutex // serialises writes
	mu       sync.Mutex // guards the fields below
	pending  map[uint64]chan reply
	subs     map[string][]*Subscription
	closed   bool  // Close was called
	err      error // why the connection ended; nil while it is up
	readDone chan struct{}
	endOnce  sync.Once
	watching sync.Once // starts the reader goroutine

	// rtok is the right to read: it holds one token while nobody reads.
	// The fields below belong to whoever took it.
	rtok    chan struct{}
	r       *bufio.Reader
	partial []byte // a line cut short by a poke
	poked   bool   // a poke's past read deadline may be on conn
}

// reply is what a caller waits for: a response or the reason there is none.
type reply struct {
	msg *message
	err error
}

// message is any line the daemon sends: a response or a notification.
type message struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}

// request is one JSON-RPC request or notification (ID nil).
type request struct {
	JSONRPC string          `json:"jsonrpc"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
	ID      *uint64         `json:"id,omitempty"`
}

// Dial connects to the daemon and, when a token is found (see
// Options.ResolveToken), logs in with auth.login. It uses the Unix socket
// that Options.Locate finds unless opts.Addr is set; when the socket is missing and no Addr is given it
// falls back to DefaultAddr over TCP, but only with a token (TCP always
// requires one).
//
// The error matches ErrDaemonNotRunning (a *NotRunningError) when nothing
// listens, is a *DialError when connecting failed otherwise, and matches
// ErrUnauthorized when the daemon refuses the token over TCP. On the socket
// a refused token is not an error by itself: a daemon that requires one
// then refuses each call with CodeUnauthorized.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	opts = opts.withDefaults()
	loc := opts.Locate()
	token, _ := opts.resolveToken(func() Location { return loc })
	network, address := "unix", loc.Socket
	if opts.Addr != "" {
		network, address = "tcp", opts.Addr
	}
	conn, err := dial(ctx, network, address, opts.Timeout)
	if err != nil && opts.Addr == "" && token != "" && errors.Is(err, syscall.ENOENT) {
		var terr error
		conn, terr = dial(ctx, "tcp", DefaultAddr, opts.Timeout)
		if terr == nil {
			network, address, err = "tcp", DefaultAddr, nil
		}
	}
	if err != nil {
		err = dialError(network, address, err)
		var nr *NotRunningError
		if loc.Searched != "" && network == "unix" && errors.As(err, &nr) {
			nr.Reason += "; no " + DefaultStateDir + "/ in " + loc.Searched + " or above"
		}
		return nil, err
	}
	c := New(conn, opts)
	c.network, c.address = network, address
	if token != "" {
		err := c.Login(ctx, token)
		// On the socket a token is only needed when the daemon says so: a
		// refused login is not fatal there (calls then fail with
		// CodeUnauthorized if the daemon does require one).
		if err != nil && (network != "unix" || CodeOf(err) != CodeUnauthorized) {
			_ = c.Close()
			return nil, err
		}
	}
	return c, nil
}

func dial(ctx context.Context, network, address string, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{}
	if timeout > 0 {
		d.Timeout = timeout
	}
	if network == "unix" {
		address = dialPath(address)
	}
	return d.DialContext(ctx, network, address)
}

// dialError turns "nothing listens" into a *NotRunningError.
func dialError(network, address string, err error) error {
	switch {
	case errors.Is(err, syscall.ENOENT):
		return &NotRunningError{Network: network, Address: address, Reason: "no socket at " + address, Err: err}
	case errors.Is(err, syscall.ECONNREFUSED) && network == "unix":
		return &NotRunningError{Network: network, Address: address, Reason: "nothing listens on " + address + ", a stale socket", Err: err}
	case errors.Is(err, syscall.ECONNREFUSED):
		return &NotRunningError{Network: network, Address: address, Reason: "connection refused at " + address, Err: err}
	}
	return &DialError{Network: network, Address: address, Err: err}
}

// New returns a client on an established connection. It takes ownership of
// conn and does not log in (see Login). Only the Timeout and
// SubscriptionBuffer fields of opts are used.
func New(conn net.Conn, opts Options) *Client {
	opts = opts.withDefaults()
	c := &Client{
		conn:     conn,
		network:  conn.RemoteAddr().Network(),
		address:  conn.RemoteAddr().String(),
		timeout:  opts.Timeout,
		subBuf:   opts.SubscriptionBuffer,
		pending:  map[uint64]chan reply{},
		subs:     map[string][]*Subscription{},
		readDone: make(chan struct{}),
		rtok:     make(chan struct{}, 1),
		r:        bufio.NewReaderSize(conn, 64<<10),
	}
	c.rtok <- struct{}{}
	return c
}

// Endpoint returns the connection's network and address, e.g. "unix" and
// ".superbot/superbot.sock".
func (c *Client) Endpoint() (network, address string) { return c.network, c.address }

// Login sends auth.login with token. A daemon that has no auth.login method
// is taken to need no token. The error matches ErrUnauthorized when the
// token is refused.
func (c *Client) Login(ctx context.Context, token string) error {
	err := c.Call(ctx, "auth.login", map[string]string{"token": token}, nil)
	if err != nil && CodeOf(err) != CodeMethodNotFound {
		return fmt.Errorf("auth.login: %w", err)
	}
	return nil
}

// Call sends a request and waits for its answer. params is marshalled to
// JSON (a json.RawMessage is sent as is; nil sends no params) and must be an
// object or an array. result, when not nil, receives the result: a
// *json.RawMessage gets the raw bytes, anything else is json.Unmarshal'ed.
//
// An error response is returned as *Error. When ctx has no deadline the
// client's Timeout applies.
func (c *Client) Call(ctx context.Context, method string, params, result any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	raw, err := encodeParams(params)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	id := c.nextID.Add(1) - 1
	ch := make(chan reply, 1)
	if err := c.register(id, ch); err != nil {
		return err
	}
	if err := c.write(ctx, appendRequest(make([]byte, 0, 64+len(method)+len(raw)), method, raw, id)); err != nil {
		c.unregister(id)
		return err
	}
	r, err := c.wait(ctx, ch)
	if err != nil {
		c.unregister(id)
		return fmt.Errorf("%s: no answer: %w", method, err)
	}
	return r.decode(method, result)
}

// Notify sends a notification: a request without an id, which the daemon
// does not answer.
func (c *Client) Notify(ctx context.Context, method string, params any) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	raw, err := encodeParams(params)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	if err := c.alive(); err != nil {
		return err
	}
	b, _ := json.Marshal(request{JSONRPC: "2.0", Method: method, Params: raw})
	return c.write(ctx, b)
}

// BatchElem is one request of a Batch.
type BatchElem struct {
	// Method and Params are as in Call.
	Method string
	Params any
	// Result receives the result as in Call; nil discards it.
	Result any
	// Notify sends this element as a notification (no answer, no Error).
	Notify bool
	// Error is set by Batch: the *Error the daemon answered, or why the
	// result could not be decoded.
	Error error
}

// Batch sends elems as one JSON-RPC batch and waits for every answer. The
// returned error is about the batch as a whole (encoding, the connection,
// ctx); each element's own failure is in its Error field.
func (c *Client) Batch(ctx context.Context, elems []BatchElem) error {
	if len(elems) == 0 {
		return errors.New("batch: no requests")
	}
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	reqs := make([]request, len(elems))
	ids := make([]uint64, len(elems))
	chans := make([]chan reply, len(elems))
	for i := range elems {
		raw, err := encodeParams(elems[i].Params)
		if err != nil {
			return fmt.Errorf("batch: %s: %w", elems[i].Method, err)
		}
		reqs[i] = request{JSONRPC: "2.0", Method: elems[i].Method, Params: raw}
		elems[i].Error = nil
	}
	defer func() {
		for i, ch := range chans {
			if ch != nil {
				c.unregister(ids[i])
			}
		}
	}()
	for i := range elems {
		if elems[i].Notify {
			continue
		}
		ids[i] = c.nextID.Add(1) - 1
		reqs[i].ID = &ids[i]
		chans[i] = make(chan reply, 1)
		if err := c.register(ids[i], chans[i]); err != nil {
			chans[i] = nil
			return err
		}
	}
	b, _ := json.Marshal(reqs)
	if err := c.write(ctx, b); err != nil {
		return err
	}
	for i, ch := range chans {
		if ch == nil {
			continue
		}
		r, err := c.wait(ctx, ch)
		if err != nil {
			return fmt.Errorf("batch: no answer: %w", err)
		}
		chans[i] = nil
		if r.err != nil {
			return r.err
		}
		elems[i].Error = r.decode(elems[i].Method, elems[i].Result)
	}
	return nil
}

// Close closes the connection, fails pending calls with ErrClosed, ends
// every subscription and waits for the reader to exit. It is safe to call
// more than once.
func (c *Client) Close() error {
	c.mu.Lock()
	already := c.closed
	c.closed = true
	c.mu.Unlock()
	var err error
	if !already {
		err = c.conn.Close()
	}
	c.watch() // whoever reads next sees the closed connection and ends the client
	<-c.readDone
	return err
}

// Err returns why the connection ended (ErrClosed, or an error matching
// ErrConnectionLost), or nil while it is up, as far as the client has
// seen: before Done or Subscribe is called, a connection the daemon closed
// is noticed by the next call.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Done is closed when the connection has ended (see Err). The first call
// starts the client's reader goroutine, which notices the end as it comes.
func (c *Client) Done() <-chan struct{} {
	c.watch()
	return c.readDone
}

// end records why the connection ended, fails what is pending and closes
// Done (once).
func (c *Client) end(cause error) {
	c.endOnce.Do(func() {
		c.shutdown(cause)
		close(c.readDone)
	})
}

// ended reports whether end has run.
func (c *Client) ended() bool {
	select {
	case <-c.readDone:
		return true
	default:
		return false
	}
}

func (c *Client) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok || c.timeout <= 0 {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

func (c *Client) alive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	if c.closed {
		return ErrClosed
	}
	return nil
}

func (c *Client) register(id uint64, ch chan reply) error {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return c.err
	}
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.pending[id] = ch
	concurrent := len(c.pending) > 1
	c.mu.Unlock()
	if concurrent {
		// Calls overlap: a reader goroutine that reads without pause
		// serves them better than callers taking turns (each turn is a
		// hand-off too). From now on it reads.
		c.watch()
	}
	return nil
}

func (c *Client) unregister(id uint64) {
	c.mu.Lock()
	delete(c.pending, id)
	c.mu.Unlock()
}

// write sends one line. Writes are serialised so lines never interleave.
func (c *Client) write(ctx context.Context, b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.alive(); err != nil {
		return err
	}
	dl, _ := ctx.Deadline()
	_ = c.conn.SetWriteDeadline(dl)
	if n, err := c.conn.Write(append(b, '\n')); err != nil {
		if e := c.alive(); e != nil {
			return e
		}
		if n == 0 && isTimeout(err) {
			// ctx's deadline passed before a byte was sent: the stream is
			// intact, and only this call fails.
			return fmt.Errorf("request not sent: %w", context.DeadlineExceeded)
		}
		// A failed or cut write leaves no usable stream: the client ends
		// (pending calls fail, Done closes) as when a read fails.
		c.end(fmt.Errorf("write: %w", err))
		return c.alive()
	}
	return nil
}

func (c *Client) shutdown(cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		c.err = ErrClosed
	case cause == nil || errors.Is(cause, io.EOF):
		c.err = fmt.Errorf("%w: the daemon closed the connection", ErrConnectionLost)
	default:
		c.err = fmt.Errorf("%w: %w", ErrConnectionLost, cause)
	}
	for id, ch := range c.pending {
		ch <- reply{err: c.err}
		delete(c.pending, id)
	}
	for method, subs := range c.subs {
		for _, s := range subs {
			s.end(c.err)
		}
		delete(c.subs, method)
	}
	_ = c.conn.Close()
}
