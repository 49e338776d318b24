package scheduler

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the scheduler's JSON-RPC methods, answered by schedulerPID:
// scheduler.jobs [NAME], scheduler.run NAME, scheduler.pause NAME,
// scheduler.resume NAME and scheduler.window.
func Routes(schedulerPID *actor.PID) []rpc.Route {
	return []rpc.Route{
		{
			Method: "scheduler.jobs",
			Doc:    "list the scheduled jobs (name, spec, zone, next run, last result); with a name, one job and its run history",
			New:    func() proto.Message { return &messages.SchedulerJobsRequest{} },
			Target: schedulerPID,
		},
		{
			Method: "scheduler.run",
			Doc:    "run a job now",
			New:    func() proto.Message { return &messages.SchedulerRunRequest{} },
			Target: schedulerPID,
		},
		{
			Method: "scheduler.pause",
			Doc:    "stop scheduling a job until scheduler.resume",
			New:    func() proto.Message { return &messages.SchedulerPauseRequest{} },
			Target: schedulerPID,
		},
		{
			Method: "scheduler.resume",
			Doc:    "schedule a paused job again",
			New:    func() proto.Message { return &messages.SchedulerResumeRequest{} },
			Target: schedulerPID,
		},
		{
			Method: "scheduler.window",
			Doc:    "the trading window: open or closed, module, next open and close",
			New:    func() proto.Message { return &messages.WindowStatusRequest{} },
			Target: schedulerPID,
		},
	}
}
