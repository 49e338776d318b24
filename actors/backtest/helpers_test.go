package backtest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/backtest/report"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// wait bounds every wait of these tests (generous: two loaded cores).
const wait = 20 * time.Second

// fixture is a backtest actor in a fresh actor system, on temporary
// directories.
type fixture struct {
	t   *testing.T
	sys *actor.ActorSystem
	pid *actor.PID
	cfg Config
	bus *actortest.Probe
}

func newFixture(t *testing.T, cfg Config, run RunFunc) *fixture {
	t.Helper()
	dir := t.TempDir()
	if cfg.ResultsDir == "" {
		cfg.ResultsDir = filepath.Join(dir, "backtests")
	}
	if cfg.DataDir == "" {
		cfg.DataDir = filepath.Join(dir, "data")
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, sys: actortest.NewSystem(t), cfg: cfg}
	f.bus = actortest.NewProbe(t, f.sys)
	f.pid = actortest.Spawn(t, f.sys, Props(cfg, Deps{Bus: f.bus.PID, Logger: actortest.Logger(t), Run: run}))
	return f
}

// restart stops the actor and spawns a new one on the same directories.
func (f *fixture) restart(run RunFunc) {
	f.t.Helper()
	if err := f.sys.Root.StopFuture(f.pid).Wait(); err != nil {
		f.t.Fatal(err)
	}
	f.pid = actortest.Spawn(f.t, f.sys, Props(f.cfg, Deps{Bus: f.bus.PID, Logger: actortest.Logger(f.t), Run: run}))
}

func (f *fixture) run(req *messages.BacktestRunRequest) *messages.BacktestRunResponse {
	f.t.Helper()
	return actortest.Request[*messages.BacktestRunResponse](f.t, f.sys, f.pid, req)
}

// start runs req and fails the test unless it was accepted.
func (f *fixture) start(req *messages.BacktestRunRequest) string {
	f.t.Helper()
	res := f.run(req)
	if res.GetError() != nil {
		f.t.Fatalf("backtest.run: %v", res.GetError())
	}
	return res.GetJob().GetId()
}

func (f *fixture) status(id string) *messages.BacktestJob {
	f.t.Helper()
	res := actortest.Request[*messages.BacktestStatusResponse](f.t, f.sys, f.pid, &messages.BacktestStatusRequest{Id: id})
	if res.GetError() != nil {
		f.t.Fatalf("backtest.status %s: %v", id, res.GetError())
	}
	return res.GetJob()
}

// waitState waits until job id is in state.
func (f *fixture) waitState(id, state string) *messages.BacktestJob {
	f.t.Helper()
	var last *messages.BacktestJob
	actortest.Eventually(f.t, wait, func() bool {
		last = f.status(id)
		return last.GetState() == state
	}, "job %s in state %s (last: %v)", id, state, last)
	return last
}

func (f *fixture) list() []*messages.BacktestJob {
	f.t.Helper()
	return actortest.Request[*messages.BacktestListResponse](f.t, f.sys, f.pid, &messages.BacktestListRequest{}).GetJobs()
}

// smaRequest is a valid single backtest of sma_cross on BTCUSDT.
func smaRequest() *messages.BacktestRunRequest {
	params, _ := structpb.NewStruct(map[string]any{"fast": 5, "slow": 20})
	return &messages.BacktestRunRequest{Strategy: "sma_cross", Params: params, Symbols: []string{"BTCUSDT"}, Interval: "1m",
		FromMs: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli(), ToMs: time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC).UnixMilli()}
}

// sweepRequest sweeps fast over n values.
func sweepRequest(n int) *messages.BacktestRunRequest {
	req := smaRequest()
	p := &messages.BacktestSweepParam{Name: "fast"}
	for i := range n {
		p.Values = append(p.Values, float64(2+i))
	}
	req.Sweep = &messages.BacktestSweep{Params: []*messages.BacktestSweepParam{p}}
	return req
}

// gate is a RunFunc that holds each job until released (or canceled) and
// records how many cpu workers the running jobs hold at once.
type gate struct {
	mu       sync.Mutex
	active   int // workers held by jobs inside the RunFunc
	peak     int
	running  int // jobs inside the RunFunc
	returned int // jobs that have returned
	release  chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) run(ctx context.Context, _ Spec, workers int, out Outputs, progress Progress) (*Outcome, error) {
	g.mu.Lock()
	g.active += workers
	g.running++
	g.peak = max(g.peak, g.active)
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		g.active -= workers
		g.running--
		g.returned++
		g.mu.Unlock()
	}()
	progress(1, 4)
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-g.release:
	}
	progress(4, 4)
	if err := os.WriteFile(out.HTML, []byte("<html></html>"), 0o600); err != nil {
		return nil, err
	}
	return &Outcome{Summary: "summary\n", Metrics: report.Metrics{Trades: 3, TotalReturn: 0.25},
		Files: []File{{Kind: "html", Path: out.HTML, Bytes: 13}}}, nil
}

// releaseOne lets one held job finish.
func (g *gate) releaseOne(t *testing.T) {
	t.Helper()
	select {
	case g.release <- struct{}{}:
	case <-time.After(wait):
		t.Fatal("no job took the release")
	}
}

func (g *gate) snapshot() (active, peak, running, returned int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.active, g.peak, g.running, g.returned
}
