package daemon_test

import (
	"context"
	"database/sql"
	bin "encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/superbot/superbot/runtime/client"
)

// e2eSlow is the sma_cross strategy's slow average in the end-to-end
// test: a strategy that did not get its state back needs this many bars
// after a restart before it can decide anything.
const e2eSlow = 8

// e2eConf is the end-to-end test's config: an sma_cross and a grid on 1 s
// candles of the built-in simulator, in paper mode. The grid's levels are
// 1000 USDT apart around the simulator's ~65000 BTCUSDT, so its buys below
// the price rest as open paper orders; the price band is wide enough for
// its whole ladder. %s: extra [trading] keys, then the trend's extra keys.
const e2eConf = `[daemon]
shutdown_timeout = "20s"
[trading]
mode = "paper"
%s
[trading.risk]
price_band = 0.5
[trading.strategies.trend]
kind = "sma_cross"
symbol = "BTCUSDT"
interval = "1s"
allocation = "1000 USDT"
params = { fast = 2, slow = 8, quantity = 0.001 }
%s
[trading.strategies.ladder]
kind = "grid"
symbol = "BTCUSDT"
interval = "1s"
allocation = "1000 USDT"
params = { lower = 50000, upper = 80000, levels = 31, quantity = 0.0001 }
%s
`

// rows calls a trading list method and returns its list under key.
func rows(t *testing.T, c *client.Client, method string, params map[string]any, key string) []map[string]any {
	t.Helper()
	var res map[string][]map[string]any
	if err := c.Call(context.Background(), method, params, &res); err != nil {
		t.Fatalf("%s %v: %v", method, params, err)
	}
	return res[key]
}

// until polls cond (it talks to a real process) until it holds.
func until(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", timeout, what)
		}
	}
}

// waitJournal waits until the order actor answers (its journal is open).
func waitJournal(t *testing.T, p *proc) *client.Client {
	t.Helper()
	c := p.client()
	p.waitReady()
	until(t, 30*time.Second, "the journal opens", func() bool {
		return c.Call(context.Background(), "trading.orders", map[string]any{"limit": 1}, nil) == nil
	})
	return c
}

// openIDs lists a strategy's open orders' client order ids, sorted.
func openIDs(t *testing.T, c *client.Client, strategy string) []string {
	var ids []string
	for _, o := range rows(t, c, "trading.orders", map[string]any{"strategy": strategy, "status": "open"}, "orders") {
		ids = append(ids, fmt.Sprint(o["client_order_id"]))
	}
	slices.Sort(ids)
	return ids
}

// books is what must survive a restart of each strategy's positions.
func books(t *testing.T, c *client.Client) map[string]string {
	out := map[string]string{}
	for _, p := range rows(t, c, "trading.positions", nil, "positions") {
		if num(p["quantity"]) == 0 && num(p["realized_pnl"]) == 0 && num(p["fees"]) == 0 {
			continue // a book with nothing in it yet
		}
		out[fmt.Sprint(p["strategy"], "/", p["symbol"])] = fmt.Sprint(p["quantity"], " @", p["avg_price"], " realized ", p["realized_pnl"], " fees ", p["fees"])
	}
	return out
}

// strategyInfo returns trading.strategies' entry for name.
func strategyInfo(t *testing.T, c *client.Client, name string) map[string]any {
	for _, s := range rows(t, c, "trading.strategies", nil, "strategies") {
		if s["name"] == name {
			return s
		}
	}
	t.Fatalf("trading.strategies lacks %s", name)
	return nil
}

// num reads a JSON number or a protojson int64 string.
func num(v any) float64 {
	var f float64
	_, _ = fmt.Sscan(fmt.Sprint(v), &f)
	return f
}

// smaCount reads, from the journal's saved state of strategy, the
// sma_cross count of closes seen (capped at slow). The saved state ends
// with the strategy's own bytes: a version byte, then fast, slow, idx,
// count as little-endian uint64s, ..., then slow closes.
func smaCount(t *testing.T, journal, strategy string, slow int) uint64 {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+journal+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var blob []byte
	if err := db.QueryRow(`SELECT state FROM strategy_state WHERE strategy = ?`, strategy).Scan(&blob); err != nil {
		t.Fatalf("the journal has no state of %s: %v", strategy, err)
	}
	n := 1 + 8*8 + 8*slow
	if len(blob) < n {
		t.Fatalf("state of %s: %d bytes, want at least %d", strategy, len(blob), n)
	}
	s := blob[len(blob)-n:]
	if s[0] != 1 || bin.LittleEndian.Uint64(s[9:]) != uint64(slow) {
		t.Fatalf("state of %s is not an sma_cross state with slow %d: %x", strategy, slow, s[:33])
	}
	return bin.LittleEndian.Uint64(s[25:])
}

