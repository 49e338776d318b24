// Package supervisor is the root of superbotd's supervision tree: a
// one-for-one supervisor whose children are declared as data (ChildSpec),
// restarted on ordinary panics at most Config.MaxRestarts times within
// Config.Within (a restarts.Window per child), and stopped for good (marked
// "failed", with an alert on the bus) beyond that or on an error wrapping
// ErrFatal. The daemon keeps running when a child fails.
//
// It also answers the daemon-wide methods: daemon.status (with the tree),
// daemon.stop, daemon.reload_config, monitoring.health, monitoring.metrics
// and monitoring.resources. daemon.status is answered from what the
// children report (messages.StatusReport, pushed when their part changes),
// by a process beside the root (StatusPID) that reads the snapshot the root
// publishes: the hottest method asks nobody and waits for no mailbox. The
// others ask the children.
package supervisor

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/internal/restarts"
	"github.com/superbot/superbot/messages"
)

// Kind names the root supervisor.
const Kind = "root"

// ErrFatal marks a failure that must not be retried: a child that panics
// with an error wrapping ErrFatal is stopped at once and marked failed.
var ErrFatal = errors.New("fatal")

// ErrNoSuchChild is returned for a StopChild naming no running child.
var ErrNoSuchChild = errors.New("no such child")

// Child states reported in the tree.
const (
	StateRunning    = "running"
	StateRestarting = "restarting"
	StateFailed     = "failed"
	StateStopped    = "stopped"
	StateStopping   = "stopping"
)

// ChildSpec declares one child of the root supervisor.
type ChildSpec struct {
	// Name is the child's name in the tree and in its PID ("root/NAME").
	Name  string
	Props *actor.Props
	// Core children are pinged by monitoring.health, and a child they
	// report (StatusReport) in state "failed" makes it unhealthy.
	Core bool
	// Metrics, when set, is sent to the child for monitoring.metrics; its
	// answer appears under the child's name.
	Metrics func() proto.Message
}

// A child adds to daemon.status by sending its parent a
// messages.StatusReport (From set to itself) when it starts and whenever
// its part changes: its own children (nested under it in the tree, e.g. the
// modules supervisor's modules) and a detail (shown under its name, e.g.
// the scheduler's trading window). Reports must be fresh messages that the
// child never touches again: the root hands them to concurrent encoders.

// Info is what daemon.status reports about the daemon itself.
type Info struct {
	Version string
	PID     int
	Node    string
	Started time.Time
	// ConfigSource describes where the running config came from. It is
	// called on the goroutines asking for daemon.status, concurrently.
	ConfigSource func() string
}

// Control is implemented by the daemon runtime. Its methods are called off
// the actor goroutine and may block.
type Control interface {
	// Stop starts a graceful (or, with force, immediate) shutdown. It must
	// return at once.
	Stop(force bool)
	// Reload re-reads the config, validates it and applies what changed.
	Reload() *messages.ReloadConfigResponse
	// Resources measures the daemon process.
	Resources() (*messages.Resources, error)
}

// Deps are the root supervisor's collaborators.
type Deps struct {
	Info    Info
	Control Control
	Logger  *slog.Logger
	// Bus receives supervisor events; set with SetBus once the bus child runs.
	Bus *actor.PID
	// Now is the clock of the restart window; nil means time.Now. Tests set it
	// so that "the window has passed" does not hang on the machine's timers.
	Now func() time.Time
}

// StartChild asks the root supervisor to spawn a child; it answers
// *ChildStarted. Children start in the order they are asked for.
type StartChild struct{ Spec ChildSpec }

// ChildStarted answers StartChild.
type ChildStarted struct {
	PID *actor.PID
	Err error
}

// StopChild asks the root supervisor to stop a child and answers
// *ChildStopped once it has stopped.
type StopChild struct{ Name string }

// ChildStopped answers StopChild.
type ChildStopped struct {
	Name string
	Err  error
}

// SetBus tells the root supervisor where to publish its events.
type SetBus struct{ PID *actor.PID }

