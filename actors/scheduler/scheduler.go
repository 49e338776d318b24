package scheduler

import (
	"container/heap"
	"encoding/json"
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
	"google.golang.org/protobuf/types/known/anypb"
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

// winState is the trading window as last applied.
type winState struct {
	known      bool
	open       bool
	since      time.Time
	st         windowState
	lastAction string
	lastErr    string
	seq        uint64
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

func sameWindow(a, b *compiled) bool {
	if (a.window == nil) != (b.window == nil) {
		return false
	}
	if a.window == nil {
		return true
	}
	return a.zone == b.zone && a.module == b.module &&
		a.window.start == b.window.start && a.window.stop == b.window.stop && a.window.days == b.window.days
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

// reportWindow tells the parent (the root supervisor) the trading window's
// status when it changed: daemon.status shows it without asking.
func (a *schedulerActor) reportWindow() {
	if a.parent == nil || a.c == nil {
		return
	}
	w := a.windowStatus()
	if a.reported != nil && proto.Equal(w, a.reported) {
		return
	}
	packed, err := anypb.New(w)
	if err != nil {
		return
	}
	a.reported = w
	a.root.Send(a.parent, &messages.StatusReport{From: a.self, Detail: packed})
}

func (a *schedulerActor) windowStatus() *messages.WindowStatusResponse {
	cfg := a.c.cfg
	res := &messages.WindowStatusResponse{
		Enabled: a.c.window != nil,
		State:   stateDisabled,
		Module:  cfg.TradingModule,
		Zone:    a.c.zone,
		Start:   cfg.TradingStart,
		Stop:    cfg.TradingStop,
	}
	for _, d := range cfg.TradingDays {
		res.Days = append(res.Days, int32(d))
	}
	if a.c.window == nil {
		return res
	}
	res.State = stateClosed
	if a.win.open {
		res.State = stateOpen
	}
	if t := a.win.st.nextOpen; !t.IsZero() {
		res.NextOpen, res.NextOpenLocal = timestamppb.New(t), t.In(a.c.loc).Format(time.RFC3339)
	}
	if t := a.win.st.nextClose; !t.IsZero() {
		res.NextClose, res.NextCloseLocal = timestamppb.New(t), t.In(a.c.loc).Format(time.RFC3339)
	}
	res.LastAction, res.LastActionError = a.win.lastAction, a.win.lastErr
	if !a.win.since.IsZero() {
		res.Since = timestamppb.New(a.win.since)
	}
	return res
}

// evalWindow applies the window's state at now: on a change (or when catchUp,
// at start-up and on a window reload) it starts or stops the module and
// publishes scheduler.window.opened|closed.
func (a *schedulerActor) evalWindow(ctx actor.Context, now time.Time, catchUp bool) {
	if a.c.window == nil {
		a.win = winState{}
		return
	}
	st := a.c.window.at(now)
	a.win.st = st
	if a.win.known && a.win.open == st.open && !catchUp {
		return
	}
	a.win.known, a.win.open, a.win.since = true, st.open, now
	method, topic, state := methodStop, TopicWindowClosed, stateClosed
	if st.open {
		method, topic, state = methodStart, TopicWindowOpened, stateOpen
	}
	a.publish(ctx, topic, &messages.WindowChanged{
		State: state, Module: a.c.module, Zone: a.c.zone, At: timestamppb.New(now), CatchUp: catchUp,
	})
	a.log.Info("trading window changed", "state", state, "module", a.c.module, "catch_up", catchUp, "next_open", st.nextOpen, "next_close", st.nextClose)
	a.win.seq++
	seq := a.win.seq
	a.win.lastAction, a.win.lastErr = method, ""
	params, _ := json.Marshal(map[string]string{"module": a.c.module})
	done := func(_ proto.Message, err error) {
		if seq != a.win.seq || err == nil {
			return
		}
		if e := clientError(err); method == methodStart && e.GetCode() == messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS {
			a.log.Info("trading module already running", "module", a.c.module)
			return
		}
		a.win.lastErr = clientError(err).GetMessage()
		a.log.Warn("trading window action failed", "method", method, "module", a.c.module, "error", err)
	}
	p, err := a.call(ctx, method, params, 0)
	switch {
	case err != nil:
		done(nil, err)
	case p.Future == nil:
		done(p.Result())
	default:
		ctx.ReenterAfter(p.Future, func(res any, err error) { done(rpc.Reply(res, err)) })
	}
}

// fireDue starts the queued jobs whose run is due at now, at most
// fireBatch of them; it reports whether more are due.
func (a *schedulerActor) fireDue(ctx actor.Context, now time.Time) bool {
	for n := 0; len(a.queue) > 0 && !a.queue[0].next.After(now); n++ {
		if n == fireBatch {
			return true
		}
		j := a.queue[0]
		due := j.next
		if late := now.Sub(due); late > misfireGrace {
			j.skipped++
			a.log.Warn("job run missed, not replayed", "job", j.spec.name, "due", due, "late", late)
		} else {
			_, _ = a.start(ctx, j, "schedule", due, now)
		}
		j.next = j.spec.sched.next(now)
		if j.next.IsZero() {
			heap.Remove(&a.queue, j.idx)
			continue
		}
		heap.Fix(&a.queue, j.idx)
	}
	return false
}

// start begins a run of j. A scheduled run that would overlap a running one
// under overlap = "skip" is skipped; a manual one is refused.
func (a *schedulerActor) start(ctx actor.Context, j *job, trigger string, due, now time.Time) (*messages.JobRun, *messages.Error) {
	if j.running > 0 && j.spec.cfg.Overlap != OverlapAllow {
		if trigger == "manual" {
			return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "job %q is still running", j.spec.name)
		}
		j.skipped++
		a.log.Info("job run skipped: previous run still going", "job", j.spec.name, "due", due)
		return nil, nil
	}
	a.runSeq++
	run := &messages.JobRun{
		Job:         j.spec.name,
		Id:          a.runSeq,
		Trigger:     trigger,
		Action:      j.spec.cfg.Action,
		Status:      statusRunning,
		ScheduledAt: timestamppb.New(due),
		StartedAt:   timestamppb.New(now),
	}
	j.running++
	j.runs++
	j.history = append(j.history, run)
	if over := len(j.history) - a.c.cfg.History; over > 0 {
		j.history = slices.Delete(j.history, 0, over)
	}
	a.publish(ctx, TopicJobStarted, run)
	a.log.Debug("job started", "job", j.spec.name, "run", run.Id, "action", run.Action, "trigger", trigger)
	p, err := a.call(ctx, j.spec.cfg.Action, j.spec.params, j.spec.cfg.Timeout)
	switch {
	case err != nil:
		a.finish(ctx, j, run, nil, err)
	case p.Future == nil:
		res, err := p.Result()
		a.finish(ctx, j, run, res, err)
	default:
		ctx.ReenterAfter(p.Future, func(res any, err error) {
			m, err := rpc.Reply(res, err)
			a.finish(ctx, j, run, m, err)
		})
	}
	return run, nil
}

// finish records the end of a run and publishes it. JobRun values are never
// changed once stored (responses share them): the finished run replaces the
// running one.
func (a *schedulerActor) finish(ctx actor.Context, j *job, run *messages.JobRun, res proto.Message, err error) {
	now := a.deps.Clock.Now()
	fin := &messages.JobRun{
		Job: run.Job, Id: run.Id, Trigger: run.Trigger, Action: run.Action,
		ScheduledAt: run.ScheduledAt, StartedAt: run.StartedAt, FinishedAt: timestamppb.New(now),
		DurationMs: float64(now.Sub(run.StartedAt.AsTime())) / float64(time.Millisecond),
	}
	if i := slices.Index(j.history, run); i >= 0 {
		j.history[i] = fin
	}
	j.running--
	topic := TopicJobFinished
	if err != nil {
		fin.Status, fin.Error = statusFailed, clientError(err)
		j.failures++
		topic = TopicJobFailed
		a.log.Warn("job failed", "job", j.spec.name, "run", fin.Id, "action", fin.Action, "error", err)
	} else {
		fin.Status = statusOK
		if res != nil {
			if b, err := messages.AppendJSON(nil, res); err == nil {
				if len(b) > maxResult {
					b = b[:maxResult]
				}
				fin.Result = string(b)
			}
		}
		a.log.Info("job finished", "job", j.spec.name, "run", fin.Id, "action", fin.Action, "duration_ms", fin.DurationMs)
	}
	a.publish(ctx, topic, fin)
}

// call sends method with params through the router, as the JSON-RPC edge
// would; timeout > 0 overrides the method's deadline.
func (a *schedulerActor) call(ctx actor.Context, method string, params json.RawMessage, timeout time.Duration) (*rpc.Pending, error) {
	if a.deps.Router == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the scheduler has no method table")
	}
	rt, ok := a.deps.Router.Lookup(method)
	if !ok {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown method %q", method)
	}
	req, err := rpc.Decode(rt, params)
	if err != nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "%s: %v", method, err)
	}
	if timeout > 0 {
		rt.Timeout = timeout
	}
	return a.deps.Router.Send(ctx, rt, req), nil
}

