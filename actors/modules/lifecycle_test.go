package modules

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/restarts"
	"github.com/superbot/superbot/messages"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	c       *fakeClock
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{c: c, at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return t
}

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

// pending counts the timers not yet fired or stopped.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if !t.stopped {
			n++
		}
	}
	return n
}

// advance moves the clock by d and fires the timers that came due.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	for _, t := range c.timers {
		if !t.stopped && !t.at.After(c.now) {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

// newClockHarness is newHarness with a fake clock.
func newClockHarness(t *testing.T, cfg Config, clock Clock) *harness {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, sys: actortest.NewSystem(t), state: t.TempDir(), logs: t.TempDir(), reg: NewRegistry()}
	h.bus = actortest.NewProbe(t, h.sys)
	h.pid = actortest.Spawn(t, h.sys, Props(cfg, Deps{Bus: h.bus.PID, StateDir: h.state, LogDir: h.logs, Logger: actortest.Logger(t), Clock: clock}))
	t.Cleanup(func() {
		if _, err := actortest.TryRequest[*StopAllResult](h.sys, h.pid, &StopAll{}, 30*time.Second); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	return h
}

// sleepers lists the live processes whose command line has arg.
func sleepers(t *testing.T, arg string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !strings.Contains(string(b), "\x00"+arg+"\x00") {
			continue
		}
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// TestLifecycleCallsUnderRandomInterleavings: random batches of
// module.start, .stop and .restart sent at once (as 20 clients would), and
// crashes (SIGKILL of the module's process) in between, on a real exec
// module. Every call is answered within a bound, with a status or a
// conflict error; there is never more than one live process of the module;
// and the module ends in the state the last effective command asked for.
// LIFECYCLE_SEED replays a run.
func TestLifecycleCallsUnderRandomInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LIFECYCLE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (LIFECYCLE_SEED=%d replays it)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	marker := fmt.Sprintf("3600.%d", 100+rng.IntN(800))
	m := execModule("/bin/sleep", marker)
	m.Restart = RestartAlways
	m.Backoff = Backoff{}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"s": m}, Policy: restarts.Policy{Max: 1 << 20, Within: time.Minute}})
	const bound = 10 * time.Second
	want := "" // the goal of the last effective command: up or down
	for round := range 40 {
		n := 1 + rng.IntN(8)
		kinds := make([]string, n)
		futures := make([]*actor.Future, n)
		for i := range n {
			var msg proto.Message
			switch kinds[i] = []string{"start", "stop", "restart"}[rng.IntN(3)]; kinds[i] {
			case "start":
				msg = &messages.ModuleStartRequest{Module: "s"}
			case "stop":
				msg = &messages.ModuleStopRequest{Module: "s"}
			default:
				msg = &messages.ModuleRestartRequest{Module: "s"}
			}
			futures[i] = h.sys.Root.RequestFuture(h.pid, msg, bound)
			if rng.IntN(4) == 0 {
				crash(t, marker)
			}
		}
		for i, f := range futures {
			res, err := f.Result()
			if err != nil {
				t.Fatalf("round %d: %s #%d not answered within %s: %v", round, kinds[i], i, bound, err)
			}
			e := res.(messages.Responder).GetError()
			switch {
			case e == nil, e.Code == messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS:
				want = goalOf(kinds[i])
			case e.Code != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION:
				t.Fatalf("round %d: %s #%d: unexpected error %v", round, kinds[i], i, e)
			case !strings.Contains(e.Message, "is stopping"): // overtaken by a later command: it was effective
				want = goalOf(kinds[i])
			}
			if live := sleepers(t, marker); len(live) > 1 {
				t.Fatalf("round %d: %d live processes: %v", round, len(live), live)
			}
		}
	}
	wantState, wantLive := StateStopped, 0
	if want == "up" {
		wantState, wantLive = StateRunning, 1
	}
	actorEventually(t, func() bool {
		return h.status("s").State == wantState && len(sleepers(t, marker)) == wantLive
	}, "the last effective command wants %s: state %s with %d process(es)", want, wantState, wantLive)
}

