package client_test

import (
	"context"
	"errors"
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
