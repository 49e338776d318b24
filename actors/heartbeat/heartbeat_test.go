package heartbeat

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.forkLoop"),
		goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.fileLoop"))
}

func config(args ...string) modules.Config {
	m := modules.DefaultModuleConfig()
	m.Type = modules.TypeThread
	m.StartPeriod = 0
	m.Args = args
	m.Backoff = modules.Backoff{Initial: 0, Max: time.Second}
	return modules.Config{Modules: map[string]modules.ModuleConfig{"heartbeat": m}, Autostart: []string{"heartbeat"}}
}

func TestHeartbeatAsThreadModule(t *testing.T) {
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	reg := modules.NewRegistry()
	if err := reg.Register(Name, Factory); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(Name, Factory); err == nil {
		t.Fatal("registered twice")
	}
	cfg := config("interval=20ms")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	mods := actortest.Spawn(t, sys, modules.Props(cfg, modules.Deps{Bus: bus.PID, Registry: reg, Logger: actortest.Logger(t)}))
	res := actortest.Request[*modules.AutostartResult](t, sys, mods, modules.StartAutostart{})
	if len(res.Started) != 1 || len(res.Errors) != 0 {
		t.Fatalf("autostart: %+v", res)
	}
	var seqs []uint64
	for len(seqs) < 3 {
		ev := actortest.ExpectMatch(t, bus, 5*time.Second, func(e *messages.Event) bool { return e.Topic == Topic })
		var hb messages.Heartbeat
		if err := ev.Payload.UnmarshalTo(&hb); err != nil {
			t.Fatal(err)
		}
		if hb.Module != "heartbeat" {
			t.Fatalf("heartbeat: %v", &hb)
		}
		seqs = append(seqs, hb.Sequence)
	}
	if seqs[0] != 1 || seqs[2] != 3 {
		t.Fatalf("sequences %v", seqs)
	}
	stop := actortest.Request[*messages.ModuleStopResponse](t, sys, mods, &messages.ModuleStopRequest{Module: "heartbeat"})
	if stop.Error != nil || stop.Status.State != modules.StateStopped {
		t.Fatalf("stop: %v", stop)
	}
}

func TestBadIntervalFailsTheModule(t *testing.T) {
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	reg := modules.NewRegistry()
	_ = reg.Register(Name, Factory)
	mods := actortest.Spawn(t, sys, modules.Props(config("interval=soon"), modules.Deps{Bus: bus.PID, Registry: reg, Logger: actortest.Logger(t)}))
	actortest.Request[*modules.AutostartResult](t, sys, mods, &modules.StartAutostart{})
	actortest.ExpectMatch(t, bus, 5*time.Second, func(e *messages.Event) bool { return e.Topic == "alert.module.failed" })
	st := actortest.Request[*messages.ModuleStatusResponse](t, sys, mods, &messages.ModuleStatusRequest{Module: "heartbeat"}).Status
	if st.State != modules.StateFailed || st.Restarts != 3 {
		t.Fatalf("status: %v", st)
	}
}
