package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

// reportsConf: an sma_cross on 1 s candles of the simulator, in paper
// mode, with the seed's two report jobs enabled.
const reportsConf = `[trading]
mode = "paper"
[trading.strategies.trend]
kind = "sma_cross"
symbol = "BTCUSDT"
interval = "1s"
allocation = "1000 USDT"
params = { fast = 2, slow = 8, quantity = 0.001 }
[daemon.schedule.daily_backtest]
enabled = true
strategy = "trend"
days = 1
[daemon.schedule.weekly_report]
enabled = true
`

// TestReportsInTheDaemon: the seed's daily_backtest and weekly_report are
// scheduler jobs calling report.drift and report.weekly; the weekly report
// of a strategy that paper-traded counts what the journal holds, and its
// drift report reads the same, both written under reports/ in the daemon's
// working directory.
func TestReportsInTheDaemon(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, reportsConf)
	c := waitJournal(t, p)

	jobs := rows(t, c, "scheduler.jobs", nil, "jobs")
	actions := map[string]string{}
	for _, j := range jobs {
		actions[fmt.Sprint(j["name"])] = fmt.Sprint(j["action"])
	}
	if actions["daily_backtest"] != "report.drift" || actions["weekly_report"] != "report.weekly" {
		t.Fatalf("scheduler.jobs = %v", jobs)
	}

	until(t, 3*time.Minute, "a fill of trend", func() bool {
		return len(rows(t, c, "trading.fills", map[string]any{"strategy": "trend"}, "fills")) > 0
	})
	call(t, c, "trading.strategy.pause", map[string]any{"name": "trend"})
	until(t, 30*time.Second, "no order in flight", func() bool {
		for _, st := range []string{"intent", "sent", "unknown"} {
			if len(rows(t, c, "trading.orders", map[string]any{"status": st}, "orders")) > 0 {
				return false
			}
		}
		return true
	})
	fills := rows(t, c, "trading.fills", map[string]any{"strategy": "trend"}, "fills")
	orders := rows(t, c, "trading.orders", map[string]any{"strategy": "trend"}, "orders")
	var fees float64
	for _, f := range fills {
		fees += num(f["fee"])
	}

	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]any{"pattern": "report.ready"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		HTMLPath     string `json:"html_path"`
		MarkdownPath string `json:"markdown_path"`
		Strategies   []map[string]any
		Account      map[string]any
	}
	if err := c.Call(context.Background(), "report.weekly", nil, &res); err != nil {
		t.Fatal(err)
	}
	if paths := readyPaths(t, sub.C()); len(paths) != 2 || paths[0] != res.MarkdownPath || paths[1] != res.HTMLPath {
		t.Fatalf("report.ready paths = %v, want %s and %s", paths, res.MarkdownPath, res.HTMLPath)
	}
	// The scheduled job, run now, writes the same report and says so.
	call(t, c, "scheduler.run", map[string]any{"name": "weekly_report"})
	if paths := readyPaths(t, sub.C()); len(paths) != 2 || filepath.Dir(paths[0]) != filepath.Join(dir, "reports") {
		t.Fatalf("report.ready of the weekly_report job: %v", paths)
	}
	if len(res.Strategies) != 1 || res.Strategies[0]["strategy"] != "trend" ||
		num(res.Strategies[0]["trades"]) != float64(len(fills)) || num(res.Strategies[0]["orders"]) != float64(len(orders)) ||
		fmt.Sprintf("%.6f", num(res.Account["fees"])) != fmt.Sprintf("%.6f", fees) {
		t.Fatalf("report.weekly = %+v; journal: %d fills, %d orders, fees %g", res, len(fills), len(orders), fees)
	}
	if filepath.Dir(res.MarkdownPath) != filepath.Join(dir, "reports") {
		t.Fatalf("report written to %s, want %s", res.MarkdownPath, filepath.Join(dir, "reports"))
	}
	for _, path := range []string{res.MarkdownPath, res.HTMLPath} {
		b, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(b), "trend") {
			t.Fatalf("%s: %v\n%s", path, err, b)
		}
	}
	t.Run("drift", func(t *testing.T) { testDriftReport(t, dir, len(orders), len(fills)) })
}

// testDriftReport: report.drift backtests the paper-trading strategy over
// the last day of the simulator's 1 s bars (86,400, fetched through the
// connector a page at a time) and reads the strategy's orders and fills
// from the journal: all of them, as they are all of today.
func testDriftReport(t *testing.T, dir string, orders, fills int) {
	long, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(dir, ".superbot"), Timeout: 5 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = long.Close() }()
	var res struct {
		MarkdownPath string `json:"markdown_path"`
		FromMs       int64  `json:"from_ms"`
		ToMs         int64  `json:"to_ms"`
		Backtest     map[string]any
		Live         map[string]any
	}
	if err := long.Call(context.Background(), "report.drift", map[string]any{"strategy": "trend", "days": 1}, &res); err != nil {
		t.Fatal(err)
	}
	if res.ToMs-res.FromMs != 24*time.Hour.Milliseconds() || num(res.Backtest["orders"]) < 1 ||
		num(res.Live["orders"]) != float64(orders) || num(res.Live["fills"]) != float64(fills) {
		t.Fatalf("report.drift: window %d..%d, backtest %v, journal %v; trading.orders %d, trading.fills %d",
			res.FromMs, res.ToMs, res.Backtest, res.Live, orders, fills)
	}
	if _, err := os.Stat(res.MarkdownPath); err != nil || filepath.Dir(res.MarkdownPath) != filepath.Join(dir, "reports") {
		t.Fatalf("report file %s: %v", res.MarkdownPath, err)
	}
}

// readyPaths waits for a report.ready event and returns its paths.
func readyPaths(t *testing.T, events <-chan client.Notification) []string {
	t.Helper()
	select {
	case n := <-events:
		var ev struct {
			Topic   string `json:"topic"`
			Payload struct {
				Kind  string   `json:"kind"`
				Paths []string `json:"paths"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(n.Params, &ev); err != nil || ev.Topic != "report.ready" || ev.Payload.Kind != "weekly" {
			t.Fatalf("event %s: %v", n.Params, err)
		}
		return ev.Payload.Paths
	case <-time.After(30 * time.Second):
		t.Fatal("no report.ready event")
	}
	return nil
}
