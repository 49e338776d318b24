// Package backtest is the backtest actor: backtests and parameter sweeps as
// daemon jobs (backtest.run, backtest.list, backtest.status,
// backtest.result, backtest.cancel), bounded so that trading is never
// starved.
//
// The actor only books: every job runs on a goroutine of its own that
// loads the bars from the local candle store, drives the engine (engine.Run
// or engine.Sweep) and writes the report files, and reports back by
// message (progress, then the outcome). Two pools bound the work, both
// from [daemon.resource_allocation.thread_pools]:
//
//   - cpu (Config.CPUWorkers): the goroutines running the engine, across
//     all jobs. A single backtest holds one worker; a sweep holds as many
//     as are free when it starts (at least one, at most its points) and
//     engine.Sweep runs on that many goroutines. A job starts only when a
//     worker is free, so the engine never runs on more goroutines than
//     this.
//   - default (Config.MaxJobs): the jobs in flight at once (each one
//     goroutine that loads bars and writes reports besides the engine's).
//
// The rest wait in a FIFO queue of at most Config.MaxQueue jobs; beyond
// that backtest.run is refused (UNAVAILABLE). Progress goes to the bus as
// backtest.JOB.progress (payload messages.BacktestJob), at most every
// percent. A job's report files (report.html, report.json, trades.csv,
// equity.png) and its result (result.json) go to Config.ResultsDir/JOB/;
// the most recent Config.History finished jobs are kept (in memory and on
// disk, older ones are deleted) and read back when the actor starts.
package backtest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/messages"
)

// Kind names the actor in the supervision tree and on the bus.
const Kind = "backtest"

// Errors of the backtest actor.
var (
	// ErrQueueFull: Config.MaxQueue jobs are waiting already.
	ErrQueueFull = errors.New("backtest queue is full")
	// ErrNoSuchJob: the id is neither running, queued nor kept.
	ErrNoSuchJob = errors.New("no such backtest job")
)

// Config is the actor's configuration; the daemon fills it from
// [daemon.resource_allocation.thread_pools] and its directories.
type Config struct {
	// CPUWorkers bounds the goroutines running the engine across all jobs
	// (thread_pools.cpu.max_workers, at most runtime.NumCPU() in the
	// daemon). Default 4.
	CPUWorkers int
	// MaxJobs bounds the jobs in flight (thread_pools.default.max_workers).
	// Default 10.
	MaxJobs int
	// MaxQueue is the most jobs waiting; beyond it backtest.run is refused.
	// Default 32.
	MaxQueue int
	// History is how many finished jobs are kept (in memory and their
	// result directories). Default 50.
	History int
	// ResultsDir holds one directory per finished job (created 0700).
	ResultsDir string
	// DataDir is the local candle store.
	DataDir string
}

// DefaultConfig returns the defaults; the directories are the daemon's to
// set.
func DefaultConfig() Config {
	return Config{CPUWorkers: 4, MaxJobs: 10, MaxQueue: 32, History: 50}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	check := func(name string, v, lo, hi int) {
		if v < lo || v > hi {
			errs = append(errs, fmt.Errorf("%s: must be in [%d, %d], got %d", name, lo, hi, v))
		}
	}
	check("cpu_workers", c.CPUWorkers, 1, 1024)
	check("max_jobs", c.MaxJobs, 1, 1024)
	check("max_queue", c.MaxQueue, 0, 10000)
	check("history", c.History, 1, 10000)
	if c.ResultsDir == "" {
		errs = append(errs, errors.New("results_dir: must not be empty"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir: must not be empty"))
	}
	return errors.Join(errs...)
}

// RunFunc runs one job: what Execute does with the store in
// Config.DataDir. It runs on the job's goroutine.
type RunFunc func(ctx context.Context, s Spec, workers int, out Outputs, progress Progress) (*Outcome, error)

// Deps are the actor's collaborators.
type Deps struct {
	// Bus receives backtest.JOB.progress; nil: none published.
	Bus    *actor.PID
	Logger *slog.Logger
	// Run replaces Execute (tests that hold jobs running); nil: Execute.
	Run RunFunc
}

// Props returns the actor's props. Validate cfg first.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Run == nil {
		dir := cfg.DataDir
		deps.Run = func(ctx context.Context, s Spec, workers int, out Outputs, progress Progress) (*Outcome, error) {
			st, err := store.Open(dir)
			if err != nil {
				return nil, fmt.Errorf("open the candle store %s: %w", dir, err)
			}
			return Execute(ctx, st, s, workers, out, progress)
		}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &backtestActor{cfg: cfg, deps: deps, log: deps.Logger, jobs: map[string]*job{}, freeCPU: cfg.CPUWorkers}
	})
}

// backtestActor books the jobs; the work runs on their goroutines.
type backtestActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	root *actor.RootContext
	self *actor.PID

	jobs     map[string]*job
	queue    []*job // waiting, oldest first
	finished []*job // kept, oldest first
	freeCPU  int    // cpu workers not held by a running job
	inFlight int    // jobs running (holding workers)
	seq      int
}

// Receive handles the actor's messages.
func (a *backtestActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *messages.BacktestRunRequest:
		ctx.Respond(a.run(msg))
	case *messages.BacktestListRequest:
		ctx.Respond(a.list())
	case *messages.BacktestStatusRequest:
		ctx.Respond(a.status(msg))
	case *messages.BacktestResultRequest:
		ctx.Respond(a.result(msg))
	case *messages.BacktestCancelRequest:
		ctx.Respond(a.cancel(msg))
	case *jobProgress:
		a.onProgress(msg)
	case *jobFinished:
		a.onFinished(msg)
	case *historyLoaded:
		a.onHistory(msg)
	case *actor.Stopped, *actor.ReceiveTimeout:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *backtestActor) onStarted(ctx actor.Context) {
	a.root, a.self = ctx.ActorSystem().Root, ctx.Self()
	a.loadHistory()
}

// release cancels every running job: their goroutines end on their own
// (the engine stops at the context's cancellation) and their reports to
// this instance are dropped.
func (a *backtestActor) release() {
	for _, j := range a.jobs {
		if j.cancel != nil {
			j.cancel()
		}
	}
	a.queue = nil
}

// now is the actor's clock.
func now() time.Time { return time.Now() }
