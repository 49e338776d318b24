package cluster_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// serveModules adds a module.status route to n answered by n itself:
// known modules are "running" with the node's name in Node; others are
// NOT_FOUND.
func serveModules(t testing.TB, n *node, known ...string) {
	target := actortest.Spawn(t, n.sys, actor.PropsFromFunc(func(ctx actor.Context) {
		req, ok := ctx.Message().(*messages.ModuleStatusRequest)
		if !ok {
			return
		}
		for _, k := range known {
			if k == req.Module {
				ctx.Respond(&messages.ModuleStatusResponse{Status: &messages.ModuleStatus{Name: k, State: "running", Node: n.name}})
				return
			}
		}
		ctx.Respond(&messages.ModuleStatusResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no module %q on %s", req.Module, n.name)})
	}))
	n.router.MustAdd(rpc.Route{Method: "module.status", Target: target, New: func() proto.Message { return &messages.ModuleStatusRequest{} }})
}

func callStatus(t testing.TB, n *node, params map[string]any) (*messages.ModuleStatusResponse, error) {
	t.Helper()
	raw, _ := json.Marshal(params)
	p, err := n.router.Call(n.sys.Root, "module.status", raw)
	if err != nil {
		return nil, err
	}
	res, err := p.Result()
	if err != nil {
		return nil, err
	}
	return res.(*messages.ModuleStatusResponse), nil
}

// TestCallsAcrossNodes: a node param sends a call to that node; a module
// only another node defines is found by name; errors come back as the
// answering node gave them; unknown nodes and bad params fail at once.
func TestCallsAcrossNodes(t *testing.T) {
	etcd := clustertestEtcd(t)
	nodes := startNodes(t, etcd, map[string]nodeOpts{
		"a": {modules: []*messages.ModuleStatus{{Name: "web"}}},
		"b": {modules: []*messages.ModuleStatus{{Name: "web"}, {Name: "ai"}}},
	}, true, "a", "b")
	a, b := nodes[0], nodes[1]
	serveModules(t, a, "web")
	serveModules(t, b, "web", "ai")
	actortest.Eventually(t, 10*time.Second, func() bool {
		for _, m := range a.members(t).Members {
			if m.Node == "b" && len(m.Modules) == 2 {
				return true
			}
		}
		return false
	}, "a sees b's modules")

	cases := []struct {
		name     string
		params   map[string]any
		wantNode string
		wantCode messages.ErrorCode
		wantBad  bool
	}{
		{name: "local", params: map[string]any{"module": "web"}, wantNode: "a"},
		{name: "own name", params: map[string]any{"module": "web", "node": "a"}, wantNode: "a"},
		{name: "node param", params: map[string]any{"module": "web", "node": "b"}, wantNode: "b"},
		{name: "by module name", params: map[string]any{"module": "ai"}, wantNode: "b"},
		{name: "error relayed", params: map[string]any{"module": "zz", "node": "b"}, wantCode: messages.ErrorCode_ERROR_CODE_NOT_FOUND},
		{name: "unknown node", params: map[string]any{"module": "web", "node": "zz"}, wantCode: messages.ErrorCode_ERROR_CODE_NOT_FOUND},
		{name: "bad params", params: map[string]any{"module": "web", "node": "b", "nope": 1}, wantBad: true},
		{name: "node not a string", params: map[string]any{"module": "web", "node": 3}, wantBad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := callStatus(t, a, tc.params)
			switch {
			case tc.wantBad:
				if !errors.Is(err, rpc.ErrBadParams) {
					t.Fatalf("err = %v, want invalid params", err)
				}
			case tc.wantCode != 0:
				var me *messages.Error
				if !errors.As(err, &me) || me.Code != tc.wantCode {
					t.Fatalf("err = %v, want code %v", err, tc.wantCode)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if res.Status.Node != tc.wantNode {
					t.Fatalf("answered by %q, want %q", res.Status.Node, tc.wantNode)
				}
			}
		})
	}
}