// Props returns the root supervisor's props. It is a top-level actor: its
// guardian never restarts it (a failure of the root itself stops the tree).
// cfg must have passed Validate. The props register the root's status
// process (StatusPID) when spawned: spawn them once.
func Props(cfg Config, deps Deps) *actor.Props {
	board := newStatusBoard(deps.Info)
	return actor.PropsFromProducer(func() actor.Actor {
		if deps.Now == nil {
			deps.Now = time.Now
		}
		return &rootActor{policy: cfg.Policy(), deps: deps, log: deps.Logger, bus: deps.Bus, children: map[string]*child{}, board: board}
	}, actor.WithGuardian(actor.NewOneForOneStrategy(0, time.Second, func(any) actor.Directive { return actor.StopDirective })),
		actor.WithSpawnFunc(board.spawn), actor.WithMailbox(actor.Unbounded(reportTap{board})))
}

type rootActor struct {
	policy   restarts.Policy
	deps     Deps
	log      *slog.Logger
	sys      *actor.ActorSystem
	bus      *actor.PID
	order    []string
	children map[string]*child

	// board holds the status snapshot, republished on every change of the
	// tree (publishStatus); its process answers daemon.status.
	board *statusBoard
}

type child struct {
	spec      ChildSpec
	pid       *actor.PID
	state     string
	restarts  uint32
	lastError string
	since     time.Time
	stopping  []*actor.PID    // senders waiting for a StopChild answer
	window    restarts.Window // crashes within the restart window
}

func (a *rootActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.sys = ctx.ActorSystem()
	case *actor.Stopped:
		a.board.unregister(a.sys, ctx.Self())
	case *StartChild:
		ctx.Respond(a.startChild(ctx, msg.Spec))
	case *StopChild:
		a.stopChild(ctx, msg.Name)
	case *SetBus:
		a.bus = msg.PID
	case *actor.Terminated:
		a.onTerminated(ctx, msg.Who)
	case *messages.DaemonStatusRequest:
		ctx.Respond(a.board.response())
	case *messages.StatusReport:
		// Applied to the status board when it was posted (reportTap).
	case *messages.TreeRequest:
		ctx.Respond(&messages.TreeResponse{Children: a.parts().tree})
	case *messages.HealthRequest:
		a.health(ctx)
	case *messages.MetricsRequest:
		a.metrics(ctx)
	case *messages.ResourcesRequest:
		a.resources(ctx)
	case *messages.DaemonStopRequest:
		ctx.Respond(&messages.DaemonStopResponse{Stopping: true})
		go a.deps.Control.Stop(msg.Force)
	case *messages.ReloadConfigRequest:
		a.reload(ctx)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *actor.Stopping, *actor.Restarting:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

// HandleFailure is protoactor's hook for a failing child; it runs on this
// actor's goroutine. It applies the one-for-one policy with a sliding window.
func (a *rootActor) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	a.sys = sys
	c := a.byPID(pid)
	if c == nil {
		sup.StopChildren(pid)
		return
	}
	c.lastError = reasonString(reason)
	fatal := isFatal(reason)
	if fatal || c.window.Fail(a.policy, a.deps.Now()) {
		c.window.Reset()
		c.state = StateFailed
		c.since = time.Now()
		a.log.Error("child failed", "child", c.spec.Name, "restarts", c.restarts, "fatal", fatal, "reason", c.lastError)
		a.publishStatus(c.spec.Name)
		a.publish("alert.supervisor.child_failed", &messages.ChildFailed{Child: c.spec.Name, Reason: c.lastError, Restarts: c.restarts})
		sup.StopChildren(pid)
		return
	}
	c.restarts++
	c.state = StateRunning
	c.since = time.Now()
	a.publishStatus(c.spec.Name) // the next incarnation reports afresh
	a.log.Warn("child restarted", "child", c.spec.Name, "restarts", c.restarts, "reason", c.lastError)
	a.publish("supervisor.child_restarted", &messages.ChildRestarted{Child: c.spec.Name, Reason: c.lastError, Restarts: c.restarts})
	sup.RestartChildren(pid)
}

func isFatal(reason any) bool {
	err, ok := reason.(error)
	return ok && errors.Is(err, ErrFatal)
}

