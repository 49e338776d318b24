package bus_test

import (
	"slices"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestWatchPatterns: the watcher hears the node's own patterns, now and on
// each change; relay subscriptions are left out.
func TestWatchPatterns(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	w := actortest.NewProbe(t, sys)
	sys.Root.Send(b, &bus.WatchPatterns{Watcher: w.PID})
	expect := func(want ...string) {
		t.Helper()
		if want == nil {
			want = []string{}
		}
		actortest.ExpectMatch(t, w, 5*time.Second, func(p *bus.Patterns) bool { return slices.Equal(p.List, want) })
	}
	expect()
	own := actortest.NewProbe(t, sys)
	relay := actortest.NewProbe(t, sys)
	sub := func(pid *messages.SubscribeRequest) uint64 {
		r := actortest.Request[*messages.SubscribeResponse](t, sys, b, pid)
		if r.Error != nil {
			t.Fatal(r.Error)
		}
		return r.SubscriptionId
	}
	sub(&messages.SubscribeRequest{Pattern: "price.>", Subscriber: own.PID})
	expect("price.>")
	sub(&messages.SubscribeRequest{Pattern: "trade.>", Subscriber: relay.PID, Relay: true})
	sub(&messages.SubscribeRequest{Pattern: "price.>", Subscriber: relay.PID, Relay: true})
	id := sub(&messages.SubscribeRequest{Pattern: "alert.>", Subscriber: own.PID})
	expect("alert.>", "price.>") // trade.> is a relay's only
	actortest.Request[*messages.UnsubscribeResponse](t, sys, b, &messages.UnsubscribeRequest{Subscriber: own.PID, SubscriptionId: id})
	expect("price.>")
	sys.Root.Stop(own.PID) // its death drops its subscriptions
	expect()
}

// TestRelayedEventKeepsItsNode: an event another node published keeps its
// node and sequence; a local one gets this node's.
func TestRelayedEventKeepsItsNode(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	actortest.Request[*messages.SubscribeResponse](t, sys, b, &messages.SubscribeRequest{Pattern: ">", Subscriber: p.PID})
	sys.Root.Send(b, &messages.Event{Topic: "a.b", Node: "node-b", Sequence: 77})
	sys.Root.Send(b, &messages.Event{Topic: "a.c"})
	ev := actortest.Expect[*messages.Event](t, p, 5*time.Second)
	if ev.Node != "node-b" || ev.Sequence != 77 {
		t.Fatalf("relayed event: node %q seq %d, want node-b 77", ev.Node, ev.Sequence)
	}
	ev = actortest.Expect[*messages.Event](t, p, 5*time.Second)
	if ev.Node != "node-a" || ev.Sequence != 1 {
		t.Fatalf("local event: node %q seq %d, want node-a 1", ev.Node, ev.Sequence)
	}
}
