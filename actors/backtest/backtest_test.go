package backtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestJobLifecycle: run answers a queued or running job at once, status
// follows it, result answers the metrics, summary and files once done.
func TestJobLifecycle(t *testing.T) {
	g := newGate()
	f := newFixture(t, DefaultConfig(), g.run)
	id := f.start(smaRequest())
	if !strings.HasPrefix(id, "bt") {
		t.Fatalf("job id %q", id)
	}
	st := f.waitState(id, messages.JobRunning)
	if st.GetWorkers() != 1 || st.GetStrategy() != "sma_cross" || st.GetSymbols()[0] != "BTCUSDT" || st.GetInterval() != "1m" {
		t.Fatalf("running job: %v", st)
	}
	res := actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: id})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("result of a running job: %v", res.GetError())
	}
	g.releaseOne(t)
	done := f.waitState(id, messages.JobDone)
	if done.GetProgress() != 1 || done.GetFinishedMs() == 0 || done.GetWorkers() != 0 {
		t.Fatalf("done job: %v", done)
	}
	res = actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: id})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	if res.GetSummary() != "summary\n" || res.GetMetrics().GetFields()["trades"].GetNumberValue() != 3 {
		t.Fatalf("result: %v", res)
	}
	want := filepath.Join(f.cfg.ResultsDir, id, fileHTML)
	if len(res.GetFiles()) != 1 || res.GetFiles()[0].GetPath() != want {
		t.Fatalf("files: %v, want %s", res.GetFiles(), want)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.ResultsDir, id, fileResult)); err != nil {
		t.Fatalf("result.json: %v", err)
	}
	if jobs := f.list(); len(jobs) != 1 || jobs[0].GetId() != id {
		t.Fatalf("list: %v", jobs)
	}
}

// TestProgressOnTheBus: a job's progress and end go to the bus as
// backtest.JOB.progress.
func TestProgressOnTheBus(t *testing.T) {
	g := newGate()
	f := newFixture(t, DefaultConfig(), g.run)
	id := f.start(smaRequest())
	topic := "backtest." + id + ".progress"
	job := func(ev *messages.Event) *messages.BacktestJob {
		j := &messages.BacktestJob{}
		if ev.GetTopic() != topic || ev.GetPayload().UnmarshalTo(j) != nil {
			return nil
		}
		return j
	}
	actortest.ExpectMatch(t, f.bus, wait, func(ev *messages.Event) bool {
		j := job(ev)
		return j != nil && j.GetState() == messages.JobRunning && j.GetDone() == 1 && j.GetTotal() == 4 && j.GetProgress() == 0.25
	})
	g.releaseOne(t)
	actortest.ExpectMatch(t, f.bus, wait, func(ev *messages.Event) bool {
		j := job(ev)
		return j != nil && j.GetState() == messages.JobDone && j.GetProgress() == 1
	})
}

// TestCPUPoolBound: with two cpu workers, at most two workers are ever
// held by running jobs, singles and a sweep together; the rest wait in the
// queue in order and all finish.
func TestCPUPoolBound(t *testing.T) {
	g := newGate()
	cfg := DefaultConfig()
	cfg.CPUWorkers = 2
	f := newFixture(t, cfg, g.run)
	sweep := f.start(sweepRequest(4))
	var ids []string
	for range 4 {
		ids = append(ids, f.start(smaRequest()))
	}
	st := f.waitState(sweep, messages.JobRunning)
	if st.GetWorkers() != 2 {
		t.Fatalf("the sweep holds %d workers, want both", st.GetWorkers())
	}
	for i, id := range ids {
		if st := f.status(id); st.GetState() != messages.JobQueued || st.GetQueuePosition() != uint32(i+1) {
			t.Fatalf("job %d: %v, want queued at %d", i, st, i+1)
		}
	}
	g.releaseOne(t) // the sweep: two singles start
	f.waitState(ids[0], messages.JobRunning)
	f.waitState(ids[1], messages.JobRunning)
	if st := f.status(ids[2]); st.GetState() != messages.JobQueued || st.GetQueuePosition() != 1 {
		t.Fatalf("third single: %v", st)
	}
	for range 4 {
		g.releaseOne(t)
	}
	for _, id := range ids {
		f.waitState(id, messages.JobDone)
	}
	if _, peak, _, returned := g.snapshot(); peak != 2 || returned != 5 {
		t.Fatalf("peak workers %d (want 2), returned %d (want 5)", peak, returned)
	}
}

