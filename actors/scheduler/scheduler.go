package scheduler

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Kind names the scheduler in the supervision tree.
const Kind = "scheduler"

// ErrInvalidConfig is the panic reason of a scheduler spawned with a config
// that does not validate (validate before spawning).
var ErrInvalidConfig = errors.New("invalid scheduler config")

// Event topics the scheduler publishes.
const (
	TopicJobStarted   = "scheduler.job.started"
	TopicJobFinished  = "scheduler.job.finished"
	TopicJobFailed    = "scheduler.job.failed"
	TopicWindowOpened = "scheduler.window.opened"
	TopicWindowClosed = "scheduler.window.closed"
)

// Run and window states as reported.
const (
	statusRunning = "running"
	statusOK      = "ok"
	statusFailed  = "failed"
	stateOpen     = "open"
	stateClosed   = "closed"
	stateDisabled = "disabled"
)

const (
	// misfireGrace is how late a scheduled run may start. A run later than
	// that (the machine slept, the clock jumped) is skipped and counted:
	// missed runs are not replayed.
	misfireGrace = time.Minute
	// fireBatch is how many runs one message starts before the scheduler
	// lets its mailbox answer requests.
	fireBatch = 64
	// maxResult bounds the response JSON kept with a run.
	maxResult = 1024
)

// Deps are the scheduler's collaborators.
type Deps struct {
	// Bus receives the scheduler's events; nil publishes nothing.
	Bus *actor.PID
	// Router carries every action: the same method table as the JSON-RPC edge.
	Router *rpc.Router
	// Clock is the time source; nil means RealClock.
	Clock Clock
	// Logger is the scheduler's log; nil means slog.Default().
	Logger *slog.Logger
}

// Props returns the scheduler's props. cfg must have passed Validate (a bad
// config panics in Started with ErrInvalidConfig). A restarted scheduler
// starts from the last config it applied, reloads included.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Clock == nil {
		deps.Clock = RealClock{}
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	h := &configHolder{cfg: cfg}
	return actor.PropsFromProducer(func() actor.Actor {
		return &schedulerActor{deps: deps, log: deps.Logger, holder: h}
	})
}

// configHolder keeps the applied config across restarts; the producer reads
// it on the supervisor's goroutine.
type configHolder struct {
	mu  sync.Mutex
	cfg Config
}

func (h *configHolder) load() Config {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.cfg
}

func (h *configHolder) store(c Config) {
	h.mu.Lock()
	h.cfg = c
	h.mu.Unlock()
}

type schedulerActor struct {
	deps   Deps
	log    *slog.Logger
	holder *configHolder
	c      *compiled

	root *actor.RootContext
	self *actor.PID

	jobs   map[string]*job
	names  []string // sorted
	queue  jobQueue // enabled, unpaused jobs by next run
	runSeq uint64
	win    winState

	stopTimer func() bool
	timerAt   time.Time
	wakeGen   uint64

	parent   *actor.PID                     // told about the window for daemon.status
	reported *messages.WindowStatusResponse // what parent was told last
}

// job is one job's live state.
type job struct {
	spec     *jobSpec
	paused   bool
	next     time.Time
	idx      int // in queue, -1 when not queued
	running  int
	runs     uint64
	failures uint64
	skipped  uint64
	history  []*messages.JobRun // oldest first
}

