package connector

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the connector's JSON-RPC methods, answered by connectorPID:
// market.ticker [symbol], market.depth [symbol, limit], market.klines
// [symbol, interval, limit, start_time_ms, end_time_ms], market.subscribe
// and market.unsubscribe [symbol, kind, interval], and connector.status.
// The account calls (AccountRequest, OpenOrdersRequest, MyTradesRequest) and
// the user data stream are the order actor's, not routes.
func Routes(connectorPID *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "market.ticker", Doc: "24 h ticker of a symbol (cached 5 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.TickerRequest{} }},
		{Method: "market.depth", Doc: "order book of a symbol: symbol, limit (default 100; cached 1 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.DepthRequest{} }},
		{Method: "market.klines", Doc: "candles: symbol, interval, limit, start_time_ms, end_time_ms (cached 60 s)", Target: connectorPID,
			New: func() proto.Message { return &messages.KlinesRequest{} }},
		{Method: "market.subscribe", Doc: "keep a market stream open for the daemon, its data on the bus: symbol, kind (STREAM_KIND_PRICE, STREAM_KIND_KLINE, STREAM_KIND_BOOK), interval (klines)", Target: connectorPID,
			New: func() proto.Message { return &messages.MarketSubscribeRequest{} }},
		{Method: "market.unsubscribe", Doc: "drop the daemon's market.subscribe of a stream: symbol, kind, interval", Target: connectorPID,
			New: func() proto.Message { return &messages.MarketUnsubscribeRequest{} }},
		{Method: "connector.status", Doc: "exchange connector: budget, bans, streams, pool, clock offset", Target: connectorPID,
			New: func() proto.Message { return &messages.ConnectorStatusRequest{} }},
	}
}
