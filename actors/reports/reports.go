// Package reports is SuperBot's reports actor: it writes the weekly trading
// report (report.weekly, the [daemon.schedule.weekly_report] job) and the
// backtest drift report (report.drift, the [daemon.schedule.daily_backtest]
// job), each as Markdown and as one self-contained HTML file (inline style,
// nothing fetched) in Config.Dir, and publishes report.ready (payload
// messages.ReportReady) with their paths.
//
// The weekly report reads the trading journal (Config.Journal, through its
// own query-only SQLite connection) over the 7 days before its end: orders,
// trades, realised PnL, fees and drawdown per strategy and for the account.
//
// The drift report runs a strategy's backtest (actors/backtest/engine: the
// same strategy code and matcher as paper trading) over the last N days of
// bars, fetched from the connector (market klines, 1000 a page), and
// compares it with the strategy's orders and fills in the journal over the
// same bars: orders, fills, fees per side, PnL, the orders found on one side
// only (matched by side, within one bar interval), and the PnL gap.
//
// Every report runs on its own goroutine and answers by message; the
// mailbox never waits. At most maxRunning reports run at once.
package reports

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/messages"
)

// Kind names the reports actor in the supervision tree.
const Kind = "reports"

// TopicReady is published when a report has been written.
const TopicReady = "report.ready"

// maxRunning bounds the reports running at once.
const maxRunning = 2

// MaxDays bounds a drift report's window.
const MaxDays = 366

// ErrInvalidConfig wraps every problem Validate reports.
var ErrInvalidConfig = errors.New("reports: invalid config")

// Config is the reports actor's configuration, composed by the daemon from
// [trading] (not a TOML table of its own).
type Config struct {
	// Dir is where reports are written (created 0700). The daemon uses
	// "reports" under its working directory.
	Dir string
	// Journal is the trading journal's file, read only.
	Journal string
	// Strategies are the strategies a drift report may name.
	Strategies map[string]Strategy
	// MakerFee, TakerFee and Slippage are the backtest's (the paper
	// matcher's) fees and market-order slippage, fractions.
	MakerFee, TakerFee, Slippage float64
}

// Strategy is what a drift report's backtest runs for one strategy.
type Strategy struct {
	Kind, Symbol, Interval string
	Params                 map[string]any
	// Allocation is the most quote asset it may use.
	Allocation float64
}

// DefaultConfig returns the defaults: reports/ and .superbot/journal.db.
func DefaultConfig() Config {
	return Config{Dir: "reports", Journal: ".superbot/journal.db"}
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir: must be set"))
	}
	if c.Journal == "" {
		errs = append(errs, errors.New("journal: must be set"))
	}
	for _, name := range slices.Sorted(maps.Keys(c.Strategies)) {
		s := c.Strategies[name]
		if s.Kind == "" || s.Symbol == "" || s.Interval == "" {
			errs = append(errs, fmt.Errorf("strategies.%s: kind, symbol and interval must be set", name))
		}
		if _, err := store.IntervalMs(s.Interval); s.Interval != "" && err != nil {
			errs = append(errs, fmt.Errorf("strategies.%s.interval: %w", name, err))
		}
	}
	for _, f := range []float64{c.MakerFee, c.TakerFee, c.Slippage} {
		if f < 0 || f >= 1 {
			errs = append(errs, fmt.Errorf("fees and slippage: must be in [0, 1), got %g", f))
			break
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// Deps are the reports actor's collaborators.
type Deps struct {
	// Bus receives report.ready; nil publishes nothing.
	Bus *actor.PID
	// Connector answers messages.KlinesRequest (the drift report's bars).
	Connector *actor.PID
	// Now is the clock that ends a report's window when the request gives
	// no end; nil means time.Now.
	Now func() time.Time
	// Logger; nil means slog.Default().
	Logger *slog.Logger
}

// Props returns the reports actor's props; cfg must pass Validate.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &reportsActor{cfg: cfg, deps: deps, log: deps.Logger}
	})
}

type reportsActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	root    *actor.RootContext
	self    *actor.PID
	cancel  context.CancelFunc
	ctx     context.Context
	running int
}

