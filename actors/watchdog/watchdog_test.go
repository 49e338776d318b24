package watchdog

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if helperDir != "" {
		os.RemoveAll(helperDir)
	}
	if code == 0 {
		if err := goleak.Find(
			goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.forkLoop"),
			goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.fileLoop"), // the file goroutine too
			goleak.IgnoreTopFunction("gopkg.in/natefinch/lumberjack%2ev2.(*Logger).millRun"),
		); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

var (
	helperOnce sync.Once
	helperDir  string
	helperPath string
	helperErr  error
)

func helper(t testing.TB) string {
	t.Helper()
	helperOnce.Do(func() {
		if helperDir, helperErr = os.MkdirTemp("", "watchdog-helper-"); helperErr != nil {
			return
		}
		helperPath = filepath.Join(helperDir, "helper")
		if out, err := exec.Command("go", "build", "-o", helperPath, "../modules/testdata/helper").CombinedOutput(); err != nil {
			helperErr = err
			t.Log(string(out))
		}
	})
	if helperErr != nil {
		t.Fatal(helperErr)
	}
	return helperPath
}

type env struct {
	sys  *actor.ActorSystem
	bus  *actortest.Probe
	mods *actor.PID
	wd   *actor.PID
}

func newEnv(t *testing.T, mods map[string]modules.ModuleConfig, cfg Config) *env {
	t.Helper()
	mc := modules.Config{Modules: mods}
	if err := mc.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	e := &env{sys: actortest.NewSystem(t)}
	e.bus = actortest.NewProbe(t, e.sys)
	e.mods = actortest.Spawn(t, e.sys, modules.Props(mc, modules.Deps{Bus: e.bus.PID, Logger: actortest.Logger(t)}))
	t.Cleanup(func() {
		if _, err := actortest.TryRequest[*modules.StopAllResult](e.sys, e.mods, &modules.StopAll{}, 20*time.Second); err != nil {
			t.Error(err)
		}
	})
	e.wd = actortest.Spawn(t, e.sys, Props(cfg, Deps{Bus: e.bus.PID, Modules: e.mods, Logger: actortest.Logger(t)}))
	for name := range mods {
		res := actortest.Request[*messages.ModuleStartResponse](t, e.sys, e.mods, &messages.ModuleStartRequest{Module: name})
		if res.Error != nil {
			t.Fatalf("start %s: %v", name, res.Error)
		}
	}
	return e
}

func execModule(argv ...string) modules.ModuleConfig {
	m := modules.DefaultModuleConfig()
	m.Type = modules.TypeExec
	m.Command = argv
	m.StartPeriod = 0
	m.Backoff = modules.Backoff{Initial: 0, Max: time.Second}
	return m
}

func fastConfig() Config {
	c := DefaultConfig()
	c.CheckInterval = 100 * time.Millisecond
	c.HealthTimeout = 5 * time.Second // no test waits for a timeout: a slow answer on a loaded machine is no failure
	return c
}

func alertOf(t *testing.T, e *env, topic string) *messages.WatchdogAlert {
	t.Helper()
	ev := actortest.ExpectMatch(t, e.bus, 10*time.Second, func(ev *messages.Event) bool { return ev.Topic == topic })
	var a messages.WatchdogAlert
	if err := ev.Payload.UnmarshalTo(&a); err != nil {
		t.Fatal(err)
	}
	return &a
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := Config{CheckInterval: time.Millisecond, HealthFailures: 0, HealthTimeout: 0, MaxConcurrent: 0}
	err := bad.Validate()
	for _, key := range []string{"check_interval:", "health_failures:", "health_timeout:", "max_concurrent:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("want a problem with %s in %v", key, err)
		}
	}
}

func TestResourcesRecorded(t *testing.T) {
	e := newEnv(t, map[string]modules.ModuleConfig{"w": execModule(helper(t))}, fastConfig())
	actortest.Eventually(t, 10*time.Second, func() bool {
		st := actortest.Request[*messages.ModuleStatusResponse](t, e.sys, e.mods, &messages.ModuleStatusRequest{Module: "w"}).Status
		r := st.GetResources()
		return r.GetRssBytes() > 0 && r.GetThreads() > 0 && r.GetOpenFds() > 0 && r.GetPid() == st.Pid
	}, "resources in module.status")
	if res := actortest.Request[*messages.PingResponse](t, e.sys, e.wd, &messages.PingRequest{}); res.Name != Kind {
		t.Fatalf("ping: %v", res)
	}
}

func TestMemoryOverLimitRestarts(t *testing.T) {
	m := execModule(helper(t), "-leak", "48")
	m.MaxMemory = "16MiB"
	e := newEnv(t, map[string]modules.ModuleConfig{"hog": m}, fastConfig())
	a := alertOf(t, e, "alert.module.memory")
	if a.RssBytes <= 16<<20 || a.MaxMemoryBytes != 16<<20 {
		t.Fatalf("alert: %v", a)
	}
	// The restart alert and the first crash may come in either order.
	var ev *messages.Event
	restartAlert := false
	actortest.ExpectMatch(t, e.bus, 10*time.Second, func(e *messages.Event) bool {
		restartAlert = restartAlert || e.Topic == "alert.module.restart"
		if ev == nil && e.Topic == "module.hog.crashed" {
			ev = e
		}
		return restartAlert && ev != nil
	})
	var me messages.ModuleEvent
	_ = ev.Payload.UnmarshalTo(&me)
	if !strings.Contains(me.Reason, "watchdog") || me.Restarts != 1 {
		t.Fatalf("crash event: %v", &me)
	}
}

func TestHealthFailingRestarts(t *testing.T) {
	ln := freePort(t)
	flag := filepath.Join(t.TempDir(), "sick")
	m := execModule(helper(t), "-listen", "127.0.0.1:"+strconv.Itoa(ln), "-health-fail-file", flag)
	m.Port = ln
	m.HealthcheckEndpoint = "/health"
	cfg := fastConfig()
	cfg.HealthFailures = 2
	e := newEnv(t, map[string]modules.ModuleConfig{"web": m}, cfg)
	actortest.Eventually(t, 5*time.Second, func() bool {
		st := actortest.Request[*messages.ModuleStatusResponse](t, e.sys, e.mods, &messages.ModuleStatusRequest{Module: "web"}).Status
		return st.Health == "ok" && st.Resources != nil
	}, "healthy")
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	a := alertOf(t, e, "alert.module.health")
	if a.HealthFailures != 2 || !strings.Contains(a.Message, "500") {
		t.Fatalf("alert: %v", a)
	}
	os.Remove(flag)
	actortest.ExpectMatch(t, e.bus, 10*time.Second, func(ev *messages.Event) bool { return ev.Topic == "module.web.crashed" })
	actortest.ExpectMatch(t, e.bus, 10*time.Second, func(ev *messages.Event) bool { return ev.Topic == "module.web.started" })
}

// A targets request answered with an unexpected type skips that round
// only: the watchdog logs it and asks again at the next interval.
func TestUnexpectedTargetsReplyKeepsGoing(t *testing.T) {
	sys := actortest.NewSystem(t)
	var asked atomic.Int32
	mods := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*modules.WatchTargetsRequest); !ok {
			return
		}
		if asked.Add(1) == 1 {
			ctx.Respond(&messages.PingResponse{Name: "not the targets"})
			return
		}
		ctx.Respond(&modules.WatchTargetsResponse{})
	}))
	actortest.Spawn(t, sys, Props(fastConfig(), Deps{Modules: mods, Logger: actortest.Logger(t)}))
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return asked.Load() >= 3 }, "rounds after a wrong reply")
}
