package supervisor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the daemon-wide methods, all answered by the root
// supervisor (root may be nil when only the names are wanted).
func Routes(root *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "daemon.status", Doc: "version, pid, node, uptime, config source, the actor tree", Target: root, New: func() proto.Message { return &messages.DaemonStatusRequest{} }},
		{Method: "daemon.stop", Doc: "stop the daemon (force: skip graceful waits)", Target: root, New: func() proto.Message { return &messages.DaemonStopRequest{} }},
		{Method: "daemon.reload_config", Doc: "re-read the config and apply what changed", Target: root, New: func() proto.Message { return &messages.ReloadConfigRequest{} },
			Timeout: 2 * time.Minute}, // module restarts and starts wait for their start and stop timeouts
		{Method: "monitoring.health", Doc: "each core actor answers a ping", Target: root, New: func() proto.Message { return &messages.HealthRequest{} }},
		{Method: "monitoring.resources", Doc: "CPU, RSS, threads, goroutines, open fds of the daemon", Target: root, New: func() proto.Message { return &messages.ResourcesRequest{} }},
		{Method: "monitoring.metrics", Doc: "counters of every component", Target: root, New: func() proto.Message { return &messages.MetricsRequest{} }},
	}
}
