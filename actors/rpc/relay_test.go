package rpc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// TestResolveNodeParam: without a relay the node param may only name this
// node; it is removed before the params are decoded.
func TestResolveNodeParam(t *testing.T) {
	r := rpc.NewRouter(time.Second)
	r.SetNode("alpha")
	r.MustAdd(rpc.Route{Method: "module.status", Target: actor.NewPID("nonhost", "x"), New: func() proto.Message { return &messages.ModuleStatusRequest{} }})
	cases := []struct {
		name, params string
		want         string // the decoded module, or "" for an error
		bad          bool
	}{
		{name: "none", params: `{"module":"web"}`, want: "web"},
		{name: "own node", params: `{"module":"web","node":"alpha"}`, want: "web"},
		{name: "positional", params: `["web"]`, want: "web"},
		{name: "other node", params: `{"module":"web","node":"beta"}`},
		{name: "node not a string", params: `{"module":"web","node":1}`, bad: true},
		{name: "a module named node", params: `{"module":"node"}`, want: "node"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rt, req, err := r.Resolve("module.status", []byte(tc.params))
			switch {
			case tc.bad:
				if !errors.Is(err, rpc.ErrBadParams) {
					t.Fatalf("err = %v, want invalid params", err)
				}
			case tc.want == "":
				var me *messages.Error
				if !errors.As(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
					t.Fatalf("err = %v, want not found", err)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if rt.Method != "module.status" || req.(*messages.ModuleStatusRequest).Module != tc.want {
					t.Fatalf("resolved %s %v", rt.Method, req)
				}
			}
		})
	}
}
