package modules

import (
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/internal/restarts"
	"github.com/superbot/superbot/messages"
)

// record is the supervisor's view of one module.
type record struct {
	name     string
	cfg      ModuleConfig // as configured, defaults filled
	eff      ModuleConfig // cfg with the last module.start params over it
	policy   restarts.Policy
	child    *actor.PID // the module actor
	sink     *logSink
	state    string
	pid      int
	since    time.Time // of the state
	upSince  time.Time // running since
	restarts uint32
	window   restarts.Window
	capped   int // failures that made it failed (shown while failed)
	lastExit *messages.ModuleExit
	lastErr  string
	health   string
	res      *messages.Resources

	seq     uint64 // the last command sent to the module actor
	want    bool   // the last command asks for it to run
	pending bool   // a start waits for dependencies
	restart bool   // a restart is in its stop phase: start again once down
	why     string // why it is not wanted (answers start waiters)
	waiters []*waiter

	backoffGen  uint64
	backoff     Timer
	cooldownGen uint64
	cooldown    Timer
	retiring    bool // removed by ApplyConfig: dropped once down

	// A singleton module (cfg.Singleton, clustered) runs only while this
	// node leads its election; see singleton.go.
	single   bool
	election *actor.PID // its election actor
	leads    bool       // this node leads it
	token    int64      // the term's fencing token while it leads
}

// supervisor is the modules supervisor actor.
type supervisor struct {
	cfg   Config
	deps  Deps
	log   *slog.Logger
	clock Clock

	self  *actor.PID
	root  *actor.RootContext
	order []string // dependency order
	recs  map[string]*record
	byID  map[string]*record // by child PID id
	gone  []*record          // removed by ApplyConfig, stopping

	reporter treeReporter // daemon.status: what the parent was told

	shutting   bool
	stopAll    []*actor.PID
	autostarts map[uint64]*autostartRun
	batches    []*batch
	nextRun    uint64
	running    runningSet
}

// autostartRun is one StartAutostart in progress.
type autostartRun struct {
	to    *actor.PID
	names []string
	errs  map[string]string
	timer *time.Timer
}

func newSupervisor(cfg Config, deps Deps) *supervisor {
	return &supervisor{cfg: cfg, deps: deps, log: deps.Logger, clock: deps.Clock}
}

