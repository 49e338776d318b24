package reports

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// driftTimeout covers fetching a year of bars and its backtest.
const driftTimeout = 10 * time.Minute

// Routes returns the reports actor's JSON-RPC methods, answered by pid:
// report.weekly [end_ms] and report.drift STRATEGY [days] [end_ms].
func Routes(pid *actor.PID) []rpc.Route {
	return []rpc.Route{
		{
			Method: "report.weekly",
			Doc:    "write the weekly trading report (last 7 days, per strategy and for the account) as Markdown and HTML under reports/; answers the paths and the figures",
			New:    func() proto.Message { return &messages.ReportWeeklyRequest{} },
			Target: pid,
		},
		{
			Method:  "report.drift",
			Doc:     "backtest a strategy over the last days (default 1) and compare it with its journal (orders, fills, fees, PnL, orders on one side only); answers the paths and a summary",
			New:     func() proto.Message { return &messages.ReportDriftRequest{} },
			Target:  pid,
			Timeout: driftTimeout,
		},
	}
}
