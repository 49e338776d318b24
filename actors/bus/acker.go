package bus

import (
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Acker is kept by a subscribing actor: it acknowledges the events the
// actor has handled. The bus sends a subscriber at most its queue size of
// events before it hears back; Handled acks them so delivery goes on. An
// actor that never acks receives nothing past its first window, and the bus
// keeps only the newest events for it (the oldest are dropped and counted).
// Use an Acker on the actor goroutine only.
//
// A subscriber in the bus's own process acks through shared counters (a
// credit the bus creates when the actor subscribes and drops when it
// forgets the actor), so its acks never queue behind a flood of publishes
// in the bus's mailbox; a remote subscriber acks with EventAck messages.
type Acker struct {
	bus     *actor.PID
	every   uint32
	pending uint32
	credit  *credit
}

// credit is shared by the bus and one local subscriber.
type credit struct {
	acked   atomic.Uint64 // events handled, ever
	held    atomic.Bool   // the bus holds events for this subscriber
	retired atomic.Bool   // the bus forgot the subscriber: no longer read
}

type creditKey struct {
	sys *actor.ActorSystem
	pid string
}

// credits holds one entry per local subscriber the bus knows: added when
// it subscribes, removed when the bus forgets it (its last unsubscribe, or
// its death).
var credits sync.Map // creditKey -> *credit

func newCredit(sys *actor.ActorSystem, pid *actor.PID) *credit {
	c, _ := credits.LoadOrStore(creditKey{sys, pidKey(pid)}, &credit{})
	return c.(*credit)
}

func lookupCredit(sys *actor.ActorSystem, pid *actor.PID) *credit {
	if c, ok := credits.Load(creditKey{sys, pidKey(pid)}); ok {
		return c.(*credit)
	}
	return nil
}

func retireCredit(sys *actor.ActorSystem, pid *actor.PID, c *credit) {
	c.retired.Store(true)
	credits.CompareAndDelete(creditKey{sys, pidKey(pid)}, c)
}

// NewAcker returns an acker for a subscriber whose queue size is queueSize
// (0 means the bus default of DefaultConfig).
func NewAcker(busPID *actor.PID, queueSize uint32) *Acker {
	if queueSize == 0 {
		queueSize = uint32(DefaultConfig().QueueSize)
	}
	every := queueSize / 4
	if every == 0 {
		every = 1
	}
	return &Acker{bus: busPID, every: every}
}

// Subscribe sends a SubscribeRequest for pattern on behalf of ctx.Self();
// the SubscribeResponse comes back to the actor as a message.
func (in *Acker) Subscribe(ctx actor.Context, pattern string, queueSize uint32) {
	ctx.Request(in.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: ctx.Self(), QueueSize: queueSize})
}

// Handled records one handled event.
func (in *Acker) Handled(ctx actor.Context) {
	local := ctx.ActorSystem().ProcessRegistry.Address == in.bus.Address
	if local && (in.credit == nil || in.credit.retired.Load()) {
		// First event, or the bus forgot this subscriber (it unsubscribed,
		// maybe to subscribe again): take the bus's current credit, if any.
		if in.credit = lookupCredit(ctx.ActorSystem(), ctx.Self()); in.credit != nil {
			in.pending = 0
		}
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
