// Package watchdog checks the running module processes every
// check_interval: is the process there, is it a zombie, is its RSS over
// max_memory, does its HTTP health check fail health_failures times in a
// row; it records CPU %, RSS, threads and open fds (module.status shows
// them), raises alert.module.* on the bus and asks the modules supervisor
// to restart a module in trouble (the restart counts toward its cap).
//
// The checks run off the actor goroutine, at most max_concurrent at once,
// and report by message; a round starts only after the previous one ended.
package watchdog

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/shirou/gopsutil/v3/process"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

// Kind names the watchdog in the supervision tree.
const Kind = "watchdog"

// Deps are the watchdog's collaborators.
type Deps struct {
	// Bus is the event bus; nil publishes nothing.
	Bus *actor.PID
	// Modules is the modules supervisor: it names the processes to check
	// (modules.WatchTargetsRequest) and restarts modules (modules.RestartModule).
	Modules *actor.PID
	// Logger is the daemon's logger; nil discards.
	Logger *slog.Logger
}

// Props returns the watchdog's props. cfg must have passed Validate.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &watchdog{cfg: cfg, deps: deps, log: deps.Logger.With("actor", Kind)}
	})
}

// Self-messages.
type (
	roundTick  struct{ gen uint64 }
	roundDone  struct{ gen uint64 }
	checkDone  struct{ r result }
	targetsErr struct{ err error }
)

// result is one module's check.
type result struct {
	target  modules.WatchTarget
	gone    bool
	proc    *process.Process
	zombie  bool
	res     *messages.Resources
	checked bool // health was checked
	health  error
	err     error
}

// watched is what the watchdog remembers of a module between rounds.
type watched struct {
	pid      int
	since    time.Time
	proc     *process.Process // for CPU % between rounds; used by one check at a time
	failures int
	asked    bool // a restart was asked for this process
}

type watchdog struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	self    *actor.PID
	root    *actor.RootContext
	gen     uint64
	timer   *time.Timer
	cancel  context.CancelFunc
	running bool
	mods    map[string]*watched
	rounds  uint64
	// unexpected counts the targets requests answered with a wrong type.
	unexpected uint64
}

