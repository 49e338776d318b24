package cluster

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the cluster actor's JSON-RPC methods.
func Routes(pid *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "cluster.members", Doc: "the cluster's nodes: address, version, modules, load, bus patterns (self marks this node)", Target: pid,
			New: func() proto.Message { return &messages.ClusterMembersRequest{} }},
	}
}
