package cluster

import (
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/messages"
)

// forwardQueue is a forwarder's bus queue, in events: the bus's
// MaxQueueSize default. Past it the bus drops the oldest (counted).
const forwardQueue = 65536

// maxBatch bounds the events of one ClusterEventBatch.
const maxBatch = 2048

// setPatterns gives a forwarder its node's new patterns.
type setPatterns struct{ list []string }

// flush asks a forwarder to send what it holds; it is queued behind the
// events that arrived before it, so a batch holds what the mailbox had.
type flush struct{}

// forwarder sends one remote node the local events its subscribers want:
// it subscribes on the local bus to the node's patterns (as a relay, so
// they are not advertised as this node's), so the bus gives it each
// matching event once, in publish order, and it sends them in batches to
// the node's cluster actor. Events that came from another node are not
// sent on (no loops).
type forwarder struct {
	log      *slog.Logger
	node     string // this node
	bus      *actor.PID
	target   *actor.PID
	acks     *bus.Acker
	ids      map[string]uint64 // pattern -> subscription id
	want     map[string]bool   // patterns it should have
	pending  []string          // patterns whose SubscribeResponse is due, in order
	buf      []*messages.Event
	sent     uint64
	patterns []string
}

func forwarderProps(log *slog.Logger, node string, busPID, target *actor.PID, patterns []string) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &forwarder{log: log, node: node, bus: busPID, target: target, patterns: patterns}
	})
}

func (f *forwarder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		f.onStarted(ctx)
	case *messages.Event:
		f.onEvent(ctx, msg)
	case flush:
		f.send(ctx)
	case *setPatterns:
		f.apply(ctx, msg.list)
	case *messages.SubscribeResponse:
		f.onSubscribed(ctx, msg)
	case *messages.UnsubscribeResponse:
	case *actor.Stopping, *actor.Restarting:
		f.send(ctx) // what it holds still goes
	case *actor.Stopped:
	default:
		f.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (f *forwarder) onStarted(ctx actor.Context) {
	f.acks = bus.NewAcker(f.bus, forwardQueue)
	f.ids, f.want = map[string]uint64{}, map[string]bool{}
	f.apply(ctx, f.patterns)
}

func (f *forwarder) onEvent(ctx actor.Context, ev *messages.Event) {
	f.acks.Handled(ctx)
	if ev.Node != f.node {
		return // relayed from another node: delivered locally only
	}
	f.buf = append(f.buf, ev)
	switch len(f.buf) {
	case 1:
		ctx.Send(ctx.Self(), flush{})
	case maxBatch:
		f.send(ctx)
	}
}

// send sends the held events as one batch. The batch is never touched
// again: remote serialises it on its own goroutine.
func (f *forwarder) send(ctx actor.Context) {
	if len(f.buf) == 0 {
		return
	}
	ctx.Send(f.target, &messages.ClusterEventBatch{Node: f.node, Events: f.buf})
	f.sent += uint64(len(f.buf))
	f.buf = make([]*messages.Event, 0, cap(f.buf))
}

// apply subscribes to the new patterns and unsubscribes from the old.
func (f *forwarder) apply(ctx actor.Context, list []string) {
	next := map[string]bool{}
	for _, p := range list {
		next[p] = true
		if !f.want[p] {
			f.pending = append(f.pending, p)
			ctx.Request(f.bus, &messages.SubscribeRequest{Pattern: p, Subscriber: ctx.Self(), QueueSize: forwardQueue, Relay: true})
		}
	}
	for p := range f.want {
		if !next[p] {
			if id := f.ids[p]; id != 0 {
				ctx.Request(f.bus, &messages.UnsubscribeRequest{Subscriber: ctx.Self(), SubscriptionId: id})
			}
			delete(f.ids, p)
		}
	}
	f.want = next
}

// onSubscribed records a subscription id; a pattern dropped meanwhile is
// unsubscribed at once.
func (f *forwarder) onSubscribed(ctx actor.Context, res *messages.SubscribeResponse) {
	if len(f.pending) == 0 {
		return
	}
	p := f.pending[0]
	f.pending = f.pending[1:]
	if res.Error != nil {
		f.log.Warn("cluster forwarder subscription refused", "pattern", p, "error", res.Error)
		return
	}
	if !f.want[p] {
		ctx.Request(f.bus, &messages.UnsubscribeRequest{Subscriber: ctx.Self(), SubscriptionId: res.SubscriptionId})
		return
	}
	f.ids[p] = res.SubscriptionId
}
