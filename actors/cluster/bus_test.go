package cluster_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func (n *node) subscribe(t testing.TB, pattern string) *actortest.Probe {
	t.Helper()
	p := actortest.NewProbe(t, n.sys)
	res := actortest.Request[*messages.SubscribeResponse](t, n.sys, n.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: p.PID})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	return p
}

// waitPatterns waits until n sees node's patterns as want.
func waitPatterns(t testing.TB, n *node, of string, want ...string) {
	t.Helper()
	actortest.Eventually(t, 10*time.Second, func() bool {
		for _, m := range n.members(t).Members {
			if m.Node == of {
				return slices.Equal(m.Patterns, want) || len(want) == 0 && len(m.Patterns) == 0
			}
		}
		return len(want) == 0
	}, "%s sees %s's patterns %v", n.name, of, want)
}

// receive takes count events from p, in order of arrival.
func receive(t testing.TB, p *actortest.Probe, count int) []*messages.Event {
	t.Helper()
	out := make([]*messages.Event, 0, count)
	for len(out) < count {
		out = append(out, actortest.Expect[*messages.Event](t, p, 10*time.Second))
	}
	return out
}

// TestBusAcrossNodes: an event published on one node reaches the
// subscribers of the others once each, in order, tagged with its node;
// events another node relayed are not sent on; a node that leaves is no
// longer sent to.
func TestBusAcrossNodes(t *testing.T) {
	etcd := clustertestEtcd(t)
	nodes := startNodes(t, etcd, nil, true, "a", "b", "c")
	a, b, c := nodes[0], nodes[1], nodes[2]
	for _, n := range nodes {
		waitMembers(t, n, "a", "b", "c")
	}
	onB := b.subscribe(t, "price.>")
	onC := c.subscribe(t, "price.BTCUSDT.*")
	onA := a.subscribe(t, "trade.>")
	for _, n := range nodes {
		waitPatterns(t, n, "b", "price.>")
		waitPatterns(t, n, "c", "price.BTCUSDT.*")
		waitPatterns(t, n, "a", "trade.>")
	}

	const count = 500
	for i := 0; i < count; i++ {
		a.sys.Root.Send(a.bus, messages.NewEvent("price.BTCUSDT.update", "test", nil))
	}
	a.sys.Root.Send(a.bus, messages.NewEvent("book.BTCUSDT.update", "test", nil)) // nobody's
	for name, p := range map[string]*actortest.Probe{"b": onB, "c": onC} {
		evs := receive(t, p, count)
		for i, ev := range evs {
			if ev.Node != "a" || ev.Sequence != uint64(i+1) || ev.Topic != "price.BTCUSDT.update" {
				t.Fatalf("on %s, event %d: node %q seq %d topic %q; want node a seq %d, in order", name, i, ev.Node, ev.Sequence, ev.Topic, i+1)
			}
		}
	}
	// b subscribes to price.> and got a's events: it must not send them on
	// to c (c would see them twice) nor back to a.
	onC.ExpectNoMessage(300 * time.Millisecond)
	onB.ExpectNoMessage(0)

	// Published on b: c gets it once, a (trade.> only) does not.
	b.sys.Root.Send(b.bus, messages.NewEvent("price.BTCUSDT.trade", "test", nil))
	if ev := actortest.Expect[*messages.Event](t, onC, 10*time.Second); ev.Node != "b" {
		t.Fatalf("c got %v from b, want node b", ev)
	}
	actortest.Expect[*messages.Event](t, onB, 10*time.Second) // b's own subscriber
	c.sys.Root.Send(c.bus, messages.NewEvent("trade.BTCUSDT", "test", nil))
	if ev := actortest.Expect[*messages.Event](t, onA, 10*time.Second); ev.Node != "c" || ev.Topic != "trade.BTCUSDT" {
		t.Fatalf("a got %v from c", ev)
	}
	onA.ExpectNoMessage(200 * time.Millisecond)

	// c unsubscribes: a stops sending to it; b's subscription still works.
	c.sys.Root.Stop(onC.PID)
	waitPatterns(t, a, "c")
	stats := func() uint32 {
		return actortest.Request[*messages.BusStatsResponse](t, a.sys, a.bus, &messages.BusStatsRequest{}).Subscriptions
	}
	actortest.Eventually(t, 10*time.Second, func() bool { return stats() == 3 }, "a's bus: trade.>, b's forwarder's price.>, the cluster actor's module.>")
	a.sys.Root.Send(a.bus, messages.NewEvent("price.ETHUSDT.update", "test", nil))
	if ev := actortest.Expect[*messages.Event](t, onB, 10*time.Second); ev.Topic != "price.ETHUSDT.update" {
		t.Fatalf("b got %v", ev)
	}

	// b leaves: a's forwarder to b goes.
	if err := b.sys.Root.StopFuture(b.pid).Wait(); err != nil {
		t.Fatal(err)
	}
	waitMembers(t, a, "a", "c")
	actortest.Eventually(t, 10*time.Second, func() bool { return stats() == 2 }, "a's bus: trade.> and module.> only")
}

