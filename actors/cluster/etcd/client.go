package etcd

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// MaxMessage bounds one answer (or one watch result) read from etcd.
const MaxMessage = 4 << 20

// Keepalive on every connection: a cut-off etcd is noticed in about
// keepaliveIdle + keepaliveInterval*keepaliveCount, and a request whose
// bytes stay unacknowledged fails after userTimeout.
const (
	keepaliveIdle     = time.Second
	keepaliveInterval = time.Second
	keepaliveCount    = 2
	userTimeout       = 3 * time.Second
)

// maxIdleConns bounds the idle connections kept per endpoint (each watch
// holds a connection of its own while it runs).
const maxIdleConns = 8

// Config configures a Client.
type Config struct {
	// Endpoints are "host:port" or URLs (http://, https://); at least one.
	Endpoints []string
	// TLS, when set, makes "host:port" endpoints https and carries the
	// client certificate and the CA.
	TLS *tls.Config
	// DialTimeout bounds a TCP (and TLS) connect; 0: 5 s.
	DialTimeout time.Duration
}

// Client talks to etcd's JSON gateway. It is safe for concurrent use.
type Client struct {
	urls   []string // base URLs, no trailing slash
	next   atomic.Int64
	http   *http.Client
	tr     *http.Transport
	ctx    context.Context
	cancel context.CancelFunc
}

// New returns a client for cfg. It does not connect: requests fail until
// etcd answers.
func New(cfg Config) (*Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints")
	}
	urls := make([]string, 0, len(cfg.Endpoints))
	for _, ep := range cfg.Endpoints {
		u, err := baseURL(ep, cfg.TLS != nil)
		if err != nil {
			return nil, err
		}
		urls = append(urls, u)
	}
	timeout := cfg.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	d := &net.Dialer{
		Timeout:         timeout,
		KeepAliveConfig: net.KeepAliveConfig{Enable: true, Idle: keepaliveIdle, Interval: keepaliveInterval, Count: keepaliveCount},
		Control:         setUserTimeout,
	}
	tr := &http.Transport{
		DialContext: d.DialContext, TLSClientConfig: cfg.TLS, TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: maxIdleConns, IdleConnTimeout: time.Minute,
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{urls: urls, http: &http.Client{Transport: tr}, tr: tr, ctx: ctx, cancel: cancel}, nil
}

// baseURL turns an endpoint into a base URL.
func baseURL(ep string, secure bool) (string, error) {
	ep = strings.TrimRight(strings.TrimSpace(ep), "/")
	switch {
	case strings.HasPrefix(ep, "http://"), strings.HasPrefix(ep, "https://"):
	case ep == "" || strings.Contains(ep, "://"):
		return "", fmt.Errorf("etcd: bad endpoint %q (want host:port or an http(s) URL)", ep)
	case secure:
		ep = "https://" + ep
	default:
		ep = "http://" + ep
	}
	if _, _, err := net.SplitHostPort(ep[strings.Index(ep, "://")+3:]); err != nil {
		return "", fmt.Errorf("etcd: bad endpoint %q: %w", ep, err)
	}
	return ep, nil
}

// setUserTimeout sets TCP_USER_TIMEOUT: unacknowledged data fails the
// connection after userTimeout (keepalive alone does not cover it).
func setUserTimeout(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(userTimeout/time.Millisecond))
	})
	if err != nil {
		return err
	}
	return serr
}

// Ctx is done once Close was called.
func (c *Client) Ctx() context.Context { return c.ctx }

// Close ends the client: running watches end and idle connections close.
func (c *Client) Close() error {
	c.cancel()
	c.tr.CloseIdleConnections()
	return nil
}

// Error is an error answer of the gateway.
type Error struct {
	// Code is the gRPC status code.
	Code int
	// Message is etcd's message, e.g. "etcdserver: requested lease not found".
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("etcd: %s (code %d)", e.Message, e.Code) }

