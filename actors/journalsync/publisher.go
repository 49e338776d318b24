package journalsync

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Publisher returns the func the lead passes as orders.Deps.OnCommit on the
// leader: it encodes each committed batch as a *messages.JournalOps {term,
// seq (1, 2, 3... per term, one per event), node, ops} and publishes it on
// the bus with root.Send (fire and forget; it never blocks). A batch larger
// than MaxEventBytes or MaxOpsPerEvent goes as several events. The func is
// safe for concurrent use: sequence numbers follow the order of the sends.
// Create one Publisher per term and keep it across restarts of the order
// actor, so the sequence of a term never starts over.
func Publisher(root *actor.RootContext, bus *actor.PID, node string, term int64) func(ops []journal.Op) {
	var mu sync.Mutex
	var seq uint64
	return func(ops []journal.Op) {
		if len(ops) == 0 {
			return
		}
		parts := Encode(ops)
		mu.Lock()
		defer mu.Unlock()
		for _, part := range parts {
			seq++
			// NewEvent marshals the payload now, so the ops' messages may
			// change once this returns.
			root.Send(bus, messages.NewEvent(Topic, Kind, &messages.JournalOps{Term: term, Seq: seq, Node: node, Ops: part}))
		}
	}
}
