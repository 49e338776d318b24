package modules

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// restartWindow is RestartWindow; tests shorten it.
var restartWindow = RestartWindow

// record is the supervisor's view of one module. It survives the module
// actor's restarts.
type record struct {
	name     string
	cfg      ModuleConfig // as configured, defaults filled
	eff      ModuleConfig // cfg with the last module.start params over it
	child    *actor.PID   // nil for a disabled module
	sink     *logSink
	state    string
	pid      int
	since    time.Time // of the state
	upSince  time.Time // running since
	restarts uint32
	failures []time.Time
	lastExit *messages.ModuleExit
	lastErr  string
	health   string
	res      *messages.Resources

	inc        uint64 // the module actor's incarnation: bumped at each restart
	want       bool   // someone asked for it to run
	pending    bool   // a start waits for dependencies
	waiters    []*waiter
	backoffGen uint64
	backoff    *time.Timer
}

// supervisor is the modules supervisor actor.
type supervisor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	self  *actor.PID
	root  *actor.RootContext
	sup   actor.Supervisor // this actor's own context
	order []string         // dependency order
	recs  map[string]*record
	byID  map[string]*record // by child PID id

	reporter treeReporter // daemon.status: what the parent was told

	shutting   bool
	stopAll    []*actor.PID
	autostarts map[uint64]*autostartRun
	nextRun    uint64
}

// autostartRun is one StartAutostart in progress.
type autostartRun struct {
	to    *actor.PID
	names []string
	errs  map[string]string
	timer *time.Timer
}

func newSupervisor(cfg Config, deps Deps) *supervisor {
	return &supervisor{cfg: cfg, deps: deps, log: deps.Logger}
}

