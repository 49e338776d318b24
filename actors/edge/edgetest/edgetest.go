// Package edgetest holds the JSON-RPC conformance cases every transport of
// the edge must pass (the Unix socket, TCP, the web UI's WebSocket): the
// methods they call and the table of requests and expected answers. Tests
// only.
package edgetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Conn is one client connection of the transport under test: Send writes
// one JSON-RPC message (or batch), Read returns the next one the server
// sent.
type Conn interface {
	Send(t testing.TB, msg string)
	Read(t testing.TB) string
}

// Call sends msg and returns the next message read.
func Call(t testing.TB, c Conn, msg string) string {
	t.Helper()
	c.Send(t, msg)
	return c.Read(t)
}

// valueRoute is answered by an actor with fn applied to the whole params
// value (an error answers as a reply that is not a message: an internal
// error).
func valueRoute(t testing.TB, sys *actor.ActorSystem, method string, fn func(*structpb.Value) (*structpb.Value, error)) rpc.Route {
	pid := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if v, ok := ctx.Message().(*structpb.Value); ok {
			res, err := fn(v)
			if err != nil {
				ctx.Respond(err)
				return
			}
			ctx.Respond(res)
		}
	}))
	return rpc.Route{Method: method, New: func() proto.Message { return &structpb.Value{} }, Target: pid}
}

func sum(v *structpb.Value) (*structpb.Value, error) {
	total := 0.0
	for _, x := range v.GetListValue().GetValues() {
		total += x.GetNumberValue()
	}
	return structpb.NewNumberValue(total), nil
}

func null(*structpb.Value) (*structpb.Value, error) { return structpb.NewNullValue(), nil }

// Routes are the methods the cases call: the JSON-RPC specification's
// examples (sum, subtract, get_data, notify_hello, notify_sum, update),
// boom (an internal error whose details must not leak), and the bus's
// bus.stats and events.publish_test (a proto request).
func Routes(t testing.TB, sys *actor.ActorSystem, bus *actor.PID) []rpc.Route {
	return []rpc.Route{
		valueRoute(t, sys, "sum", sum),
		valueRoute(t, sys, "subtract", func(v *structpb.Value) (*structpb.Value, error) {
			if l := v.GetListValue(); l != nil && len(l.Values) == 2 {
				return structpb.NewNumberValue(l.Values[0].GetNumberValue() - l.Values[1].GetNumberValue()), nil
			}
			s := v.GetStructValue().GetFields()
			return structpb.NewNumberValue(s["minuend"].GetNumberValue() - s["subtrahend"].GetNumberValue()), nil
		}),
		valueRoute(t, sys, "get_data", func(*structpb.Value) (*structpb.Value, error) {
			return structpb.NewValue([]any{"hello", 5})
		}),
		valueRoute(t, sys, "notify_hello", null),
		valueRoute(t, sys, "notify_sum", sum),
		valueRoute(t, sys, "update", null),
		valueRoute(t, sys, "boom", func(*structpb.Value) (*structpb.Value, error) { return nil, fmt.Errorf("disk /secret/path on fire") }),
		{Method: "bus.stats", New: func() proto.Message { return &messages.BusStatsRequest{} }, Target: bus},
		{Method: "events.publish_test", New: func() proto.Message { return &messages.PublishRequest{} }, Target: bus},
	}
}

// SameJSON compares two JSON texts structurally; batch answers are
// compared as sets, since the spec lets a server answer a batch in any
// order.
func SameJSON(t testing.TB, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("bad JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %q: %v", want, err)
	}
	if gl, ok := g.([]any); ok {
		if wl, ok := w.([]any); ok && len(gl) == len(wl) {
			for _, we := range wl {
				found := false
				for _, ge := range gl {
					if fmt.Sprint(ge) == fmt.Sprint(we) {
						found = true
					}
				}
				if !found {
					t.Fatalf("got %s\nwant %s", got, want)
				}
			}
			return
		}
	}
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

// Case is one request and the answer it must get; an empty Want means an
// Invalid params error (-32602) whose text leaks no internal detail.
type Case struct{ Name, Req, Want string }

