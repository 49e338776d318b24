package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// crasher panics with whatever it is sent as a crashWith, answers pings, and
// counts its incarnations.
type crashWith struct{ reason any }

func crasherProps(starts *atomic.Int32) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			starts.Add(1)
		case crashWith:
			panic(msg.reason)
		case *messages.PingRequest:
			ctx.Respond(&messages.PingResponse{Name: "crasher"})
		}
	})
}

type fakeControl struct{ stops atomic.Int32 }

func (f *fakeControl) Stop(bool) { f.stops.Add(1) }
func (f *fakeControl) Reload() *messages.ReloadConfigResponse {
	return &messages.ReloadConfigResponse{Applied: true, Changed: []string{"daemon.logging"}}
}
func (f *fakeControl) Resources() (*messages.Resources, error) {
	return &messages.Resources{Pid: 1, Goroutines: 3}, nil
}

func newRoot(t *testing.T, sys *actor.ActorSystem, cfg supervisor.Config) (*actor.PID, *actortest.Probe, *fakeControl) {
	return newRootClock(t, sys, cfg, nil)
}

func newRootClock(t *testing.T, sys *actor.ActorSystem, cfg supervisor.Config, now func() time.Time) (*actor.PID, *actortest.Probe, *fakeControl) {
	t.Helper()
	bus := actortest.NewProbe(t, sys)
	ctrl := &fakeControl{}
	root := actortest.Spawn(t, sys, supervisor.Props(cfg, supervisor.Deps{
		Info:    supervisor.Info{Version: "test", PID: 42, Node: "n1", Started: time.Now(), ConfigSource: func() string { return "embedded" }},
		Control: ctrl, Logger: actortest.Logger(t), Bus: bus.PID, Now: now,
	}))
	return root, bus, ctrl
}

func startChild(t *testing.T, sys *actor.ActorSystem, root *actor.PID, spec supervisor.ChildSpec) *actor.PID {
	t.Helper()
	res := actortest.Request[*supervisor.ChildStarted](t, sys, root, &supervisor.StartChild{Spec: spec})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	return res.PID
}

func tree(t *testing.T, sys *actor.ActorSystem, root *actor.PID) map[string]*messages.ChildStatus {
	t.Helper()
	res := actortest.Request[*messages.TreeResponse](t, sys, root, &messages.TreeRequest{})
	out := map[string]*messages.ChildStatus{}
	for _, c := range res.Children {
		out[c.Name] = c
	}
	return out
}

func TestRestartsUpToTheCapThenFails(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, bus, _ := newRoot(t, sys, supervisor.DefaultConfig())
	var starts, otherStarts atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "flaky", Props: crasherProps(&starts), Core: true})
	startChild(t, sys, root, supervisor.ChildSpec{Name: "steady", Props: crasherProps(&otherStarts), Core: true})

	for i := 1; i <= 3; i++ {
		sys.Root.Send(pid, crashWith{fmt.Sprintf("boom %d", i)})
		ev := actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "supervisor.child_restarted" })
		var p messages.ChildRestarted
		if err := ev.Payload.UnmarshalTo(&p); err != nil || p.Child != "flaky" || p.Restarts != uint32(i) {
			t.Fatalf("restart event %d: %v %v", i, &p, err)
		}
		actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return starts.Load() == int32(i+1) }, "incarnation %d", i+1)
	}
	sys.Root.Send(pid, crashWith{"boom 4"})
	ev := actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "alert.supervisor.child_failed" })
	var f messages.ChildFailed
	if err := ev.Payload.UnmarshalTo(&f); err != nil || f.Child != "flaky" || f.Restarts != 3 || f.Reason != "boom 4" {
		t.Fatalf("failed event: %v %v", &f, err)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return tree(t, sys, root)["flaky"].State == supervisor.StateFailed }, "flaky marked failed")
	if starts.Load() != 4 {
		t.Fatalf("flaky started %d times, want 4 (1 + 3 restarts)", starts.Load())
	}
	tr := tree(t, sys, root)
	if tr["steady"].State != supervisor.StateRunning || tr["steady"].Restarts != 0 || otherStarts.Load() != 1 {
		t.Fatalf("the other child was disturbed: %v", tr["steady"])
	}
	health := actortest.Request[*messages.HealthResponse](t, sys, root, &messages.HealthRequest{})
	if health.Healthy || len(health.Components) != 2 {
		t.Fatalf("health = %v, want unhealthy with 2 components", health)
	}
}

