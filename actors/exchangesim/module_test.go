package exchangesim

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

func ping(t *testing.T, base string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	res, err := c.Get(base + "/api/v3/ping")
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("ping: %s", res.Status)
	}
}

// TestListenerIsKeptAcrossRestarts: the daemon's listener is lent to one
// simulator at a time; a restarted simulator serves on the same address.
func TestListenerIsKeptAcrossRestarts(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	quiet := slog.New(slog.DiscardHandler)
	cfg := DefaultConfig()
	cfg.TickInterval = 0
	for round := range 2 {
		ln, err := l.Lend()
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if _, err := l.Lend(); !errors.Is(err, ErrListenerInUse) {
			t.Fatalf("a second loan: %v", err)
		}
		ex, err := New(cfg, WithListener(ln), WithLogger(quiet))
		if err != nil {
			t.Fatal(err)
		}
		if err := ex.Start(); err != nil {
			t.Fatal(err)
		}
		if ex.Addr() != l.Addr() {
			t.Fatalf("simulator on %s, listener on %s", ex.Addr(), l.Addr())
		}
		ping(t, ex.BaseURL())
		if err := ex.Close(); err != nil {
			t.Fatal(err)
		}
	}
	// Between loans the port stays ours: nobody else can bind it.
	if other, err := net.Listen("tcp", l.Addr()); err == nil {
		_ = other.Close()
		t.Fatal("the port was free between two simulators")
	}
}
