package backtest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/marketdata/store"
)

// yearBars is one year of 1-minute candles.
const yearBars = 365 * 1440

// benchStore stores a year of synthetic 1m BTCUSDT bars from 2026-01-01.
func benchStore(b *testing.B) (*store.Store, Spec) {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "data")
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	if _, err := st.Write("BTCUSDT", "1m", synthBars(from, yearBars)); err != nil {
		b.Fatal(err)
	}
	s := Spec{Kind: "sma_cross", Params: map[string]any{"fast": 10.0, "slow": 30.0}, Symbols: []string{"BTCUSDT"}, Interval: "1m",
		FromMs: from, Allocation: DefaultAllocation, MakerFee: DefaultFee, TakerFee: DefaultFee}
	if err := s.Validate(); err != nil {
		b.Fatal(err)
	}
	return st, s
}

// BenchmarkExecuteYear is the first figure as a job runs it: one
// sma_cross over a year of 1m candles on one core, from the local store
// (load), through the engine, report included (metrics, summary and the
// HTML file). Compare with BenchmarkExecuteFloor, measured in the same run.
func BenchmarkExecuteYear(b *testing.B) {
	benchExecute(b, Outputs{HTML: filepath.Join(b.TempDir(), "report.html")})
}

// BenchmarkExecuteYearSummary is the same with the terminal report only
// (metrics and summary, what `superbot backtest run` prints), no files.
func BenchmarkExecuteYearSummary(b *testing.B) { benchExecute(b, Outputs{}) }

func benchExecute(b *testing.B, out Outputs) {
	st, s := benchStore(b)
	b.ResetTimer()
	for range b.N {
		oc, err := Execute(context.Background(), st, s, 1, out, nil)
		if err != nil || oc.Result.Bars != yearBars {
			b.Fatalf("execute: %v", err)
		}
	}
	b.ReportMetric(float64(yearBars)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mcandles/s")
}

// BenchmarkExecuteFloor is the floor of BenchmarkExecuteYear: the same
// load from the store, then a bare loop summing the closes.
func BenchmarkExecuteFloor(b *testing.B) {
	st, s := benchStore(b)
	sum := 0.0
	b.ResetTimer()
	for range b.N {
		bars, err := st.Load("BTCUSDT", "1m", s.FromMs, 0)
		if err != nil || len(bars) != yearBars {
			b.Fatalf("load: %v", err)
		}
		for i := range bars {
			sum += bars[i].Close
		}
	}
	b.ReportMetric(float64(yearBars)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mcandles/s")
	if sum == 0 {
		b.Fatal("no closes")
	}
}