func TestFatalErrorStopsWithoutRestart(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, bus, _ := newRoot(t, sys, supervisor.DefaultConfig())
	var starts atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "edge", Props: crasherProps(&starts)})
	sys.Root.Send(pid, crashWith{fmt.Errorf("listener gone: %w", supervisor.ErrFatal)})
	actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "alert.supervisor.child_failed" })
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return tree(t, sys, root)["edge"].State == supervisor.StateFailed }, "edge failed")
	if starts.Load() != 1 {
		t.Fatalf("restarted after a fatal error: %d starts", starts.Load())
	}
}

// The window runs on the root's own clock (Deps.Now), stepped here: on these
// VMs the vCPUs' clocks disagree by tens of milliseconds, so a test that
// waited "60 ms" by its own clock could still land inside the root's window.
func TestWindowSlides(t *testing.T) {
	sys := actortest.NewSystem(t)
	var clock atomic.Int64 // nanoseconds since t0
	t0 := time.Now()
	now := func() time.Time { return t0.Add(time.Duration(clock.Load())) }
	root, bus, _ := newRootClock(t, sys, supervisor.Config{MaxRestarts: 1, Within: 50 * time.Millisecond}, now)
	var starts atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "c", Props: crasherProps(&starts)})
	for i := 0; i < 4; i++ { // one crash per window: never over the cap
		sys.Root.Send(pid, crashWith{errors.New("x")})
		actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "supervisor.child_restarted" })
		clock.Add(int64(50*time.Millisecond) + 1)
	}
	if st := tree(t, sys, root)["c"]; st.State != supervisor.StateRunning || st.Restarts != 4 {
		t.Fatalf("state = %v", st)
	}
	// Two crashes inside one window are one too many.
	sys.Root.Send(pid, crashWith{errors.New("y")})
	actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "supervisor.child_restarted" })
	clock.Add(int64(49 * time.Millisecond))
	sys.Root.Send(pid, crashWith{errors.New("z")})
	actortest.ExpectMatch(t, bus, actortest.DefaultTimeout, func(e *messages.Event) bool { return e.Topic == "alert.supervisor.child_failed" })
	if st := tree(t, sys, root)["c"]; st.State != supervisor.StateFailed {
		t.Fatalf("state = %v, want failed", st)
	}
}

func TestStopChildAndStatus(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, _, ctrl := newRoot(t, sys, supervisor.DefaultConfig())
	var starts atomic.Int32
	startChild(t, sys, root, supervisor.ChildSpec{Name: "a", Props: crasherProps(&starts), Core: true})
	if res := actortest.Request[*supervisor.ChildStarted](t, sys, root, &supervisor.StartChild{Spec: supervisor.ChildSpec{Name: "a", Props: crasherProps(&starts)}}); res.Err == nil {
		t.Fatal("a second child with the same name was accepted")
	}
	st := actortest.Request[*messages.DaemonStatusResponse](t, sys, root, &messages.DaemonStatusRequest{})
	if st.Version != "test" || st.Pid != 42 || st.ConfigSource != "embedded" || len(st.Tree) != 1 || st.Tree[0].State != "running" {
		t.Fatalf("status = %v", st)
	}
	if h := actortest.Request[*messages.HealthResponse](t, sys, root, &messages.HealthRequest{}); !h.Healthy {
		t.Fatalf("health = %v", h)
	}
	stopped := actortest.Request[*supervisor.ChildStopped](t, sys, root, &supervisor.StopChild{Name: "a"})
	if stopped.Err != nil || tree(t, sys, root)["a"].State != supervisor.StateStopped {
		t.Fatalf("stop: %v", stopped.Err)
	}
	if again := actortest.Request[*supervisor.ChildStopped](t, sys, root, &supervisor.StopChild{Name: "a"}); !errors.Is(again.Err, supervisor.ErrNoSuchChild) {
		t.Fatalf("second stop: %v", again.Err)
	}
	res := actortest.Request[*messages.DaemonStopResponse](t, sys, root, &messages.DaemonStopRequest{})
	if !res.Stopping {
		t.Fatal("stop not acknowledged")
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return ctrl.stops.Load() == 1 }, "control.Stop called")
	rl := actortest.Request[*messages.ReloadConfigResponse](t, sys, root, &messages.ReloadConfigRequest{})
	if !rl.Applied || rl.Changed[0] != "daemon.logging" {
		t.Fatalf("reload = %v", rl)
	}
	m := actortest.Request[*messages.MetricsResponse](t, sys, root, &messages.MetricsRequest{})
	if m.Daemon.GetGoroutines() != 3 {
		t.Fatalf("metrics = %v", m)
	}
}