func goalOf(kind string) string {
	if kind == "stop" {
		return "down"
	}
	return "up"
}

// crash kills the module's live process (if any), as a crash.
func crash(t *testing.T, marker string) {
	for _, pid := range sleepers(t, marker) {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// TestStartWhileStoppingIsAConflict: a start that comes while the module
// stops is answered at once with a conflict, not kept waiting.
func TestStartWhileStoppingIsAConflict(t *testing.T) {
	m := execModule(helper(t), "-ignore-term")
	m.StopTimeout = 3 * time.Second
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"x": m}})
	if res := h.start("x"); res.Error != nil {
		t.Fatal(res.Error)
	}
	// Until the helper has set up its signal handling, SIGTERM kills it and
	// the stop is over before the start arrives.
	actorEventually(t, func() bool { return strings.Contains(h.tailText("x"), "ready") }, "ready")
	stop := h.sys.Root.RequestFuture(h.pid, &messages.ModuleStopRequest{Module: "x"}, 10*time.Second)
	res := h.start("x") // the stop waits for stop_timeout: the module is stopping
	if res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION || !strings.Contains(res.Error.GetMessage(), `module "x" is stopping`) {
		t.Fatalf("start while stopping = %v", res)
	}
	if r, err := stop.Result(); err != nil || r.(*messages.ModuleStopResponse).Status.GetState() != StateStopped {
		t.Fatalf("stop = %v, %v", r, err)
	}
}

// TestStopDuringRestartWins: a stop sent after a restart leaves the module
// stopped, and both are answered.
func TestStopDuringRestartWins(t *testing.T) {
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"x": execModule(helper(t))}})
	h.start("x")
	restart := h.sys.Root.RequestFuture(h.pid, &messages.ModuleRestartRequest{Module: "x"}, 10*time.Second)
	stop := h.sys.Root.RequestFuture(h.pid, &messages.ModuleStopRequest{Module: "x"}, 10*time.Second)
	if _, err := restart.Result(); err != nil {
		t.Fatalf("restart not answered: %v", err)
	}
	r, err := stop.Result()
	if err != nil || r.(*messages.ModuleStopResponse).Status.GetState() != StateStopped {
		t.Fatalf("stop = %v, %v", r, err)
	}
	if st := h.status("x"); st.State != StateStopped {
		t.Fatalf("status: %v", st)
	}
}