// Receive is the watchdog's behaviour.
func (w *watchdog) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		w.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		w.release()
	case *actor.Stopped:
	case roundTick:
		w.onTick(ctx, msg)
	case *modules.WatchTargetsResponse:
		w.onTargets(msg)
	case targetsErr:
		w.onTargetsErr(msg)
	case checkDone:
		w.onCheck(ctx, msg.r)
	case roundDone:
		w.onRoundDone(msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	default:
		w.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (w *watchdog) onStarted(ctx actor.Context) {
	w.self, w.root = ctx.Self(), ctx.ActorSystem().Root
	w.mods = map[string]*watched{}
	if w.cfg.Enabled {
		w.arm()
	}
}

// arm schedules the next round.
func (w *watchdog) arm() {
	w.running = false
	w.gen++
	gen, self, root := w.gen, w.self, w.root
	w.timer = time.AfterFunc(w.cfg.CheckInterval, func() { root.Send(self, roundTick{gen: gen}) })
}

func (w *watchdog) onTick(ctx actor.Context, msg roundTick) {
	if msg.gen != w.gen || w.running || w.deps.Modules == nil {
		return
	}
	w.running = true
	f := ctx.RequestFuture(w.deps.Modules, &modules.WatchTargetsRequest{}, w.cfg.CheckInterval)
	ctx.ReenterAfter(f, func(res any, err error) {
		if err != nil {
			ctx.Send(ctx.Self(), targetsErr{err: err})
			return
		}
		r, ok := res.(*modules.WatchTargetsResponse)
		if !ok {
			w.onUnexpectedReply(res)
			return
		}
		w.onTargets(r)
	})
}

// onUnexpectedReply skips a round whose targets request was answered with
// something else: logged, counted, and the next round is armed as usual.
func (w *watchdog) onUnexpectedReply(res any) {
	w.unexpected++
	w.log.Warn("watchdog round skipped: unexpected reply", "type", fmt.Sprintf("%T", res), "unexpected_replies", w.unexpected)
	w.arm()
}

// onTargets starts a round: the checks run on a goroutine with at most
// max_concurrent workers, each reporting by message.
func (w *watchdog) onTargets(msg *modules.WatchTargetsResponse) {
	seen := map[string]bool{}
	jobs := make([]job, 0, len(msg.Targets))
	for _, t := range msg.Targets {
		seen[t.Name] = true
		m := w.mods[t.Name]
		if m == nil || m.pid != t.PID || !m.since.Equal(t.Since) {
			m = &watched{pid: t.PID, since: t.Since}
			w.mods[t.Name] = m
		}
		jobs = append(jobs, job{target: t, proc: m.proc})
	}
	for n := range w.mods {
		if !seen[n] {
			delete(w.mods, n)
		}
	}
	w.rounds++
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	gen, self, root, cfg := w.gen, w.self, w.root, w.cfg
	go func() { // off the actor goroutine: the round's checks
		defer cancel()
		runRound(ctx, cfg, jobs, func(r result) { root.Send(self, checkDone{r: r}) })
		root.Send(self, roundDone{gen: gen})
	}()
}

func (w *watchdog) onCheck(ctx actor.Context, r result) {
	m := w.mods[r.target.Name]
	if m == nil || m.pid != r.target.PID {
		return
	}
	name, pid := r.target.Name, r.target.PID
	if r.res != nil {
		health := ""
		if r.checked {
			health = "ok"
			if r.health != nil {
				health = r.health.Error()
			}
		}
		ctx.Send(w.deps.Modules, &modules.ResourcesReport{Name: name, Resources: r.res, Health: health})
	}
	if r.proc != nil {
		m.proc = r.proc
	}
	switch {
	case r.gone:
		// The module actor's wait goroutine reports the exit itself.
		w.alert("gone", &messages.WatchdogAlert{Module: name, Check: "gone", Pid: int32(pid), Message: "process is gone"})
	case r.zombie:
		w.trouble(ctx, m, name, "zombie", &messages.WatchdogAlert{Module: name, Check: "zombie", Pid: int32(pid), Message: "process is a zombie"})
	case r.target.MaxMemory > 0 && r.res != nil && r.res.RssBytes > r.target.MaxMemory:
		w.trouble(ctx, m, name, "memory", &messages.WatchdogAlert{Module: name, Check: "memory", Pid: int32(pid), RssBytes: r.res.RssBytes,
			MaxMemoryBytes: r.target.MaxMemory, Message: fmt.Sprintf("rss %d bytes over max_memory %d", r.res.RssBytes, r.target.MaxMemory)})
	case r.checked && r.health != nil:
		m.failures++
		if m.failures >= w.cfg.HealthFailures {
			w.trouble(ctx, m, name, "health", &messages.WatchdogAlert{Module: name, Check: "health", Pid: int32(pid),
				HealthFailures: uint32(m.failures), Message: r.health.Error()})
		}
	case r.checked:
		m.failures = 0
	}
}

// trouble raises the alert and asks for a restart (once per process).
func (w *watchdog) trouble(ctx actor.Context, m *watched, name, check string, a *messages.WatchdogAlert) {
	w.log.Warn("module in trouble", "module", name, "check", check, "message", a.Message)
	w.alert(check, a)
	if !w.cfg.AutoRestartOnCrash || m.asked {
		return
	}
	m.asked = true
	ctx.Send(w.deps.Modules, &modules.RestartModule{Name: name, PID: m.pid, Reason: "watchdog: " + a.Message})
	if w.cfg.AlertOnRestart {
		w.alert("restart", &messages.WatchdogAlert{Module: name, Check: "restart", Pid: a.Pid, Message: "restart asked: " + a.Message})
	}
}

func (w *watchdog) alert(check string, a *messages.WatchdogAlert) {
	w.publish("alert.module."+check, a)
}

func (w *watchdog) publish(topic string, payload proto.Message) {
	if w.deps.Bus != nil {
		w.root.Send(w.deps.Bus, messages.NewEvent(topic, Kind, payload))
	}
}

func (w *watchdog) onTargetsErr(msg targetsErr) {
	w.log.Warn("watchdog round skipped", "error", msg.err)
	w.arm()
}

func (w *watchdog) onRoundDone(msg roundDone) {
	if msg.gen == w.gen {
		w.arm()
	}
}

func (w *watchdog) release() {
	w.gen++
	if w.timer != nil {
		w.timer.Stop()
	}
	if w.cancel != nil {
		w.cancel()
	}
}
