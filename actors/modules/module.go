package modules

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Module states.
const (
	StateStopped  = "stopped"
	StateStarting = "starting"
	StateRunning  = "running"
	StateStopping = "stopping"
	StateBackoff  = "backoff"
	StateFailed   = "failed"
	StateExited   = "exited"
	StateDisabled = "disabled"
)

// healthInterval is the pause between health checks while a module starts.
const healthInterval = 50 * time.Millisecond

// survivorTimeout bounds the wait for a SIGKILLed survivor to go.
const survivorTimeout = 5 * time.Second

// carry is what the incarnations of one module actor hand on to each other
// (a restart discards the actor instance, not the module).
type carry struct {
	prev            *proc // the last process started, possibly still dying
	survivorChecked bool
}

// launcher starts a process module (launch; tests replace it).
type launcher func(argv, env []string, dir string, sink *logSink, started func(*proc, error), exited func(*proc))

// moduleProps returns the props of the module actor of name. start is nil
// for launch.
func moduleProps(name string, deps Deps, sink *logSink, start launcher) *actor.Props {
	c := &carry{}
	pf := newPIDFile(deps.StateDir, name)
	if start == nil {
		start = launch
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &moduleActor{
			name:   name,
			deps:   deps,
			sink:   sink,
			carry:  c,
			pf:     pf,
			log:    deps.Logger.With("module", name),
			launch: start,
		}
	})
}

// moduleActor owns one module: its process (or thread actor) and its state
// machine. A run that ends unasked is reported to the supervisor as
// stateCrashed (a message, not a panic); the actor then waits for the
// supervisor's next command.
type moduleActor struct {
	name   string
	deps   Deps
	sink   *logSink
	carry  *carry
	pf     *pidFile // shared by the incarnations; used on the file goroutine
	log    *slog.Logger
	launch launcher

	self   *actor.PID
	parent *actor.PID
	root   *actor.RootContext

	cfg       ModuleConfig
	seq       uint64 // the last command's number, from the supervisor
	state     string
	gen       uint64
	proc      *proc
	thread    *actor.PID
	aliveOK   bool
	healthOK  bool
	stopping  bool
	deferred  bool // a start waits for the previous process or a survivor
	survivor  bool // a survivor is being killed
	cancel    context.CancelFunc
	timers    []*time.Timer
	stopTimer *time.Timer
}

