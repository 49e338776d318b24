package daemon_test

import (
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// TestBacktestInTheDaemon: the CLI runs a backtest as a daemon job on bars
// in the daemon's candle store (its progress followed, its summary
// printed, its HTML report copied), lists it and shows its result; the
// thread pools reach the backtest actor (cpu) and the connector (io).
func TestBacktestInTheDaemon(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(filepath.Join(dir, ".superbot", "data"))
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	bars := make([]strategy.Bar, 2*1440)
	price := func(i int) float64 { return 100 + 10*math.Sin(float64(i)/90) + math.Sin(float64(i)/7) }
	for i := range bars {
		open := from + int64(i)*60_000
		o, c := price(i-1), price(i)
		bars[i] = strategy.Bar{OpenTimeMs: open, CloseTimeMs: open + 59_999, Open: o, Close: c,
			High: math.Max(o, c) + 0.2, Low: math.Min(o, c) - 0.2, Volume: 1}
	}
	if _, err := st.Write("BTCUSDT", "1m", bars); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, "[daemon.resource_allocation.thread_pools]\ncpu = { max_workers = 1 }\nio = { max_workers = 3 }\n")
	p.waitReady()

	cli := filepath.Join(filepath.Dir(binary), "superbot-backtest")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/superbot/superbot/cmd/superbot").CombinedOutput(); err != nil {
		t.Fatalf("build superbot: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				stderr = ee.Stderr
			}
			t.Fatalf("superbot %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
		}
		return string(out)
	}
	report := filepath.Join(dir, "report.html")
	out := run("backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--from", "2026-01-01", "--to", "2026-01-03",
		"--param", "fast=5", "--param", "slow=20", "--html", report)
	m := regexp.MustCompile(`(?m)^backtest (bt\S+): sma_cross on BTCUSDT 1m$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "total return") || !strings.Contains(out, filepath.Join(".superbot", "backtests", m[1], "report.html")) {
		t.Fatalf("backtest run:\n%s", out)
	}
	if b, err := os.ReadFile(report); err != nil || !strings.Contains(string(b), "<html") {
		t.Fatalf("report.html: %v", err)
	}
	if out := run("backtest", "list"); !regexp.MustCompile(`(?m)^` + m[1] + `\s+done\s+sma_cross\s+BTCUSDT\s+1m\s+2026-01-01\s+2026-01-03\s+100%`).MatchString(out) {
		t.Fatalf("backtest list:\n%s", out)
	}
	if out := run("backtest", "result", m[1], "--json"); !strings.Contains(out, `"summary":`) || !strings.Contains(out, `"kind":"png"`) {
		t.Fatalf("backtest result --json:\n%s", out)
	}
	out = run("backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--from", "2026-01-01",
		"--param", "slow=20", "--sweep", "fast=3:6", "--metric", "return")
	if !regexp.MustCompile(`(?m)^sweep: 4 points ranked by return`).MatchString(out) || !regexp.MustCompile(`(?m)^RANK\s+FAST\s+SCORE`).MatchString(out) {
		t.Fatalf("backtest run --sweep:\n%s", out)
	}
	log, err := os.ReadFile(filepath.Join(dir, "logs", "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"backtest jobs ready cpu_workers=1", "io_workers=3"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("daemon.log lacks %q", want)
		}
	}
}
