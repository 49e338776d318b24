// Package strategies is the strategy host: one supervised child actor per
// configured strategy. SKELETON: the signatures are fixed; the behaviour is
// being built (issue 10).
package strategies

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/rpc"
)

// Kind names the strategy host in the supervision tree.
const Kind = "strategies"

// Config is the strategies' configuration: [trading.strategies.NAME].
type Config struct {
	// Strategies by name (names are topic-safe: [a-z0-9_-]).
	Strategies map[string]Spec `toml:"strategies"`
}

// Spec is one [trading.strategies.NAME] table.
type Spec struct {
	// Kind is a registered strategy kind: "sma_cross", "grid".
	Kind string `toml:"kind"`
	// Symbol is the traded symbol, e.g. "BTCUSDT".
	Symbol string `toml:"symbol"`
	// Interval is the bar interval ("1m", ...).
	Interval string `toml:"interval"`
	// Allocation is the capital it may use, e.g. "1000 USDT".
	Allocation string `toml:"allocation"`
	// DailyLossLimit halts it when its loss since 00:00 UTC exceeds this
	// amount of the allocation's asset (0: off).
	DailyLossLimit float64 `toml:"daily_loss_limit"`
	// Enabled starts it with the daemon. Default true.
	Enabled *bool `toml:"enabled"`
	// Params are the kind's parameters.
	Params map[string]any `toml:"params"`
}

// Deps are the host's collaborators.
type Deps struct {
	// Bus delivers market data, order and fill events.
	Bus *actor.PID
	// Orders takes the strategies' order requests and keeps their state.
	Orders *actor.PID
	// Connector opens the market streams the strategies subscribe to.
	Connector *actor.PID
	// Logger; nil discards.
	Logger *slog.Logger
}

// SaveAll is sent by the daemon at shutdown: every strategy saves its state
// to the journal. Answered by SaveAllResult. Local only.
type SaveAll struct{}

// SaveAllResult says how many states were saved.
type SaveAllResult struct {
	Saved int
	Err   error
}

// Props returns the host's props. Validate cfg first.
func Props(cfg Config, deps Deps) *actor.Props {
	panic("strategies: not built yet")
}

// Routes returns trading.strategies and trading.strategy.start|stop|pause.
func Routes(pid *actor.PID) []rpc.Route { return nil }