// stopDaemon sends SIGTERM and wants a clean exit.
func stopDaemon(t *testing.T, p *proc) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d\n%s", code, p.out.String())
	}
}

// TestPaperStrategiesTradeAndRestart: an sma_cross and a grid in paper
// mode on the built-in simulator trade by themselves (1 s klines from the
// connector's streams -> strategy -> order actor -> paper fills -> the
// strategy's book); every `superbot trading` command answers against that
// daemon. A clean stop and a start on the same state dir keep the books,
// the open paper orders and the strategies' states (the sma_cross has its
// full window of closes after fewer new bars than its slow average needs).
// With cancel_orders_on_stop and close_positions_on_stop the next stop
// cancels the open orders and closes the positions, each step logged in
// order.
func TestPaperStrategiesTradeAndRestart(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, fmt.Sprintf(e2eConf, "", "", ""))
	c := waitJournal(t, p)

	until(t, 3*time.Minute, "a fill of trend and open orders of ladder", func() bool {
		return len(rows(t, c, "trading.fills", map[string]any{"strategy": "trend"}, "fills")) > 0 &&
			len(openIDs(t, c, "ladder")) > 0
	})
	if in := strategyInfo(t, c, "trend"); num(in["bars"]) < e2eSlow || in["state"] != "running" {
		t.Fatalf("trend after its first fill: %v", in)
	}
	t.Run("cli", func(t *testing.T) { testTradingCLI(t, p) })

	// Freeze the strategies, then wait until no order is in flight.
	for _, name := range []string{"trend", "ladder"} {
		call(t, c, "trading.strategy.pause", map[string]any{"name": name})
	}
	until(t, 30*time.Second, "no order in flight", func() bool {
		for _, st := range []string{"intent", "sent", "unknown"} {
			if len(rows(t, c, "trading.orders", map[string]any{"status": st}, "orders")) > 0 {
				return false
			}
		}
		return true
	})
	wantBooks, wantOpen := books(t, c), openIDs(t, c, "ladder")
	wantFills := len(rows(t, c, "trading.fills", map[string]any{"strategy": "ladder"}, "fills"))
	stopDaemon(t, p)

	// Second life: trend disabled (it is started by hand below, so that
	// nothing trades before the books are compared); the next stop cancels
	// and closes.
	p = startDaemon(t, dir, fmt.Sprintf(e2eConf, "cancel_orders_on_stop = true\nclose_positions_on_stop = true", "enabled = false", ""))
	c = waitJournal(t, p)
	// The ladder's resting buys may fill on the live price meanwhile (the
	// top one can be a few ticks under it): then its book moved on.
	gotBooks := books(t, c)
	if len(rows(t, c, "trading.fills", map[string]any{"strategy": "ladder"}, "fills")) != wantFills {
		t.Logf("a ladder order filled across the restart: only trend's book is compared")
		maps.DeleteFunc(gotBooks, func(k, _ string) bool { return strings.HasPrefix(k, "ladder/") })
		maps.DeleteFunc(wantBooks, func(k, _ string) bool { return strings.HasPrefix(k, "ladder/") })
	}
	if !maps.Equal(gotBooks, wantBooks) {
		t.Errorf("books after restart:\n%v\nwant\n%v", gotBooks, wantBooks)
	}
	survived(t, c, wantOpen)

	// The restored sma_cross: start it, let it see a bar or two, stop it
	// (which saves): its window is full, though it saw fewer bars than slow.
	call(t, c, "trading.strategy.start", map[string]any{"name": "trend"})
	until(t, 30*time.Second, "trend sees a bar", func() bool { return num(strategyInfo(t, c, "trend")["bars"]) >= 1 })
	call(t, c, "trading.strategy.stop", map[string]any{"name": "trend"})
	bars := num(strategyInfo(t, c, "trend")["bars"])
	if bars >= e2eSlow {
		t.Fatalf("trend saw %v bars after the restart: too many to prove anything", bars)
	}
	if n := smaCount(t, filepath.Join(dir, ".superbot", "journal.db"), "trend", e2eSlow); n != e2eSlow {
		t.Fatalf("trend's saved window holds %d closes after %v bars of this life, want %d (its state was not restored)", n, bars, e2eSlow)
	}

	// The grid went on from its saved slots: bars later, the same orders
	// are open (a grid started afresh places its ladder again).
	until(t, 30*time.Second, "ladder sees bars", func() bool { return num(strategyInfo(t, c, "ladder")["bars"]) >= 2 })
	survived(t, c, wantOpen)
	if log := lastLife(t, dir); strings.Contains(log, "starting fresh") {
		t.Errorf("a strategy started fresh after the restart:\n%s", log)
	}

	// A position to close: a market buy in ladder's book.
	call(t, c, "trading.order.place", map[string]any{"strategy": "ladder", "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"})
	until(t, 30*time.Second, "ladder holds a position", func() bool { return holds(t, c, "ladder") })
	nOpen := len(rows(t, c, "trading.orders", map[string]any{"status": "open"}, "orders"))
	stopDaemon(t, p)
	log := lastLife(t, dir)
	logOrder(t, log, "shutdown step 6: save strategies, prepare orders",
		"strategy states saved", "orders prepared for stop", "shutdown step 6: stop thread pools")
	last := log[strings.Index(log, "orders prepared for stop"):]
	if !strings.Contains(last, fmt.Sprintf("canceled=%d ", nOpen)) || strings.Contains(last, "closing=0") {
		t.Errorf("the stop did not cancel the %d open orders and close the positions: %s", nOpen, last[:min(len(last), 200)])
	}

	// Third life, nothing enabled: no order open, no position.
	p = startDaemon(t, dir, fmt.Sprintf(e2eConf, "", "enabled = false", "enabled = false"))
	c = waitJournal(t, p)
	if got := openIDs(t, c, "ladder"); len(got) != 0 {
		t.Errorf("open orders after a stop with cancel_orders_on_stop: %v", got)
	}
	until(t, 30*time.Second, "positions closed", func() bool { return !holds(t, c, "ladder") && !holds(t, c, "trend") })
	stopDaemon(t, p)
}

