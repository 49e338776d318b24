package modules

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// harness is one modules supervisor on a fresh actor system, with a probe
// as the bus.
type harness struct {
	t     testing.TB
	sys   *actor.ActorSystem
	bus   *actortest.Probe
	pid   *actor.PID
	state string
	logs  string
	reg   *Registry
}

func newHarness(t testing.TB, cfg Config) *harness {
	return newHarnessWith(t, cfg, NewRegistry())
}

func newHarnessWith(t testing.TB, cfg Config, reg *Registry) *harness {
	t.Helper()
	return newHarnessDeps(t, cfg, reg, nil)
}

// newHarnessDeps is newHarnessWith; deps, when set, changes the Deps.
func newHarnessDeps(t testing.TB, cfg Config, reg *Registry, deps func(*Deps)) *harness {
	t.Helper()
	for n, m := range cfg.Modules {
		if m.Restart == "" && m.StopTimeout == 0 { // a raw literal: start from the defaults
			d := DefaultModuleConfig()
			d.Type, d.Command, d.DependsOn, d.App, d.Port = m.Type, m.Command, m.DependsOn, m.App, m.Port
			d.StartPeriod = 0
			cfg.Modules[n] = d
		}
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	h := &harness{t: t, sys: actortest.NewSystem(t), state: t.TempDir(), logs: t.TempDir(), reg: reg}
	h.bus = actortest.NewProbe(t, h.sys)
	d := Deps{
		Bus: h.bus.PID, StateDir: h.state, LogDir: h.logs, SocketPath: "/tmp/test.sock", TokenPath: "/tmp/test.token",
		Registry: reg, Logger: actortest.Logger(t), Node: "test",
	}
	if deps != nil {
		deps(&d)
	}
	h.pid = actortest.Spawn(t, h.sys, Props(cfg, d))
	t.Cleanup(func() { // before the Spawn cleanup stops the supervisor
		if _, err := actortest.TryRequest[*StopAllResult](h.sys, h.pid, &StopAll{}, 30*time.Second); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	return h
}

func (h *harness) start(name string) *messages.ModuleStartResponse {
	h.t.Helper()
	return request[*messages.ModuleStartResponse](h, &messages.ModuleStartRequest{Module: name})
}

func (h *harness) stop(name string) *messages.ModuleStopResponse {
	h.t.Helper()
	return request[*messages.ModuleStopResponse](h, &messages.ModuleStopRequest{Module: name})
}

func (h *harness) status(name string) *messages.ModuleStatus {
	h.t.Helper()
	res := request[*messages.ModuleStatusResponse](h, &messages.ModuleStatusRequest{Module: name})
	if res.Error != nil {
		h.t.Fatalf("status %s: %v", name, res.Error)
	}
	return res.Status
}

func request[T proto.Message](h *harness, msg proto.Message) T {
	h.t.Helper()
	res, err := actortest.TryRequest[T](h.sys, h.pid, msg, 30*time.Second)
	if err != nil {
		h.t.Fatalf("request %T: %v", msg, err)
	}
	return res
}

// waitState polls the module's state.
func (h *harness) waitState(name, state string, timeout time.Duration) *messages.ModuleStatus {
	h.t.Helper()
	var st *messages.ModuleStatus
	actortest.Eventually(h.t, timeout, func() bool {
		st = h.status(name)
		return st.State == state
	}, "module %s state %s", name, state)
	return st
}

// event waits for the next bus event on topic and returns its payload.
func (h *harness) event(topic string, timeout time.Duration) *messages.ModuleEvent {
	h.t.Helper()
	ev := actortest.ExpectMatch(h.t, h.bus, timeout, func(e *messages.Event) bool { return e.Topic == topic })
	if err := bus.ValidateTopic(ev.Topic); err != nil {
		h.t.Fatal(err)
	}
	var me messages.ModuleEvent
	if err := ev.Payload.UnmarshalTo(&me); err != nil {
		h.t.Fatalf("payload of %s: %v", topic, err)
	}
	return &me
}

// events drains the probe, returning the module.* and alert.* topics seen
// until cond says stop.
func (h *harness) topics(timeout time.Duration, until func(topic string) bool) []string {
	h.t.Helper()
	var out []string
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		m, ok := h.bus.Next(time.Until(deadline))
		if !ok {
			break
		}
		ev, ok := m.(*messages.Event)
		if !ok {
			continue
		}
		if err := bus.ValidateTopic(ev.Topic); err != nil {
			h.t.Fatal(err)
		}
		if strings.HasPrefix(ev.Topic, "logs.") {
			continue
		}
		out = append(out, ev.Topic)
		if until(ev.Topic) {
			return out
		}
	}
	h.t.Fatalf("events so far: %v", out)
	return nil
}

func execModule(argv ...string) ModuleConfig {
	m := DefaultModuleConfig()
	m.Type = TypeExec
	m.Command = argv
	m.StartPeriod = 0
	m.StopTimeout = 5 * time.Second
	m.Backoff = Backoff{Initial: 0, Max: time.Second}
	return m
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil {
		return false
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(b), ')')
	return i < 0 || !strings.HasPrefix(strings.TrimSpace(string(b[i+1:])), "Z")
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func itoa(n int) string { return strconv.Itoa(n) }

func atoi(s string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(s))
	return n
}

func actorEventually(t testing.TB, cond func() bool, msg string, args ...any) {
	t.Helper()
	actortest.Eventually(t, 10*time.Second, cond, msg, args...)
}

func actortestRequest[T any](h *harness, msg any) (T, error) {
	return actortest.TryRequest[T](h.sys, h.pid, msg, 30*time.Second)
}

// newHarnessState is newHarness with a given state directory.
func newHarnessState(t testing.TB, cfg Config, state string) *harness {
	t.Helper()
	h := &harness{t: t, sys: actortest.NewSystem(t), state: state, logs: t.TempDir(), reg: NewRegistry()}
	h.bus = actortest.NewProbe(t, h.sys)
	logs := h.logs
	if state == "" {
		logs = ""
	}
	h.pid = actortest.Spawn(t, h.sys, Props(cfg, Deps{Bus: h.bus.PID, StateDir: state, LogDir: logs, Logger: actortest.Logger(t)}))
	t.Cleanup(func() {
		if _, err := actortest.TryRequest[*StopAllResult](h.sys, h.pid, &StopAll{}, 30*time.Second); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	return h
}

// execCommand is a command in its own process group.
func execCommand(argv ...string) *exec.Cmd {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// tailText is a module's recent output, for failure messages.
func (h *harness) tailText(name string) string {
	var b strings.Builder
	for _, l := range request[*messages.LogsTailResponse](h, &messages.LogsTailRequest{Module: name, Lines: 50}).Lines {
		b.WriteString(l.Stream + ": " + l.Line + "\n")
	}
	return b.String()
}

func newSystemAndBus(t testing.TB) (*actor.ActorSystem, *actortest.Probe) {
	sys := actortest.NewSystem(t)
	return sys, actortest.NewProbe(t, sys)
}

func actortestRequest2[T any](t testing.TB, sys *actor.ActorSystem, pid *actor.PID, msg any) T {
	t.Helper()
	return actortest.Request[T](t, sys, pid, msg)
}
