package journalsync

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Publisher publishes a leader's committed journal batches for one term.
// Its Publish is the func the lead passes as orders.Deps.OnCommit; its
// Position, as orders.Deps.Position, gives journal.snapshot the stream
// position at a snapshot's cut. Create one Publisher per term and keep it
// across restarts of the order actor, so the sequence of a term never
// starts over. Safe for concurrent use.
type Publisher struct {
	root *actor.RootContext
	bus  *actor.PID
	node string
	term int64

	mu  sync.Mutex
	seq uint64
}

// NewPublisher returns the publisher of node's term on the local bus.
func NewPublisher(root *actor.RootContext, bus *actor.PID, node string, term int64) *Publisher {
	return &Publisher{root: root, bus: bus, node: node, term: term}
}

// Publish encodes committed ops as *messages.JournalOps {term, seq (1, 2,
// 3... per term, one per event), node, ops} and publishes them on the bus
// with root.Send (fire and forget; it never blocks). A batch larger than
// MaxEventBytes or MaxOpsPerEvent goes as several events. Sequence numbers
// follow the order of the calls.
func (p *Publisher) Publish(ops []journal.Op) {
	if len(ops) == 0 {
		return
	}
	parts := Encode(ops)
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, part := range parts {
		p.seq++
		// NewEvent marshals the payload now, so the ops' messages may
		// change once this returns.
		p.root.Send(p.bus, messages.NewEvent(Topic, Kind, &messages.JournalOps{Term: p.term, Seq: p.seq, Node: p.node, Ops: part}))
	}
}

// Position is the term and the seq of the last event published (seq 0:
// none yet). Called on the journal's writer goroutine (journal.Snapshot's
// at), it is the position of the last committed batch.
func (p *Publisher) Position() (term int64, seq uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.term, p.seq
}
