package modules

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestRPCErrors(t *testing.T) {
	off := execModule("/bin/true")
	off.Enabled = false
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"a": execModule(helper(t)), "b": off}})

	res := h.start("nope")
	if res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND || !strings.Contains(res.Error.Message, "known: a, b") ||
		strings.Join(res.Error.Details, ",") != "a,b" {
		t.Fatalf("unknown module: %v", res.Error)
	}
	for _, msg := range []any{
		&messages.ModuleStopRequest{Module: "nope"}, &messages.ModuleRestartRequest{Module: "nope"},
		&messages.ModuleStatusRequest{Module: "nope"}, &messages.LogsTailRequest{Module: "nope"},
	} {
		r, err := actortest.TryRequest[messages.Responder](h.sys, h.pid, msg, 5*time.Second)
		if err != nil || r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Errorf("%T: %v %v", msg, r, err)
		}
	}
	if res := h.start("b"); res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Errorf("disabled: %v", res)
	}
	params, _ := structpb.NewStruct(map[string]any{"mode": "paper"})
	res = request[*messages.ModuleStartResponse](h, &messages.ModuleStartRequest{Module: "a", Params: params})
	if res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || !strings.Contains(res.Error.Message, "params.mode: cannot be overridden") {
		t.Errorf("bad params: %v", res.Error)
	}
	if res := h.start("a"); res.Error != nil {
		t.Fatal(res.Error)
	}
	if res := h.start("a"); res.Error.GetCode() != messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS {
		t.Errorf("second start: %v", res)
	}
	list := request[*messages.ModuleListResponse](h, &messages.ModuleListRequest{})
	if len(list.Modules) != 2 || list.Modules[0].State != StateRunning || list.Modules[1].State != StateDisabled {
		t.Errorf("list: %v", list)
	}
	tree := request[*messages.TreeResponse](h, &messages.TreeRequest{})
	if len(tree.Children) != 2 || tree.Children[0].Name != "a" || tree.Children[0].State != StateRunning {
		t.Errorf("tree: %v", tree)
	}
	if p := request[*messages.PingResponse](h, &messages.PingRequest{}); p.Name != Kind {
		t.Errorf("ping: %v", p)
	}
}

func TestRoutes(t *testing.T) {
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"a": execModule(helper(t))}})
	r := rpc.NewRouter(5 * time.Second)
	if err := r.Add(Routes(h.pid, nil)...); err != nil {
		t.Fatal(err)
	}
	want := "logs.tail module.list module.restart module.start module.status module.stop"
	if got := strings.Join(r.Methods(), " "); got != want {
		t.Fatalf("methods %s", got)
	}
	call := func(method, params string) (json.RawMessage, error) {
		p, err := r.Call(h.sys.Root, method, json.RawMessage(params))
		if err != nil {
			return nil, err
		}
		res, err := p.Result()
		if err != nil {
			return nil, err
		}
		return rpc.Encode(res)
	}
	if _, err := call("module.start", `{"module": "a", "params": {"args": ["-print", "1"]}}`); err != nil {
		t.Fatal(err)
	}
	out, err := call("module.status", `["a"]`) // positional: module first
	var st struct {
		Status struct{ State string } `json:"status"`
	}
	if err != nil || json.Unmarshal(out, &st) != nil || st.Status.State != StateRunning {
		t.Fatalf("status: %s %v", out, err)
	}
	actorEventually(t, func() bool {
		out, _ := call("logs.tail", `{"module": "a", "lines": 10}`)
		return strings.Contains(string(out), "line 0 ")
	}, "the args override reached the process")
	if _, err := call("module.restart", `["a"]`); err != nil {
		t.Fatal(err)
	}
	_, err = call("module.stop", `{"module": "zzz"}`)
	var me *messages.Error
	if err == nil || !asError(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("unknown module: %v", err)
	}
}

func asError(err error, target **messages.Error) bool {
	return errors.As(err, target)
}

