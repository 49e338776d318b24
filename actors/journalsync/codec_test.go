package journalsync_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// TestEncodeDecodeRoundTrip: every op kind, value or pointer, comes back
// field for field.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	for _, ops := range batches() {
		parts := journalsync.Encode(ops)
		if len(parts) != 1 {
			t.Fatalf("%d parts for a small batch", len(parts))
		}
		got, err := journalsync.Decode(&messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: parts[0]})
		must(t, err)
		if len(got) != len(ops) {
			t.Fatalf("%d ops back, want %d", len(got), len(ops))
		}
		for i := range ops {
			if !sameOp(got[i], ops[i]) {
				t.Fatalf("op %d: got %+v, want %+v", i, got[i], ops[i])
			}
		}
	}
}

// sameOp compares a decoded op (a value) with the original.
func sameOp(got, want journal.Op) bool {
	switch w := want.(type) {
	case *journal.PutOrder:
		want = *w
	case *journal.AddFill:
		want = *w
	case *journal.PutState:
		want = *w
	case *journal.PutMeta:
		want = *w
	}
	switch w := want.(type) {
	case journal.PutOrder:
		g, ok := got.(journal.PutOrder)
		return ok && proto.Equal(g.Order, w.Order)
	case journal.AddFill:
		g, ok := got.(journal.AddFill)
		return ok && proto.Equal(g.Fill, w.Fill)
	case journal.PutState:
		g, ok := got.(journal.PutState)
		return ok && g.Strategy == w.Strategy && bytes.Equal(g.State, w.State) && g.SavedMs == w.SavedMs
	case journal.PutMeta:
		g, ok := got.(journal.PutMeta)
		return ok && g == w
	}
	return false
}

// TestDecodeRefuses: a batch without its header or with a bad op is refused
// with ErrBadBatch before any op is allocated or written.
func TestDecodeRefuses(t *testing.T) {
	ok := journalsync.Encode(batches()[0])[0]
	cases := []struct {
		name string
		b    *messages.JournalOps
	}{
		{"nil", nil},
		{"no node", &messages.JournalOps{Term: 1, Seq: 1, Ops: ok}},
		{"term 0", &messages.JournalOps{Seq: 1, Node: "a", Ops: ok}},
		{"negative term", &messages.JournalOps{Term: -1, Seq: 1, Node: "a", Ops: ok}},
		{"seq 0", &messages.JournalOps{Term: 1, Node: "a", Ops: ok}},
		{"no ops", &messages.JournalOps{Term: 1, Seq: 1, Node: "a"}},
		{"too many ops", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: make([]*messages.JournalOp, journalsync.MaxOpsPerEvent+1)}},
		{"empty op", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{}}}},
		{"order op without order", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{Op: &messages.JournalOp_Order{}}}}},
		{"fill op without fill", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{Op: &messages.JournalOp_Fill{}}}}},
		{"state op without state", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{Op: &messages.JournalOp_State{}}}}},
		{"meta op without meta", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{Op: &messages.JournalOp_Meta{}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := journalsync.Decode(c.b); !errors.Is(err, journalsync.ErrBadBatch) {
				t.Fatalf("Decode: %v, want ErrBadBatch", err)
			}
		})
	}
}

// TestPublisherNumbersAndSplits: each event carries the term, the node and
// the next seq (Position is the last one published); a batch over MaxEventBytes goes as several events, in
// order, each within the bound.
func TestPublisherNumbersAndSplits(t *testing.T) {
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	p := journalsync.NewPublisher(sys.Root, bus.PID, "a", 9)
	pub := p.Publish
	if term, seq := p.Position(); term != 9 || seq != 0 {
		t.Fatalf("position before any batch %d/%d, want 9/0", term, seq)
	}
	big := make([]journal.Op, 5)
	for i := range big {
		big[i] = journal.PutState{Strategy: "s", State: bytes.Repeat([]byte{byte(i)}, journal.MaxStateBytes), SavedMs: int64(i)}
	}
	pub(batches()[0])
	pub(nil) // nothing committed: nothing published
	if term, seq := p.Position(); term != 9 || seq != 1 {
		t.Fatalf("position after one batch %d/%d, want 9/1", term, seq)
	}
	pub(big)
	var states []journal.Op
	for seq := uint64(1); seq <= 3; seq++ {
		ev := actortest.Expect[*messages.Event](t, bus, wait)
		b := &messages.JournalOps{}
		must(t, ev.GetPayload().UnmarshalTo(b))
		if ev.Topic != journalsync.Topic || ev.Source != journalsync.Kind || b.Term != 9 || b.Seq != seq || b.Node != "a" {
			t.Fatalf("event %d: topic %s source %s, batch %d/%d from %q", seq, ev.Topic, ev.Source, b.Term, b.Seq, b.Node)
		}
		if seq > 1 {
			if n := proto.Size(&messages.JournalOps{Ops: b.Ops}); n > journalsync.MaxEventBytes {
				t.Fatalf("part %d is %d bytes, over %d", seq, n, journalsync.MaxEventBytes)
			}
			ops, err := journalsync.Decode(b)
			must(t, err)
			states = append(states, ops...)
		}
	}
	bus.ExpectNoMessage(100 * time.Millisecond)
	if len(states) != len(big) {
		t.Fatalf("%d states back, want %d", len(states), len(big))
	}
	for i := range big {
		if !sameOp(states[i], big[i]) {
			t.Fatalf("state %d changed or out of order", i)
		}
	}
}
