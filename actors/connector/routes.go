package connector

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the connector's JSON-RPC methods, answered by connectorPID:
// market.ticker [symbol], market.depth [symbol, limit], market.klines
// [symbol, interval, limit, start_time_ms, end_time_ms] and connector.status.
func Routes(connectorPID *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "market.ticker", Doc: "24 h ticker of a symbol (cached 5 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.TickerRequest{} }},
		{Method: "market.depth", Doc: "order book of a symbol: symbol, limit (default 100; cached 1 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.DepthRequest{} }},
		{Method: "market.klines", Doc: "candles: symbol, interval, limit, start_time_ms, end_time_ms (cached 60 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.KlinesRequest{} }},
		{Method: "connector.status", Doc: "exchange connector: budget, bans, streams, pool, clock offset", Target: connectorPID,
			New: func() proto.Message { return &messages.ConnectorStatusRequest{} }},
	}
}
