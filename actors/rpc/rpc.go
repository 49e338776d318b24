// Package rpc is the method table shared by the JSON-RPC edge and every
// other caller of daemon methods (the scheduler's jobs): one code path from a
// method name and JSON params to a proto request sent, with a deadline, to
// the actor that owns the answer.
//
// Params decode into the route's request message with protojson: by name
// (proto or JSON field names; unknown names are errors) or by position (the
// message's fields in declaration order). A route whose request is a
// *structpb.Value takes the params whole.
package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/messages"
)

// Errors returned by Router.
var (
	ErrUnknownMethod = errors.New("method not found")
	ErrBadParams     = errors.New("invalid params")
	ErrDuplicate     = errors.New("method registered twice")
)

// Route is one method.
type Route struct {
	// Method is the JSON-RPC method name, e.g. "module.start".
	Method string
	// Doc is a one-line description for rpc.methods and the CLI.
	Doc string
	// New returns an empty request message for the params to decode into.
	New func() proto.Message
	// Result, when set, returns an empty response message, for rpc.discover;
	// nil means the message named as the request with "Response" for
	// "Request" (see ResultOf).
	Result func() proto.Message
	// Target is the actor that answers.
	Target *actor.PID
	// Timeout overrides the router's default deadline (e.g. module.stop).
	Timeout time.Duration
}

// Router maps method names to routes. It is safe for concurrent use:
// components add their routes while the daemon starts, and the edge may be
// serving already.
type Router struct {
	mu       sync.RWMutex
	routes   map[string]Route
	timeout  time.Duration
	observer atomic.Pointer[observerRef]
	node     string // this node's name (SetNode)
	relay    Relay  // nil unless clustered (SetRelay)
}

// NewRouter returns an empty router whose calls have the given deadline.
func NewRouter(timeout time.Duration) *Router {
	return &Router{routes: map[string]Route{}, timeout: timeout}
}

// Add registers routes; a name registered twice is an error.
func (r *Router) Add(routes ...Route) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rt := range routes {
		if _, dup := r.routes[rt.Method]; dup {
			return fmt.Errorf("%w: %s", ErrDuplicate, rt.Method)
		}
		if rt.New == nil || rt.Target == nil {
			return fmt.Errorf("route %s: New and Target are required", rt.Method)
		}
		r.routes[rt.Method] = rt
	}
	return nil
}

// MustAdd is Add for wiring code where a duplicate is a programming error.
func (r *Router) MustAdd(routes ...Route) {
	if err := r.Add(routes...); err != nil {
		panic(err)
	}
}

// Lookup returns the route of method.
func (r *Router) Lookup(method string) (Route, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	rt, ok := r.routes[method]
	return rt, ok
}

// Methods lists the registered method names, sorted.
func (r *Router) Methods() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.routes))
	for m := range r.routes {
		out = append(out, m)
	}
	sort.Strings(out)
	return out
}

// Routes lists the registered routes sorted by method.
func (r *Router) Routes() []Route {
	methods := r.Methods()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Route, 0, len(methods))
	for _, m := range methods {
		out = append(out, r.routes[m])
	}
	return out
}

// Timeout returns the deadline of rt.
func (r *Router) Timeout(rt Route) time.Duration {
	if rt.Timeout > 0 {
		return rt.Timeout
	}
	return r.timeout
}

var decodeOpts = protojson.UnmarshalOptions{DiscardUnknown: false}

// Decode turns JSON params (object, array, or absent) into rt's request.
func Decode(rt Route, params json.RawMessage) (proto.Message, error) {
	req := rt.New()
	params = bytes.TrimSpace(params)
	if len(params) == 0 || bytes.Equal(params, []byte("null")) {
		return req, nil
	}
	if v, ok := req.(*structpb.Value); ok { // the route takes params whole
		if err := decodeOpts.Unmarshal(params, v); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBadParams, cleanProtoErr(err))
		}
		return v, nil
	}
	switch params[0] {
	case '{':
		if err := decodeOpts.Unmarshal(params, req); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBadParams, cleanProtoErr(err))
		}
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(params, &items); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrBadParams, err)
		}
		fields := req.ProtoReflect().Descriptor().Fields()
		if len(items) > fields.Len() {
			return nil, fmt.Errorf("%w: %d positional params, %s takes at most %d", ErrBadParams, len(items), rt.Method, fields.Len())
		}
		obj := map[string]json.RawMessage{}
		for i, it := range items {
			obj[fields.Get(i).JSONName()] = it
		}
		b, _ := json.Marshal(obj)
		if err := decodeOpts.Unmarshal(b, req); err != nil {
			return nil, fmt.Errorf("%w: %s", ErrBadParams, cleanProtoErr(err))
		}
	default:
		return nil, fmt.Errorf("%w: params must be an object or an array", ErrBadParams)
	}
	return req, nil
}

// cleanProtoErr strips protojson's "proto: " prefix and odd spacing.
func cleanProtoErr(err error) string {
	s := err.Error()
	s = string(bytes.TrimPrefix([]byte(s), []byte("proto:")))
	return string(bytes.Join(bytes.Fields([]byte(s)), []byte(" ")))
}

// Call resolves method and params (Resolve: the node param) and sends the request to the route's
// target, returning the future of the reply. sender is a root context or
// an actor context: actors must not block on the future (use
// ctx.ReenterAfter).
func (r *Router) Call(sender actor.SenderContext, method string, params json.RawMessage) (*Pending, error) {
	rt, req, err := r.Resolve(method, params)
	if err != nil {
		return nil, err
	}
	return r.Send(sender, rt, req), nil
}

// Send sends an already decoded request along rt. With an observer set
// (SetObserver), the call is reported to it when its future completes.
func (r *Router) Send(sender actor.SenderContext, rt Route, req proto.Message) *Pending {
	o := r.observer.Load()
	if o == nil {
		return &Pending{Future: sender.RequestFuture(rt.Target, req, r.Timeout(rt))}
	}
	start := time.Now()
	f := sender.RequestFuture(rt.Target, req, r.Timeout(rt))
	watchFuture(sender.ActorSystem(), f, o.Observer, rt.Method, start)
	return &Pending{Future: f}
}

// Pending is an outstanding call.
type Pending struct {
	Future *actor.Future
}

// Result waits for the reply (off actor goroutines only) and returns it as a
// response message, or an error when it timed out or is not a message.
func (p *Pending) Result() (proto.Message, error) {
	return Reply(p.Future.Result())
}

// Reply converts a future's result into a response message.
func Reply(res any, err error) (proto.Message, error) {
	if err != nil {
		if errors.Is(err, actor.ErrTimeout) {
			return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_TIMEOUT, "the daemon did not answer in time")
		}
		if errors.Is(err, actor.ErrDeadLetter) {
			return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the component that answers this method is not running")
		}
		return nil, err
	}
	m, ok := res.(proto.Message)
	if !ok {
		return nil, fmt.Errorf("reply is %T, not a message", res)
	}
	if rr, ok := m.(messages.Responder); ok && rr.GetError() != nil {
		return m, rr.GetError()
	}
	return m, nil
}

// Encode renders a response message as JSON for clients, as
// messages.AppendJSON does (proto field names, zero values included, unset
// messages such as a nil error field left out, 64-bit integers as numbers,
// an Any as the message it holds). The result is one line.
func Encode(m proto.Message) (json.RawMessage, error) {
	return messages.AppendJSON(nil, m)
}

// AppendEncode appends m rendered as Encode renders it to b. On error it
// returns b as it was.
func AppendEncode(b []byte, m proto.Message) ([]byte, error) {
	return messages.AppendJSON(b, m)
}