// done is a report goroutine's result, sent to the actor.
type done struct {
	sender *actor.PID
	resp   any
	ready  *messages.ReportReady // nil: nothing written
}

// Receive handles the actor's messages.
func (a *reportsActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release()
	case *actor.Stopped:
	case *messages.ReportWeeklyRequest:
		a.onWeekly(ctx, msg)
	case *messages.ReportDriftRequest:
		a.onDrift(ctx, msg)
	case *done:
		a.onDone(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *reportsActor) onStarted(ctx actor.Context) {
	a.root, a.self = ctx.ActorSystem().Root, ctx.Self()
	a.ctx, a.cancel = context.WithCancel(context.Background())
}

// release cancels the running reports without waiting: each stops at its
// next step (a klines page in flight ends within its timeout) and its
// answer goes nowhere.
func (a *reportsActor) release() {
	if a.cancel != nil {
		a.cancel()
	}
}

func (a *reportsActor) onWeekly(ctx actor.Context, m *messages.ReportWeeklyRequest) {
	end := m.GetEndMs()
	if end == 0 {
		end = a.deps.Now().UnixMilli()
	}
	if end < 0 {
		ctx.Respond(&messages.ReportWeeklyResponse{Error: invalid("end_ms: must be >= 0, got %d", end)})
		return
	}
	if !a.start() {
		ctx.Respond(&messages.ReportWeeklyResponse{Error: busy()})
		return
	}
	cfg := a.cfg
	a.spawn(ctx.Sender(), func(c context.Context) *done { return weekly(c, cfg, end) })
}

func (a *reportsActor) onDrift(ctx actor.Context, m *messages.ReportDriftRequest) {
	job, e := a.driftJob(m)
	if e != nil {
		ctx.Respond(&messages.ReportDriftResponse{Strategy: m.GetStrategy(), Error: e})
		return
	}
	if !a.start() {
		ctx.Respond(&messages.ReportDriftResponse{Strategy: m.GetStrategy(), Error: busy()})
		return
	}
	a.spawn(ctx.Sender(), job.run)
}

// start counts a report in; false when maxRunning already run.
func (a *reportsActor) start() bool {
	if a.running >= maxRunning {
		return false
	}
	a.running++
	return true
}

// spawn runs work on a goroutine that sends its result back.
func (a *reportsActor) spawn(sender *actor.PID, work func(context.Context) *done) {
	root, self, c := a.root, a.self, a.ctx
	go func() { // off the actor goroutine
		d := work(c)
		d.sender = sender
		root.Send(self, d)
	}()
}

func (a *reportsActor) onDone(ctx actor.Context, d *done) {
	a.running--
	if d.sender != nil {
		ctx.Send(d.sender, d.resp)
	}
	if d.ready == nil {
		return
	}
	a.log.Info("report written", "kind", d.ready.GetKind(), "paths", d.ready.GetPaths())
	if a.deps.Bus != nil {
		ctx.Send(a.deps.Bus, messages.NewEvent(TopicReady, Kind, d.ready))
	}
}

// weekly writes the weekly report ending at endMs. Off the actor goroutine.
func weekly(ctx context.Context, cfg Config, endMs int64) *done {
	from := endMs - week.Milliseconds()
	fail := func(code messages.ErrorCode, format string, args ...any) *done {
		return &done{resp: &messages.ReportWeeklyResponse{FromMs: from, ToMs: endMs, Error: messages.Errorf(code, format, args...)}}
	}
	j, err := openJournal(cfg.Journal)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "journal cannot be read: %v", err)
	}
	defer j.close()
	resp, curve, err := weeklyStats(ctx, j, from, endMs)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "journal read failed: %v", err)
	}
	md, html, err := weeklyDoc(resp, curve).write(cfg.Dir, "weekly-"+stamp(endMs))
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
	}
	resp.MarkdownPath, resp.HtmlPath = md, html
	return &done{resp: resp, ready: &messages.ReportReady{Kind: "weekly", Paths: []string{md, html}, FromMs: from, ToMs: endMs}}
}

func invalid(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, format, args...)
}

func busy() *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%d reports are running; try again when one ends", maxRunning)
}

// backtest is the engine the drift report runs.
var backtest = engine.Run
