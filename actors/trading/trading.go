// Package trading is the built-in thread module "trading": the seed's
// `module.start trading {"mode": "paper"}`. It does not trade itself: the
// order-management actor and the strategy host are core children of the
// daemon, configured by [trading]. Starting the module starts the
// configured strategies (trading.strategy.start for each), stopping it
// stops them (their state is saved); the daemon keeps running either way.
//
// Params (a thread module's own module.start params, args "key=value" or
// env: the seed's `module.start trading {"mode": "paper"}` as written,
// or `{"args": ["mode=paper"]}`): "mode"
// (optional) must equal [trading] mode, which only a daemon restart
// changes; "strategies" (optional) is a comma-separated subset of the
// configured strategies (default: all of them).
package trading

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

// Name is the name the module registers under.
const Name = "trading"

// Factory returns the module's modules.ThreadFactory: mode is [trading]
// mode and names the configured strategies.
func Factory(mode string, names []string) modules.ThreadFactory {
	names = slices.Clone(names)
	return func(env modules.ThreadEnv) *actor.Props {
		return actor.PropsFromProducer(func() actor.Actor {
			log := env.Logger
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			return &tradingModule{env: env, mode: mode, configured: names, log: log}
		})
	}
}

// tradingModule starts its strategies when it starts and stops them when
// it stops.
type tradingModule struct {
	env        modules.ThreadEnv
	mode       string
	configured []string
	log        *slog.Logger
	running    []string // the strategies it started
}

// Receive is the module's behaviour.
func (a *tradingModule) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping:
		a.stopStrategies(ctx)
	case *actor.Restarting, *actor.Stopped:
	case *messages.StrategyStartResponse:
		a.onStartResponse(msg)
	case *messages.StrategyStopResponse:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *tradingModule) onStarted(ctx actor.Context) {
	names, err := a.plan()
	if err != nil {
		ctx.Request(ctx.Parent(), &modules.ThreadFailed{Reason: err.Error()})
		return
	}
	a.running = names
	for _, name := range names {
		ctx.Request(a.env.Strategies, &messages.StrategyStartRequest{Name: name})
	}
	a.log.Info("trading module starting strategies", "mode", a.mode, "strategies", names)
}

// plan checks the params and returns the strategies to start.
func (a *tradingModule) plan() ([]string, error) {
	if a.env.Strategies == nil {
		return nil, fmt.Errorf("trading is not running in this daemon (no strategy host)")
	}
	if m, ok := a.env.Params["mode"]; ok && m != a.mode {
		return nil, fmt.Errorf("mode %q asked, but [trading] mode is %q: set trading.mode in the config and restart the daemon", m, a.mode)
	}
	list, ok := a.env.Params["strategies"]
	if !ok {
		if len(a.configured) == 0 {
			return nil, fmt.Errorf("no strategies are configured: add [trading.strategies.NAME] tables")
		}
		return a.configured, nil
	}
	var out []string
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		if !slices.Contains(a.configured, n) {
			return nil, fmt.Errorf("strategy %q is not configured (configured: %s)", n, strings.Join(a.configured, ", "))
		}
		out = append(out, n)
	}
	return out, nil
}

func (a *tradingModule) onStartResponse(res *messages.StrategyStartResponse) {
	if res.GetError() != nil {
		a.log.Warn("strategy did not start", "strategy", res.GetStrategy().GetName(), "error", res.GetError().GetMessage())
	}
}

// stopStrategies asks the host to stop what this module started; the host
// saves their state. The answers are not awaited (the module is stopping).
func (a *tradingModule) stopStrategies(ctx actor.Context) {
	for _, name := range a.running {
		ctx.Send(a.env.Strategies, &messages.StrategyStopRequest{Name: name})
	}
	if len(a.running) > 0 {
		a.log.Info("trading module stopping strategies", "strategies", a.running)
	}
	a.running = nil
}