// survived checks that the ladder's open orders are those of before the
// restart: each is still open or has filled, and the only new ones are
// the sells a fill leads to (a grid that forgot its slots places its buys
// again).
func survived(t *testing.T, c *client.Client, before []string) {
	t.Helper()
	filled := map[string]bool{}
	for _, o := range rows(t, c, "trading.orders", map[string]any{"strategy": "ladder", "status": "filled"}, "orders") {
		filled[fmt.Sprint(o["client_order_id"])] = true
	}
	open := map[string]bool{}
	for _, o := range rows(t, c, "trading.orders", map[string]any{"strategy": "ladder", "status": "open"}, "orders") {
		id := fmt.Sprint(o["client_order_id"])
		open[id] = true
		if !slices.Contains(before, id) && o["side"] != "SELL" {
			t.Errorf("ladder has a new open buy %s after the restart: %v", id, o)
		}
	}
	for _, id := range before {
		if !open[id] && !filled[id] {
			t.Errorf("ladder's order %s neither open nor filled after the restart", id)
		}
	}
}

// holds says whether strategy has a non-zero position.
func holds(t *testing.T, c *client.Client, strategy string) bool {
	for _, p := range rows(t, c, "trading.positions", map[string]any{"strategy": strategy}, "positions") {
		if num(p["quantity"]) != 0 {
			return true
		}
	}
	return false
}

// lastLife is daemon.log from the last stop signal on.
func lastLife(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "logs", "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	return log[max(0, strings.LastIndex(log, "signal received")):]
}

// logOrder wants each of lines in log, in this order.
func logOrder(t *testing.T, log string, lines ...string) {
	t.Helper()
	at := 0
	for _, want := range lines {
		i := strings.Index(string(log[at:]), want)
		if i < 0 {
			t.Fatalf("the log lacks %q after %q:\n%s", want, log[max(0, at-80):at], log)
		}
		at += i
	}
}