// publish sends an event to the bus. The payload is packed (copied) at once,
// so the scheduler may go on changing it.
func (a *schedulerActor) publish(ctx actor.Context, topic string, payload proto.Message) {
	if a.deps.Bus != nil {
		ctx.Send(a.deps.Bus, messages.NewEvent(topic, Kind, payload))
	}
}

// schedule queues j at its next run after now (unless disabled or paused).
func (a *schedulerActor) schedule(j *job, now time.Time) {
	j.next = time.Time{}
	if !j.spec.cfg.IsEnabled() || j.paused || j.spec.sched == nil {
		return
	}
	j.next = j.spec.sched.next(now)
	if !j.next.IsZero() {
		heap.Push(&a.queue, j)
	}
}

func (a *schedulerActor) unqueue(j *job) {
	if j.idx >= 0 {
		heap.Remove(&a.queue, j.idx)
	}
	j.next = time.Time{}
}

// arm sets the one wake-up, at the earliest job run or window boundary (the
// clock may wake the scheduler earlier: it then re-reads the time).
func (a *schedulerActor) arm(now time.Time) {
	var at time.Time
	if len(a.queue) > 0 {
		at = a.queue[0].next
	}
	if a.c.window != nil {
		b := a.win.st.nextOpen
		if a.win.open {
			b = a.win.st.nextClose
		}
		if !b.IsZero() && (at.IsZero() || b.Before(at)) {
			at = b
		}
	}
	if a.stopTimer != nil && a.timerAt.Equal(at) {
		return
	}
	a.release()
	if at.IsZero() {
		return // nothing to wait for
	}
	if at.Before(now) {
		at = now
	}
	a.wakeGen++
	gen, root, self := a.wakeGen, a.root, a.self
	a.timerAt = at
	a.stopTimer = a.deps.Clock.WakeAt(at, func() { root.Send(self, wake{gen: gen}) })
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

func (a *schedulerActor) windowText() string {
	if a.c.window == nil {
		return stateDisabled
	}
	return a.c.cfg.TradingStart + "-" + a.c.cfg.TradingStop + daysText(a.c.cfg.TradingDays)
}

// clientError turns an error into the client-safe *messages.Error it carries,
// or an INTERNAL one.
func clientError(err error) *messages.Error {
	var e *messages.Error
	if errors.As(err, &e) {
		return e
	}
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
}

// jobQueue is a min-heap of jobs by next run (then name, for stable order).
type jobQueue []*job

func (q jobQueue) Len() int { return len(q) }
func (q jobQueue) Less(i, k int) bool {
	if !q[i].next.Equal(q[k].next) {
		return q[i].next.Before(q[k].next)
	}
	return q[i].spec.name < q[k].spec.name
}
func (q jobQueue) Swap(i, k int) {
	q[i], q[k] = q[k], q[i]
	q[i].idx, q[k].idx = i, k
}
func (q *jobQueue) Push(x any) {
	j := x.(*job)
	j.idx = len(*q)
	*q = append(*q, j)
}
func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	j.idx = -1
	return j
}