// TestMaxJobsBound: default.max_workers bounds the jobs in flight even
// when cpu workers are free.
func TestMaxJobsBound(t *testing.T) {
	g := newGate()
	cfg := DefaultConfig()
	cfg.CPUWorkers, cfg.MaxJobs = 4, 1
	f := newFixture(t, cfg, g.run)
	a, b := f.start(smaRequest()), f.start(smaRequest())
	f.waitState(a, messages.JobRunning)
	if st := f.status(b); st.GetState() != messages.JobQueued {
		t.Fatalf("second job: %v", st)
	}
	g.releaseOne(t)
	f.waitState(b, messages.JobRunning)
	g.releaseOne(t)
	f.waitState(b, messages.JobDone)
}

// TestCancel: a queued job leaves the queue at once; a running job's
// goroutine ends (its context is canceled) and its workers are freed; a
// finished job stays finished.
func TestCancel(t *testing.T) {
	g := newGate()
	cfg := DefaultConfig()
	cfg.CPUWorkers = 1
	f := newFixture(t, cfg, g.run)
	running, queued := f.start(smaRequest()), f.start(smaRequest())
	f.waitState(running, messages.JobRunning)

	res := actortest.Request[*messages.BacktestCancelResponse](t, f.sys, f.pid, &messages.BacktestCancelRequest{Id: queued})
	if res.GetError() != nil || res.GetJob().GetState() != messages.JobCanceled {
		t.Fatalf("cancel queued: %v", res)
	}
	res = actortest.Request[*messages.BacktestCancelResponse](t, f.sys, f.pid, &messages.BacktestCancelRequest{Id: running})
	if res.GetError() != nil || res.GetJob().GetState() != messages.JobCanceling {
		t.Fatalf("cancel running: %v", res)
	}
	f.waitState(running, messages.JobCanceled)
	if _, _, inside, returned := g.snapshot(); inside != 0 || returned != 1 {
		t.Fatalf("%d jobs still running, %d returned", inside, returned)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.ResultsDir, running)); !os.IsNotExist(err) {
		t.Fatalf("a canceled job left its directory: %v", err)
	}
	// Its worker is free again: a new job runs.
	next := f.start(smaRequest())
	f.waitState(next, messages.JobRunning)
	g.releaseOne(t)
	f.waitState(next, messages.JobDone)
	res = actortest.Request[*messages.BacktestCancelResponse](t, f.sys, f.pid, &messages.BacktestCancelRequest{Id: next})
	if res.GetError() != nil || res.GetJob().GetState() != messages.JobDone {
		t.Fatalf("cancel done: %v", res)
	}
	r := actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: running})
	if r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("result of a canceled job: %v", r.GetError())
	}
}

// TestStopCancelsRunningJobs: stopping the actor ends its jobs'
// goroutines (goleak checks none is left when the package's tests end).
func TestStopCancelsRunningJobs(t *testing.T) {
	g := newGate()
	f := newFixture(t, DefaultConfig(), g.run)
	id := f.start(smaRequest())
	f.waitState(id, messages.JobRunning)
	if err := f.sys.Root.StopFuture(f.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, wait, func() bool { _, _, _, returned := g.snapshot(); return returned == 1 }, "the job's goroutine returned")
}