// testTradingCLI runs every `superbot trading ...` command (and journal
// backup, market subscribe|unsubscribe) against the daemon in dir, as a
// table and with --json; the backup is a file sqlite3 opens. It leaves the
// strategies as it found them (running, not halted).
func testTradingCLI(t *testing.T, p *proc) {
	dir := p.dir
	cli := filepath.Join(filepath.Dir(binary), "superbot-e2e")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/superbot/superbot/cmd/superbot").CombinedOutput(); err != nil {
		t.Fatalf("build superbot: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("superbot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	table := func(want string, args ...string) {
		t.Helper()
		if out := run(args...); !strings.Contains(out, want) {
			t.Errorf("superbot %s: no %q in\n%s", strings.Join(args, " "), want, out)
		}
	}
	asJSON := func(args ...string) map[string]any {
		t.Helper()
		var res map[string]any
		out := run(append([]string{"--json"}, args...)...)
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Errorf("superbot --json %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return res
	}
	// both is for the commands that change nothing.
	both := func(want string, args ...string) map[string]any {
		t.Helper()
		table(want, args...)
		return asJSON(args...)
	}
	both("trend", "trading", "positions")
	both("ladder", "trading", "orders", "--strategy", "ladder", "--status", "open")
	both("USDT", "trading", "balance")
	both("trend", "trading", "fills", "--strategy", "trend", "--limit", "5")
	both("trend", "trading", "pnl")
	both("sma_cross", "trading", "strategies")
	both("", "trading", "reconcile")

	table("e2e-cli-1", "trading", "order", "place", "BTCUSDT", "buy", "0.0001", "40000", "--strategy", "ladder", "--client-id", "e2e-cli-1")
	if o, _ := asJSON("trading", "order", "place", "BTCUSDT", "buy", "0.0001", "40000", "--strategy", "ladder", "--client-id", "e2e-cli-2")["order"].(map[string]any); o["client_order_id"] != "e2e-cli-2" {
		t.Errorf("trading order place --json: %v", o)
	}
	table("e2e-cli-1", "trading", "order", "cancel", "e2e-cli-1")
	if o, _ := asJSON("trading", "order", "cancel", "e2e-cli-2")["order"].(map[string]any); o["client_order_id"] != "e2e-cli-2" {
		t.Errorf("trading order cancel --json: %v", o)
	}
	both("", "trading", "order", "cancel-all", "--strategy", "nobody")

	table("trend", "trading", "strategy", "pause", "trend")
	asJSON("trading", "strategy", "stop", "trend")
	table("trend", "trading", "strategy", "start", "trend")
	asJSON("trading", "strategy", "pause", "ladder")
	asJSON("trading", "strategy", "start", "ladder")
	table("", "trading", "halt", "e2e", "test")
	asJSON("trading", "resume")
	asJSON("trading", "halt", "e2e")
	table("", "trading", "resume")
	for _, s := range rows(t, p.client(), "trading.strategies", nil, "strategies") {
		if s["state"] != "running" {
			t.Errorf("after the CLI commands: %v", s)
		}
	}

	table("", "market", "subscribe", "ETHUSDT", "price")
	asJSON("market", "unsubscribe", "ETHUSDT", "price")
	asJSON("market", "subscribe", "ETHUSDT", "price")
	table("", "market", "unsubscribe", "ETHUSDT", "price")

	backup := filepath.Join(t.TempDir(), "journal-copy.db")
	run("journal", "backup", backup)
	sqlite3, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sqlite3 is missing (Debian package sqlite3)")
		}
		t.Skip("sqlite3 is missing (Debian package sqlite3)")
	}
	out, err := exec.Command(sqlite3, backup, "PRAGMA integrity_check; SELECT count(*) > 0 FROM orders WHERE strategy = 'trend';").CombinedOutput()
	if err != nil || string(out) != "ok\n1\n" {
		t.Fatalf("sqlite3 on the backup: %v\n%s", err, out)
	}
}

// simOpenOrders asks a simulator's admin API how many user orders rest on
// BTCUSDT.
func simOpenOrders(t *testing.T, addr string) int {
	t.Helper()
	res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/admin/state")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var st []struct {
		Symbol     string `json:"symbol"`
		OpenOrders int    `json:"open_orders"`
	}
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Symbol == "BTCUSDT" {
			return s.OpenOrders
		}
	}
	t.Fatalf("the simulator has no BTCUSDT: %+v", st)
	return 0
}

