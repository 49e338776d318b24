package cluster_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// node is one in-process cluster node: its own actor system with remote on
// a free 127.0.0.1 port, a bus, a router and the cluster actor.
type node struct {
	leads  *cluster.Leads
	name   string
	etcd   string
	sys    *actor.ActorSystem
	bus    *actor.PID
	router *rpc.Router
	cli    *etcd.Client
	pid    *actor.PID
	mods   *actor.PID
}

type nodeOpts struct {
	modules []*messages.ModuleStatus // what the node's modules supervisor lists
	ttl     time.Duration
}

// startNodes starts a node per name, each with its own actor system (and
// no remote: several remotes in one process race on gRPC's global logger,
// which remote.Start sets; the daemon tests run real processes for that).
// With shared, the nodes share one actor system, so their cluster actors
// reach each other as they would over remote.
func startNodes(t testing.TB, etcd string, opts map[string]nodeOpts, shared bool, names ...string) []*node {
	t.Helper()
	return startNodesWith(t, etcd, opts, shared, false, names...)
}

// startNodesWith is startNodes; withRemote starts a remote per node first,
// as a daemon does (benchmarks only: no race detector there).
func startNodesWith(t testing.TB, etcd string, opts map[string]nodeOpts, shared, withRemote bool, names ...string) []*node {
	t.Helper()
	out := make([]*node, len(names))
	var sys *actor.ActorSystem
	for i, name := range names {
		if sys == nil || !shared {
			sys = actortest.NewSystem(t)
		}
		out[i] = &node{name: name, etcd: etcd, sys: sys}
	}
	if withRemote {
		for _, n := range out {
			r, err := cluster.StartRemote(n.sys, n.config(opts[n.name]), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Shutdown(false) })
		}
	}
	for _, n := range out {
		n.join(t, opts[n.name])
	}
	return out
}

func (n *node) config(o nodeOpts) cluster.Config {
	cfg := cluster.DefaultConfig()
	cfg.Enabled, cfg.Listen, cfg.Etcd = true, "127.0.0.1:0", []string{n.etcd}
	if o.ttl != 0 {
		cfg.LeaseTTL = o.ttl
	}
	return cfg
}

func (n *node) join(t testing.TB, o nodeOpts) {
	t.Helper()
	cfg := n.config(o)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var err error
	if n.cli, err = cluster.NewEtcd(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.cli.Close() })
	log := actortest.Logger(t).With("test_node", n.name)
	n.bus = actortest.Spawn(t, n.sys, bus.Props(bus.DefaultConfig(), n.name, log))
	n.mods = actortest.Spawn(t, n.sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.ModuleListRequest); ok {
			ctx.Respond(&messages.ModuleListResponse{Modules: o.modules})
		}
	}))
	n.router = rpc.NewRouter(5 * time.Second)
	n.router.SetNode(n.name)
	n.leads = cluster.NewLeads()
	relay := cluster.NewRelay(n.name)
	n.router.SetRelay(relay)
	n.pid = actortest.Spawn(t, n.sys, cluster.Props(cfg, cluster.Deps{
		Node: n.name, Version: "test", Etcd: n.cli, Bus: n.bus, Router: n.router, Modules: n.mods,
		Relay: relay, Load: cluster.DefaultLoad(nil), Logger: log, Leads: n.leads,
	}))
	n.router.MustAdd(cluster.Routes(n.pid)...)
	n.router.MustAdd(bus.Routes(n.bus)...)
}

func (n *node) members(t testing.TB) *messages.ClusterMembersResponse {
	return actortest.Request[*messages.ClusterMembersResponse](t, n.sys, n.pid, &messages.ClusterMembersRequest{})
}

func names(res *messages.ClusterMembersResponse) []string {
	out := []string{}
	for _, m := range res.Members {
		out = append(out, m.Node)
	}
	return out
}

func waitMembers(t testing.TB, n *node, want ...string) *messages.ClusterMembersResponse {
	t.Helper()
	var res *messages.ClusterMembersResponse
	actortest.Eventually(t, 10*time.Second, func() bool {
		res = n.members(t)
		got := names(res)
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}, "node %s: members %v", n.name, want)
	return res
}

// TestMembership: three nodes see each other with their records; one that
// stops leaves at once (its lease is revoked); one whose etcd client dies
// (as when its process is killed) leaves within the lease TTL.
func TestMembership(t *testing.T) {
	etcd := clustertestEtcd(t)
	nodes := startNodes(t, etcd, map[string]nodeOpts{
		"a": {modules: []*messages.ModuleStatus{{Name: "web", State: "running"}, {Name: "ai", State: "stopped"}}},
	}, false, "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, n := range []*node{a, b, c} {
		waitMembers(t, n, "a", "b", "c")
	}
	var rec *messages.ClusterMember
	actortest.Eventually(t, 10*time.Second, func() bool {
		for _, m := range c.members(t).Members {
			if m.Node == "a" && len(m.Modules) == 2 && m.Load != nil { // load is measured off the actor, after the first record
				rec = m
			}
		}
		return rec != nil
	}, "a's modules and load reach c")
	if rec.Address != a.sys.Address() || rec.Actor != a.pid.Id || rec.Version != "test" || rec.Running[0] != "web" || rec.Load == nil || rec.Load.Goroutines == 0 {
		t.Fatalf("a's record as c sees it: %v (a is at %s)", rec, a.sys.Address())
	}
	if res := b.members(t); res.Self != "b" || !res.Registered {
		t.Fatalf("b: self %q registered %v", res.Self, res.Registered)
	}

	// A stop revokes the lease: c leaves at once.
	if err := c.sys.Root.StopFuture(c.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, "a", "b")

	// A dead etcd client stops the keepalives without revoking: b leaves
	// when its lease expires (2 s), seen from a.
	_ = b.cli.Close()
	start := time.Now()
	waitMembers(t, a, "a")
	if gone := time.Since(start); gone > 2*time.Second+time.Second {
		t.Errorf("b left %s after its client died; the lease TTL is 2s", gone)
	}
}

// clustertestEtcd starts etcd and returns its endpoint.
func clustertestEtcd(t testing.TB) string { return clustertest.StartEtcd(t).Endpoint }
