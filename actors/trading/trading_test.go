package trading

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) {
	// The modules package's file goroutine lives as long as the process.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/superbot/superbot/actors/modules.fileLoop"))
}

const wait = 30 * time.Second

// harness runs the module under a real modules supervisor, with a probe
// standing in for the strategy host.
type harness struct {
	t     *testing.T
	sys   *actor.ActorSystem
	host  *actortest.Probe
	pid   *actor.PID
	names []string
}

func newHarness(t *testing.T, withHost bool) *harness {
	h := &harness{t: t, sys: actortest.NewSystem(t), names: []string{"btc_trend", "eth_grid"}}
	h.host = actortest.NewProbe(t, h.sys)
	reg := modules.NewRegistry()
	if err := reg.Register(Name, Factory("paper", h.names)); err != nil {
		t.Fatal(err)
	}
	th := modules.DefaultModuleConfig()
	th.Type, th.StartPeriod = modules.TypeThread, 0
	deps := modules.Deps{Registry: reg, Logger: actortest.Logger(t), Node: "test"}
	if withHost {
		deps.Strategies = h.host.PID
	}
	h.pid = actortest.Spawn(t, h.sys, modules.Props(modules.Config{Modules: map[string]modules.ModuleConfig{Name: th}}, deps))
	t.Cleanup(func() {
		if _, err := actortest.TryRequest[*modules.StopAllResult](h.sys, h.pid, &modules.StopAll{}, wait); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	return h
}

func (h *harness) start(params map[string]any) {
	h.t.Helper()
	req := &messages.ModuleStartRequest{Module: Name}
	if params != nil {
		s, err := structpb.NewStruct(params)
		if err != nil {
			h.t.Fatal(err)
		}
		req.Params = s
	}
	res, err := actortest.TryRequest[*messages.ModuleStartResponse](h.sys, h.pid, req, wait)
	if err != nil {
		h.t.Fatal(err)
	}
	if res.Error != nil {
		h.t.Fatalf("start: %v", res.Error)
	}
}

func (h *harness) status() *messages.ModuleStatus {
	h.t.Helper()
	res, err := actortest.TryRequest[*messages.ModuleStatusResponse](h.sys, h.pid, &messages.ModuleStatusRequest{Module: Name}, wait)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Status
}

// TestStartsAndStopsTheStrategies: the seed's module.start trading
// {"mode": "paper"}, written {"args": ["mode=paper"]} (module.start only
// overrides args, env, host, port, workers and debug), starts every configured strategy; module.stop trading stops them.
func TestStartsAndStopsTheStrategies(t *testing.T) {
	h := newHarness(t, true)
	h.start(map[string]any{"args": []any{"mode=paper"}})
	for _, want := range h.names {
		got := actortest.Expect[*messages.StrategyStartRequest](t, h.host, wait)
		if got.Name != want {
			t.Errorf("start %q, want %q", got.Name, want)
		}
	}
	if _, err := actortest.TryRequest[*messages.ModuleStopResponse](h.sys, h.pid, &messages.ModuleStopRequest{Module: Name}, wait); err != nil {
		t.Fatal(err)
	}
	for _, want := range h.names {
		got := actortest.Expect[*messages.StrategyStopRequest](t, h.host, wait)
		if got.Name != want {
			t.Errorf("stop %q, want %q", got.Name, want)
		}
	}
}

// TestStrategiesParam: a subset starts; an unknown name fails the module.
func TestStrategiesParam(t *testing.T) {
	h := newHarness(t, true)
	h.start(map[string]any{"args": []any{"strategies=eth_grid"}})
	if got := actortest.Expect[*messages.StrategyStartRequest](t, h.host, wait); got.Name != "eth_grid" {
		t.Errorf("start %q, want eth_grid", got.Name)
	}
	h.host.ExpectNoMessage(200 * time.Millisecond)
}

// TestRefusals: the module fails at once, with a reason a user can act
// on, when it asks for another mode, names an unknown strategy, or the
// daemon runs no strategy host.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name     string
		withHost bool
		params   map[string]any
		want     string
	}{
		{"other mode", true, map[string]any{"args": []any{"mode=live"}}, `mode "live" asked, but [trading] mode is "paper": set trading.mode in the config and restart the daemon`},
		{"unknown strategy", true, map[string]any{"env": map[string]any{"STRATEGIES": "btc_trend,nope"}}, `strategy "nope" is not configured (configured: btc_trend, eth_grid)`},
		{"no host", false, nil, "trading is not running in this daemon (no strategy host)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.withHost)
			h.start(c.params)
			var st *messages.ModuleStatus
			actortest.Eventually(t, wait, func() bool {
				st = h.status()
				return st.State == modules.StateFailed
			}, "module failed")
			if st.LastError != c.want {
				t.Errorf("last error %q, want %q", st.LastError, c.want)
			}
			h.host.ExpectNoMessage(100 * time.Millisecond)
		})
	}
}