func (a *schedulerActor) Receive(ctx actor.Context) {
	defer a.reportWindow()
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release()
	case *actor.Stopped:
	case wake:
		a.onWake(ctx, msg)
	case fireMore:
		a.tick(ctx)
	case *Reload:
		a.onReload(ctx, msg)
	case *messages.SchedulerJobsRequest:
		ctx.Respond(a.listJobs(msg))
	case *messages.SchedulerRunRequest:
		ctx.Respond(a.runNow(ctx, msg))
	case *messages.SchedulerPauseRequest:
		ctx.Respond(a.pause(ctx, msg))
	case *messages.SchedulerResumeRequest:
		ctx.Respond(a.resume(ctx, msg))
	case *messages.WindowStatusRequest:
		ctx.Respond(a.windowStatus())
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *schedulerActor) onStarted(ctx actor.Context) {
	a.root, a.self, a.parent = ctx.ActorSystem().Root, ctx.Self(), ctx.Parent()
	c, err := compile(a.holder.load())
	if err != nil {
		panic(fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	a.c = c
	a.jobs = map[string]*job{}
	now := a.deps.Clock.Now()
	for name, js := range c.jobs {
		j := &job{spec: js, idx: -1}
		a.jobs[name] = j
		a.schedule(j, now)
	}
	a.sortNames()
	// Catch-up: the window's state is applied at once; missed jobs are not.
	a.evalWindow(ctx, now, true)
	a.arm(now)
	a.log.Info("scheduler started", "zone", c.zone, "jobs", len(a.jobs), "window", a.windowText())
}

func (a *schedulerActor) release() {
	if a.stopTimer != nil {
		a.stopTimer()
		a.stopTimer = nil
	}
	a.timerAt = time.Time{}
}

func (a *schedulerActor) onWake(ctx actor.Context, w wake) {
	if w.gen != a.wakeGen {
		return
	}
	a.stopTimer, a.timerAt = nil, time.Time{}
	a.tick(ctx)
}

// tick applies the window, starts due jobs (at most fireBatch, then it
// yields the mailbox with a fireMore to itself) and sets the next wake-up.
func (a *schedulerActor) tick(ctx actor.Context) {
	now := a.deps.Clock.Now()
	a.evalWindow(ctx, now, false)
	if more := a.fireDue(ctx, now); more {
		ctx.Send(ctx.Self(), fireMore{})
		return
	}
	a.arm(now)
}

func (a *schedulerActor) onReload(ctx actor.Context, msg *Reload) {
	res := a.reload(ctx, msg.Config)
	if ctx.Sender() != nil {
		ctx.Respond(res)
	}
}

func (a *schedulerActor) reload(ctx actor.Context, cfg Config) *ReloadResult {
	c, err := compile(cfg)
	if err != nil {
		a.log.Warn("scheduler reload rejected, keeping the running config", "error", err)
		return &ReloadResult{Err: err}
	}
	now := a.deps.Clock.Now()
	old := a.c
	a.c = c
	a.holder.store(cfg)
	res := &ReloadResult{}
	for _, name := range a.names {
		if _, ok := c.jobs[name]; !ok {
			j := a.jobs[name]
			a.unqueue(j)
			delete(a.jobs, name)
			res.Removed = append(res.Removed, name)
		}
	}
	for name, js := range c.jobs {
		j, ok := a.jobs[name]
		switch {
		case !ok:
			j = &job{spec: js, idx: -1}
			a.jobs[name] = j
			a.schedule(j, now)
			res.Added = append(res.Added, name)
		case !reflect.DeepEqual(j.spec.cfg, js.cfg) || j.spec.zone != js.zone:
			j.spec = js
			a.unqueue(j)
			a.schedule(j, now)
			res.Changed = append(res.Changed, name)
		default:
			j.spec = js // same schedule; keep the next run
		}
		if over := len(j.history) - cfg.History; over > 0 {
			j.history = slices.Delete(j.history, 0, over)
		}
	}
	a.sortNames()
	slices.Sort(res.Added)
	slices.Sort(res.Changed)
	if !sameWindow(old, c) {
		res.WindowChanged = true
		a.win = winState{}
		a.evalWindow(ctx, now, true)
	}
	a.arm(now)
	a.log.Info("scheduler reloaded", "added", res.Added, "changed", res.Changed, "removed", res.Removed, "window_changed", res.WindowChanged)
	return res
}

func (a *schedulerActor) listJobs(req *messages.SchedulerJobsRequest) *messages.SchedulerJobsResponse {
	if req.GetName() != "" {
		j, errRes := a.lookup(req.GetName())
		if errRes != nil {
			return &messages.SchedulerJobsResponse{Error: errRes}
		}
		return &messages.SchedulerJobsResponse{Jobs: []*messages.SchedulerJob{a.jobInfo(j, true)}}
	}
	out := &messages.SchedulerJobsResponse{Jobs: make([]*messages.SchedulerJob, 0, len(a.names))}
	for _, name := range a.names {
		out.Jobs = append(out.Jobs, a.jobInfo(a.jobs[name], false))
	}
	return out
}

func (a *schedulerActor) runNow(ctx actor.Context, req *messages.SchedulerRunRequest) *messages.SchedulerRunResponse {
	j, errRes := a.lookup(req.GetName())
	if errRes != nil {
		return &messages.SchedulerRunResponse{Name: req.GetName(), Error: errRes}
	}
	now := a.deps.Clock.Now()
	run, errRes := a.start(ctx, j, "manual", now, now)
	if errRes != nil {
		return &messages.SchedulerRunResponse{Name: j.spec.name, Error: errRes}
	}
	return &messages.SchedulerRunResponse{Name: j.spec.name, RunId: run.GetId()}
}

func (a *schedulerActor) pause(_ actor.Context, req *messages.SchedulerPauseRequest) *messages.SchedulerPauseResponse {
	j, errRes := a.lookup(req.GetName())
	if errRes != nil {
		return &messages.SchedulerPauseResponse{Error: errRes}
	}
	if !j.paused {
		j.paused = true
		a.unqueue(j)
		a.log.Info("job paused", "job", j.spec.name)
		a.arm(a.deps.Clock.Now())
	}
	return &messages.SchedulerPauseResponse{Job: a.jobInfo(j, false)}
}

func (a *schedulerActor) resume(_ actor.Context, req *messages.SchedulerResumeRequest) *messages.SchedulerResumeResponse {
	j, errRes := a.lookup(req.GetName())
	if errRes != nil {
		return &messages.SchedulerResumeResponse{Error: errRes}
	}
	if j.paused {
		now := a.deps.Clock.Now()
		j.paused = false
		a.schedule(j, now)
		a.log.Info("job resumed", "job", j.spec.name, "next_run", j.next)
		a.arm(now)
	}
	return &messages.SchedulerResumeResponse{Job: a.jobInfo(j, false)}
}

// publish sends an event to the bus. The payload is packed (copied) at once,
// so the scheduler may go on changing it.
func (a *schedulerActor) publish(ctx actor.Context, topic string, payload proto.Message) {
	if a.deps.Bus != nil {
		ctx.Send(a.deps.Bus, messages.NewEvent(topic, Kind, payload))
	}
}

func (a *schedulerActor) lookup(name string) (*job, *messages.Error) {
	if j, ok := a.jobs[name]; ok {
		return j, nil
	}
	if len(a.names) == 0 {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown job %q: no jobs are configured", name)
	}
	e := messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown job %q; known jobs: %s", name, strings.Join(a.names, ", "))
	e.Details = slices.Clone(a.names)
	return nil, e
}

func (a *schedulerActor) jobInfo(j *job, withHistory bool) *messages.SchedulerJob {
	info := &messages.SchedulerJob{
		Name:     j.spec.name,
		Spec:     j.spec.spec,
		Zone:     j.spec.zone,
		Enabled:  j.spec.cfg.IsEnabled(),
		Paused:   j.paused,
		Action:   j.spec.cfg.Action,
		Running:  uint32(j.running),
		Runs:     j.runs,
		Failures: j.failures,
		Skipped:  j.skipped,
	}
	if !j.next.IsZero() {
		info.NextRun = timestamppb.New(j.next)
		info.NextRunLocal = j.next.In(j.spec.loc).Format(time.RFC3339)
	}
	if n := len(j.history); n > 0 {
		last := j.history[n-1]
		info.LastRun = last // runs are immutable once stored
		info.LastResult = last.Status
		if last.Status == statusFailed {
			info.LastResult = "failed: " + last.GetError().GetMessage()
		}
	}
	if withHistory {
		info.History = slices.Clone(j.history)
	}
	return info
}

func (a *schedulerActor) sortNames() {
	a.names = a.names[:0]
	for name := range a.jobs {
		a.names = append(a.names, name)
	}
	slices.Sort(a.names)
}
