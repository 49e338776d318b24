// Package orders is the order-management actor: the one way to the exchange
// for orders. SKELETON: the signatures are fixed; the behaviour is being
// built (issue 10).
package orders

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/rpc"
)

// Kind names the order-management actor in the supervision tree.
const Kind = "orders"

// Deps are the actor's collaborators.
type Deps struct {
	// Bus receives order.*, fill.*, position.*, risk.* and alert.risk.* events.
	Bus *actor.PID
	// Connector places, queries and cancels orders in live mode and feeds
	// the paper matcher's market data subscriptions.
	Connector *actor.PID
	// StateDir resolves a relative Config.Journal.
	StateDir string
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// PrepareStop is sent by the daemon at shutdown, before the connector
// stops: it cancels open orders and closes positions as the config says and
// checkpoints the journal. Answered by PrepareStopResult. Local only.
type PrepareStop struct{}

// PrepareStopResult says what PrepareStop did.
type PrepareStopResult struct {
	Canceled, Closing int
	Err               error
}

// Props returns the actor's props. Validate cfg first.
func Props(cfg Config, deps Deps) *actor.Props {
	panic("orders: not built yet")
}

// Routes returns the trading.* JSON-RPC methods the actor answers (all but
// trading.strategies and trading.strategy.*) and journal.backup.
func Routes(pid *actor.PID) []rpc.Route { return nil }
