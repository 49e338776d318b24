package exchangesim

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"go.uber.org/goleak"
)

// shared is the exchange used by the tests that need go-binance's WebSocket helpers, whose
// URLs are package globals set once here. Tests do not run in parallel.
var shared *Exchange

var keySeq atomic.Int64

// clockOffset shifts the shared exchange's clock ahead of the wall clock (ms); clients
// created by newClient sync with /api/v3/time, so moving it is safe.
var clockOffset atomic.Int64

func sharedClock() time.Time {
	return time.Now().Add(time.Duration(clockOffset.Load()) * time.Millisecond)
}

// advanceClock moves the shared exchange's clock forward by d.
func advanceClock(d time.Duration) { clockOffset.Add(d.Milliseconds()) }

func TestMain(m *testing.M) {
	cfg := testConfig()
	ex, err := New(cfg, WithClock(sharedClock))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := ex.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = ex
	binance.BaseWsMainURL = ex.WSBaseURL() + "/ws"
	binance.BaseCombinedMainURL = ex.WSBaseURL() + "/stream?streams="
	binance.BaseWsApiMainURL = ex.WSBaseURL() + "/ws-api/v3"
	binance.WebsocketKeepalive = false // its keepalive goroutine outlives the conn by WebsocketTimeout
	code := m.Run()
	_ = ex.Close()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testConfig is DefaultConfig on an ephemeral port, without automatic ticks and with a short backfill.
func testConfig() Config {
	cfg := DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = 0
	cfg.Backfill = 10 * time.Minute
	cfg.PingInterval = 50 * time.Millisecond
	return cfg
}

// startExchange starts a private exchange for one test.
func startExchange(t testing.TB, cfg Config, opts ...Option) *Exchange {
	t.Helper()
	ex, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// newAccount adds a fresh account with the given balances to ex and returns a client for it.
func newAccount(t testing.TB, ex *Exchange, balances map[string]string) (*binance.Client, string, string) {
	t.Helper()
	n := keySeq.Add(1)
	key, secret := fmt.Sprintf("key-%d", n), fmt.Sprintf("secret-%d", n)
	if err := ex.AddAccount(Account{APIKey: key, SecretKey: secret, Balances: balances}); err != nil {
		t.Fatal(err)
	}
	return newClient(t, ex, key, secret), key, secret
}

// newClient returns a go-binance client pointed at ex with its own transport, synced
// with the exchange clock when it has a key.
func newClient(t testing.TB, ex *Exchange, key, secret string) *binance.Client {
	t.Helper()
	c := binance.NewClient(key, secret)
	c.BaseURL = ex.BaseURL()
	tr := &http.Transport{}
	c.HTTPClient = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	if key == "" { // public client: nothing to sign
		return c
	}
	if _, err := c.NewSetServerTimeService().Do(context.Background()); err != nil {
		t.Fatalf("sync time: %v", err)
	}
	return c
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return c
}

// eventually polls cond until it is true or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		<-time.After(time.Millisecond) // polling interval
	}
}