// batchCounter counts the events of the ClusterEventBatches it gets and
// never acks them: a node that is connected but stuck.
type batchCounter struct{ got atomic.Int64 }

func (c *batchCounter) Receive(ctx actor.Context) {
	if b, ok := ctx.Message().(*messages.ClusterEventBatch); ok {
		c.got.Add(int64(len(b.Events)))
	}
}

// TestStuckNodeIsBounded: a node that never acks gets at most a
// forwarder's window of events; the bus holds as many more and drops and
// counts the rest, so memory stays bounded.
func TestStuckNodeIsBounded(t *testing.T) {
	defer cluster.SetAckTimeout(cluster.SetAckTimeout(time.Minute))
	etcd := clustertestEtcd(t)
	a := startNodes(t, etcd, nil, false, "a")[0]
	waitMembers(t, a, "a")
	stuck := &batchCounter{}
	pid := actortest.Spawn(t, a.sys, actor.PropsFromProducer(func() actor.Actor { return stuck }))
	rec, err := proto.Marshal(&messages.ClusterMember{Node: "ghost", Address: pid.Address, Actor: pid.Id, Patterns: []string{"ghost.>"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := a.cli.Put(ctx, cluster.DefaultConfig().KeyPrefix+"members/ghost", rec, 0); err != nil {
		t.Fatal(err)
	}
	waitPatterns(t, a, "ghost", "ghost.>")
	actortest.Eventually(t, 10*time.Second, func() bool {
		st := actortest.Request[*messages.BusStatsResponse](t, a.sys, a.bus, &messages.BusStatsRequest{})
		for _, p := range st.Patterns {
			if p.Pattern == "ghost.>" {
				return true
			}
		}
		return false
	}, "a's forwarder to ghost subscribed")
	const n = 3 * cluster.ForwardQueue
	for i := 0; i < n; i++ {
		a.sys.Root.Send(a.bus, &messages.Event{Topic: "ghost.tick"})
	}
	var ghost *messages.PatternStats
	actortest.Eventually(t, 30*time.Second, func() bool {
		st := actortest.Request[*messages.BusStatsResponse](t, a.sys, a.bus, &messages.BusStatsRequest{})
		for _, p := range st.Patterns {
			if p.Pattern == "ghost.>" {
				ghost = p
			}
		}
		return ghost != nil && ghost.Delivered+ghost.Dropped+ghost.Queued == n && stuck.got.Load() == int64(ghost.Delivered)
	}, "every event sent, held or dropped")
	if ghost.Delivered != cluster.ForwardQueue || ghost.Dropped == 0 {
		t.Fatalf("ghost.>: delivered %d (want the window, %d), held %d, dropped %d", ghost.Delivered, cluster.ForwardQueue, ghost.Queued, ghost.Dropped)
	}
}