func reasonString(reason any) string {
	s := fmt.Sprint(reason)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func (a *rootActor) byPID(pid *actor.PID) *child {
	for _, c := range a.children {
		if c.pid != nil && c.pid.Equal(pid) {
			return c
		}
	}
	return nil
}

func (a *rootActor) startChild(ctx actor.Context, spec ChildSpec) *ChildStarted {
	if spec.Name == "" || strings.Contains(spec.Name, "/") || spec.Props == nil {
		return &ChildStarted{Err: fmt.Errorf("child spec %q: a name without '/' and props are required", spec.Name)}
	}
	if c, ok := a.children[spec.Name]; ok && c.state != StateStopped && c.state != StateFailed {
		return &ChildStarted{Err: fmt.Errorf("child %q: already %s", spec.Name, c.state)}
	}
	// On the status board before it runs: its first report may be posted
	// before SpawnNamed returns.
	prev, existed := a.children[spec.Name]
	if !existed {
		a.order = append(a.order, spec.Name)
	}
	self := ctx.Self()
	c := &child{spec: spec, pid: actor.NewPID(self.Address, self.Id+"/"+spec.Name), state: StateRunning, since: time.Now()}
	a.children[spec.Name] = c
	a.publishStatus(spec.Name)
	pid, err := ctx.SpawnNamed(spec.Props, spec.Name)
	if err != nil {
		if existed {
			a.children[spec.Name] = prev
		} else {
			delete(a.children, spec.Name)
			a.order = a.order[:len(a.order)-1]
		}
		a.publishStatus()
		return &ChildStarted{Err: fmt.Errorf("child %q: spawn: %w", spec.Name, err)}
	}
	if !pid.Equal(c.pid) {
		c.pid = pid
		a.publishStatus()
	}
	a.log.Info("supervisor started child", "child", spec.Name)
	return &ChildStarted{PID: pid}
}

func (a *rootActor) stopChild(ctx actor.Context, name string) {
	c, ok := a.children[name]
	if !ok || c.pid == nil || c.state == StateStopped || c.state == StateFailed {
		ctx.Respond(&ChildStopped{Name: name, Err: fmt.Errorf("%w: %q", ErrNoSuchChild, name)})
		return
	}
	if s := ctx.Sender(); s != nil {
		c.stopping = append(c.stopping, s)
	}
	if c.state != StateStopping {
		c.state = StateStopping
		a.publishStatus()
		ctx.Stop(c.pid)
	}
}

func (a *rootActor) onTerminated(ctx actor.Context, who *actor.PID) {
	c := a.byPID(who)
	if c == nil {
		return
	}
	if c.state != StateFailed {
		c.state = StateStopped
	}
	c.since = time.Now()
	a.publishStatus(c.spec.Name)
	for _, s := range c.stopping {
		ctx.Send(s, &ChildStopped{Name: c.spec.Name})
	}
	c.stopping = nil
	a.log.Info("supervisor child stopped", "child", c.spec.Name, "state", c.state)
}

func (a *rootActor) publish(topic string, payload proto.Message) {
	if a.bus == nil {
		return
	}
	// Sent from the root context: HandleFailure runs while processing a
	// system message, where the actor context has no current envelope.
	a.sys.Root.Send(a.bus, messages.NewEvent(topic, Kind, payload))
}

// statusOf reports one child (without nesting).
func (a *rootActor) statusOf(c *child) *messages.ChildStatus {
	return &messages.ChildStatus{
		Name: c.spec.Name, State: c.state, Restarts: c.restarts, LastError: c.lastError,
		Since: timestamppb.New(c.since),
	}
}

// parts is the status of every child, with what each reported nested, and
// the children's details, as last published.
func (a *rootActor) parts() *statusParts { return a.board.parts.Load() }

// publishStatus gives the status board the state of every child, to show
// with what each reported; the reports of the children named in forget
// are dropped (they stopped or restart: the next incarnation reports
// afresh). Called after every change of the tree, on the actor goroutine.
func (a *rootActor) publishStatus(forget ...string) {
	base := make([]baseEntry, 0, len(a.order))
	for _, name := range a.order {
		c := a.children[name]
		base = append(base, baseEntry{pid: c.pid, running: c.state == StateRunning, status: a.statusOf(c)})
	}
	a.board.setBase(base, forget...)
}

func indexOf(list []*messages.ChildStatus, name string) int {
	for i, c := range list {
		if c.GetName() == name {
			return i
		}
	}
	return -1
}

// collect asks pid and stores its answer, packed, in into[name].
func (a *rootActor) collect(pid *actor.PID, msg proto.Message, name string, into map[string]*anypb.Any) ask {
	return ask{pid: pid, msg: msg, on: func(res any, err error) {
		if m, ok := res.(proto.Message); ok && err == nil {
			if packed, perr := anypb.New(m); perr == nil {
				into[name] = packed
			}
		}
	}}
}

// health answers monitoring.health: every core child answers a ping, and
// none of the children it reports (StatusReport) is failed.
func (a *rootActor) health(ctx actor.Context) {
	res := &messages.HealthResponse{Healthy: true}
	var asks []ask
	for _, name := range a.order {
		c := a.children[name]
		if !c.spec.Core {
			continue
		}
		h := &messages.ComponentHealth{Name: name}
		res.Components = append(res.Components, h)
		if c.state != StateRunning {
			h.Error = "child is " + c.state
			res.Healthy = false
			continue
		}
		res.Components = append(res.Components, failedNested(name, a.board.nestedOf(name))...)
		start := time.Now()
		asks = append(asks, ask{pid: c.pid, msg: &messages.PingRequest{}, on: func(r any, err error) {
			h.LatencyMs = float64(time.Since(start).Microseconds()) / 1000
			if _, ok := r.(*messages.PingResponse); ok && err == nil {
				h.Healthy = true
				return
			}
			h.Error = "no answer to ping"
			if err != nil {
				h.Error = err.Error()
			}
		}})
	}
	a.gather(ctx, asks, func() {
		for _, h := range res.Components {
			res.Healthy = res.Healthy && h.Healthy
		}
		ctx.Respond(res)
	})
}

// failedNested lists, as unhealthy components named "parent/child", the
// children that parent reported in state "failed" (e.g. a module of the
// modules supervisor that reached its restart cap or could not start).
func failedNested(parent string, nested []*messages.ChildStatus) []*messages.ComponentHealth {
	var out []*messages.ComponentHealth
	for _, n := range nested {
		if n.GetState() != StateFailed {
			continue
		}
		msg := "child is failed"
		if n.GetLastError() != "" {
			msg += ": " + n.GetLastError()
		}
		out = append(out, &messages.ComponentHealth{Name: parent + "/" + n.GetName(), Error: msg})
	}
	return out
}

func (a *rootActor) metrics(ctx actor.Context) {
	res := &messages.MetricsResponse{Components: map[string]*anypb.Any{}}
	var asks []ask
	for _, name := range a.order {
		c := a.children[name]
		if c.spec.Metrics == nil || c.state != StateRunning {
			continue
		}
		asks = append(asks, a.collect(c.pid, c.spec.Metrics(), name, res.Components))
	}
	sender, sys, ctrl := ctx.Sender(), ctx.ActorSystem(), a.deps.Control
	a.gather(ctx, asks, func() {
		go func() { // gopsutil reads /proc: off the actor goroutine
			if r, err := ctrl.Resources(); err == nil {
				res.Daemon = r
			}
			sys.Root.Send(sender, res)
		}()
	})
}

func (a *rootActor) resources(ctx actor.Context) {
	sender, sys, ctrl := ctx.Sender(), ctx.ActorSystem(), a.deps.Control
	go func() {
		r, err := ctrl.Resources()
		if err != nil {
			sys.Root.Send(sender, &messages.ResourcesResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "resources unavailable")})
			return
		}
		sys.Root.Send(sender, &messages.ResourcesResponse{Daemon: r})
	}()
}

func (a *rootActor) reload(ctx actor.Context) {
	sender, sys, ctrl := ctx.Sender(), ctx.ActorSystem(), a.deps.Control
	go func() { sys.Root.Send(sender, ctrl.Reload()) }()
}

// ask is one request of a gather.
type ask struct {
	pid *actor.PID
	msg any
	on  func(res any, err error)
}

// askTimeout bounds each request of a gather.
const askTimeout = 2 * time.Second

// gather sends every ask, calls each one's on with its answer (on the actor
// goroutine, via ReenterAfter), then calls done. It never blocks the mailbox.
func (a *rootActor) gather(ctx actor.Context, asks []ask, done func()) {
	if len(asks) == 0 {
		done()
		return
	}
	left := len(asks)
	for _, q := range asks {
		f := ctx.RequestFuture(q.pid, q.msg, askTimeout)
		ctx.ReenterAfter(f, func(res any, err error) {
			q.on(res, err)
			left--
			if left == 0 {
				done()
			}
		})
	}
}
