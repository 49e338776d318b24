package cluster

import (
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// onCall answers a ClusterCallRequest: for this node it is served by the
// local router (a call relayed here); for another node it is sent there
// (once: a call is never retried) and the answer comes back as the route's
// response; for every node (AllNodes) it is daemon.status everywhere.
func (a *clusterActor) onCall(ctx actor.Context, req *messages.ClusterCallRequest) {
	switch req.Node {
	case AllNodes:
		a.statusAll(ctx)
	case a.deps.Node:
		a.serve(ctx, req)
	default:
		a.relayCall(ctx, req)
	}
}

// serve calls the local route without asking the relay again (a relayed
// call is answered where it lands).
func (a *clusterActor) serve(ctx actor.Context, req *messages.ClusterCallRequest) {
	rt, ok := a.deps.Router.Lookup(req.Method)
	if !ok {
		ctx.Respond(&messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "method %s: not served by node %q", req.Method, a.deps.Node)})
		return
	}
	msg, err := rpc.Decode(rt, req.Params)
	if err != nil {
		ctx.Respond(&messages.ClusterCallResponse{Error: toError(err)})
		return
	}
	f := ctx.RequestFuture(rt.Target, msg, a.deps.Router.Timeout(rt))
	ctx.ReenterAfter(f, func(res any, err error) {
		ctx.Respond(answer(rpc.Reply(res, err)))
	})
}

func (a *clusterActor) relayCall(ctx actor.Context, req *messages.ClusterCallRequest) {
	m := a.members[req.Node]
	rt, ok := a.deps.Router.Lookup(req.Method)
	switch {
	case !ok:
		ctx.Respond(&messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "method %s: unknown", req.Method)})
		return
	case m == nil:
		ctx.Respond(&messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "node %q is not a member of the cluster", req.Node)})
		return
	}
	f := ctx.RequestFuture(actor.NewPID(m.Address, m.Actor), req, a.deps.Router.Timeout(rt))
	ctx.ReenterAfter(f, func(res any, err error) {
		ctx.Respond(unpack(rt, res, err))
	})
}

// statusAll asks every member for daemon.status and answers one
// ClusterStatusResponse once all have answered or failed.
func (a *clusterActor) statusAll(ctx actor.Context) {
	rt, ok := a.deps.Router.Lookup("daemon.status")
	if !ok {
		ctx.Respond(&messages.ClusterStatusResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "daemon.status is not served")})
		return
	}
	out := &messages.ClusterStatusResponse{Nodes: map[string]*messages.DaemonStatusResponse{}, Errors: map[string]string{}}
	pending := len(a.members)
	done := func(node string, res proto.Message) {
		if st, ok := res.(*messages.DaemonStatusResponse); ok && st.Error == nil {
			out.Nodes[node] = st
		} else if r, ok := res.(messages.Responder); ok && r.GetError() != nil {
			out.Errors[node] = r.GetError().Message
		} else {
			out.Errors[node] = "no status"
		}
		if pending--; pending == 0 {
			ctx.Respond(out)
		}
	}
	for node, m := range a.members {
		var f *actor.Future
		if node == a.deps.Node {
			f = ctx.RequestFuture(rt.Target, &messages.DaemonStatusRequest{}, a.deps.Router.Timeout(rt))
			ctx.ReenterAfter(f, func(res any, err error) {
				msg, err := rpc.Reply(res, err)
				if err != nil {
					done(node, &messages.ClusterCallResponse{Error: toError(err)})
					return
				}
				done(node, msg)
			})
			continue
		}
		req := &messages.ClusterCallRequest{Node: node, Method: rt.Method, From: a.deps.Node}
		f = ctx.RequestFuture(actor.NewPID(m.Address, m.Actor), req, a.deps.Router.Timeout(rt))
		ctx.ReenterAfter(f, func(res any, err error) { done(node, unpack(rt, res, err)) })
	}
}