// Receive is the module actor's behaviour.
func (a *moduleActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping:
		a.release(true)
	case *actor.Restarting:
		a.release(false)
	case *actor.Stopped:
	case startModule:
		a.onStart(ctx, msg)
	case stopModule:
		a.onStop(ctx, msg)
	case crashModule:
		a.onCrash(msg)
	case procStarted:
		a.onProcStarted(ctx, msg)
	case procExited:
		a.onProcExited(ctx, msg)
	case prevGone:
		a.onPrevGone(ctx, msg)
	case survivorGone:
		a.onSurvivorGone(ctx, msg)
	case startElapsed:
		a.onStartElapsed(ctx, msg)
	case healthDone:
		a.onHealthDone(ctx, msg)
	case stopExpired:
		a.onStopExpired(msg)
	case *actor.Terminated:
		a.onThreadExited(msg)
	case *ThreadFailed:
		a.onThreadFailed(ctx, msg)
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

// HandleFailure ends the run of a failing thread module actor as a crash,
// as a process exit does. It runs on this actor's goroutine.
func (a *moduleActor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	if a.thread == nil || !child.Equal(a.thread) {
		sup.StopChildren(child) // a thread of an earlier run
		return
	}
	a.crash(fmt.Sprintf("thread module failed: %v", reason), nil)
}

func (a *moduleActor) onStarted(ctx actor.Context) {
	a.self, a.parent, a.root = ctx.Self(), ctx.Parent(), ctx.ActorSystem().Root
	a.state = StateStopped
	if a.carry.survivorChecked {
		return
	}
	a.carry.survivorChecked = true
	pid := a.pf.survivor()
	if pid == 0 {
		return
	}
	a.survivor = true
	a.log.Warn("stopping a module process left by an earlier daemon", "pid", pid)
	a.sink.note("stopping pid " + strconv.Itoa(pid) + ", left by an earlier daemon")
	self, root := a.self, a.root
	go func() { // off the actor goroutine: waits for a process that is not our child
		root.Send(self, survivorGone{err: killSurvivor(pid, survivorTimeout)})
	}()
}

func (a *moduleActor) onStart(ctx actor.Context, msg startModule) {
	a.seq = msg.seq
	if a.state == StateStarting || a.state == StateRunning || a.state == StateStopping {
		return
	}
	a.cfg = msg.cfg
	a.stopping = false
	a.report(StateStarting, 0, nil, "")
	if a.survivor {
		a.deferred = true
		return
	}
	if prev := a.carry.prev; prev != nil && prev.alive() {
		a.deferred = true
		gen, self, root := a.gen, a.self, a.root
		go func() { // off the actor goroutine: the last process is being killed
			<-prev.done
			root.Send(self, prevGone{gen: gen})
		}()
		return
	}
	a.start(ctx)
}

// start starts the module (after onStart and any deferral).
func (a *moduleActor) start(ctx actor.Context) {
	a.deferred = false
	a.gen++
	a.aliveOK, a.healthOK = false, false
	gen, self, root := a.gen, a.self, a.root
	if a.cfg.Type == TypeThread {
		a.launchThread(ctx)
		return
	}
	args, err := argv(a.cfg)
	if err != nil {
		a.sink.note("start failed: " + err.Error())
		a.report(StateFailed, 0, nil, err.Error())
		return
	}
	a.sink.note("starting: " + strings.Join(args, " "))
	a.launch(args, environ(a.name, a.cfg, a.deps), a.cfg.Cwd, a.sink,
		func(p *proc, err error) { root.Send(self, procStarted{gen: gen, p: p, err: err}) },
		func(p *proc) { root.Send(self, procExited{gen: gen, p: p}) })
	a.armStart(gen)
}

func (a *moduleActor) launchThread(ctx actor.Context) {
	id := a.cfg.Module
	if id == "" {
		id = a.name
	}
	f, ok := a.deps.Registry.Lookup(id)
	if !ok {
		reason := fmt.Sprintf("no thread module %q (registered: %s)", id, strings.Join(a.deps.Registry.Names(), ", "))
		a.sink.note("start failed: " + reason)
		a.report(StateFailed, 0, nil, reason)
		return
	}
	props := f(ThreadEnv{Name: a.name, Bus: a.deps.Bus, Logger: a.log, Params: threadParams(a.cfg), Node: a.deps.Node,
		Connector: a.deps.Connector, Orders: a.deps.Orders, Strategies: a.deps.Strategies})
	pid, err := ctx.SpawnNamed(props, "thread-"+strconv.FormatUint(a.gen, 10))
	if err != nil {
		a.crash("spawn thread module: "+err.Error(), nil)
		return
	}
	a.thread = pid
	a.sink.note("started thread module " + id)
	a.armStart(a.gen)
	a.checkRunning(ctx)
}

// armStart sets the start_seconds timer and the start health check.
func (a *moduleActor) armStart(gen uint64) {
	self, root := a.self, a.root
	if d := a.cfg.StartPeriod; d > 0 {
		a.timers = append(a.timers, time.AfterFunc(d, func() { root.Send(self, startElapsed{gen: gen}) }))
	} else {
		a.aliveOK = true
	}
	url := healthURL(a.cfg)
	if url == "" {
		a.healthOK = true
		return
	}
	hctx, cancel := context.WithTimeout(context.Background(), a.cfg.StartTimeout)
	a.cancel = cancel
	go func() { // off the actor goroutine: HTTP checks until 200 or start_timeout
		root.Send(self, healthDone{gen: gen, err: waitHealthy(hctx, url, healthInterval)})
	}()
}

func (a *moduleActor) onStop(ctx actor.Context, msg stopModule) {
	a.seq = msg.seq
	a.stopping = true
	switch {
	case a.state != StateStarting && a.state != StateRunning:
		a.report(a.stoppedState(), 0, nil, "")
	case a.thread != nil:
		a.report(StateStopping, 0, nil, "stop requested")
		ctx.Stop(a.thread)
	case a.proc != nil && msg.kill:
		a.stopTimers()
		a.report(StateStopping, a.proc.pid, nil, "killed: this node no longer leads the module's election")
		a.sink.note("deposed: SIGKILL to the process group")
		a.proc.signalGroup(syscall.SIGKILL)
	case a.proc != nil:
		a.beginStop(ctx)
	case a.deferred:
		a.deferred = false
		a.report(StateStopped, 0, nil, "stop requested")
	default: // forking: onProcStarted stops it
	}
}

func (a *moduleActor) stoppedState() string {
	if a.state == StateExited || a.state == StateFailed {
		return a.state
	}
	return StateStopped
}

// beginStop sends SIGTERM to the group and arms the SIGKILL timer.
func (a *moduleActor) beginStop(ctx actor.Context) {
	a.stopTimers()
	a.report(StateStopping, a.proc.pid, nil, "stop requested")
	a.sink.note("stopping: SIGTERM to the process group")
	a.proc.signalGroup(syscall.SIGTERM)
	gen, self, root := a.gen, a.self, a.root
	a.stopTimer = time.AfterFunc(a.cfg.StopTimeout, func() { root.Send(self, stopExpired{gen: gen}) })
}

func (a *moduleActor) onCrash(msg crashModule) {
	if a.state != StateRunning && a.state != StateStarting {
		return
	}
	if msg.pid != 0 && (a.proc == nil || a.proc.pid != msg.pid) {
		return
	}
	a.crash(msg.reason, nil)
}

func (a *moduleActor) onProcStarted(ctx actor.Context, msg procStarted) {
	if msg.gen != a.gen {
		if msg.p != nil {
			msg.p.signalGroup(syscall.SIGKILL)
		}
		return
	}
	if msg.err != nil {
		a.sink.note("start failed: " + msg.err.Error())
		a.crash("start: "+msg.err.Error(), nil)
		return
	}
	a.proc = msg.p
	a.carry.prev = msg.p
	pf, pid, ticks, log := a.pf, msg.p.pid, msg.p.ticks, a.log
	a.file(func() {
		if err := pf.write(pid, ticks); err != nil {
			log.Warn("module pid file", "error", err)
		}
	})
	a.sink.note("started pid " + strconv.Itoa(msg.p.pid))
	if a.stopping {
		a.beginStop(ctx)
		return
	}
	a.report(StateStarting, msg.p.pid, nil, "")
	a.checkRunning(ctx)
}

func (a *moduleActor) onProcExited(ctx actor.Context, msg procExited) {
	if msg.p != a.proc || a.proc == nil {
		return
	}
	p := a.proc
	a.proc = nil
	a.file(a.pf.clear)
	a.sink.note("exited: " + p.exit.String())
	if a.state == StateStopping {
		a.stopTimers()
		a.report(StateStopped, p.pid, p.exit.proto("stopped"), "")
		return
	}
	a.exited(p.pid, p.exit)
}

// exited handles an exit nobody asked for, following the restart policy.
func (a *moduleActor) exited(pid int, e exitInfo) {
	clean := e.code == 0 && e.signal == "" && e.err == nil
	switch {
	case a.cfg.Restart == RestartNever, a.cfg.Restart == RestartOnFailure && clean:
		a.stopTimers()
		reason := "exited"
		if a.state == StateStarting {
			reason = "exited during start"
		}
		a.report(StateExited, pid, e.proto(reason), reason+": "+e.String())
	default:
		reason := e.String()
		if a.state == StateStarting {
			reason = "exited during start: " + reason
		}
		a.crashPID(pid, reason, e.proto(reason))
	}
}

func (a *moduleActor) onPrevGone(ctx actor.Context, msg prevGone) {
	if msg.gen == a.gen && a.deferred && !a.survivor {
		a.start(ctx)
	}
}

func (a *moduleActor) onSurvivorGone(ctx actor.Context, msg survivorGone) {
	a.survivor = false
	if msg.err != nil {
		a.log.Error("module process left by an earlier daemon", "error", msg.err)
	}
	a.file(a.pf.clear)
	if a.deferred {
		a.start(ctx)
	}
}

func (a *moduleActor) onStartElapsed(ctx actor.Context, msg startElapsed) {
	if msg.gen == a.gen && a.state == StateStarting {
		a.aliveOK = true
		a.checkRunning(ctx)
	}
}

func (a *moduleActor) onHealthDone(ctx actor.Context, msg healthDone) {
	if msg.gen != a.gen || a.state != StateStarting {
		return
	}
	if msg.err != nil {
		a.crash("start: "+msg.err.Error(), nil)
		return
	}
	a.healthOK = true
	a.checkRunning(ctx)
}

func (a *moduleActor) onStopExpired(msg stopExpired) {
	if msg.gen == a.gen && a.proc != nil && a.state == StateStopping {
		a.sink.note("stop_timeout passed: SIGKILL to the process group")
		a.proc.signalGroup(syscall.SIGKILL)
	}
}

func (a *moduleActor) onThreadExited(msg *actor.Terminated) {
	if a.thread == nil || !msg.Who.Equal(a.thread) {
		return
	}
	a.thread = nil
	if a.state == StateStopping {
		a.stopTimers()
		a.report(StateStopped, 0, &messages.ModuleExit{Reason: "stopped"}, "")
		return
	}
	a.exited(0, exitInfo{at: time.Now()})
}

// onThreadFailed: the thread module cannot run and a restart would not
// help: the module is failed at once, with the thread's reason.
func (a *moduleActor) onThreadFailed(ctx actor.Context, msg *ThreadFailed) {
	if a.thread == nil || !a.thread.Equal(ctx.Sender()) {
		return
	}
	pid := a.thread
	a.thread = nil // its Terminated is not an exit
	ctx.Stop(pid)
	a.stopTimers()
	a.sink.note("failed: " + msg.Reason)
	a.report(StateFailed, 0, nil, msg.Reason)
}

// checkRunning moves a starting module to running once it has stayed up
// start_seconds and passed its health check.
func (a *moduleActor) checkRunning(ctx actor.Context) {
	if a.state != StateStarting || !a.aliveOK || !a.healthOK || (a.proc == nil && a.thread == nil) {
		return
	}
	a.stopTimers()
	pid := 0
	if a.proc != nil {
		pid = a.proc.pid
	}
	a.report(StateRunning, pid, nil, "")
}

// crash ends the current run as a crash: whatever is left of it is killed
// (the next start waits until the process is gone) and the supervisor is
// told, which decides between a restart, the backoff and failed.
func (a *moduleActor) crash(reason string, exit *messages.ModuleExit) {
	pid := 0
	if a.proc != nil {
		pid = a.proc.pid
	}
	a.crashPID(pid, reason, exit)
}

func (a *moduleActor) crashPID(pid int, reason string, exit *messages.ModuleExit) {
	a.sink.note("crashed: " + reason)
	a.stopTimers()
	a.gen++ // the reports of the ended run are stale
	a.deferred = false
	if p := a.proc; p != nil {
		a.proc = nil // carry.prev keeps it: the next start waits for it to go
		if p.alive() {
			a.file(a.pf.clear)
			p.signalGroup(syscall.SIGKILL)
		}
	}
	if a.thread != nil {
		a.stopThread(a.thread)
		a.thread = nil // its Terminated is not an exit
	}
	if exit == nil {
		exit = &messages.ModuleExit{Code: -1, Reason: reason}
	}
	a.report(stateCrashed, pid, exit, reason)
}

// stopThread stops a thread module actor (a child of this actor).
func (a *moduleActor) stopThread(pid *actor.PID) {
	a.root.Stop(pid)
}

// report tells the supervisor the actor's new state.
func (a *moduleActor) report(state string, pid int, exit *messages.ModuleExit, reason string) {
	a.state = state
	a.root.Send(a.parent, stateChanged{seq: a.seq, name: a.name, state: state, pid: pid, exit: exit, reason: reason})
}

// file hands op to the file goroutine; a full queue drops it (logged).
func (a *moduleActor) file(op func()) {
	if !fileIO(op) {
		a.log.Warn("module file operation dropped: the file queue is full")
	}
}

func (a *moduleActor) stopTimers() {
	for _, t := range a.timers {
		t.Stop()
	}
	a.timers = a.timers[:0]
	if a.cancel != nil {
		a.cancel()
		a.cancel = nil
	}
	if a.stopTimer != nil {
		a.stopTimer.Stop()
		a.stopTimer = nil
	}
}

// release gives back what the instance holds. On Restarting the process
// group is killed at once (the next instance waits until it is gone); on
// Stopping it gets SIGTERM and, after stop_timeout, SIGKILL.
func (a *moduleActor) release(stopping bool) {
	a.stopTimers()
	p := a.proc
	a.proc = nil
	if p == nil || !p.alive() {
		if stopping {
			a.file(a.pf.discard)
		}
		return
	}
	if !stopping {
		a.file(a.pf.clear)
		p.signalGroup(syscall.SIGKILL)
		return
	}
	p.signalGroup(syscall.SIGTERM)
	pf, timeout := a.pf, a.cfg.StopTimeout
	go func() { // detached: the actor is gone; bounded by stop_timeout
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			p.signalGroup(syscall.SIGKILL)
			<-p.done
		}
		fileIO(pf.discard)
	}()
}