// Receive is the modules supervisor's behaviour.
func (s *supervisor) Receive(ctx actor.Context) {
	defer s.reportTree()
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // children are stopped next: SIGTERM, stop_timeout, SIGKILL
		s.release()
	case *actor.Stopped:
		s.closeSinks()
	case stateChanged:
		s.onStateChanged(ctx, msg)
	case backoffDone:
		s.onBackoffDone(ctx, msg)
	case *messages.ModuleStartRequest:
		s.onStartRequest(ctx, msg)
	case *messages.ModuleStopRequest:
		s.onStopRequest(ctx, msg)
	case *messages.ModuleRestartRequest:
		s.onRestartRequest(ctx, msg)
	case *messages.ModuleStatusRequest:
		ctx.Respond(s.status(msg))
	case *messages.ModuleListRequest:
		ctx.Respond(s.list())
	case *messages.LogsTailRequest:
		ctx.Respond(s.tail(msg))
	case *messages.TreeRequest:
		ctx.Respond(s.tree())
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case StartAutostart, *StartAutostart:
		s.onAutostart(ctx)
	case autostartExpired:
		s.finishAutostart(ctx, msg.id, true)
	case StopAll, *StopAll:
		s.onStopAll(ctx)
	case *WatchTargetsRequest, WatchTargetsRequest:
		ctx.Respond(s.watchTargets())
	case *RestartModule:
		s.onRestartModule(msg)
	case *ResourcesReport:
		s.onResources(msg)
	case *actor.Terminated:
		s.onTerminated(msg)
	default:
		s.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

// HandleFailure is the supervision strategy for module actors: it runs on
// this actor's goroutine when one crashes, and restarts it at once, after
// its backoff, or (beyond the cap) idle and failed.
func (s *supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	defer s.reportTree()
	rec := s.byID[child.Id]
	if rec == nil {
		sup.RestartChildren(child)
		return
	}
	rec.inc++ // every restart below: reports of the crashed instance are stale
	ce, ok := reason.(*crashError)
	if !ok {
		ce = &crashError{reason: fmt.Sprintf("module actor failed: %v", reason)}
	}
	exit := ce.exit
	if exit == nil {
		exit = &messages.ModuleExit{Code: -1, Reason: ce.reason}
	}
	now := time.Now()
	s.catchUp(rec, ce)
	rec.lastExit, rec.lastErr, rec.pid, rec.health = exit, ce.reason, 0, ""
	s.log.Warn("module crashed", "module", rec.name, "reason", ce.reason, "pid", ce.pid)
	if !rec.want || s.shutting {
		sup.RestartChildren(child)
		s.publish(rec, "crashed", ce.pid, exit, ce.reason)
		s.setState(rec, StateStopped)
		s.settle(nil, rec)
		return
	}
	defer s.settle(nil, rec)
	rec.failures = append(prune(rec.failures, now), now)
	if len(rec.failures) > MaxRestarts {
		sup.RestartChildren(child) // a fresh, idle actor: module.start starts it again
		s.publish(rec, "crashed", ce.pid, exit, ce.reason)
		s.fail(rec, fmt.Sprintf("%d failures within %s, last: %s", len(rec.failures), restartWindow, ce.reason))
		return
	}
	rec.restarts++
	s.publish(rec, "crashed", ce.pid, exit, ce.reason)
	d := backoffDelay(rec.eff.Backoff, len(rec.failures))
	if d <= 0 {
		sup.RestartChildren(child)
		s.sendStart(rec)
		return
	}
	s.setState(rec, StateBackoff)
	rec.backoffGen++
	gen, self, root, name := rec.backoffGen, s.self, s.root, rec.name
	rec.backoff = time.AfterFunc(d, func() { root.Send(self, backoffDone{name: name, gen: gen}) })
}

// catchUp publishes the transitions whose reports the crash overtook (a
// Failure is a system message: it is handled before the user messages
// queued ahead of it), so that every process has its starting and started
// events before crashed. The reports themselves arrive stale and are dropped.
func (s *supervisor) catchUp(rec *record, ce *crashError) {
	if ce.pid != 0 && rec.pid != ce.pid && (ce.reported == StateStarting || ce.reported == StateRunning) {
		s.publish(rec, "starting", ce.pid, nil, "")
		rec.pid = ce.pid
	}
	if ce.reported == StateRunning && rec.state != StateRunning {
		s.publish(rec, "started", ce.pid, nil, "")
	}
}

// backoffDelay is initial doubled for each failure after the first, at
// most max.
func backoffDelay(b Backoff, failures int) time.Duration {
	d := b.Initial
	for i := 1; i < failures && d < b.Max; i++ {
		d *= 2
	}
	if b.Max > 0 && d > b.Max {
		d = b.Max
	}
	return d
}

// prune drops the failures that left the sliding window. It checks every
// entry: a clock may step back a little between CPUs, so the list is not
// always in order. A window <= 0 (tests only) keeps none.
func prune(fs []time.Time, now time.Time) []time.Time {
	var out []time.Time
	for _, f := range fs {
		if restartWindow > 0 && now.Sub(f) < restartWindow {
			out = append(out, f)
		}
	}
	return out
}

func (s *supervisor) onStarted(ctx actor.Context) {
	s.self, s.root, s.sup = ctx.Self(), ctx.ActorSystem().Root, supervisorOf(ctx)
	s.reporter = treeReporter{parent: ctx.Parent()}
	s.recs = map[string]*record{}
	s.byID = map[string]*record{}
	s.autostarts = map[uint64]*autostartRun{}
	s.order = topoOrder(s.cfg.Modules)
	for _, name := range s.order {
		mc := s.cfg.Modules[name].withDefaults()
		rec := &record{name: name, cfg: mc, eff: mc, state: StateStopped, since: time.Now()}
		rec.sink = newLogSink(name, s.deps.LogDir, s.root, s.deps.Bus)
		if !mc.Enabled {
			rec.state = StateDisabled
		} else {
			pid, err := ctx.SpawnNamed(moduleProps(name, s.deps, rec.sink, nil), name)
			if err != nil {
				panic(fmt.Errorf("modules: spawn %s: %w", name, err))
			}
			rec.child = pid
			s.byID[pid.Id] = rec
		}
		s.recs[name] = rec
	}
}

func (s *supervisor) release() {
	for _, rec := range s.recs {
		if rec.backoff != nil {
			rec.backoff.Stop()
		}
	}
	for _, run := range s.autostarts {
		run.timer.Stop()
	}
}

func (s *supervisor) closeSinks() {
	for _, rec := range s.recs {
		rec.sink.close()
	}
}

func (s *supervisor) onStateChanged(ctx actor.Context, msg stateChanged) {
	rec := s.recs[msg.name]
	if rec == nil || msg.inc != rec.inc {
		return // a report sent before a crash that was handled first
	}
	prev := rec.state
	switch msg.state {
	case StateStarting:
		rec.pid = msg.pid
		s.setState(rec, StateStarting)
		if msg.pid != 0 || rec.eff.Type == TypeThread {
			s.publish(rec, "starting", msg.pid, nil, "")
		}
	case StateRunning:
		rec.pid = msg.pid
		rec.upSince = time.Now()
		rec.health = ""
		if healthURL(rec.eff) != "" {
			rec.health = "ok"
		}
		s.setState(rec, StateRunning)
		s.publish(rec, "started", msg.pid, nil, "")
	case StateStopping:
		s.setState(rec, StateStopping)
	case StateStopped:
		if prev != StateStopped {
			rec.lastExit = orKeep(msg.exit, rec.lastExit)
			s.publish(rec, "stopped", msg.pid, msg.exit, msg.reason)
		}
		rec.pid, rec.res = 0, nil
		s.setState(rec, StateStopped)
	case StateExited:
		rec.pid, rec.res = 0, nil
		rec.lastExit = orKeep(msg.exit, rec.lastExit)
		if msg.exit != nil && (msg.exit.Code != 0 || msg.exit.Signal != "") {
			s.fail(rec, msg.reason)
			break
		}
		rec.want = false
		s.setState(rec, StateExited)
		s.publish(rec, "stopped", msg.pid, msg.exit, msg.reason)
	case StateFailed:
		rec.pid = 0
		s.fail(rec, msg.reason)
	}
	s.settle(ctx, rec)
}

func orKeep(x, old *messages.ModuleExit) *messages.ModuleExit {
	if x != nil {
		return x
	}
	return old
}

// fail marks a module failed and raises the alert.
func (s *supervisor) fail(rec *record, reason string) {
	rec.want, rec.pending = false, false
	rec.lastErr = reason
	s.setState(rec, StateFailed)
	s.log.Error("module failed", "module", rec.name, "reason", reason)
	s.publish(rec, "failed", 0, rec.lastExit, reason)
	s.publishTopic("alert.module.failed", s.event(rec, StateFailed, 0, rec.lastExit, reason))
}

func (s *supervisor) onBackoffDone(ctx actor.Context, msg backoffDone) {
	rec := s.recs[msg.name]
	if rec == nil || rec.state != StateBackoff || msg.gen != rec.backoffGen {
		return
	}
	rec.backoff = nil
	s.restartChild(rec)
	s.sendStart(rec)
}

// supervisorOf returns the actor's own context as a Supervisor (protoactor's
// actor context implements it).
func supervisorOf(ctx actor.Context) actor.Supervisor {
	sup, ok := ctx.(actor.Supervisor)
	if !ok {
		panic(fmt.Errorf("modules: context %T is not a supervisor", ctx))
	}
	return sup
}

// sendStart tells the module actor to start with the effective config.
func (s *supervisor) sendStart(rec *record) {
	rec.pending = false
	s.setState(rec, StateStarting)
	s.root.Send(rec.child, startModule{cfg: rec.eff, inc: rec.inc})
}

// restartChild restarts a module actor that is not running; its next
// incarnation reports under a new number.
func (s *supervisor) restartChild(rec *record) {
	rec.inc++
	s.sup.RestartChildren(rec.child)
}

// reply sends a late answer; a request sent without a sender (fire and
// forget) gets none.
func (s *supervisor) reply(to *actor.PID, msg any) {
	if to != nil {
		s.reportTree() // the caller sees the effect in daemon.status
		s.root.Send(to, msg)
	}
}

func (s *supervisor) setState(rec *record, state string) {
	if rec.state != state {
		rec.state = state
		rec.since = time.Now()
	}
}

func (s *supervisor) onTerminated(msg *actor.Terminated) {
	rec := s.byID[msg.Who.Id]
	if rec == nil || s.shutting {
		return
	}
	s.log.Error("module actor stopped unexpectedly", "module", rec.name)
	delete(s.byID, msg.Who.Id)
	rec.child = nil
	s.fail(rec, "module actor stopped")
}

// publish puts module.NAME.what on the bus.
func (s *supervisor) publish(rec *record, what string, pid int, exit *messages.ModuleExit, reason string) {
	s.publishTopic("module."+rec.name+"."+what, s.event(rec, what, pid, exit, reason))
}

func (s *supervisor) publishTopic(topic string, payload proto.Message) {
	if s.deps.Bus != nil {
		s.root.Send(s.deps.Bus, messages.NewEvent(topic, Kind, payload))
	}
}

func (s *supervisor) event(rec *record, state string, pid int, exit *messages.ModuleExit, reason string) *messages.ModuleEvent {
	ev := &messages.ModuleEvent{Module: rec.name, State: state, Pid: int32(pid), Restarts: rec.restarts, Reason: reason, Type: rec.eff.Type}
	if exit != nil {
		ev.ExitCode, ev.Signal = exit.Code, exit.Signal
	}
	return ev
}

// dependents lists the modules that depend on name.
func (s *supervisor) dependents(name string) []string {
	var out []string
	for _, n := range s.order {
		if slices.Contains(s.recs[n].cfg.DependsOn, name) {
			out = append(out, n)
		}
	}
	return out
}