// SpecCases are the examples of the JSON-RPC 2.0 specification (section 7)
// with the spec's answers.
var SpecCases = []Case{
	{"positional", `{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}`, `{"jsonrpc": "2.0", "result": 19, "id": 1}`},
	{"positional reversed", `{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}`, `{"jsonrpc": "2.0", "result": -19, "id": 2}`},
	{"named", `{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}`, `{"jsonrpc": "2.0", "result": 19, "id": 3}`},
	{"named reordered", `{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}`, `{"jsonrpc": "2.0", "result": 19, "id": 4}`},
	{"unknown method", `{"jsonrpc": "2.0", "method": "foobar", "id": "1"}`, `{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}`},
	{"invalid JSON", `{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]`, `{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
	{"invalid request", `{"jsonrpc": "2.0", "method": 1, "params": "bar"}`, `{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
	{"batch invalid JSON", `[{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},{"jsonrpc": "2.0", "method"]`, `{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}`},
	{"empty array", `[]`, `{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}`},
	{"invalid batch not empty", `[1]`, `[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]`},
	{"invalid batch", `[1,2,3]`, `[{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null}]`},
	{"mixed batch", `[
		{"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
		{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
		{"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
		{"foo": "boo"},
		{"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
		{"jsonrpc": "2.0", "method": "get_data", "id": "9"}]`,
		`[{"jsonrpc": "2.0", "result": 7, "id": "1"},
		{"jsonrpc": "2.0", "result": 19, "id": "2"},
		{"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
		{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
		{"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}]`},
}

// IDCases are ids, request validation and error mapping.
var IDCases = []Case{
	{"string id", `{"jsonrpc":"2.0","method":"sum","params":[1],"id":"abc"}`, `{"jsonrpc":"2.0","result":1,"id":"abc"}`},
	{"null id", `{"jsonrpc":"2.0","method":"sum","params":[1],"id":null}`, `{"jsonrpc":"2.0","result":1,"id":null}`},
	{"big id kept exactly", `{"jsonrpc":"2.0","method":"sum","params":[1],"id":12345678901234567890}`, `{"jsonrpc":"2.0","result":1,"id":12345678901234567890}`},
	{"object id", `{"jsonrpc":"2.0","method":"sum","id":{}}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}`},
	{"bool id", `{"jsonrpc":"2.0","method":"sum","id":true}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}`},
	{"wrong version", `{"jsonrpc":"1.0","method":"sum","id":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"scalar params", `{"jsonrpc":"2.0","method":"sum","params":3,"id":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"extra member", `{"jsonrpc":"2.0","method":"sum","id":1,"x":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"duplicate method", `{"jsonrpc":"2.0","method":"rpc.methods","method":"sum","params":[1],"id":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"duplicate escaped method", `{"jsonrpc":"2.0","method":"sum","\u006dethod":"sum","params":[1],"id":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"duplicate params", `{"jsonrpc":"2.0","method":"sum","params":[1],"params":[2],"id":1}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":1}`},
	{"duplicate id", `{"jsonrpc":"2.0","method":"sum","params":[1],"id":1,"id":2}`, `{"jsonrpc":"2.0","error":{"code":-32600,"message":"Invalid Request"},"id":null}`},
	{"escaped key alone", `{"jsonrpc":"2.0","\u006dethod":"sum","params":[1],"id":1}`, `{"jsonrpc":"2.0","result":1,"id":1}`},
	{"unknown param", `{"jsonrpc":"2.0","method":"bus.stats","params":{"nope":1},"id":1}`, ``},
	{"internal error hides details", `{"jsonrpc":"2.0","method":"boom","id":1}`, `{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":1}`},
	{"actor route", `{"jsonrpc":"2.0","method":"events.publish_test","params":{"event":{"topic":"a.*"}},"id":1}`, ``},
}

// check compares an answer with a case's Want.
func check(t testing.TB, got, want string) {
	t.Helper()
	if want != "" {
		SameJSON(t, got, want)
		return
	}
	var res struct {
		Error *struct {
			Code int    `json:"code"`
			Data string `json:"data"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil || res.Error == nil || res.Error.Code != -32602 {
		t.Fatalf("want -32602, got %s", got)
	}
	if strings.Contains(got, "/secret") {
		t.Fatalf("internal detail leaked: %s", got)
	}
}

// Conformance runs every case on c, which may call every method at once
// (logged in, or needing no login), then the notifications (no answer)
// and the edge's own methods.
func Conformance(t *testing.T, c Conn) {
	for _, group := range []struct {
		name  string
		cases []Case
	}{{"spec", SpecCases}, {"ids", IDCases}} {
		for _, tc := range group.cases {
			t.Run(group.name+"/"+tc.Name, func(t *testing.T) {
				check(t, Call(t, c, strings.ReplaceAll(tc.Req, "\n", " ")), tc.Want)
			})
		}
	}
	t.Run("notifications get no answer", func(t *testing.T) {
		c.Send(t, `{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}`)
		c.Send(t, `{"jsonrpc": "2.0", "method": "foobar"}`)
		c.Send(t, `[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},{"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]`)
		// The next answer must be for this call: nothing was sent for the three messages above.
		SameJSON(t, Call(t, c, `{"jsonrpc": "2.0", "method": "sum", "params": [1], "id": 7}`), `{"jsonrpc": "2.0", "result": 1, "id": 7}`)
	})
	t.Run("edge methods", func(t *testing.T) {
		st := Call(t, c, `{"jsonrpc":"2.0","method":"bus.stats","id":1}`)
		if !strings.Contains(st, `"published"`) || strings.Contains(st, `"error"`) {
			t.Fatalf("bus.stats = %s", st)
		}
		m := Call(t, c, `{"jsonrpc":"2.0","method":"rpc.methods","id":1}`)
		for _, want := range []string{"auth.login", "bus.stats", "events.subscribe", "logs.stream", "sum"} {
			if !strings.Contains(m, `"`+want+`"`) {
				t.Fatalf("rpc.methods lacks %s: %s", want, m)
			}
		}
	})
}

// Unauthenticated runs the login cases on c, a connection that must log
// in first: every method is refused until auth.login with token succeeds,
// and a wrong token changes nothing.
func Unauthenticated(t *testing.T, c Conn, token string) {
	SameJSON(t, Call(t, c, `{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: call auth.login with the daemon's token first"},"id":1}`)
	SameJSON(t, Call(t, c, `{"jsonrpc":"2.0","method":"auth.login","params":{"token":"wrong"},"id":2}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: bad token"},"id":2}`)
	SameJSON(t, Call(t, c, `{"jsonrpc":"2.0","method":"events.publish_test","params":{"event":{"topic":"x"}},"id":3}`),
		`{"jsonrpc":"2.0","error":{"code":-32001,"message":"unauthorized: call auth.login with the daemon's token first"},"id":3}`)
	SameJSON(t, Call(t, c, `{"jsonrpc":"2.0","method":"auth.login","params":["`+token+`"],"id":4}`), `{"jsonrpc":"2.0","result":{"ok":true},"id":4}`)
	SameJSON(t, Call(t, c, `{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":5}`), `{"jsonrpc":"2.0","result":3,"id":5}`)
}