// reporterProps is a child that reports a tree of its own when it starts,
// forwards the reports it is sent, and panics on crashWith.
func reporterProps(starts *atomic.Int32) *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			n := starts.Add(1)
			ctx.Send(ctx.Parent(), &messages.StatusReport{From: ctx.Self(), TreeSet: true, Tree: []*messages.ChildStatus{
				{Name: "x", State: "running", Restarts: uint32(n)}, {Name: "y", State: "starting"},
			}})
		case *messages.StatusReport:
			msg.From = ctx.Self()
			ctx.Send(ctx.Parent(), msg)
			ctx.Respond(&messages.PingResponse{}) // reported: the test may look
		case *messages.PingRequest:
			ctx.Respond(&messages.PingResponse{Name: "reporter"})
		case crashWith:
			panic(msg.reason)
		}
	})
}

func nested(t *testing.T, sys *actor.ActorSystem, root *actor.PID, name string) (string, *messages.DaemonStatusResponse) {
	t.Helper()
	st := actortest.Request[*messages.DaemonStatusResponse](t, sys, root, &messages.DaemonStatusRequest{})
	for _, c := range st.Tree {
		if c.Name == name {
			var parts []string
			for _, n := range c.Children {
				parts = append(parts, fmt.Sprintf("%s=%s/%d", n.Name, n.State, n.Restarts))
			}
			return strings.Join(parts, " "), st
		}
	}
	t.Fatalf("%s not in the tree: %v", name, st.Tree)
	return "", nil
}

func TestStatusShowsWhatChildrenReport(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, _, _ := newRoot(t, sys, supervisor.DefaultConfig())
	var starts atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "mods", Props: reporterProps(&starts)})
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { got, _ := nested(t, sys, root, "mods"); return got != "" }, "first report")
	if got, _ := nested(t, sys, root, "mods"); got != "x=running/1 y=starting/0" {
		t.Fatalf("nested = %q", got)
	}

	// A change replaces its entry, a new name is appended; a full tree replaces all.
	detail, err := anypb.New(&messages.WindowStatusResponse{State: "open"})
	if err != nil {
		t.Fatal(err)
	}
	actortest.Request[*messages.PingResponse](t, sys, pid, &messages.StatusReport{
		Changed: []*messages.ChildStatus{{Name: "y", State: "running"}, {Name: "z", State: "stopped"}}, Detail: detail,
	})
	got, st := nested(t, sys, root, "mods") // the report was sent before the answer: no waiting
	if got != "x=running/1 y=running/0 z=stopped/0" {
		t.Fatalf("after changes nested = %q", got)
	}
	actortest.Request[*messages.PingResponse](t, sys, pid, &messages.StatusReport{
		TreeSet: true, Tree: []*messages.ChildStatus{{Name: "y", State: "running"}, {Name: "z", State: "stopped"}},
	})
	if got, _ := nested(t, sys, root, "mods"); got != "y=running/0 z=stopped/0" {
		t.Fatalf("after a full tree nested = %q", got)
	}
	var w messages.WindowStatusResponse
	if st.Details["mods"] == nil || st.Details["mods"].UnmarshalTo(&w) != nil || w.State != "open" {
		t.Fatalf("details = %v", st.Details)
	}

	// A restart forgets the old incarnation's reports; the new one reports afresh.
	sys.Root.Send(pid, crashWith{"boom"})
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { got, _ := nested(t, sys, root, "mods"); return got == "x=running/2 y=starting/0" }, "report of the second incarnation")
	if _, st := nested(t, sys, root, "mods"); st.Details["mods"] != nil {
		t.Fatalf("the old incarnation's detail survived the restart: %v", st.Details)
	}

	// A report from an unknown actor changes nothing.
	stranger := actortest.NewProbe(t, sys)
	sys.Root.Send(root, &messages.StatusReport{From: stranger.PID, TreeSet: true})
	if got, _ := nested(t, sys, root, "mods"); got != "x=running/2 y=starting/0" {
		t.Fatalf("a stranger's report changed the tree: %q", got)
	}
}

