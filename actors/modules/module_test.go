package modules

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
)

// fakeLaunch is a launch that starts nothing: the test plays the process.
type fakeLaunch struct {
	argv    []string
	started func(*proc, error)
	exited  func(*proc)
}

// failureStrategy records module actor panics (there must be none) and
// restarts the actor.
type failureStrategy struct{ ch chan any }

func (s failureStrategy) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	s.ch <- reason
	sup.RestartChildren(child)
}

// moduleRig is one module actor with a fake launcher under a test parent
// that forwards the actor's reports to a probe.
type moduleRig struct {
	t        *testing.T
	sys      *actor.ActorSystem
	probe    *actortest.Probe
	child    *actor.PID
	launches chan fakeLaunch
	failures chan any
}

func newModuleRig(t *testing.T) *moduleRig {
	r := &moduleRig{t: t, sys: actortest.NewSystem(t), launches: make(chan fakeLaunch, 16), failures: make(chan any, 16)}
	r.probe = actortest.NewProbe(t, r.sys)
	launcher := func(argv, _ []string, _ string, _ *logSink, started func(*proc, error), exited func(*proc)) {
		r.launches <- fakeLaunch{argv: argv, started: started, exited: exited}
	}
	deps := Deps{Logger: actortest.Logger(t), Registry: NewRegistry()}
	sink := newLogSink("m", "", nil, nil)
	childCh := make(chan *actor.PID, 1)
	parent := actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *actor.Started:
			childCh <- ctx.Spawn(moduleProps("m", deps, sink, launcher))
		case stateChanged:
			ctx.Send(r.probe.PID, msg)
		}
	}, actor.WithSupervisor(failureStrategy{ch: r.failures}))
	actortest.Spawn(t, r.sys, parent)
	r.child = <-childCh
	return r
}

func (r *moduleRig) send(msg any) { r.sys.Root.Send(r.child, msg) }

func (r *moduleRig) expectState(state string) stateChanged {
	r.t.Helper()
	return actortest.ExpectMatch(r.t, r.probe, 5*time.Second, func(s stateChanged) bool { return s.state == state })
}

func (r *moduleRig) launch() fakeLaunch {
	r.t.Helper()
	select {
	case l := <-r.launches:
		return l
	case <-time.After(5 * time.Second):
		r.t.Fatal("no launch")
		return fakeLaunch{}
	}
}

// crashed waits for the actor's crash report; a panic fails the test.
func (r *moduleRig) crashed() stateChanged {
	r.t.Helper()
	c := r.expectState(stateCrashed)
	r.noPanic()
	return c
}

// noPanic fails the test if the module actor panicked.
func (r *moduleRig) noPanic() {
	r.t.Helper()
	select {
	case f := <-r.failures:
		r.t.Fatalf("the module actor panicked: %v", f)
	default:
	}
}

// liveProc is a fake running process, ended when the test ends (before
// the actor stops).
func (r *moduleRig) liveProc() *proc {
	p := &proc{done: make(chan struct{})}
	r.t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			close(p.done)
		}
	})
	return p
}

func fakeProc(code int, signal string) *proc {
	p := &proc{pid: 0, started: time.Now(), done: make(chan struct{})}
	p.exit = exitInfo{code: code, signal: signal, at: time.Now()}
	close(p.done)
	return p
}

func testModule(f func(*ModuleConfig)) ModuleConfig {
	m := execModule("/bin/prog", "arg")
	if f != nil {
		f(&m)
	}
	return m
}

