package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// writeBars stores days of synthetic 1m BTCUSDT bars from 2026-01-01 (a
// slow sine wave with a wiggle, so that sma_cross trades) in dir.
func writeBars(t *testing.T, dir string, days int) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	bars := make([]strategy.Bar, days*1440)
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
}

// TestBacktestLocal: --local runs store, engine and report in this
// process: the summary on stdout, the report files where the flags say.
func TestBacktestLocal(t *testing.T) {
	hermetic(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	writeBars(t, data, 2)
	out := func(name string) string { return filepath.Join(dir, name) }
	code, stdout, errs := cli(t, nil, "backtest", "run", "--local", "--data-dir", data, "--strategy", "sma_cross", "--symbol", "BTCUSDT",
		"--from", "2026-01-01", "--to", "2026-01-03", "--param", "fast=5", "--param", "slow=20",
		"--html", out("r.html"), "--json-out", out("r.json"), "--csv", out("t.csv"), "--png", out("e.png"))
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if !strings.Contains(stdout, "reports:") || !strings.Contains(stdout, out("r.html")) {
		t.Fatalf("stdout:\n%s", stdout)
	}
	for _, name := range []string{"r.html", "r.json", "t.csv", "e.png"} {
		fi, err := os.Stat(out(name))
		if err != nil || fi.Size() == 0 {
			t.Fatalf("%s: %v", name, err)
		}
	}
	b, _ := os.ReadFile(out("r.json"))
	if !json.Valid(b) {
		t.Fatal("r.json is not JSON")
	}

	// --json prints the result as JSON.
	code, stdout, errs = cli(t, nil, "backtest", "run", "--local", "--data-dir", data, "--strategy", "sma_cross", "--symbol", "BTCUSDT",
		"--from", "2026-01-01", "--json")
	var res struct {
		Summary string
		Metrics map[string]any
	}
	if code != exitOK || json.Unmarshal([]byte(stdout), &res) != nil || res.Summary == "" || res.Metrics == nil {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, errs)
	}

	// No bars in the range: an error, and nothing written.
	code, _, errs = cli(t, nil, "backtest", "run", "--local", "--data-dir", data, "--strategy", "sma_cross", "--symbol", "BTCUSDT",
		"--from", "2025-01-01", "--to", "2025-02-01", "--html", out("none.html"))
	if code == exitOK || !strings.Contains(errs, "BTCUSDT") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if _, err := os.Stat(out("none.html")); !os.IsNotExist(err) {
		t.Fatalf("none.html: %v", err)
	}
}