// TestQueueFull: beyond max_queue waiting jobs, run is refused and nothing
// is booked.
func TestQueueFull(t *testing.T) {
	g := newGate()
	cfg := DefaultConfig()
	cfg.CPUWorkers, cfg.MaxQueue = 1, 1
	f := newFixture(t, cfg, g.run)
	a, b := f.start(smaRequest()), f.start(smaRequest())
	res := f.run(smaRequest())
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), "queue is full") {
		t.Fatalf("third job: %v", res)
	}
	if n := len(f.list()); n != 2 {
		t.Fatalf("%d jobs booked, want 2", n)
	}
	f.waitState(a, messages.JobRunning)
	g.releaseOne(t)
	g.releaseOne(t)
	f.waitState(b, messages.JobDone)
}

// TestBadRequests: each bad request is refused with every problem named,
// and nothing is queued.
func TestBadRequests(t *testing.T) {
	f := newFixture(t, DefaultConfig(), newGate().run)
	params := func(m map[string]any) *structpb.Struct { s, _ := structpb.NewStruct(m); return s }
	tests := []struct {
		name string
		edit func(r *messages.BacktestRunRequest)
		want []string
	}{
		{"unknown kind lists the known ones", func(r *messages.BacktestRunRequest) { r.Strategy = "smacross" },
			[]string{`strategy: unknown strategy kind "smacross"`, "grid", "sma_cross"}},
		{"no kind", func(r *messages.BacktestRunRequest) { r.Strategy = "" }, []string{"strategy: a strategy kind is required (known: "}},
		{"bad param", func(r *messages.BacktestRunRequest) { r.Params = params(map[string]any{"fast": 0}) }, []string{"params.fast: must be within [1, 10000]"}},
		{"unknown param", func(r *messages.BacktestRunRequest) { r.Params = params(map[string]any{"fats": 5}) }, []string{"params.fats: unknown param"}},
		{"no symbol", func(r *messages.BacktestRunRequest) { r.Symbols = nil }, []string{"symbols: at least one symbol is required"}},
		{"bad symbol", func(r *messages.BacktestRunRequest) { r.Symbols = []string{"BTC/USDT"} }, []string{`symbols: "BTC/USDT" must match`}},
		{"twice", func(r *messages.BacktestRunRequest) { r.Symbols = []string{"btcusdt", "BTCUSDT"} }, []string{"symbols: BTCUSDT given twice"}},
		{"no start", func(r *messages.BacktestRunRequest) { r.FromMs = 0 }, []string{"from_ms: a start time is required"}},
		{"to before from", func(r *messages.BacktestRunRequest) { r.ToMs = r.FromMs - 1 }, []string{"to_ms: must be after from_ms"}},
		{"fee", func(r *messages.BacktestRunRequest) { fee := 0.5; r.TakerFee = &fee }, []string{"taker_fee: must be a fraction in [0, 0.1], got 0.5"}},
		{"slippage", func(r *messages.BacktestRunRequest) { r.Slippage = -0.1 }, []string{"slippage: must be a fraction"}},
		{"allocation", func(r *messages.BacktestRunRequest) { r.Allocation = -5 }, []string{"allocation: must be a positive number"}},
		{"all at once", func(r *messages.BacktestRunRequest) { r.Symbols, r.FromMs = nil, 0 }, []string{"symbols:", "from_ms:"}},
		{"sweep without params", func(r *messages.BacktestRunRequest) { r.Sweep = &messages.BacktestSweep{} }, []string{"sweep.params: at least one"}},
		{"sweep too big", func(r *messages.BacktestRunRequest) {
			r.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{{Name: "fast", Values: make([]float64, 1000)}, {Name: "slow", Values: make([]float64, 1000)}}}
		}, []string{"the grid has 1000000 points, more than 100000"}},
		{"sweep param twice", func(r *messages.BacktestRunRequest) {
			r.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{{Name: "fast", Values: []float64{3}}, {Name: "fast", Values: []float64{4}}}}
		}, []string{"sweep.params.fast: given twice"}},
		{"swept value checked", func(r *messages.BacktestRunRequest) {
			r.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{{Name: "fast", Values: []float64{50, 5}}}}
		}, []string{"params.slow: must be > fast (50)"}},
		{"walk forward", func(r *messages.BacktestRunRequest) {
			r.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{{Name: "fast", Values: []float64{3}}}, InSample: 1.5}
		}, []string{"sweep.in_sample: must be a fraction in (0, 1)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := smaRequest()
			tt.edit(req)
			res := f.run(req)
			e := res.GetError()
			if e.GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
				t.Fatalf("answer %v, want INVALID_ARGUMENT", res)
			}
			for _, w := range tt.want {
				if !strings.Contains(e.GetMessage(), w) {
					t.Errorf("error %q lacks %q", e.GetMessage(), w)
				}
			}
		})
	}
	if n := len(f.list()); n != 0 {
		t.Fatalf("%d jobs booked", n)
	}
	for _, method := range []func() any{
		func() any { return &messages.BacktestStatusRequest{Id: "bt-nope"} },
		func() any { return &messages.BacktestResultRequest{Id: "bt-nope"} },
		func() any { return &messages.BacktestCancelRequest{Id: "bt-nope"} },
	} {
		res, err := actortest.TryRequest[messages.Responder](f.sys, f.pid, method(), wait)
		if err != nil || res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Errorf("%T of an unknown job: %v %v", method(), res, err)
		}
	}
}

