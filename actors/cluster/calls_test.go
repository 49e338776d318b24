package cluster_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster/election"
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

// serveTrading adds a trading.orders route to n that answers with one
// order whose client id is the node's name.
func serveTrading(t testing.TB, n *node) {
	target := actortest.Spawn(t, n.sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.TradeOrdersRequest); ok {
			ctx.Respond(&messages.TradeOrdersResponse{Orders: []*messages.TradeOrder{{ClientOrderId: n.name}}})
		}
	}))
	n.router.MustAdd(rpc.Route{Method: "trading.orders", Target: target, New: func() proto.Message { return &messages.TradeOrdersRequest{} }})
}

// answeredBy calls trading.orders on n and returns the answering node.
func answeredBy(t testing.TB, n *node, params map[string]any) string {
	t.Helper()
	raw, _ := json.Marshal(params)
	p, err := n.router.Call(n.sys.Root, "trading.orders", raw)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(*messages.TradeOrdersResponse).GetOrders()[0].GetClientOrderId()
}

// TestTradingCallsGoToTheLeader: a trading.* call without a node param
// goes to the node whose record says it leads trading (cluster.Leads), or
// is answered here when none does or this node does; node pinned to this
// node is answered here whoever leads.
func TestTradingCallsGoToTheLeader(t *testing.T) {
	etcd := clustertestEtcd(t)
	nodes := startNodes(t, etcd, nil, true, "a", "b")
	a, b := nodes[0], nodes[1]
	serveTrading(t, a)
	serveTrading(t, b)
	waitMembers(t, a, "a", "b")
	if got := answeredBy(t, a, nil); got != "a" {
		t.Fatalf("nobody leads: answered by %s", got)
	}
	b.leads.Set(election.Trading, true)
	actortest.Eventually(t, 10*time.Second, func() bool { return answeredBy(t, a, nil) == "b" }, "a relays to b, the leader")
	for _, m := range a.members(t).Members {
		if want := m.Node == "b"; want != (len(m.Leads) == 1 && m.Leads[0] == election.Trading) {
			t.Fatalf("member %s leads %v", m.Node, m.Leads)
		}
	}
	if got := answeredBy(t, a, map[string]any{"node": "a"}); got != "a" {
		t.Fatalf("pinned to a: answered by %s", got)
	}
	if got := answeredBy(t, b, nil); got != "b" {
		t.Fatalf("the leader itself: answered by %s", got)
	}
	// Leadership moves to a.
	b.leads.Set(election.Trading, false)
	a.leads.Set(election.Trading, true)
	actortest.Eventually(t, 10*time.Second, func() bool { return answeredBy(t, b, nil) == "a" }, "b relays to a, the new leader")
	if got := answeredBy(t, a, nil); got != "a" {
		t.Fatalf("the new leader itself: answered by %s", got)
	}
}
