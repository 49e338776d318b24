package rpc

import (
	"bytes"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// NodeParam is the param every method takes to name the node that answers
// it (clustering); it is removed before the params are decoded.
const NodeParam = "node"

// Relay sends calls to the node that answers them (the cluster actor's
// relay). Resolve asks it about every call when one is set.
type Relay interface {
	// Relay returns the route and request that carry the call of rt to
	// node (or, node being "", to where the call belongs, e.g. the node
	// that defines the module params name, or leads trading); ok false
	// means this node answers, as it must when node names it. params are
	// the call's, the node param removed. Safe for concurrent use.
	Relay(rt Route, node string, params json.RawMessage) (relayed Route, req proto.Message, ok bool, err error)
}

// SetNode names this node: a call whose node param names it (or none) is
// answered here.
func (r *Router) SetNode(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.node = name
}

// SetRelay installs the relay (clustering on); nil removes it.
func (r *Router) SetRelay(rel Relay) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.relay = rel
}

// Resolve returns the route and the decoded request of a call, the node
// param taken into account: a call for another node (or, clustered, for a
// module another node defines) gets the relay's route. Without a relay a
// node param other than this node's name is an error.
func (r *Router) Resolve(method string, params json.RawMessage) (Route, proto.Message, error) {
	rt, ok := r.Lookup(method)
	if !ok {
		return Route{}, nil, fmt.Errorf("%w: %s", ErrUnknownMethod, method)
	}
	node, params, err := takeNode(params)
	if err != nil {
		return Route{}, nil, err
	}
	r.mu.RLock()
	self, rel := r.node, r.relay
	r.mu.RUnlock()
	if node == self && rel == nil {
		node = ""
	}
	if rel != nil { // it tells "node = this one" (answered here) from no node
		relayed, req, ok, err := rel.Relay(rt, node, params)
		if err != nil {
			return Route{}, nil, err
		}
		if ok {
			if relayed.Timeout == 0 {
				relayed.Timeout = r.Timeout(rt)
			}
			return relayed, req, nil
		}
	} else if node != "" {
		return Route{}, nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND,
			"node %q: no such node (this daemon is %q and not clustered)", node, self)
	}
	req, err := Decode(rt, params)
	if err != nil {
		return Route{}, nil, err
	}
	return rt, req, nil
}

// maxNodeName bounds a node param.
const maxNodeName = 128

// takeNode removes the node param from object params and returns it.
func takeNode(params json.RawMessage) (string, json.RawMessage, error) {
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || trimmed[0] != '{' || !bytes.Contains(trimmed, []byte(`"`+NodeParam+`"`)) {
		return "", params, nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	raw, ok := obj[NodeParam]
	if !ok {
		return "", params, nil
	}
	var node string
	if err := json.Unmarshal(raw, &node); err != nil || len(node) > maxNodeName {
		return "", nil, fmt.Errorf("%w: node must be a node name (a string of at most %d bytes)", ErrBadParams, maxNodeName)
	}
	delete(obj, NodeParam)
	out, err := json.Marshal(obj)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	return node, out, nil
}
