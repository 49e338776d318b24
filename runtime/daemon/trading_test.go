package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const tradingConf = `[trading]
mode = "paper"
[trading.strategies.btc_trend]
kind = "sma_cross"
symbol = "BTCUSDT"
interval = "1m"
allocation = "1000 USDT"
params = { fast = 10, slow = 30 }
[daemon.modules.trading]
type = "thread"
`

// tradingMethods are the methods the order actor and the strategy host
// add to the daemon (issue 10, section 5).
var tradingMethods = []string{"trading.positions", "trading.orders", "trading.balance", "trading.fills", "trading.pnl",
	"trading.order.place", "trading.order.cancel", "trading.order.cancel_all", "trading.strategies",
	"trading.strategy.start", "trading.strategy.stop", "trading.strategy.pause", "trading.halt", "trading.resume",
	"trading.reconcile", "journal.backup"}

// TestTradingWiring: the daemon starts the order actor and the strategy
// host after the connector, serves their methods, hands the trading module
// its strategies, and at shutdown saves the strategies and prepares the
// orders after the ipc server and before the connector stops.
func TestTradingWiring(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, tradingConf)
	c := p.client()
	p.waitReady()

	var methods struct{ Methods []string }
	if err := c.Call(context.Background(), "rpc.methods", nil, &methods); err != nil {
		t.Fatal(err)
	}
	for _, m := range tradingMethods {
		if !slices.Contains(methods.Methods, m) {
			t.Errorf("rpc.methods lacks %s", m)
		}
	}
	var strats struct {
		Strategies []struct{ Name, Kind, Symbol string }
	}
	if err := c.Call(context.Background(), "trading.strategies", nil, &strats); err != nil {
		t.Fatal(err)
	}
	if len(strats.Strategies) != 1 || strats.Strategies[0].Name != "btc_trend" || strats.Strategies[0].Kind != "sma_cross" {
		t.Errorf("trading.strategies = %+v", strats)
	}
	// The seed's literal call: params {"mode": "live"} reaches the module
	// (which refuses a mode [trading] does not have), {"mode": "paper"} starts it.
	err := c.Call(context.Background(), "module.start", map[string]any{"module": "trading", "params": map[string]any{"mode": "live"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `mode "live" asked, but [trading] mode is "paper"`) {
		t.Fatalf("module.start trading {mode: live}: %v, want the module's refusal", err)
	}
	st := call(t, c, "module.start", map[string]any{"module": "trading", "params": map[string]any{"mode": "paper"}})
	if s, _ := st["status"].(map[string]any); s["state"] != "running" && s["state"] != "starting" {
		t.Errorf("module.start trading = %v", st)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	log, err := os.ReadFile(filepath.Join(dir, "logs", "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	order := []string{"order management started", "strategy host started", "startup step 10: system.ready published",
		"trading module starting strategies", "shutdown step 4: stop all modules", "trading module stopping strategies",
		"shutdown step 5: stop ipc server", "shutdown step 6: save strategies, prepare orders", "strategy states saved",
		"orders prepared for stop", "shutdown step 6: stop thread pools"}
	at := 0
	for _, want := range order {
		i := strings.Index(string(log[at:]), want)
		if i < 0 {
			t.Fatalf("daemon.log lacks %q after %q:\n%s", want, string(log[max(0, at-80):at]), log)
		}
		at += i
	}
	if _, err := os.Stat(filepath.Join(dir, ".superbot", "journal.db")); err != nil {
		t.Errorf("the journal is not at the default path: %v", err)
	}
}
