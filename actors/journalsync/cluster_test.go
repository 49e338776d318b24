package journalsync_test

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// clusterNode is one node of a real cluster (etcd membership, the bus
// across nodes through the cluster actors' forwarders) in a shared actor
// system, as actors/cluster's own tests run them.
type clusterNode struct {
	name    string
	bus     *actor.PID
	cluster *actor.PID
}

func joinCluster(t *testing.T, sys *actor.ActorSystem, etcd, name string) *clusterNode {
	t.Helper()
	cfg := cluster.DefaultConfig()
	cfg.Enabled, cfg.Listen, cfg.Etcd = true, "127.0.0.1:0", []string{etcd}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cli, err := cluster.NewEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	log := actortest.Logger(t).With("test_node", name)
	n := &clusterNode{name: name}
	n.bus = actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), name, log))
	router := rpc.NewRouter(5 * time.Second)
	router.SetNode(name)
	relay := cluster.NewRelay(name)
	router.SetRelay(relay)
	n.cluster = actortest.Spawn(t, sys, cluster.Props(cfg, cluster.Deps{
		Node: name, Version: "test", Etcd: cli, Bus: n.bus, Router: router, Relay: relay, Logger: log}))
	return n
}

// waitPattern waits until n sees that node subscribes to pattern.
func waitPattern(t *testing.T, sys *actor.ActorSystem, n *clusterNode, node, pattern string) {
	t.Helper()
	actortest.Eventually(t, wait, func() bool {
		res := actortest.Request[*messages.ClusterMembersResponse](t, sys, n.cluster, &messages.ClusterMembersRequest{})
		for _, m := range res.Members {
			if m.Node == node && slices.Contains(m.Patterns, pattern) {
				return true
			}
		}
		return false
	}, "%s sees %s subscribe to %s", n.name, node, pattern)
}

// TestFollowerAcrossNodes: a leader on node a journals batches and
// publishes each one once committed (as its OnCommit hook does); the
// follower on node b, reached through the cluster's bus, ends up with the
// same journal, which b opens as a new leader would once the follower
// stopped.
func TestFollowerAcrossNodes(t *testing.T) {
	etcd := clustertest.StartEtcd(t).Endpoint
	sys := actortest.NewSystem(t)
	a, b := joinCluster(t, sys, etcd, "a"), joinCluster(t, sys, etcd, "b")
	pathB := filepath.Join(t.TempDir(), "b", "journal.db")
	follower := actortest.Spawn(t, sys, journalsync.FollowerProps(journalsync.FollowerConfig{Path: pathB},
		journalsync.FollowerDeps{Bus: b.bus, Node: "b", Logger: actortest.Logger(t).With("test_node", "b")}))
	waitPattern(t, sys, a, "b", journalsync.Topic)

	leader, err := journal.Open(filepath.Join(t.TempDir(), "a", "journal.db"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = leader.Close() })
	pub := journalsync.NewPublisher(sys.Root, a.bus, "a", 42).Publish
	bs := batches()
	for _, ops := range bs {
		done := make(chan error, 1)
		leader.Write(ops, func(err error) {
			if err == nil {
				pub(ops) // what the journal's commit hook does on the leader
			}
			done <- err
		})
		must(t, <-done)
	}
	var st journalsync.FollowerStatus
	actortest.Eventually(t, wait, func() bool {
		st = actortest.Request[journalsync.FollowerStatus](t, sys, follower, journalsync.FollowerStatusRequest{})
		return st.Applied == uint64(len(bs)) && st.Pending == 0
	}, "b applied %d batches (status %+v)", len(bs), st)
	if st.Gaps != 0 || st.Bad != 0 || st.Failed != 0 || st.Term != 42 || st.Seq != uint64(len(bs)) {
		t.Fatalf("status %+v", st)
	}
	if err := sys.Root.StopFuture(follower).Wait(); err != nil {
		t.Fatal(err)
	}
	sameJournal(t, openJournal(t, pathB), leader, strategies, metaKeys)
}
