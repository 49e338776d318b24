package bus

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Inbox is kept by a subscribing actor. The bus sends a subscriber at most
// its queue size of events before it hears back; Handled acks them so
// delivery goes on. An actor that never acks receives nothing past its first
// window, and the bus keeps only the newest events for it (the oldest are
// dropped and counted). Use an Inbox on the actor goroutine only.
//
// A subscriber in the bus's own process acks through shared counters, so
// its acks never queue behind a flood of publishes in the bus's mailbox; a
// remote subscriber acks with EventAck messages.
type Inbox struct {
	bus     *actor.PID
	every   uint32
	pending uint32
	credit  *credit
}

// credit is shared by the bus and one local subscriber.
type credit struct {
	acked atomic.Uint64 // events handled, ever
	held  atomic.Bool   // the bus holds events for this subscriber
}

type creditKey struct {
	sys *actor.ActorSystem
	pid string
}

var credits sync.Map // creditKey -> *credit

func creditFor(sys *actor.ActorSystem, pid *actor.PID) *credit {
	c, _ := credits.LoadOrStore(creditKey{sys, pidKey(pid)}, &credit{})
	return c.(*credit)
}

func dropCredit(sys *actor.ActorSystem, pid *actor.PID) {
	credits.Delete(creditKey{sys, pidKey(pid)})
}

// NewInbox returns an inbox for a subscriber whose queue size is queueSize
// (0 means the bus default of DefaultConfig).
func NewInbox(busPID *actor.PID, queueSize uint32) *Inbox {
	if queueSize == 0 {
		queueSize = uint32(DefaultConfig().QueueSize)
	}
	every := queueSize / 4
	if every == 0 {
		every = 1
	}
	return &Inbox{bus: busPID, every: every}
}

// Subscribe sends a SubscribeRequest for pattern on behalf of ctx.Self();
// the SubscribeResponse comes back to the actor as a message.
func (in *Inbox) Subscribe(ctx actor.Context, pattern string, queueSize uint32) {
	ctx.Request(in.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: ctx.Self(), QueueSize: queueSize})
}

// Handled records one handled event.
func (in *Inbox) Handled(ctx actor.Context) {
	if in.credit == nil && ctx.ActorSystem().ProcessRegistry.Address == in.bus.Address {
		in.credit = creditFor(ctx.ActorSystem(), ctx.Self())
	}
	if in.credit != nil {
		in.credit.acked.Add(1)
		if in.credit.held.Load() && in.credit.held.CompareAndSwap(true, false) {
			ctx.Send(in.bus, &messages.EventAck{Subscriber: ctx.Self()}) // wake the bus to flush
		}
		return
	}
	in.pending++
	if in.pending >= in.every {
		ctx.Send(in.bus, &messages.EventAck{Subscriber: ctx.Self(), Count: in.pending})
		in.pending = 0
	}
}