func TestRestartClearsFailedCount(t *testing.T) {
	m := execModule(helper(t), "-exit", "1", "-after", "20ms")
	m.Restart = RestartAlways
	m.Backoff = Backoff{}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"x": m}})
	h.start("x")
	h.event("alert.module.failed", 10*time.Second)
	st := h.status("x")
	if st.State != StateFailed || st.RecentFailures != 4 {
		t.Fatalf("status: %v", st)
	}
	res := request[*messages.ModuleRestartResponse](h, &messages.ModuleRestartRequest{Module: "x"})
	if res.Status.GetRecentFailures() > 1 {
		t.Fatalf("restart did not clear the count: %v", res)
	}
}

func TestBackoffState(t *testing.T) {
	m := execModule(helper(t), "-exit", "1")
	m.Restart = RestartAlways
	m.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"b": m}})
	h.start("b")
	h.waitState("b", StateBackoff, 5*time.Second)
	// An explicit start does not wait for the backoff.
	h.start("b")
	actorEventually(t, func() bool { return h.status("b").Restarts >= 2 }, "restarted again")
	h.waitState("b", StateBackoff, 5*time.Second)
	if res := h.stop("b"); res.Status.State != StateStopped {
		t.Fatalf("stop in backoff: %v", res)
	}
}

func TestAutostart(t *testing.T) {
	bad := execModule("/nonexistent/binary")
	bad.Backoff = Backoff{}
	h := newHarness(t, Config{
		Modules:   map[string]ModuleConfig{"good": execModule(helper(t)), "bad": bad, "manual": execModule(helper(t))},
		Autostart: []string{"good", "bad"},
	})
	res := request2[*AutostartResult](h, StartAutostart{})
	if len(res.Started) != 1 || res.Started[0] != "good" || !strings.Contains(res.Errors["bad"], "failed") {
		t.Fatalf("autostart: %+v", res)
	}
	if st := h.status("manual"); st.State != StateStopped {
		t.Fatalf("manual: %v", st)
	}
}

func request2[T any](h *harness, msg any) T {
	h.t.Helper()
	res, err := actortest.TryRequest[T](h.sys, h.pid, msg, 30*time.Second)
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func TestHealthCheckedStart(t *testing.T) {
	port := freePort(t)
	sick := filepath.Join(t.TempDir(), "sick")
	if err := os.WriteFile(sick, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m := execModule(helper(t), "-listen", "127.0.0.1:"+strconv.Itoa(port), "-health-fail-file", sick)
	m.Port = port
	m.HealthcheckEndpoint = "/health"
	// Both starts need the helper up and answering within it: 3 s, as
	// starting a process on a loaded machine can take hundreds of ms (the
	// unhealthy start takes all of it).
	m.StartTimeout = 3 * time.Second
	m.Backoff = Backoff{}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"web": m}})
	res := h.start("web")
	if res.Error == nil || res.Status.State != StateFailed || !strings.Contains(res.Status.LastError, "HTTP 500") {
		t.Fatalf("unhealthy start: %v", res)
	}
	os.Remove(sick)
	res = h.start("web")
	if res.Error != nil || res.Status.Health != "ok" {
		t.Fatalf("healthy start: %v", res)
	}
}

func TestWatchdogRestartCounts(t *testing.T) {
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"w": execModule(helper(t))}})
	st := h.start("w").Status
	targets := request2[*WatchTargetsResponse](h, &WatchTargetsRequest{})
	if len(targets.Targets) != 1 || targets.Targets[0].PID != int(st.Pid) {
		t.Fatalf("targets: %+v", targets)
	}
	h.sys.Root.Send(h.pid, &RestartModule{Name: "w", PID: int(st.Pid) + 1, Reason: "wrong pid"})
	h.sys.Root.Send(h.pid, &RestartModule{Name: "w", PID: int(st.Pid), Reason: "watchdog: rss"})
	ev := h.event("module.w.crashed", 5*time.Second)
	if ev.Reason != "watchdog: rss" || ev.Restarts != 1 {
		t.Fatalf("crash: %v", ev)
	}
	h.event("module.w.started", 5*time.Second)
	actorEventually(t, func() bool { return !alive(int(st.Pid)) }, "old process gone")
	if st2 := h.status("w"); st2.Pid == st.Pid || st2.RecentFailures != 1 {
		t.Fatalf("after restart: %v", st2)
	}
}