func TestModuleActorInjected(t *testing.T) {
	t.Run("exit is reported as a crash", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(nil)})
		l := r.launch()
		if strings.Join(l.argv, " ") != "/bin/prog arg" {
			t.Fatalf("argv %v", l.argv)
		}
		p := fakeProc(3, "")
		l.started(p, nil)
		r.expectState(StateRunning)
		l.exited(p)
		ce := r.crashed()
		// The actor waits for the supervisor's next command, and obeys it.
		r.send(startModule{cfg: testModule(nil), seq: 5})
		r.launch()
		if s := r.expectState(StateStarting); s.seq != 5 {
			t.Fatalf("after the crash: %+v", s)
		}
		if ce.exit.GetCode() != 3 || ce.reason != "exit code 3" || ce.pid != 0 {
			t.Fatalf("crash: %+v", ce)
		}
	})
	t.Run("signal during start crashes", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(func(m *ModuleConfig) { m.StartPeriod = time.Hour; m.StartTimeout = 2 * time.Hour })})
		l := r.launch()
		p := fakeProc(-1, "SIGKILL")
		l.started(p, nil)
		l.exited(p)
		ce := r.crashed()
		if ce.exit.GetSignal() != "SIGKILL" || !strings.Contains(ce.reason, "during start") {
			t.Fatalf("crash: %+v", ce)
		}
	})
	t.Run("start_seconds", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(func(m *ModuleConfig) { m.StartPeriod = time.Hour; m.StartTimeout = 2 * time.Hour })})
		l := r.launch()
		l.started(fakeProc(0, ""), nil)
		r.expectState(StateStarting)
		r.send(startElapsed{gen: 1})
		r.expectState(StateRunning)
	})
	t.Run("health failure crashes", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(func(m *ModuleConfig) {
			m.HealthcheckEndpoint = "http://127.0.0.1:1/health"
			m.StartTimeout = time.Hour
		})})
		l := r.launch()
		l.started(r.liveProc(), nil)
		r.send(healthDone{gen: 1, err: errors.New("HTTP 503")})
		if ce := r.crashed(); !strings.Contains(ce.reason, "HTTP 503") {
			t.Fatalf("crash: %+v", ce)
		}
	})
	t.Run("healthy is running", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(func(m *ModuleConfig) {
			m.HealthcheckEndpoint = "http://127.0.0.1:1/health"
			m.StartTimeout = time.Hour
		})})
		l := r.launch()
		l.started(r.liveProc(), nil)
		r.send(healthDone{gen: 1})
		r.expectState(StateRunning)
	})
	t.Run("requested stop is no failure", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(nil)})
		l := r.launch()
		p := &proc{done: make(chan struct{})}
		l.started(p, nil)
		r.expectState(StateRunning)
		r.send(stopModule{})
		r.expectState(StateStopping)
		p.exit = exitInfo{code: -1, signal: "SIGTERM"}
		close(p.done)
		l.exited(p)
		if s := r.expectState(StateStopped); s.exit.GetSignal() != "SIGTERM" {
			t.Fatalf("stopped: %+v", s)
		}
		r.send(startModule{cfg: testModule(nil), seq: 2})
		if l := r.launch(); strings.Join(l.argv, " ") != "/bin/prog arg" {
			t.Fatalf("argv %v", l.argv)
		}
		if s := r.expectState(StateStarting); s.seq != 2 {
			t.Fatalf("a requested stop crashed, or the report is not about the start: %+v", s)
		}
		r.noPanic()
	})
	t.Run("clean exit under on-failure", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(nil)})
		l := r.launch()
		p := fakeProc(0, "")
		l.started(p, nil)
		l.exited(p)
		r.expectState(StateExited)
	})
	t.Run("stale exit is ignored", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(nil)})
		l := r.launch()
		l.started(r.liveProc(), nil)
		r.expectState(StateRunning)
		l.exited(fakeProc(1, "")) // not the process it runs
		r.send(crashModule{reason: "watchdog: test"})
		if ce := r.crashed(); ce.reason != "watchdog: test" {
			t.Fatalf("crash: %+v", ce)
		}
	})
	t.Run("fork error crashes", func(t *testing.T) {
		r := newModuleRig(t)
		r.send(startModule{cfg: testModule(nil)})
		r.launch().started(nil, errors.New("no such file"))
		if ce := r.crashed(); !strings.Contains(ce.reason, "no such file") {
			t.Fatalf("crash: %+v", ce)
		}
	})
}