// TestRestartPolicyFromConfig: the cap, the window and the cooldown come
// from the config (globally, and per module), on an injected clock.
func TestRestartPolicyFromConfig(t *testing.T) {
	crashing := func(f func(*ModuleConfig)) ModuleConfig {
		m := execModule(helper(t), "-exit", "1")
		m.Restart = RestartAlways
		m.Backoff = Backoff{}
		m.StartPeriod = 5 * time.Second // it exits long before it would count as started
		if f != nil {
			f(&m)
		}
		return m
	}
	t.Run("global cap and cooldown", func(t *testing.T) {
		clock := newFakeClock()
		h := newClockHarness(t, Config{Modules: map[string]ModuleConfig{"x": crashing(nil)},
			Policy: restarts.Policy{Max: 2, Within: time.Minute, Cooldown: 10 * time.Minute}}, clock)
		res := h.start("x")
		if res.Status.GetState() != StateFailed || !strings.Contains(res.Error.GetMessage(), "3 failures within 1m0s") {
			t.Fatalf("start = %v", res)
		}
		if ev := h.event("alert.module.failed", 10*time.Second); ev.Module != "x" || ev.Restarts != 2 {
			t.Fatalf("alert: %v", ev)
		}
		clock.advance(9 * time.Minute)
		if st := h.status("x"); st.State != StateFailed {
			t.Fatalf("before the cooldown: %v", st)
		}
		clock.advance(time.Minute)
		h.event("module.x.starting", 10*time.Second) // tried again
		if ev := h.event("alert.module.failed", 10*time.Second); ev.Restarts != 4 {
			t.Fatalf("second alert: %v", ev)
		}
	})
	t.Run("per module override and never", func(t *testing.T) {
		clock := newFakeClock()
		h := newClockHarness(t, Config{Modules: map[string]ModuleConfig{"x": crashing(func(m *ModuleConfig) {
			m.MaxRestarts, m.Cooldown = 1, CooldownNever
		})}, Policy: restarts.Policy{Max: 5, Within: time.Minute, Cooldown: time.Minute}}, clock)
		res := h.start("x")
		if res.Status.GetState() != StateFailed || res.Status.GetRecentFailures() != 2 {
			t.Fatalf("start = %v", res)
		}
		if n := clock.pending(); n != 0 {
			t.Fatalf("cooldown never: %d timers pending", n)
		}
	})
	t.Run("the window slides", func(t *testing.T) {
		clock := newFakeClock()
		h := newClockHarness(t, Config{Modules: map[string]ModuleConfig{"x": crashing(func(m *ModuleConfig) {
			m.Backoff = Backoff{Initial: 40 * time.Second, Max: 40 * time.Second}
		})}, Policy: restarts.Policy{Max: 2, Within: time.Minute}}, clock)
		h.start("x")
		// A failure every 40 s never puts more than 2 in a 60 s window.
		for i := range 6 {
			h.waitState("x", StateBackoff, 10*time.Second)
			if st := h.status("x"); st.Restarts != uint32(i+1) {
				t.Fatalf("restart %d: %v", i, st)
			}
			clock.advance(40 * time.Second)
		}
	})
}

// TestFileQueueNeverBlocks: with the queue full, a submit returns at once
// with false, and counts the drop; what was queued still runs in order.
func TestFileQueueNeverBlocks(t *testing.T) {
	q := &fileQueue{size: 2}
	release := make(chan struct{})
	started := make(chan struct{})
	var ran []int
	var mu sync.Mutex
	if !q.submit(func() { close(started); <-release }) {
		t.Fatal("first submit dropped")
	}
	<-started
	for i := range 2 {
		if !q.submit(func() { mu.Lock(); ran = append(ran, i); mu.Unlock() }) {
			t.Fatalf("submit %d dropped", i)
		}
	}
	done := make(chan bool)
	go func() { done <- q.submit(func() { t.Error("a dropped op ran") }) }()
	select {
	case ok := <-done:
		if ok || q.dropped.Load() != 1 {
			t.Fatalf("full queue: submitted %v, dropped %d", ok, q.dropped.Load())
		}
	case <-time.After(actortest.DefaultTimeout):
		t.Fatal("submit blocked on a full queue")
	}
	close(release)
	actorEventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(ran) == 2
	}, "the queued operations ran")
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(ran) != "[0 1]" {
		t.Fatalf("ran %v", ran)
	}
}