// A failed child that a core child reports (a module past its restart cap,
// or one that could not start) makes the daemon unhealthy.
func TestHealthShowsFailedNestedChildren(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, _, _ := newRoot(t, sys, supervisor.DefaultConfig())
	var starts atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "modules", Props: reporterProps(&starts), Core: true})
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { got, _ := nested(t, sys, root, "modules"); return got != "" }, "first report")
	if h := actortest.Request[*messages.HealthResponse](t, sys, root, &messages.HealthRequest{}); !h.Healthy || len(h.Components) != 1 {
		t.Fatalf("health before the failure = %v", h)
	}
	actortest.Request[*messages.PingResponse](t, sys, pid, &messages.StatusReport{
		Changed: []*messages.ChildStatus{{Name: "exchange-sim", State: "failed", LastError: "listen: address in use"}},
	})
	h := actortest.Request[*messages.HealthResponse](t, sys, root, &messages.HealthRequest{})
	if h.Healthy {
		t.Fatalf("healthy with a failed module: %v", h)
	}
	var found *messages.ComponentHealth
	for _, c := range h.Components {
		if c.Name == "modules/exchange-sim" {
			found = c
		}
	}
	if found == nil || found.Healthy || !strings.Contains(found.Error, "address in use") {
		t.Fatalf("components = %v, want modules/exchange-sim failed with its reason", h.Components)
	}
	actortest.Request[*messages.PingResponse](t, sys, pid, &messages.StatusReport{
		Changed: []*messages.ChildStatus{{Name: "exchange-sim", State: "running"}},
	})
	if h := actortest.Request[*messages.HealthResponse](t, sys, root, &messages.HealthRequest{}); !h.Healthy {
		t.Fatalf("still unhealthy after the module recovered: %v", h)
	}
}

// The root runs on protoactor's own mailbox and dispatcher: whoever posts to
// it only queues the message, and never runs the root's handlers (here a
// daemon.status whose ConfigSource blocks) on its own goroutine.
func TestPostingNeverRunsTheRoot(t *testing.T) {
	sys := actortest.NewSystem(t)
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	root := actortest.Spawn(t, sys, supervisor.Props(supervisor.DefaultConfig(), supervisor.Deps{
		Info: supervisor.Info{Version: "test", Started: time.Now(), ConfigSource: func() string {
			entered <- struct{}{}
			<-release
			return "embedded"
		}},
		Control: &fakeControl{}, Logger: actortest.Logger(t),
	}))
	posted := make(chan struct{})
	go func() {
		sys.Root.Send(root, &messages.DaemonStatusRequest{})
		close(posted)
	}()
	select {
	case <-entered:
	case <-time.After(actortest.DefaultTimeout):
		t.Fatal("daemon.status never ran")
	}
	select {
	case <-posted:
	case <-time.After(actortest.DefaultTimeout):
		close(release)
		t.Fatal("the poster ran the root's handler: Send returned only when daemon.status was answered")
	}
	close(release)
	if st := actortest.Request[*messages.DaemonStatusResponse](t, sys, root, &messages.DaemonStatusRequest{}); st.ConfigSource != "embedded" {
		t.Fatalf("status = %v", st)
	}
}

// gateHandler is a log handler that holds the goroutine logging msg until
// released: it keeps the root busy inside a handler.
type gateHandler struct {
	slog.Handler
	msg      string
	disarmed atomic.Bool // let msg pass
	entered  chan struct{}
	release  chan struct{}
}

func (g *gateHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == g.msg && !g.disarmed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Handler.Handle(ctx, r)
}