// Is makes errors.Is(err, ErrLeaseNotFound) hold for the gateway's answer.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Message == e.Message
}

// ErrLeaseNotFound is etcd's answer about a lease that expired or was
// revoked (test it with errors.Is).
var ErrLeaseNotFound error = &Error{Code: 5, Message: "etcdserver: requested lease not found"}

// errorBody is the gateway's error: {"error": "...", "code": N} for a
// unary call, {"error": {"grpc_code": N, "message": "..."}} in a stream.
type errorBody struct {
	Error   json.RawMessage `json:"error"`
	Message string          `json:"message"`
	Code    int             `json:"code"`
}

type streamError struct {
	GrpcCode int    `json:"grpc_code"`
	Message  string `json:"message"`
}

// gatewayError decodes an error answer; nil when b holds none.
func gatewayError(b []byte) error {
	var eb errorBody
	if json.Unmarshal(b, &eb) != nil || len(eb.Error) == 0 || string(eb.Error) == "null" {
		return nil
	}
	var s string
	if json.Unmarshal(eb.Error, &s) == nil {
		if s == "" {
			s = eb.Message
		}
		return &Error{Code: eb.Code, Message: s}
	}
	var se streamError
	if err := json.Unmarshal(eb.Error, &se); err != nil {
		return fmt.Errorf("etcd: garbled error answer: %.200s", b)
	}
	return &Error{Code: se.GrpcCode, Message: se.Message}
}

// post sends req as JSON to path and decodes the answer into resp. Close
// ends it too.
func (c *Client) post(ctx context.Context, path string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("etcd: encode %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(c.ctx, cancel)()
	hr, err := c.send(ctx, path, body, nil)
	if err != nil {
		return err
	}
	defer func() { _ = hr.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(hr.Body, MaxMessage+1))
	if err != nil {
		return fmt.Errorf("etcd: read %s: %w", path, err)
	}
	if len(b) > MaxMessage {
		return fmt.Errorf("etcd: %s answer exceeds %d bytes", path, MaxMessage)
	}
	if gerr := gatewayError(b); gerr != nil {
		return gerr
	}
	if hr.StatusCode != http.StatusOK {
		return fmt.Errorf("etcd: %s: http %d: %.200s", path, hr.StatusCode, b)
	}
	if err := json.Unmarshal(b, resp); err != nil {
		return fmt.Errorf("etcd: garbled %s answer: %w", path, err)
	}
	return nil
}

// send posts body to path on the current endpoint; a failed connect moves
// to the next endpoint and tries again (each endpoint once). Any other
// transport error moves the next request on without retrying this one
// (it may have been applied).
func (c *Client) send(ctx context.Context, path string, body []byte, header http.Header) (*http.Response, error) {
	if c.ctx.Err() != nil {
		return nil, errors.New("etcd: client closed")
	}
	var last error
	for range c.urls {
		i := c.next.Load()
		u := c.urls[int(i)%len(c.urls)]
		hr, err := http.NewRequestWithContext(ctx, http.MethodPost, u+path, bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("etcd: %w", err)
		}
		hr.Header.Set("Content-Type", "application/json")
		for k, v := range header {
			hr.Header[k] = v
		}
		resp, err := c.http.Do(hr)
		if err == nil {
			return resp, nil
		}
		last = err
		c.next.CompareAndSwap(i, i+1)
		if ctx.Err() != nil || !isDialError(err) {
			break
		}
	}
	return nil, fmt.Errorf("etcd: %s: %w", path, last)
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// i64 is a proto3 JSON int64: a string (a number is accepted too).
type i64 int64

func (v *i64) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		*v = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("bad int64 %.40s", b)
	}
	*v = i64(n)
	return nil
}

func (v i64) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"%d"`, int64(v))), nil }

// header is the response header (only the revision is used).
type header struct {
	Revision i64 `json:"revision"`
}
