package cluster

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/messages"
)

// forwardQueue is a forwarder's bus queue, in events: the bus's
// MaxQueueSize default. At most this many events are in flight to a node
// (sent, not yet acked by it); past that the bus holds as many more and
// then drops the oldest (counted), as for any slow subscriber.
const forwardQueue = 65536

// ackTimeout is how long a forwarder waits for a node's ClusterEventAck
// with no progress before it takes the events in flight as lost (a
// connection that broke loses them) and frees its bus window. A variable
// for tests.
var ackTimeout = 5 * time.Second

// maxBatch bounds the events of one ClusterEventBatch.
const maxBatch = 2048

// setPatterns gives a forwarder its node's new patterns.
type setPatterns struct{ list []string }

// flush asks a forwarder to send what it holds; it is queued behind the
// events that arrived before it, so a batch holds what the mailbox had.
type flush struct{}

// ackCheck asks a forwarder whether its node acked anything since acked.
type ackCheck struct{ acked uint64 }

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
	sent     uint64      // events sent, ever
	acked    uint64      // events the node acked (or taken as lost), ever
	checking *time.Timer // sends the next ackCheck; nil when none is due
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
	case *messages.ClusterEventAck:
		f.onAck(ctx, uint64(msg.Count))
	case ackCheck:
		f.onAckCheck(ctx, msg)
	case *setPatterns:
		f.apply(ctx, msg.list)
	case *messages.SubscribeResponse:
		f.onSubscribed(ctx, msg)
	case *messages.UnsubscribeResponse:
	case *actor.Stopping, *actor.Restarting:
		f.send(ctx) // what it holds still goes
		if f.checking != nil {
			f.checking.Stop()
		}
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
	if ev.Node != f.node {
		f.acks.Handled(ctx)
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

// send sends the held events as one batch; the node answers a
// ClusterEventAck. The batch is never touched again: remote serialises it
// on its own goroutine.
func (f *forwarder) send(ctx actor.Context) {
	if len(f.buf) == 0 {
		return
	}
	ctx.Request(f.target, &messages.ClusterEventBatch{Node: f.node, Events: f.buf})
	f.sent += uint64(len(f.buf))
	f.buf = make([]*messages.Event, 0, cap(f.buf))
	f.watchAcks(ctx)
}

// onAck acks on the bus the events the node has published, which frees
// the forwarder's bus window for as many more.
func (f *forwarder) onAck(ctx actor.Context, n uint64) {
	n = min(n, f.sent-f.acked)
	for range n {
		f.acks.Handled(ctx)
	}
	f.acked += n
}

// watchAcks makes sure an ackCheck is on its way while events are in
// flight.
func (f *forwarder) watchAcks(ctx actor.Context) {
	if f.checking != nil || f.sent == f.acked {
		return
	}
	self, root, at := ctx.Self(), ctx.ActorSystem().Root, f.acked
	f.checking = time.AfterFunc(ackTimeout, func() { root.Send(self, ackCheck{acked: at}) })
}

// onAckCheck: no ack for ackTimeout while events were in flight means they
// are lost (the connection broke); the bus window they held is freed.
func (f *forwarder) onAckCheck(ctx actor.Context, c ackCheck) {
	f.checking = nil
	if f.acked == c.acked && f.sent > f.acked {
		f.log.Warn("cluster node did not ack events; taking them as lost", "events", f.sent-f.acked)
		f.onAck(ctx, f.sent-f.acked)
	}
	f.watchAcks(ctx)
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
