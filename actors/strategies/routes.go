package strategies

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns trading.strategies and trading.strategy.start|stop|pause,
// answered by the host at pid.
func Routes(pid *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "trading.strategies", Doc: "the configured strategies: kind, symbol, interval, state, bars, orders, last save",
			New: func() proto.Message { return &messages.StrategiesRequest{} }, Target: pid},
		{Method: "trading.strategy.start", Doc: "start a stopped or failed strategy, or resume a paused one",
			New: func() proto.Message { return &messages.StrategyStartRequest{} }, Target: pid},
		{Method: "trading.strategy.stop", Doc: "save a strategy's state and stop it",
			New: func() proto.Message { return &messages.StrategyStopRequest{} }, Target: pid},
		{Method: "trading.strategy.pause", Doc: "keep a strategy fed but send none of its orders",
			New: func() proto.Message { return &messages.StrategyPauseRequest{} }, Target: pid},
	}
}
