package backtest

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// synthBars are n closed 1m bars from fromMs: a slow sine wave with a
// wiggle, so that sma_cross crosses now and then.
func synthBars(fromMs int64, n int) []strategy.Bar {
	out := make([]strategy.Bar, n)
	for i := range out {
		open := fromMs + int64(i)*60_000
		c := 100 + 10*math.Sin(float64(i)/90) + math.Sin(float64(i)/7)
		o := 100 + 10*math.Sin(float64(i-1)/90) + math.Sin(float64(i-1)/7)
		out[i] = strategy.Bar{OpenTimeMs: open, CloseTimeMs: open + 59_999, Open: o, Close: c,
			High: math.Max(o, c) + 0.2, Low: math.Min(o, c) - 0.2, Volume: 1}
	}
	return out
}

// storeDays writes days of synthetic 1m bars of symbol from 2026-01-01
// into the store in dir.
func storeDays(t testing.TB, dir, symbol string, days int) {
	t.Helper()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	if _, err := st.Write(symbol, "1m", synthBars(from, days*1440)); err != nil {
		t.Fatal(err)
	}
}

// TestRealBacktest: with the real store, engine and report, a job runs to
// the end and its result has metrics, a summary and the four report files.
func TestRealBacktest(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	storeDays(t, cfg.DataDir, "BTCUSDT", 2)
	f := newFixture(t, cfg, nil)
	id := f.start(smaRequest())
	st := f.waitState(id, messages.JobDone)
	if st.GetTotal() != 2*1440 || st.GetDone() != st.GetTotal() {
		t.Fatalf("job: %v", st)
	}
	res := actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: id})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	if res.GetSummary() == "" || res.GetMetrics().GetFields()["trades"].GetNumberValue() < 1 {
		t.Fatalf("result: summary %q, metrics %v", res.GetSummary(), res.GetMetrics())
	}
	kinds := map[string]bool{}
	for _, file := range res.GetFiles() {
		fi, err := os.Stat(file.GetPath())
		if err != nil || fi.Size() != file.GetBytes() || fi.Size() == 0 {
			t.Fatalf("%s: %v (size %d)", file.GetPath(), err, file.GetBytes())
		}
		kinds[file.GetKind()] = true
	}
	if len(kinds) != 4 {
		t.Fatalf("report files: %v", res.GetFiles())
	}
	b, err := os.ReadFile(filepath.Join(f.cfg.ResultsDir, id, fileJSON))
	if err != nil || !json.Valid(b) {
		t.Fatalf("report.json: %v", err)
	}
}

// TestRealSweep: a sweep's result ranks its points best first, and the
// report is its best point's.
func TestRealSweep(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	storeDays(t, cfg.DataDir, "BTCUSDT", 2)
	f := newFixture(t, cfg, nil)
	id := f.start(sweepRequest(6))
	st := f.waitState(id, messages.JobDone)
	if st.GetTotal() != 6 || !st.GetSweep() {
		t.Fatalf("job: %v", st)
	}
	res := actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: id})
	pts := res.GetPoints()
	if res.GetError() != nil || len(pts) != 6 || res.GetMetric() != "sharpe" || len(res.GetFiles()) != 4 {
		t.Fatalf("result: %v", res)
	}
	for i := 1; i < len(pts); i++ {
		if pts[i].GetScore() > pts[i-1].GetScore() {
			t.Fatalf("points not ranked: %v", pts)
		}
	}
}

// TestRealCancel: a running sweep holds the cpu workers (a single
// backtest queues behind it); canceling it stops its workers at once
// (goleak checks their goroutines are gone when the tests end) and frees
// them for the queued job.
func TestRealCancel(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CPUWorkers = 2
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	storeDays(t, cfg.DataDir, "BTCUSDT", 30)
	f := newFixture(t, cfg, nil)
	req := smaRequest()
	req.ToMs = 0
	req.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{{Name: "fast", Values: seq(2, 60)}, {Name: "slow", Values: seq(61, 120)}}}
	id := f.start(req)
	actortest.ExpectMatch(t, f.bus, wait, func(ev *messages.Event) bool {
		j := &messages.BacktestJob{}
		return ev.GetPayload().UnmarshalTo(j) == nil && j.GetId() == id && j.GetDone() > 0
	})
	// The sweep holds both cpu workers: a single backtest waits.
	if st := f.status(id); st.GetWorkers() != 2 {
		t.Fatalf("the sweep holds %d workers, want 2", st.GetWorkers())
	}
	single := smaRequest()
	single.ToMs = 0
	next := f.start(single)
	if st := f.status(next); st.GetState() != messages.JobQueued || st.GetQueuePosition() != 1 {
		t.Fatalf("a single backtest beside the sweep: %v", st)
	}
	res := actortest.Request[*messages.BacktestCancelResponse](t, f.sys, f.pid, &messages.BacktestCancelRequest{Id: id})
	if res.GetJob().GetState() != messages.JobCanceling {
		t.Fatalf("cancel: %v", res)
	}
	st := f.waitState(id, messages.JobCanceled)
	f.waitState(next, messages.JobDone)
	if st.GetDone() >= st.GetTotal() {
		t.Fatalf("the sweep ran to the end: %v", st)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.ResultsDir, id)); !os.IsNotExist(err) {
		t.Fatalf("a canceled job left its directory: %v", err)
	}
}

func seq(lo, hi int) []float64 {
	var out []float64
	for i := lo; i <= hi; i++ {
		out = append(out, float64(i))
	}
	return out
}
