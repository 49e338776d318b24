package orders

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// placeRouteTimeout covers a placement's journal commit and the exchange's
// answer (the connector resolves an unknown outcome before answering).
const placeRouteTimeout = placeTimeout + 5*time.Second

// snapshotRouteTimeout covers journal.snapshot's copy of a large journal.
const snapshotRouteTimeout = time.Minute

// Routes returns the trading.* JSON-RPC methods the actor answers (all but
// trading.strategies and trading.strategy.*), journal.backup and
// journal.snapshot.
func Routes(pid *actor.PID) []rpc.Route {
	r := func(method, doc string, newReq func() proto.Message) rpc.Route {
		return rpc.Route{Method: method, Doc: doc, Target: pid, New: newReq}
	}
	place := r("trading.order.place", "place an order: strategy, symbol, side, type, quantity, price, time_in_force, client_order_id (journaled before it is sent; the same client_order_id never places twice)",
		func() proto.Message { return &messages.PlaceTradeOrderRequest{} })
	place.Timeout = placeRouteTimeout
	cancel := r("trading.order.cancel", "cancel an order: client_order_id", func() proto.Message { return &messages.CancelTradeOrderRequest{} })
	cancel.Timeout = placeRouteTimeout
	snapshot := r("journal.snapshot", "a chunk of a snapshot of the trading journal (clustered leader; a standby's catch-up): id (empty: take one), offset, length (<= 1 MiB)",
		func() proto.Message { return &messages.JournalSnapshotRequest{} })
	snapshot.Timeout = snapshotRouteTimeout
	return []rpc.Route{
		place, cancel,
		r("trading.order.cancel_all", "cancel the open orders of a strategy and/or symbol (both empty: all)",
			func() proto.Message { return &messages.CancelAllTradeOrdersRequest{} }),
		r("trading.orders", "orders from the journal: strategy, symbol, status (open, new, filled...), since_ms, limit",
			func() proto.Message { return &messages.TradeOrdersRequest{} }),
		r("trading.fills", "fills from the journal: strategy, symbol, since_ms, limit", func() proto.Message { return &messages.TradeFillsRequest{} }),
		r("trading.positions", "each strategy's positions and the account's: strategy", func() proto.Message { return &messages.PositionsRequest{} }),
		r("trading.balance", "the account's balances and each strategy's share", func() proto.Message { return &messages.BalanceRequest{} }),
		r("trading.pnl", "realised and unrealised PnL per strategy and for the account: strategy", func() proto.Message { return &messages.PnlRequest{} }),
		r("trading.halt", "stop all new orders (persisted): reason, cancel_orders, flatten", func() proto.Message { return &messages.TradingHaltRequest{} }),
		r("trading.resume", "lift trading.halt, or a strategy's risk halt: strategy", func() proto.Message { return &messages.TradingResumeRequest{} }),
		r("trading.reconcile", "the last reconciliation's report, or (run) a new one", func() proto.Message { return &messages.ReconcileRequest{} }),
		r("journal.backup", "a consistent copy of the trading journal: path (absolute, must not exist)",
			func() proto.Message { return &messages.JournalBackupRequest{} }),
		snapshot,
	}
}