// daemon.status is answered from the snapshot the root publishes, by the
// root's status process, even while the root itself is busy: here inside
// the log call of a StartChild, after it published the new child.
func TestStatusAnsweredFromTheSnapshot(t *testing.T) {
	sys := actortest.NewSystem(t)
	gate := &gateHandler{Handler: actortest.Logger(t).Handler(), msg: "supervisor started child",
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	root := actortest.Spawn(t, sys, supervisor.Props(supervisor.DefaultConfig(), supervisor.Deps{
		Info: supervisor.Info{Version: "v1", Started: time.Now()}, Control: &fakeControl{}, Logger: slog.New(gate),
	}))
	t.Cleanup(func() { close(gate.release) }) // before the root's stop: cleanups run last first
	router := rpc.NewRouter(actortest.DefaultTimeout)
	router.MustAdd(supervisor.Routes(root)...)
	call := func() *messages.DaemonStatusResponse {
		t.Helper()
		p, err := router.Call(sys.Root, "daemon.status", nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := p.Result()
		if err != nil {
			t.Fatal(err)
		}
		return res.(*messages.DaemonStatusResponse)
	}
	if st := call(); st.Version != "v1" || len(st.Tree) != 0 {
		t.Fatalf("status before any child = %v", st)
	}
	var starts atomic.Int32
	sys.Root.Send(root, &supervisor.StartChild{Spec: supervisor.ChildSpec{Name: "a", Props: crasherProps(&starts)}})
	select {
	case <-gate.entered:
	case <-time.After(actortest.DefaultTimeout):
		t.Fatal("the root never logged the start")
	}
	st := call() // the root is held in its log call
	if len(st.Tree) != 1 || st.Tree[0].Name != "a" || st.Tree[0].State != supervisor.StateRunning {
		t.Fatalf("status while the root is busy = %v", st)
	}
}

// The status process lives as long as the root.
func TestStatusProcessGoesWithTheRoot(t *testing.T) {
	sys := actortest.NewSystem(t)
	root, _, _ := newRoot(t, sys, supervisor.DefaultConfig())
	if _, ok := sys.ProcessRegistry.Get(supervisor.StatusPID(root)); !ok {
		t.Fatal("no status process after the spawn")
	}
	if err := sys.Root.StopFuture(root).Wait(); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool {
		_, ok := sys.ProcessRegistry.Get(supervisor.StatusPID(root))
		return !ok
	}, "status process removed")
}

// A child that reports a change and then answers a call: whoever got the
// answer sees the change in daemon.status, even while the root is busy
// (the report is applied to the snapshot as it is posted).
func TestStatusShowsAReportBeforeItsAnswer(t *testing.T) {
	sys := actortest.NewSystem(t)
	gate := &gateHandler{Handler: actortest.Logger(t).Handler(), msg: "supervisor started child",
		entered: make(chan struct{}, 1), release: make(chan struct{})}
	gate.disarmed.Store(true)
	root := actortest.Spawn(t, sys, supervisor.Props(supervisor.DefaultConfig(), supervisor.Deps{
		Info: supervisor.Info{Version: "v1", Started: time.Now()}, Control: &fakeControl{}, Logger: slog.New(gate),
	}))
	t.Cleanup(func() { close(gate.release) })
	var starts, other atomic.Int32
	pid := startChild(t, sys, root, supervisor.ChildSpec{Name: "mods", Props: reporterProps(&starts)})
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { got, _ := nested(t, sys, root, "mods"); return got != "" }, "first report")

	gate.disarmed.Store(false) // the next start holds the root in its log call
	sys.Root.Send(root, &supervisor.StartChild{Spec: supervisor.ChildSpec{Name: "other", Props: crasherProps(&other)}})
	select {
	case <-gate.entered:
	case <-time.After(actortest.DefaultTimeout):
		t.Fatal("the root never logged the start")
	}
	actortest.Request[*messages.PingResponse](t, sys, pid, &messages.StatusReport{
		Changed: []*messages.ChildStatus{{Name: "y", State: "stopped"}},
	})
	st := actortest.Request[*messages.DaemonStatusResponse](t, sys, supervisor.StatusPID(root), &messages.DaemonStatusRequest{})
	for _, c := range st.Tree {
		if c.Name != "mods" {
			continue
		}
		for _, n := range c.Children {
			if n.Name == "y" && n.State == "stopped" {
				return
			}
		}
	}
	t.Fatalf("the report is not in daemon.status after its answer: %v", st.Tree)
}
