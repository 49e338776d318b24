package cluster

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// AllNodes is the node of a ClusterCallRequest that asks every node
// (daemon.status with cluster = true).
const AllNodes = "*"

// Relay is the router's relay (rpc.Relay) while clustering is on. It reads
// an immutable view of the members that the cluster actor replaces on
// every change, so calls on the edge's goroutines never wait for the actor.
type Relay struct {
	name string // this node's
	view atomic.Pointer[view]
	// Written on the cluster actor's goroutine only.
	self   string
	pid    *actor.PID
	router *rpc.Router
}

// view is what the relay routes by.
type view struct {
	self   string
	pid    *actor.PID          // the local cluster actor
	nodes  map[string]bool     // every member, this node included
	owners map[string]string   // module -> the first node (by name) defining it
	local  map[string]struct{} // modules this node defines
	// leaders: singleton -> this node when it leads it, else the first
	// node (by name) whose record says it does (two only for the moment a
	// leadership moves).
	leaders map[string]string
}

// NewRelay returns node's relay, with no members: until the cluster actor
// runs, calls are answered locally and a node param naming another node
// is an error.
func NewRelay(node string) *Relay { return &Relay{name: node} }

func (r *Relay) bind(self string, pid *actor.PID, router *rpc.Router) {
	r.self, r.pid, r.router = self, pid, router
}

func (r *Relay) unbind() { r.view.Store(nil) }

// publish replaces the view (cluster actor goroutine).
func (r *Relay) publish(self string, members map[string]*messages.ClusterMember) {
	v := &view{self: self, pid: r.pid, nodes: map[string]bool{}, owners: map[string]string{}, local: map[string]struct{}{},
		leaders: map[string]string{}}
	for _, node := range sortedKeys(members) {
		m := members[node]
		v.nodes[node] = true
		for _, s := range m.Leads {
			if _, taken := v.leaders[s]; !taken || node == self { // this node answers what it leads
				v.leaders[s] = node
			}
		}
		for _, mod := range m.Modules {
			if node == self {
				v.local[mod] = struct{}{}
			} else if _, taken := v.owners[mod]; !taken {
				v.owners[mod] = node
			}
		}
	}
	r.view.Store(v)
}

// Relay implements rpc.Relay: a call for another node (node param), for
// a module only another node defines (module.* and logs.* naming a module),
// or for a singleton another node leads (trading.*), goes to the local
// cluster actor as a ClusterCallRequest, which sends it on, once;
// daemon.status with cluster = true asks every node. Params are
// checked here, so a bad call fails before it travels.
func (r *Relay) Relay(rt rpc.Route, node string, params json.RawMessage) (rpc.Route, proto.Message, bool, error) {
	pinned := node != "" && node == r.name // answered here, whoever leads
	if pinned {
		node = ""
	}
	v := r.view.Load()
	if rt.Method == "daemon.status" {
		all, rest, err := takeBool(params, "cluster")
		if err != nil {
			return rpc.Route{}, nil, false, err
		}
		if all && v != nil && node == "" {
			return relayed(rt, v), &messages.ClusterCallRequest{Node: AllNodes, Method: rt.Method, From: v.self}, true, nil
		}
		params = rest
		if node == "" {
			req, err := rpc.Decode(rt, params)
			return rt, req, err == nil, err
		}
	}
	if v == nil {
		if node != "" {
			return rpc.Route{}, nil, false, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "node %q: the cluster is not running on this node", node)
		}
		return rpc.Route{}, nil, false, nil
	}
	if node == "" && !pinned {
		node = v.ownerOf(rt.Method, params)
	}
	if node == "" || node == v.self {
		return rpc.Route{}, nil, false, nil
	}
	if !v.nodes[node] {
		return rpc.Route{}, nil, false, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "node %q is not a member of the cluster", node)
	}
	if _, err := rpc.Decode(rt, params); err != nil {
		return rpc.Route{}, nil, false, err
	}
	return relayed(rt, v), &messages.ClusterCallRequest{Node: node, Method: rt.Method, Params: params, From: v.self}, true, nil
}

func relayed(rt rpc.Route, v *view) rpc.Route {
	rt.Target = v.pid
	return rt
}

// ownerOf returns the node that leads the singleton a call belongs to
// (trading.*, or module.* and logs.* naming a singleton module: this node
// when it leads it; none when no node says it does, so that this node
// answers), or that defines the module a module.* or logs.* call names
// (its "module" param), when this node does not define it.
func (v *view) ownerOf(method string, params json.RawMessage) string {
	if s := singletonOf(method); s != "" {
		return v.leaders[s]
	}
	if len(v.owners) == 0 || !(strings.HasPrefix(method, "module.") || strings.HasPrefix(method, "logs.")) {
		return ""
	}
	var p struct {
		Module string `json:"module"`
	}
	if bytes.HasPrefix(bytes.TrimSpace(params), []byte("{")) && json.Unmarshal(params, &p) == nil && p.Module != "" {
		if leader, ok := v.leaders[election.ModuleElection(p.Module)]; ok { // a singleton module: where it runs
			return leader
		}
		if _, here := v.local[p.Module]; !here {
			return v.owners[p.Module]
		}
	}
	return ""
}

// takeBool removes a boolean key from object params.
func takeBool(params json.RawMessage, key string) (bool, json.RawMessage, error) {
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(trimmed, []byte(`"`+key+`"`)) {
		return false, params, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return false, nil, rpc.ErrBadParams
	}
	raw, ok := obj[key]
	if !ok {
		return false, params, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, nil, errors.Join(rpc.ErrBadParams, errors.New(key+" must be true or false"))
	}
	delete(obj, key)
	out, _ := json.Marshal(obj)
	return b, out, nil
}

// answer encodes a local call's outcome for the calling node.
func answer(res proto.Message, err error) *messages.ClusterCallResponse {
	if err != nil {
		return &messages.ClusterCallResponse{Error: toError(err)}
	}
	b, err := rpc.Encode(res)
	if err != nil {
		return &messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "the answer could not be encoded")}
	}
	return &messages.ClusterCallResponse{Result: b}
}

// toError keeps a *messages.Error as it is; other errors become a bad-params
// or an internal error (their text is the router's, safe to show).
func toError(err error) *messages.Error {
	var me *messages.Error
	if errors.As(err, &me) {
		return me
	}
	code := messages.ErrorCode_ERROR_CODE_INTERNAL
	switch {
	case errors.Is(err, rpc.ErrBadParams):
		code = messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
	case errors.Is(err, rpc.ErrUnknownMethod):
		code = messages.ErrorCode_ERROR_CODE_NOT_FOUND
	}
	return messages.Errorf(code, "%v", err)
}

var readAnswer = protojson.UnmarshalOptions{DiscardUnknown: true}

// unpack turns another node's answer into what the call's route answers
// here (the same binary's response message), so a client sees the same
// JSON whichever node it asked. An error answer stays a
// ClusterCallResponse: its error reaches the caller.
func unpack(rt rpc.Route, res any, err error) proto.Message {
	if err != nil {
		_, err = rpc.Reply(nil, err)
		return &messages.ClusterCallResponse{Error: toError(err)}
	}
	ans, ok := res.(*messages.ClusterCallResponse)
	if !ok {
		return &messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "unexpected answer from the node")}
	}
	if ans.Error != nil {
		return ans
	}
	out := rpc.ResultOf(rt)
	if out == nil {
		return &messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "method %s has no result message", rt.Method)}
	}
	if err := readAnswer.Unmarshal(ans.Result, out); err != nil {
		return &messages.ClusterCallResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "the node's answer could not be read: %v", err)}
	}
	return out
}