// TestLiveGridOnTheSimulatorAndForcedStop: in live mode a grid's orders
// go through the connector (go-binance) to the simulator, where they rest:
// the simulator counts as many open orders as the journal. With trading in
// place a second SIGINT still forces the shutdown (a module that ignores
// SIGTERM holds the graceful one), and the next daemon finds the same
// orders open, on the exchange and in the journal, none sent again.
func TestLiveGridOnTheSimulatorAndForcedStop(t *testing.T) {
	dir := t.TempDir()
	marker := fmt.Sprintf("SUPERBOT_TEST_MARKER=live-%d-%d", os.Getpid(), time.Now().UnixNano())
	_, value, _ := strings.Cut(marker, "=")
	killAllWith(t, marker)
	conf := fmt.Sprintf(`[daemon]
shutdown_timeout = "30s"
autostart = ["exchange-sim", "stubborn"]
[daemon.modules.stubborn]
type = "exec"
command = ["sh", "-c", "trap '' TERM INT; while :; do sleep 1; done"]
start_seconds = "0s"
stop_timeout = "60s"
env = { SUPERBOT_TEST_MARKER = %q }
[trading]
mode = "live"
[trading.risk]
price_band = 0.5
[trading.strategies.ladder]
kind = "grid"
symbol = "BTCUSDT"
interval = "1s"
allocation = "1000 USDT"
params = { lower = 50000, upper = 80000, levels = 31, quantity = 0.0001 }
`, value)
	p := startDaemon(t, dir, conf)
	c := waitJournal(t, p)
	addr := p.simAddr()
	until(t, time.Minute, "the grid's orders open", func() bool { return len(openIDs(t, c, "ladder")) > 0 })
	// The grid may be placing more while the price moves, and an order the
	// simulator holds is an intent in the journal until the order actor has
	// taken the exchange's answer: wait until the counts agree and every
	// open order is live with the exchange's id.
	until(t, 30*time.Second, "the simulator holds the grid's orders, each with the exchange's id", func() bool {
		open := rows(t, c, "trading.orders", map[string]any{"strategy": "ladder", "status": "open"}, "orders")
		onSim := simOpenOrders(t, addr)
		for _, o := range open {
			if o["mode"] != "live" || num(o["exchange_order_id"]) == 0 {
				t.Logf("not yet live with the exchange's id: %v", o["client_order_id"])
				return false
			}
		}
		if onSim != len(open) {
			t.Logf("open orders: %d on the simulator, %d in the journal", onSim, len(open))
		}
		return onSim == len(open) && onSim > 0
	})
	want := openIDs(t, c, "ladder")

	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	until(t, 30*time.Second, "the shutdown waits on the stubborn module", func() bool {
		return strings.Contains(p.out.String(), "shutdown step 4")
	})
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(15 * time.Second); code != 1 {
		t.Fatalf("a forced shutdown exits 1, got %d", code)
	}
	if !strings.Contains(p.out.String(), "second interrupt: forcing shutdown") {
		t.Fatalf("no forced shutdown logged:\n%s", p.out.String())
	}
	for deadline := time.Now().Add(10 * time.Second); len(processesWith(marker)) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("module processes left after a forced shutdown: %v", processesWith(marker))
		}
	}

	// The simulator was the daemon's module and died with it; the next
	// daemon starts a new one, which knows none of the old orders: the
	// journal still has every one (once), and the reconciliation reports
	// each as a mismatch instead of sending it again.
	p = startDaemon(t, dir, strings.Replace(conf, `"exchange-sim", "stubborn"`, `"exchange-sim"`, 1))
	c = waitJournal(t, p)
	seen := map[string]bool{}
	for _, o := range rows(t, c, "trading.orders", map[string]any{"strategy": "ladder"}, "orders") {
		id := fmt.Sprint(o["client_order_id"])
		if seen[id] {
			t.Errorf("client order id %s twice in the journal", id)
		}
		seen[id] = true
	}
	rec := fmt.Sprint(call(t, c, "trading.reconcile", nil)["report"])
	for _, id := range want {
		if !seen[id] {
			t.Errorf("order %s lost from the journal after a forced stop", id)
		}
		if !strings.Contains(rec, fmt.Sprintf("order %q: NEW in the journal, but the exchange says it does not exist", id)) {
			t.Errorf("the reconciliation with a new simulator does not report %s: %s", id, rec)
		}
	}
	stopDaemon(t, p)
}
