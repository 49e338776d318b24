package connector

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// respInfo is filled by the transport for the one request whose context
// carries it: go-binance drops the HTTP status, Retry-After and the
// used-weight header of the response it decodes, so the worker that made the
// call reads them from here once Do returns.
type respInfo struct {
	status     int
	retryAfter time.Duration
	usedWeight int64 // -1 when the header was absent
	date       time.Time
}

type respInfoKey struct{}

func withRespInfo(ctx context.Context) (context.Context, *respInfo) {
	ri := &respInfo{usedWeight: -1}
	return context.WithValue(ctx, respInfoKey{}, ri), ri
}

// captureTransport wraps the pooled http.Transport: it records status,
// Retry-After and X-MBX-USED-WEIGHT-1M into the request's respInfo, and
// counts open connections and active requests for connector.status.
// RoundTrip runs on the worker goroutine that calls go-binance.
type captureTransport struct {
	base   *http.Transport
	open   atomic.Int64
	active atomic.Int64
	dials  atomic.Uint64
}

func newTransport(cfg Config) *captureTransport {
	ct := &captureTransport{}
	dialer := &net.Dialer{Timeout: cfg.ConnectionTimeout, KeepAlive: 30 * time.Second}
	ct.base = &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			ct.dials.Add(1)
			ct.open.Add(1)
			return &countedConn{Conn: c, open: &ct.open}, nil
		},
		MaxConnsPerHost:       cfg.MaxConnections,
		MaxIdleConns:          cfg.MaxConnections,
		MaxIdleConnsPerHost:   cfg.MaxConnections,
		IdleConnTimeout:       cfg.IdleTimeout,
		TLSHandshakeTimeout:   cfg.ConnectionTimeout,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
	return ct
}

// RoundTrip implements http.RoundTripper.
func (ct *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ct.active.Add(1)
	defer ct.active.Add(-1)
	resp, err := ct.base.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if ri, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok {
		ri.status = resp.StatusCode
		ri.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		if v := resp.Header.Get("X-Mbx-Used-Weight-1m"); v != "" {
			if n, perr := strconv.ParseInt(v, 10, 64); perr == nil {
				ri.usedWeight = n
			}
		}
		if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			ri.date = d
		}
	}
	return resp, nil
}

func (ct *captureTransport) close() { ct.base.CloseIdleConnections() }

// parseRetryAfter reads seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

type countedConn struct {
	net.Conn
	open   *atomic.Int64
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.open.Add(-1)
	}
	return c.Conn.Close()
}