// TestStartAndStopAll: module.start all starts every enabled module in
// dependency order, module.stop all stops them in reverse; each answer
// lists every module's result.
func TestStartAndStopAll(t *testing.T) {
	api := execModule(helper(t))
	api.DependsOn = []string{"db"}
	off := execModule(helper(t))
	off.Enabled = false
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"api": api, "db": execModule(helper(t)), "off": off}})
	res := h.start(AllModules)
	if res.Error != nil || len(res.Results) != 2 || res.Results[0].Module != "db" || res.Results[1].Module != "api" {
		t.Fatalf("start all = %v", res)
	}
	for _, r := range res.Results {
		if r.Error != nil || r.Status.State != StateRunning {
			t.Fatalf("start all: %v", r)
		}
	}
	if again := h.start(AllModules); again.Error != nil || len(again.Results) != 2 || again.Results[0].Error != nil {
		t.Fatalf("start all while running = %v", again)
	}
	stop := h.stop(AllModules)
	if stop.Error != nil || len(stop.Results) != 3 || stop.Results[0].Module != "off" || stop.Results[1].Module != "api" || stop.Results[2].Module != "db" {
		t.Fatalf("stop all = %v", stop)
	}
	topics := h.topics(10*time.Second, func(topic string) bool { return topic == "module.db.stopped" })
	if i := indexOf(topics, "module.api.stopped"); i < 0 || i > indexOf(topics, "module.db.stopped") {
		t.Fatalf("stop order: %v", topics)
	}
	for _, n := range []string{"api", "db"} {
		if st := h.status(n); st.State != StateStopped {
			t.Fatalf("%s after stop all: %v", n, st)
		}
	}
}

func indexOf(xs []string, x string) int {
	for i, v := range xs {
		if v == x {
			return i
		}
	}
	return -1
}

// TestApplyConfig: a reload adds, removes and changes modules; the answer
// lists what happened.
func TestApplyConfig(t *testing.T) {
	cfg := Config{Modules: map[string]ModuleConfig{
		"keep": execModule(helper(t)), "change": execModule(helper(t)), "idle": execModule(helper(t)), "gone": execModule(helper(t)),
	}}
	h := newHarness(t, cfg)
	oldChange := h.start("change").Status.Pid
	oldKeep := h.start("keep").Status.Pid
	gonePid := h.start("gone").Status.Pid
	next := Config{Modules: map[string]ModuleConfig{
		"keep": execModule(helper(t)), "change": execModule(helper(t), "-print", "1"), "idle": execModule(helper(t), "-print", "2"),
		"new": execModule(helper(t)), "manual": execModule(helper(t)),
	}, Autostart: []string{"new"}}
	res := request2[*ApplyConfigResult](h, &ApplyConfig{Config: next})
	got := fmt.Sprintf("added %v removed %v changed %v started %v stopped %v restarted %v problems %v",
		res.Added, res.Removed, res.Changed, res.Started, res.Stopped, res.Restarted, res.Problems)
	want := "added [manual new] removed [gone] changed [change idle] started [new] stopped [gone] restarted [change] problems []"
	if got != want {
		t.Fatalf("apply:\n got %s\nwant %s", got, want)
	}
	if st := h.status("change"); st.State != StateRunning || st.Pid == oldChange {
		t.Fatalf("change: %v", st)
	}
	if st := h.status("keep"); st.State != StateRunning || st.Pid != oldKeep {
		t.Fatalf("keep: %v", st)
	}
	if st := h.status("new"); st.State != StateRunning {
		t.Fatalf("new: %v", st)
	}
	if st := h.status("idle"); st.State != StateStopped {
		t.Fatalf("idle: %v", st)
	}
	if res := request[*messages.ModuleStatusResponse](h, &messages.ModuleStatusRequest{Module: "gone"}); res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("gone: %v", res)
	}
	if alive(int(gonePid)) {
		t.Fatalf("the removed module's process %d is alive", gonePid)
	}
	// A module can come back under a removed name.
	next.Modules["gone"] = execModule(helper(t))
	if res := request2[*ApplyConfigResult](h, &ApplyConfig{Config: next}); fmt.Sprint(res.Added) != "[gone]" {
		t.Fatalf("re-add: %+v", res)
	}
	if res := h.start("gone"); res.Error != nil {
		t.Fatalf("start re-added: %v", res)
	}
	// A bad config changes nothing.
	bad := Config{Modules: map[string]ModuleConfig{"x": {Type: "bogus"}}}
	if res := request2[*ApplyConfigResult](h, &ApplyConfig{Config: bad}); len(res.Problems) == 0 || len(res.Removed) != 0 {
		t.Fatalf("bad config: %+v", res)
	}
}