// panicky is a thread module that fails when told to.
type panicky struct{}

func (panicky) Receive(ctx actor.Context) {
	if s, ok := ctx.Message().(string); ok && s == "boom" {
		panic("boom")
	}
}

func TestThreadModule(t *testing.T) {
	reg := NewRegistry()
	var threads []*actor.PID
	pids := make(chan *actor.PID, 8)
	if err := reg.Register("panicky", func(env ThreadEnv) *actor.Props {
		if env.Name != "p" || env.Params["level"] != "3" {
			panic(fmt.Sprintf("env %+v", env))
		}
		return actor.PropsFromProducer(func() actor.Actor { return panicky{} }, actor.WithOnInit(func(ctx actor.Context) { pids <- ctx.Self() }))
	}); err != nil {
		t.Fatal(err)
	}
	m := DefaultModuleConfig()
	m.Type, m.Module, m.StartPeriod, m.Args = TypeThread, "panicky", 0, []string{"--level=3"}
	m.Backoff = Backoff{}
	unknown := m
	unknown.Module = "missing"
	h := newHarnessWith(t, Config{Modules: map[string]ModuleConfig{"p": m, "u": unknown}}, reg)
	if res := h.start("p"); res.Error != nil || res.Status.Pid != 0 {
		t.Fatalf("start: %v", res)
	}
	threads = append(threads, <-pids)
	h.sys.Root.Send(threads[0], "boom")
	ev := h.event("module.p.crashed", 5*time.Second)
	if !strings.Contains(ev.Reason, "boom") {
		t.Fatalf("crash: %v", ev)
	}
	h.event("module.p.started", 5*time.Second)
	if res := h.start("u"); res.Error == nil || !strings.Contains(res.Error.Message, `no thread module "missing" (registered: panicky)`) {
		t.Fatalf("unknown thread module: %v", res)
	}
}

func TestSurvivorOfEarlierDaemon(t *testing.T) {
	// A module process left by a "crashed daemon": its pid file is there.
	state := t.TempDir()
	cmd := execCommand(helper(t), "-ignore-term")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = cmd.Wait() }() // reap it once killed
	old := cmd.Process.Pid
	ticks, err := startTicks(old)
	if err != nil {
		t.Fatal(err)
	}
	if err := newPIDFile(state, "s").write(old, ticks); err != nil {
		t.Fatal(err)
	}
	// A pid file naming a reused pid (other start time) is left alone.
	if err := newPIDFile(state, "reused").write(os.Getpid(), ticks+1); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Modules: map[string]ModuleConfig{"s": execModule(helper(t)), "reused": execModule(helper(t))}}
	h := newHarnessState(t, cfg, state)
	st := h.start("s").Status
	if alive(old) {
		t.Fatalf("survivor %d still alive", old)
	}
	if st.State != StateRunning || int(st.Pid) == old {
		t.Fatalf("status: %v", st)
	}
	// Each module's actor checks its own pid file as it starts: poll.
	actortest.Eventually(t, 5*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(state, "reused.pid"))
		return os.IsNotExist(err)
	}, "stale pid file kept")
	_ = h
}

// TestStartFailingIntoBackoffAnswers: a start whose attempt fails and
// leaves the module waiting out a long backoff is answered with the
// failure, not kept until the next attempt. The harness's StopAll at the
// end then finds the module in backoff and must answer at once.
func TestStartFailingIntoBackoffAnswers(t *testing.T) {
	m := execModule(helper(t), "-exit", "1")
	m.Restart = RestartAlways
	m.StartPeriod = 5 * time.Second // it exits long before it would count as started, even on a loaded machine
	m.Backoff = Backoff{Initial: time.Hour, Max: time.Hour}
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"b": m}})
	res := h.start("b")
	if res.GetError() == nil || !strings.Contains(res.GetError().GetMessage(), "did not start") || res.GetStatus().GetState() != StateBackoff {
		t.Fatalf("start = %v", res)
	}
}
