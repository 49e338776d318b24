package modules

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestThreadEnvCarriesTradingHandles: a thread module's factory gets the
// connector, order actor and strategy host PIDs the supervisor was given.
func TestThreadEnvCarriesTradingHandles(t *testing.T) {
	sys := actortest.NewSystem(t)
	conn, ord, strat := actortest.NewProbe(t, sys), actortest.NewProbe(t, sys), actortest.NewProbe(t, sys)
	envs := make(chan ThreadEnv, 1)
	reg := NewRegistry()
	if err := reg.Register("trader", func(env ThreadEnv) *actor.Props {
		envs <- env
		return actor.PropsFromFunc(func(actor.Context) {})
	}); err != nil {
		t.Fatal(err)
	}
	th := DefaultModuleConfig()
	th.Type, th.StartPeriod = TypeThread, 0
	cfg := Config{Modules: map[string]ModuleConfig{"trader": th}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pid := actortest.Spawn(t, sys, Props(cfg, Deps{Registry: reg, Logger: actortest.Logger(t), Node: "test",
		Connector: conn.PID, Orders: ord.PID, Strategies: strat.PID}))
	t.Cleanup(func() {
		if _, err := actortest.TryRequest[*StopAllResult](sys, pid, &StopAll{}, 30*time.Second); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	res, err := actortest.TryRequest[*messages.ModuleStartResponse](sys, pid, &messages.ModuleStartRequest{Module: "trader"}, 30*time.Second)
	if err != nil || res.Error != nil {
		t.Fatalf("start: %v %v", err, res.GetError())
	}
	select {
	case env := <-envs:
		if !env.Connector.Equal(conn.PID) || !env.Orders.Equal(ord.PID) || !env.Strategies.Equal(strat.PID) {
			t.Errorf("env handles = %v %v %v, want %v %v %v", env.Connector, env.Orders, env.Strategies, conn.PID, ord.PID, strat.PID)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the factory was not called")
	}
}
