package modules

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/messages"
)

// fakeElections stands in for the cluster's elections: the test decides
// who leads.
type fakeElections struct {
	mu      sync.Mutex
	pids    map[string]*actor.PID // election -> its actor
	leading []string              // what Deps.Leading was told, "NAME=true"
}

// elect makes the election actor of name tell its parent (the modules
// supervisor) that this node leads with token; depose that it no longer does.
type (
	elect  struct{ token int64 }
	depose struct{}
)

func (f *fakeElections) props(name string) (*actor.Props, error) {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			f.mu.Lock()
			f.pids[name] = ctx.Self()
			f.mu.Unlock()
		case elect:
			ctx.Send(ctx.Parent(), &election.Elected{Name: name, Token: m.token})
		case depose:
			ctx.Send(ctx.Parent(), &election.Deposed{Name: name, Reason: "test"})
		}
	}), nil
}

func (f *fakeElections) send(t *testing.T, h *harness, name string, msg any) {
	t.Helper()
	actorEventually(t, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		return f.pids[name] != nil
	}, "election %s started", name)
	f.mu.Lock()
	pid := f.pids[name]
	f.mu.Unlock()
	h.sys.Root.Send(pid, msg)
}

func (f *fakeElections) told() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.leading...)
}

// TestSingletonModuleRunsOnlyWhileItLeads: a singleton module in autostart
// waits (no error) until this node leads its election; then it starts with
// the term's token in SUPERBOT_FENCING_TOKEN. Deposed, it is killed at
// once, though it ignores SIGTERM and its stop_timeout is a minute; elected
// again, it starts again with the new token. module.start on a node that
// does not lead is refused with the reason.
func TestSingletonModuleRunsOnlyWhileItLeads(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	m := execModule("sh", "-c", `echo "$SUPERBOT_FENCING_TOKEN" > `+tokenFile+`; trap '' TERM; while :; do sleep 0.1; done`)
	m.Singleton, m.StopTimeout = true, time.Minute
	plain := execModule("sleep", "60")
	f := &fakeElections{pids: map[string]*actor.PID{}}
	h := newHarnessDeps(t, Config{Modules: map[string]ModuleConfig{"solo": m, "plain": plain}, Autostart: []string{"solo", "plain"}}, NewRegistry(),
		func(d *Deps) {
			d.Elect = f.props
			d.Leading = func(name string, leading bool) {
				f.mu.Lock()
				defer f.mu.Unlock()
				f.leading = append(f.leading, name+"="+map[bool]string{true: "true", false: "false"}[leading])
			}
		})
	res := request2[*AutostartResult](h, StartAutostart{})
	if len(res.Errors) != 0 || len(res.Started) != 1 || res.Started[0] != "plain" {
		t.Fatalf("autostart: %+v, want plain started and solo waiting without an error", res)
	}
	if st := h.status("solo"); st.State != StateStopped {
		t.Fatalf("solo is %s before this node leads it", st.State)
	}
	r := h.start("solo")
	if r.Error.GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION || !strings.Contains(r.Error.GetMessage(), "does not lead") {
		t.Fatalf("module.start of a singleton this node does not lead: %v", r.Error)
	}

	f.send(t, h, "module-solo", elect{token: 7})
	st := h.waitState("solo", StateRunning, 10*time.Second)
	actorEventually(t, func() bool { b, _ := os.ReadFile(tokenFile); return strings.TrimSpace(string(b)) == "7" }, "the token in the environment")

	f.send(t, h, "module-solo", depose{})
	killed := time.Now()
	h.waitState("solo", StateStopped, 10*time.Second)
	if took := time.Since(killed); took > 5*time.Second || alive(int(st.Pid)) {
		t.Fatalf("deposed: down after %s, process alive %v (want killed at once)", took, alive(int(st.Pid)))
	}
	if got := h.status("plain").State; got != StateRunning {
		t.Fatalf("plain is %s: a deposal touches only the singleton", got)
	}

	f.send(t, h, "module-solo", elect{token: 9})
	h.waitState("solo", StateRunning, 10*time.Second)
	actorEventually(t, func() bool { b, _ := os.ReadFile(tokenFile); return strings.TrimSpace(string(b)) == "9" }, "the new token")
	if got, want := f.told(), []string{"module-solo=true", "module-solo=false", "module-solo=true"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("Leading told %v, want %v", got, want)
	}
	f.send(t, h, "module-solo", depose{}) // down before the cleanup's StopAll, which would wait its stop_timeout
	h.waitState("solo", StateStopped, 10*time.Second)
}

// TestSingletonWithoutClusterRunsAsUsual: with no elections (not
// clustered) singleton has no effect.
func TestSingletonWithoutClusterRunsAsUsual(t *testing.T) {
	m := execModule("sleep", "60")
	m.Singleton = true
	h := newHarness(t, Config{Modules: map[string]ModuleConfig{"solo": m}})
	if r := h.start("solo"); r.Error != nil {
		t.Fatalf("start: %v", r.Error)
	}
	h.waitState("solo", StateRunning, 10*time.Second)
}