// TestResurrect: the modules running when the modules supervisor stopped
// are started again by the next one reading the same state directory; not
// with resurrect off.
func TestResurrect(t *testing.T) {
	state := t.TempDir()
	cfg := func(resurrect bool) Config {
		return Config{Modules: map[string]ModuleConfig{"a": execModule(helper(t)), "b": execModule(helper(t)), "c": execModule(helper(t))},
			Autostart: []string{"c"}, Resurrect: resurrect}
	}
	h1 := newHarnessState(t, cfg(true), state)
	if res := request2[*AutostartResult](h1, StartAutostart{}); len(res.Started) != 1 {
		t.Fatalf("first autostart: %+v", res)
	}
	h1.start("a")
	h1.start("b")
	h1.stop("b")
	request2[*StopAllResult](h1, &StopAll{}) // the daemon stops: the set is kept as it was

	h2 := newHarnessState(t, cfg(true), state)
	res := request2[*AutostartResult](h2, StartAutostart{})
	if fmt.Sprint(res.Started) != "[c a]" || len(res.Errors) != 0 {
		t.Fatalf("resurrect: %+v", res)
	}
	if st := h2.status("b"); st.State != StateStopped {
		t.Fatalf("b was stopped before: %v", st)
	}
	request2[*StopAllResult](h2, &StopAll{})

	h3 := newHarnessState(t, cfg(false), state)
	if res := request2[*AutostartResult](h3, StartAutostart{}); fmt.Sprint(res.Started) != "[c]" {
		t.Fatalf("resurrect off: %+v", res)
	}
}

// TestApplyConfigRemovesAModuleInBackoff: a removed module waiting out its
// backoff is stopped and its module actor goes.
func TestApplyConfigRemovesAModuleInBackoff(t *testing.T) {
	m := execModule(helper(t), "-exit", "1")
	m.Restart = RestartAlways
	m.StartPeriod = 5 * time.Second
	m.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"b": m, "other": execModule(helper(t))}})
	h.start("b")
	h.waitState("b", StateBackoff, 10*time.Second)
	res := request2[*ApplyConfigResult](h, &ApplyConfig{Config: Config{Modules: map[string]ModuleConfig{"other": execModule(helper(t))}}})
	if fmt.Sprint(res.Removed, res.Stopped, res.Problems) != "[b] [b] []" {
		t.Fatalf("apply: %+v", res)
	}
	actorEventually(t, func() bool {
		_, ok := h.sys.ProcessRegistry.GetLocal(h.pid.Id + "/b")
		return !ok
	}, "the removed module's actor stopped")
}

// TestApplyConfigAnswersAPendingStart: a start waiting for its dependency
// is answered when a reload removes the module (it was dropped unanswered,
// and the caller waited for its own deadline).
func TestApplyConfigAnswersAPendingStart(t *testing.T) {
	api := execModule(helper(t))
	api.DependsOn = []string{"db"}
	db := execModule(helper(t))
	db.StartPeriod = time.Hour // db stays "starting": api's start waits for it
	db.StartTimeout = 2 * time.Hour
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"api": api, "db": db}})
	start := h.sys.Root.RequestFuture(h.pid, &messages.ModuleStartRequest{Module: "api"}, time.Minute)
	h.waitState("db", StateStarting, 10*time.Second)
	res := request2[*ApplyConfigResult](h, &ApplyConfig{Config: Config{Modules: map[string]ModuleConfig{"db": db}}})
	if fmt.Sprint(res.Removed) != "[api]" {
		t.Fatalf("apply: %+v", res)
	}
	r, err := start.Result()
	if err != nil {
		t.Fatalf("the pending start was not answered: %v", err)
	}
	if e := r.(*messages.ModuleStartResponse).GetError(); e == nil || !strings.Contains(e.Message, "removed") {
		t.Fatalf("pending start answered %v, want an error saying it was removed", r)
	}
}
