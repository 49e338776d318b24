package client_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

// callReturns runs call on a goroutine and waits (10 s) for its error.
func callReturns(t *testing.T, what string, call func() error) error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- call() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: still waiting 10 s after its ctx was cancelled", what)
		return nil
	}
}

// A cancelled call returns at once even when its ctx also has a deadline:
// the client's own Timeout (the default 30 s applies to every ctx without
// a deadline), or the caller's. The call reading its own answer must not
// sit in the read until that deadline.
func TestCancelWithADeadline(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts client.Options
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"client timeout", client.Options{Timeout: time.Hour}, func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.Background())
		}},
		{"ctx deadline", client.Options{Timeout: -1}, func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Hour)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, srv, r := rawServer(t, tc.opts)
			ctx, cancel := tc.ctx()
			defer cancel()
			started := make(chan struct{})
			go func() {
				readID(t, r) // the call is sent, and waits
				close(started)
			}()
			err := callReturns(t, "cancelled call", func() error {
				go func() { <-started; cancel() }()
				return c.Call(ctx, "hang", nil, nil)
			})
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled call: %v, want Canceled", err)
			}
			go func() {
				id := readID(t, r)
				_, _ = srv.Write([]byte(`{"jsonrpc":"2.0","result":7,"id":` + id + "}\n"))
			}()
			var n int
			if err := c.Call(context.Background(), "next", nil, &n); err != nil || n != 7 {
				t.Fatalf("next call: %d %v", n, err)
			}
		})
	}
}

// pokeFirst is a connection on which a cancelled call's poke (a read
// deadline long past) lands just before the next reader clears the poke
// an earlier call left: the caller's ctx is cancelled inside that
// clearing, and the poke is let through first. Any interleaving of the two
// is possible on a real connection.
type pokeFirst struct {
	net.Conn
	mu       sync.Mutex
	onRead   context.CancelFunc // cancelled at the next Read (the call is reading)
	onClear  context.CancelFunc // cancelled at the next clearing
	poked    chan struct{}      // closed by the next poke, once armed
	awaiting chan struct{}
}

func (c *pokeFirst) Read(b []byte) (int, error) {
	c.mu.Lock()
	cancel := c.onRead
	c.onRead = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel() // its poke ends this read
	}
	return c.Conn.Read(b)
}

func (c *pokeFirst) SetReadDeadline(t time.Time) error {
	if !t.IsZero() && t.Year() < 2000 { // a poke
		err := c.Conn.SetReadDeadline(t)
		c.mu.Lock()
		if c.poked != nil {
			close(c.poked)
			c.poked = nil
		}
		c.mu.Unlock()
		return err
	}
	c.mu.Lock()
	cancel, poked := c.onClear, c.awaiting
	c.onClear = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
		select {
		case <-poked:
		case <-time.After(10 * time.Second): // no poke: nothing to order
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// A call cancelled just as it clears an earlier call's poke returns: its
// own poke, which came first and was cleared with the old one, is not
// lost.
func TestCancelBeforeTheReadDeadlineIsSet(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{{"no deadline", -1}, {"a deadline", time.Hour}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := net.Pipe()
			t.Cleanup(func() { _ = b.Close() })
			conn := &pokeFirst{Conn: a}
			c := client.New(conn, client.Options{Timeout: tc.timeout})
			t.Cleanup(func() { _ = c.Close() })
			go func() { // the daemon reads the requests and never answers
				buf := make([]byte, 4096)
				for {
					if _, err := b.Read(buf); err != nil {
						return
					}
				}
			}()
			// The first call is cancelled while it reads: its poke is left
			// on the connection for the next reader to clear.
			ctx1, cancel1 := context.WithCancel(context.Background())
			defer cancel1()
			conn.mu.Lock()
			conn.onRead = cancel1
			conn.mu.Unlock()
			if err := callReturns(t, "first call", func() error { return c.Call(ctx1, "hang", nil, nil) }); !errors.Is(err, context.Canceled) {
				t.Fatalf("first call: %v, want Canceled", err)
			}
			ctx2, cancel2 := context.WithCancel(context.Background())
			defer cancel2()
			conn.mu.Lock()
			conn.onClear, conn.awaiting = cancel2, make(chan struct{})
			conn.poked = conn.awaiting
			conn.mu.Unlock()
			err := callReturns(t, "cancelled call", func() error { return c.Call(ctx2, "hang", nil, nil) })
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled call: %v, want Canceled", err)
			}
		})
	}
}

// A call whose deadline has passed before its request is written sends
// nothing and fails with DeadlineExceeded: the connection is intact, so
// the client does not end (other calls, subscriptions and Done go on).
func TestExpiredCallLeavesTheClientUp(t *testing.T) {
	c, srv, r := rawServer(t, client.Options{Timeout: time.Minute})
	done := c.Done()
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	err := c.Call(ctx, "late", nil, nil)
	if cerr := c.Err(); cerr != nil {
		t.Fatalf("client ended by an expired call: %v", cerr)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired call: %v, want DeadlineExceeded", err)
	}
	if err := c.Notify(ctx, "late", nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("expired notify: %v, want DeadlineExceeded", err)
	}
	if err := c.Err(); err != nil {
		t.Fatalf("client ended by an expired call: %v", err)
	}
	select {
	case <-done:
		t.Fatal("Done closed by an expired call")
	default:
	}
	go func() {
		id := readID(t, r)
		_, _ = srv.Write([]byte(`{"jsonrpc":"2.0","result":7,"id":` + id + "}\n"))
	}()
	var n int
	if err := c.Call(context.Background(), "next", nil, &n); err != nil || n != 7 {
		t.Fatalf("next call: %d %v", n, err)
	}
}