// Receive is the modules supervisor's behaviour.
func (s *supervisor) Receive(ctx actor.Context) {
	defer s.afterMessage()
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // children are stopped next: SIGTERM, stop_timeout, SIGKILL
		s.release()
	case *actor.Stopped:
		s.closeSinks()
	case stateChanged:
		s.onStateChanged(msg)
	case backoffDone:
		s.onBackoffDone(msg)
	case cooldownDone:
		s.onCooldownDone(msg)
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
		s.finishAutostart(msg.id, true)
	case runningLoaded:
		s.onRunningLoaded(msg)
	case StopAll, *StopAll:
		s.onStopAll(ctx)
	case *ApplyConfig:
		s.onApplyConfig(ctx, msg)
	case *WatchTargetsRequest, WatchTargetsRequest:
		ctx.Respond(s.watchTargets())
	case *RestartModule:
		s.onRestartModule(msg)
	case *ResourcesReport:
		s.onResources(msg)
	case *actor.Terminated:
		s.onTerminated(msg)
	case *election.Elected:
		s.onElected(msg)
	case *election.Deposed:
		s.onDeposed(msg)
	default:
		s.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

// afterMessage runs after every message: it moves what waits on others
// (dependencies, StopAll, batches), answers every waiter whose goal is
// reached or no longer reachable, saves the running set and reports the
// tree.
func (s *supervisor) afterMessage() {
	if s.recs == nil {
		return // not started, or stopped
	}
	s.advance()
	for _, rec := range s.recs {
		s.settle(rec)
	}
	s.checkAutostarts()
	s.checkBatches()
	s.saveRunning()
	s.reportTree()
}

// HandleFailure is the supervision strategy for module actors. A module
// actor reports its process's exits as messages; a panic is a bug in it.
// The actor is restarted and the run counts as a crash. It runs on this
// actor's goroutine.
func (s *supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	defer s.afterMessage()
	sup.RestartChildren(child)
	rec := s.byID[child.Id]
	if rec == nil {
		return
	}
	s.log.Error("module actor failed", "module", rec.name, "reason", fmt.Sprint(reason))
	rec.seq++ // the reports of the failed instance are stale
	why := fmt.Sprintf("module actor failed: %v", reason)
	s.onCrash(rec, rec.pid, &messages.ModuleExit{Code: -1, Reason: why}, why)
}

func (s *supervisor) onStarted(ctx actor.Context) {
	s.self, s.root = ctx.Self(), ctx.ActorSystem().Root
	s.reporter = treeReporter{parent: ctx.Parent()}
	s.recs = map[string]*record{}
	s.byID = map[string]*record{}
	s.autostarts = map[uint64]*autostartRun{}
	s.order = topoOrder(s.cfg.Modules)
	for _, name := range s.order {
		s.recs[name] = s.newRecord(ctx, name, s.cfg.Modules[name].withDefaults())
	}
	s.loadRunning()
}

// newRecord builds the record of a module and spawns its module actor.
func (s *supervisor) newRecord(ctx actor.Context, name string, mc ModuleConfig) *record {
	rec := &record{name: name, cfg: mc, eff: mc, state: StateStopped, since: s.clock.Now(), policy: mc.policy(s.cfg.globalPolicy())}
	rec.sink = newLogSink(name, s.deps.LogDir, s.root, s.deps.Bus)
	if !mc.Enabled {
		rec.state = StateDisabled
	}
	actorName := name
	for i := 1; rec.child == nil; i++ { // a removed module of that name may still be stopping
		pid, err := ctx.SpawnNamed(moduleProps(name, s.deps, rec.sink, nil), actorName)
		switch {
		case err == nil:
			rec.child = pid
		case i > len(s.gone)+1:
			panic(fmt.Errorf("modules: spawn %s: %w", name, err))
		}
		actorName = fmt.Sprintf("%s~%d", name, i)
	}
	s.byID[rec.child.Id] = rec
	s.syncElection(ctx, rec)
	return rec
}

func (s *supervisor) release() {
	for _, rec := range s.all() {
		stopTimer(&rec.backoff)
		stopTimer(&rec.cooldown)
	}
	for _, run := range s.autostarts {
		run.timer.Stop()
	}
}

func stopTimer(t *Timer) {
	if *t != nil {
		(*t).Stop()
		*t = nil
	}
}

func (s *supervisor) closeSinks() {
	for _, rec := range s.all() {
		rec.sink.close()
	}
	s.recs = nil
}

// all lists the records, those being removed included.
func (s *supervisor) all() []*record {
	out := slices.Clone(s.gone)
	for _, rec := range s.recs {
		out = append(out, rec)
	}
	return out
}

func (s *supervisor) onStateChanged(msg stateChanged) {
	rec := s.byName(msg.name)
	if rec == nil || msg.seq != rec.seq {
		return // about a command the supervisor has moved past
	}
	switch msg.state {
	case StateStarting:
		s.onReportedStarting(rec, msg)
	case StateRunning:
		s.onReportedRunning(rec, msg)
	case StateStopping:
		s.setState(rec, StateStopping)
	case StateStopped:
		if !isDown(rec.state) {
			rec.lastExit = orKeep(msg.exit, rec.lastExit)
			s.publish(rec, "stopped", msg.pid, msg.exit, msg.reason)
		}
		rec.pid, rec.res = 0, nil
		s.setState(rec, StateStopped)
		s.afterDown(rec)
	case StateExited:
		s.onReportedExited(rec, msg)
	case StateFailed:
		if !isDown(rec.state) {
			rec.pid = 0
			s.fail(rec, msg.reason, false)
		}
	case stateCrashed:
		s.onCrash(rec, msg.pid, msg.exit, msg.reason)
	}
}

// byName finds a record, a removed one still stopping included.
func (s *supervisor) byName(name string) *record {
	if rec := s.recs[name]; rec != nil {
		return rec
	}
	for _, rec := range s.gone {
		if rec.name == name {
			return rec
		}
	}
	return nil
}

func (s *supervisor) onReportedStarting(rec *record, msg stateChanged) {
	rec.pid = msg.pid
	if msg.pid != 0 || rec.eff.Type == TypeThread {
		s.publish(rec, "starting", msg.pid, nil, "")
	}
	if rec.state != StateStopping {
		s.setState(rec, StateStarting)
	}
}

func (s *supervisor) onReportedRunning(rec *record, msg stateChanged) {
	rec.pid = msg.pid
	rec.upSince = time.Now() // module.status's uptime is on the machine's clock
	rec.health = ""
	if healthURL(rec.eff) != "" {
		rec.health = "ok"
	}
	s.publish(rec, "started", msg.pid, nil, "")
	if rec.state != StateStopping { // a stop is on its way to the actor
		s.setState(rec, StateRunning)
	}
}

func (s *supervisor) onReportedExited(rec *record, msg stateChanged) {
	rec.pid, rec.res = 0, nil
	rec.lastExit = orKeep(msg.exit, rec.lastExit)
	if msg.exit != nil && (msg.exit.Code != 0 || msg.exit.Signal != "") {
		s.fail(rec, msg.reason, false) // restart = never
		return
	}
	s.publish(rec, "stopped", msg.pid, msg.exit, msg.reason)
	if rec.restart || rec.state == StateStopping {
		s.setState(rec, StateStopped)
		s.afterDown(rec)
		return
	}
	s.unwant(rec, "it exited: "+msg.reason)
	s.setState(rec, StateExited)
}

// onCrash handles a run that ended unasked: down if nobody wants it,
// otherwise a restart now, after the backoff, or (beyond the cap) failed.
func (s *supervisor) onCrash(rec *record, pid int, exit *messages.ModuleExit, reason string) {
	rec.lastExit, rec.lastErr, rec.pid, rec.health, rec.res = exit, reason, 0, "", nil
	s.log.Warn("module crashed", "module", rec.name, "reason", reason, "pid", pid)
	if !rec.want || s.shutting || rec.restart || rec.state == StateStopping {
		s.publish(rec, "crashed", pid, exit, reason)
		s.setState(rec, StateStopped)
		s.afterDown(rec)
		return
	}
	now := s.clock.Now()
	if rec.window.Fail(rec.policy, now) {
		s.publish(rec, "crashed", pid, exit, reason)
		rec.capped = rec.policy.Max + 1
		s.fail(rec, fmt.Sprintf("%d failures within %s, last: %s", rec.capped, rec.policy.Within, reason), true)
		return
	}
	rec.restarts++
	s.publish(rec, "crashed", pid, exit, reason)
	d := backoffDelay(rec.eff.Backoff, rec.window.Count(rec.policy, now))
	if d <= 0 {
		s.sendStart(rec)
		return
	}
	rec.backoffGen++
	gen, self, root, name := rec.backoffGen, s.self, s.root, rec.name
	rec.backoff = s.clock.AfterFunc(d, func() { root.Send(self, backoffDone{name: name, gen: gen}) })
	s.setState(rec, StateBackoff) // after the timer: a waiter answered here may move the clock
}

// afterDown runs when a module reached stopped: a restart in its stop
// phase starts it again; a removed module is dropped.
func (s *supervisor) afterDown(rec *record) {
	switch {
	case rec.retiring:
		s.drop(rec)
	case rec.restart:
		rec.restart = false
		rec.pending = true
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

func orKeep(x, old *messages.ModuleExit) *messages.ModuleExit {
	if x != nil {
		return x
	}
	return old
}

// fail marks a module failed and raises the alert. retry (the restart cap)
// tries it again after the policy's cooldown.
func (s *supervisor) fail(rec *record, reason string, retry bool) {
	rec.lastErr = reason
	s.unwant(rec, reason)
	stopTimer(&rec.backoff)
	if retry && rec.policy.Cooldown > 0 && !rec.retiring { // armed before anyone hears of the failure
		rec.cooldownGen++
		gen, self, root, name := rec.cooldownGen, s.self, s.root, rec.name
		rec.cooldown = s.clock.AfterFunc(rec.policy.Cooldown, func() { root.Send(self, cooldownDone{name: name, gen: gen}) })
	}
	s.setState(rec, StateFailed)
	s.log.Error("module failed", "module", rec.name, "reason", reason)
	s.publish(rec, "failed", 0, rec.lastExit, reason)
	s.publishTopic("alert.module.failed", s.event(rec, StateFailed, 0, rec.lastExit, reason))
}

// unwant records that nothing asks for rec to run any more, and why.
func (s *supervisor) unwant(rec *record, why string) {
	rec.want, rec.pending, rec.restart, rec.why = false, false, false, why
}

func (s *supervisor) onBackoffDone(msg backoffDone) {
	rec := s.recs[msg.name]
	if rec == nil || rec.state != StateBackoff || msg.gen != rec.backoffGen {
		return
	}
	rec.backoff = nil
	s.sendStart(rec)
}

// onCooldownDone tries a module failed by the restart cap again.
func (s *supervisor) onCooldownDone(msg cooldownDone) {
	rec := s.recs[msg.name]
	if rec == nil || rec.state != StateFailed || msg.gen != rec.cooldownGen || s.shutting {
		return
	}
	rec.cooldown = nil
	s.log.Info("module cooldown passed, starting it again", "module", rec.name)
	if e := s.requestStart(rec.name); e != nil {
		s.log.Warn("module not started after its cooldown", "module", rec.name, "error", e.Message)
	}
}

// sendStart tells the module actor to start with the effective config.
func (s *supervisor) sendStart(rec *record) {
	if s.awaitsLead(rec) { // started when this node is elected
		rec.pending = true
		if rec.state == StateBackoff {
			s.setState(rec, StateStopped)
		}
		return
	}
	rec.pending = false
	rec.seq++
	s.setState(rec, StateStarting)
	s.root.Send(rec.child, startModule{cfg: s.startConfig(rec), seq: rec.seq})
}

// sendStop tells the module actor to stop.
func (s *supervisor) sendStop(rec *record) {
	rec.seq++
	s.setState(rec, StateStopping)
	s.root.Send(rec.child, stopModule{seq: rec.seq})
}

// reply sends a late answer; a request sent without a sender (fire and
// forget) gets none.
func (s *supervisor) reply(to *actor.PID, msg any) {
	if to != nil {
		s.reportTree() // the caller sees the effect in daemon.status
		s.root.Send(to, msg)
	}
}

// setState is the one way a record changes state; every change settles
// the record's waiters.
func (s *supervisor) setState(rec *record, state string) {
	if rec.state != state {
		rec.state = state
		rec.since = s.clock.Now()
	}
	s.settle(rec)
}

func (s *supervisor) onTerminated(msg *actor.Terminated) {
	rec := s.byID[msg.Who.Id]
	if rec != nil && rec.retiring {
		delete(s.byID, msg.Who.Id)
		rec.sink.close()
		return
	}
	if rec == nil || s.shutting {
		return
	}
	delete(s.byID, msg.Who.Id)
	s.log.Error("module actor stopped unexpectedly", "module", rec.name)
	s.fail(rec, "module actor stopped", false)
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

// recentFailures is module.status's recent_failures: the failures in the
// window, or those that made the module failed.
func (s *supervisor) recentFailures(rec *record) uint32 {
	if rec.state == StateFailed && rec.capped > 0 {
		return uint32(rec.capped)
	}
	return uint32(rec.window.Count(rec.policy, s.clock.Now()))
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