// TestHistory: finished jobs are read back by a new actor on the same
// results directory, and only the most recent History are kept, in memory
// and on disk.
func TestHistory(t *testing.T) {
	g := newGate()
	cfg := DefaultConfig()
	cfg.History = 2
	f := newFixture(t, cfg, g.run)
	var ids []string
	for range 3 {
		id := f.start(smaRequest())
		f.waitState(id, messages.JobRunning)
		g.releaseOne(t)
		f.waitState(id, messages.JobDone)
		ids = append(ids, id)
	}
	actortest.Eventually(t, wait, func() bool {
		_, err := os.Stat(filepath.Join(f.cfg.ResultsDir, ids[0]))
		return os.IsNotExist(err)
	}, "the oldest job's directory is deleted")
	if jobs := f.list(); len(jobs) != 2 || jobs[0].GetId() != ids[2] || jobs[1].GetId() != ids[1] {
		t.Fatalf("list: %v", jobs)
	}
	f.restart(g.run)
	var jobs []*messages.BacktestJob
	actortest.Eventually(t, wait, func() bool { jobs = f.list(); return len(jobs) == 2 }, "the history is read back")
	if jobs[0].GetId() != ids[2] || jobs[1].GetId() != ids[1] || jobs[0].GetState() != messages.JobDone || jobs[0].GetStrategy() != "sma_cross" {
		t.Fatalf("list after restart: %v", jobs)
	}
	res := actortest.Request[*messages.BacktestResultResponse](t, f.sys, f.pid, &messages.BacktestResultRequest{Id: ids[2]})
	if res.GetError() != nil || res.GetSummary() != "summary\n" || len(res.GetFiles()) != 1 {
		t.Fatalf("result after restart: %v", res)
	}
}

// TestJobFailsCleanly: with the real run and an empty store, the job fails
// with the store's reason, leaves no directory and frees its worker.
func TestJobFailsCleanly(t *testing.T) {
	cfg := DefaultConfig()
	cfg.CPUWorkers = 1
	f := newFixture(t, cfg, nil)
	id := f.start(smaRequest())
	st := f.waitState(id, messages.JobFailed)
	if st.GetError() == "" {
		t.Fatalf("failed without a reason: %v", st)
	}
	if _, err := os.Stat(filepath.Join(f.cfg.ResultsDir, id)); !os.IsNotExist(err) {
		t.Fatalf("a failed job left its directory: %v", err)
	}
	next := f.start(smaRequest())
	f.waitState(next, messages.JobFailed)
}
