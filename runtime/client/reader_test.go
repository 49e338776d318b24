package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

// rawServer accepts one connection on a fresh Unix socket and hands it to
// the test, which plays the daemon line by line.
func rawServer(t *testing.T, opts client.Options) (*client.Client, net.Conn, *bufio.Reader) {
	t.Helper()
	ln, err := net.Listen("unix", filepath.Join(t.TempDir(), "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	conn, err := net.Dial("unix", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c := client.New(conn, opts)
	t.Cleanup(func() { _ = c.Close() })
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { _ = srv.Close() })
	return c, srv, bufio.NewReader(srv)
}

// readID reads one request line and returns its id.
func readID(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(line, &req); err != nil {
		t.Fatalf("request %q: %v", line, err)
	}
	return string(req.ID)
}

func write(t *testing.T, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// A call that gives up while its answer is half read leaves the rest of
// the line to the next reader: the next call gets its own answer, not a
// garbled or a stale one.
func TestTimeoutMidLineKeepsTheStream(t *testing.T) {
	c, srv, r := rawServer(t, client.Options{Timeout: time.Minute})
	errc := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	go func() { errc <- c.Call(ctx, "first", nil, nil) }()
	id1 := readID(t, r)
	write(t, srv, `{"jsonrpc":"2.0","result":"one-`)
	if err := <-errc; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("first call: %v, want DeadlineExceeded", err)
	}
	done := make(chan struct{})
	var got string
	var err error
	go func() {
		defer close(done)
		err = c.Call(context.Background(), "second", nil, &got)
	}()
	id2 := readID(t, r)
	write(t, srv, `late","id":`+id1+"}\n")
	write(t, srv, `{"jsonrpc":"2.0","result":"two","id":`+id2+"}\n")
	<-done
	if err != nil || got != "two" {
		t.Fatalf("second call: %q %v", got, err)
	}
}

// A call cancelled without a deadline stops reading at once (its read is
// woken), and the connection stays usable.
func TestCancelWithoutDeadline(t *testing.T) {
	c, srv, r := rawServer(t, client.Options{Timeout: -1})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "hang", nil, nil) }()
	readID(t, r)
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled call: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a cancelled call kept waiting")
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

// Without Done or a subscription nothing reads an idle connection: the
// daemon's end is noticed by the next call. Done starts a reader that
// notices it as it comes.
func TestConnectionEndNoticed(t *testing.T) {
	c, srv, _ := rawServer(t, client.Options{})
	_ = srv.Close()
	if err := c.Call(context.Background(), "x", nil, nil); !errors.Is(err, client.ErrConnectionLost) {
		t.Fatalf("call on a closed connection: %v", err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done open after the call saw the end")
	}

	c2, srv2, _ := rawServer(t, client.Options{})
	done := c2.Done()
	_ = srv2.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed when the daemon closed the connection")
	}
	if !errors.Is(c2.Err(), client.ErrConnectionLost) {
		t.Fatalf("Err %v", c2.Err())
	}
}
