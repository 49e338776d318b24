package modules

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// lifecycleTimeout is the deadline of module.start, .stop and .restart: a
// start waits for dependencies and health checks, a stop for stop_timeout.
const lifecycleTimeout = 2 * time.Minute

// Routes returns the module.* and logs.tail methods, answered by the
// modules supervisor. watchdogPID is reserved for watchdog methods and may
// be nil.
func Routes(modulesPID, watchdogPID *actor.PID) []rpc.Route {
	_ = watchdogPID
	return []rpc.Route{
		{Method: "module.start", Doc: "start a module (and its dependencies), or \"all\" enabled modules; params override args, env, host, port, debug, workers",
			New: func() proto.Message { return &messages.ModuleStartRequest{} }, Target: modulesPID, Timeout: lifecycleTimeout},
		{Method: "module.stop", Doc: "stop a module, or \"all\" in reverse dependency order: SIGTERM, stop_timeout, SIGKILL",
			New: func() proto.Message { return &messages.ModuleStopRequest{} }, Target: modulesPID, Timeout: lifecycleTimeout},
		{Method: "module.restart", Doc: "stop then start a module, clearing its failure count",
			New: func() proto.Message { return &messages.ModuleRestartRequest{} }, Target: modulesPID, Timeout: lifecycleTimeout},
		{Method: "module.status", Doc: "a module's state, pid, uptime, restarts, last exit, health and resources",
			New: func() proto.Message { return &messages.ModuleStatusRequest{} }, Target: modulesPID},
		{Method: "module.list", Doc: "every configured module with its status",
			New: func() proto.Message { return &messages.ModuleListRequest{} }, Target: modulesPID},
		{Method: "logs.tail", Doc: "a module's most recent output lines",
			New: func() proto.Message { return &messages.LogsTailRequest{} }, Target: modulesPID},
	}
}
