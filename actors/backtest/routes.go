package backtest

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the backtest.* JSON-RPC methods, answered by the actor at
// pid.
func Routes(pid *actor.PID) []rpc.Route {
	r := func(method, doc string, newReq func() proto.Message) rpc.Route {
		return rpc.Route{Method: method, Doc: doc, Target: pid, New: newReq}
	}
	return []rpc.Route{
		r("backtest.run", "queue a backtest (or a parameter sweep) on stored bars and answer its job id at once: strategy, params, symbols, interval, from_ms, to_ms, allocation, maker_fee, taker_fee, slippage, sweep",
			func() proto.Message { return &messages.BacktestRunRequest{} }),
		r("backtest.list", "the backtest jobs kept (running, queued, recent finished ones), newest first",
			func() proto.Message { return &messages.BacktestListRequest{} }),
		r("backtest.status", "one backtest job: state, progress, ETA: id", func() proto.Message { return &messages.BacktestStatusRequest{} }),
		r("backtest.result", "a finished backtest's metrics, summary, report files (and a sweep's ranked points): id",
			func() proto.Message { return &messages.BacktestResultRequest{} }),
		r("backtest.cancel", "cancel a queued or running backtest: id", func() proto.Message { return &messages.BacktestCancelRequest{} }),
		// More backtest.* methods (backtest.drift) go here.
	}
}
