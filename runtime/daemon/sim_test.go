package daemon_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var simAddrRE = regexp.MustCompile(`exchange simulator port bound.*addr=(127\.0\.0\.1:\d+)`)

// simAddr waits for the daemon to log the simulator's bound address.
func (p *proc) simAddr() string {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if m := simAddrRE.FindStringSubmatch(p.out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("no simulator address logged:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// moduleStatus polls module.status until cond holds.
func moduleStatus(t *testing.T, p *proc, name string, cond func(st map[string]any) bool) map[string]any {
	t.Helper()
	c := p.client()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := call(t, c, "module.status", map[string]any{"module": name})["status"].(map[string]any)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("module %s: %v", name, st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// directPrice asks a simulator itself for BTCUSDT's last price.
func directPrice(t *testing.T, addr string) string {
	t.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/api/v3/ticker/24hr?symbol=BTCUSDT")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var tk struct {
		LastPrice string `json:"lastPrice"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tk); err != nil {
		t.Fatal(err)
	}
	return tk.LastPrice
}

func isRunning(st map[string]any) bool { return st["state"] == "running" }

// TestDaemonsSideBySideUseTheirOwnSimulator: two daemons with the default
// config each bind a free port for their simulator and their connectors
// talk to their own (prices differ by seed). A third daemon configured
// with the first's port has its simulator module failed once, with the
// reason, is unhealthy, and its connector never reaches the first's
// simulator.
func TestDaemonsSideBySideUseTheirOwnSimulator(t *testing.T) {
	const still = "[exchange_sim]\ntick_interval = \"0s\"\nseed = "
	a := startDaemon(t, t.TempDir(), still+"1\n")
	b := startDaemon(t, t.TempDir(), still+"2\n")
	addrA, addrB := a.simAddr(), b.simAddr()
	if addrA == addrB {
		t.Fatalf("both simulators on %s", addrA)
	}
	for _, p := range []*proc{a, b} {
		moduleStatus(t, p, "exchange-sim", isRunning)
	}
	priceA, priceB := directPrice(t, addrA), directPrice(t, addrB)
	if priceA == priceB {
		t.Fatalf("the seeds give one price %s: the test cannot tell the simulators apart", priceA)
	}
	for _, tc := range []struct {
		p    *proc
		want string
	}{{a, priceA}, {b, priceB}} {
		tk := call(t, tc.p.client(), "market.ticker", map[string]any{"symbol": "BTCUSDT"})
		if tk["last_price"] != tc.want {
			t.Fatalf("connector says %v, its own simulator %s (A %s, B %s)", tk["last_price"], tc.want, priceA, priceB)
		}
		if h := call(t, tc.p.client(), "monitoring.health", nil); h["healthy"] != true {
			t.Fatalf("health = %v", h)
		}
	}

	// A restarted simulator serves on the same address: the connector's.
	call(t, a.client(), "module.restart", map[string]any{"module": "exchange-sim"})
	moduleStatus(t, a, "exchange-sim", isRunning)
	if got := directPrice(t, addrA); got != priceA {
		t.Fatalf("after a restart the simulator at %s says %s, before %s", addrA, got, priceA)
	}
	if tk := call(t, a.client(), "market.ticker", map[string]any{"symbol": "ETHUSDT"}); tk["last_price"] == "" {
		t.Fatalf("connector after the simulator's restart: %v", tk)
	}

	c := startDaemon(t, t.TempDir(), "[exchange_sim]\nlisten = \""+addrA+"\"\n")
	cc := c.client()
	st := moduleStatus(t, c, "exchange-sim", func(st map[string]any) bool { return st["state"] == "failed" })
	if why, _ := st["last_error"].(string); !strings.Contains(why, "address already in use") || !strings.Contains(why, addrA) {
		t.Fatalf("last_error = %q", why)
	}
	if r, _ := st["restarts"].(float64); r != 0 {
		t.Fatalf("the simulator was restarted %v times", r)
	}
	h := call(t, cc, "monitoring.health", nil)
	if h["healthy"] == true || !strings.Contains(fmtJSON(h), "address already in use") {
		t.Fatalf("health with a failed simulator = %v", h)
	}
	var tk map[string]any
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := cc.Call(ctx, "market.ticker", map[string]any{"symbol": "BTCUSDT"}, &tk); err == nil {
		t.Fatalf("the connector of the daemon without a simulator got a ticker: %v", tk)
	}
	if n := strings.Count(c.out.String(), "exchange simulator not started"); n != 1 {
		t.Fatalf("the simulator's start failed %d times, want once:\n%s", n, c.out.String())
	}
}

func fmtJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
