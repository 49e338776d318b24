package journalsync

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// ErrBadBatch wraps every reason Decode refuses a batch.
var ErrBadBatch = errors.New("journalsync: bad batch")

// MaxEventBytes bounds the encoded ops of one journal.ops event: Encode
// splits a larger committed batch into parts, each its own event with its
// own sequence number (a single op larger than this still goes alone; the
// journal bounds an op to about 1 MiB).
const MaxEventBytes = 4 << 20

// MaxOpsPerEvent bounds one event's ops: one less than the journal takes in
// one Write, because the follower adds its position to each Write.
const MaxOpsPerEvent = journal.MaxOpsPerWrite - 1

// Encode turns committed journal ops into the ops of one or more
// JournalOps, in order: each part holds at most MaxOpsPerEvent ops and, when
// it has more than one op, at most MaxEventBytes of them. A nil op (which
// the journal never commits) is encoded as an empty JournalOp, which Decode
// refuses.
func Encode(ops []journal.Op) [][]*messages.JournalOp {
	var parts [][]*messages.JournalOp
	var cur []*messages.JournalOp
	size := 0
	for _, op := range ops {
		e := encodeOp(op)
		n := proto.Size(e)
		if len(cur) > 0 && (size+n > MaxEventBytes || len(cur) == MaxOpsPerEvent) {
			parts, cur, size = append(parts, cur), nil, 0
		}
		cur = append(cur, e)
		size += n
	}
	if len(cur) > 0 {
		parts = append(parts, cur)
	}
	return parts
}

// encodeOp maps one journal op, value or pointer, field for field.
func encodeOp(op journal.Op) *messages.JournalOp {
	switch o := op.(type) {
	case *journal.PutOrder:
		if o != nil {
			return &messages.JournalOp{Op: &messages.JournalOp_Order{Order: o.Order}}
		}
	case journal.PutOrder:
		return &messages.JournalOp{Op: &messages.JournalOp_Order{Order: o.Order}}
	case *journal.AddFill:
		if o != nil {
			return &messages.JournalOp{Op: &messages.JournalOp_Fill{Fill: o.Fill}}
		}
	case journal.AddFill:
		return &messages.JournalOp{Op: &messages.JournalOp_Fill{Fill: o.Fill}}
	case *journal.PutState:
		if o != nil {
			return encodeState(*o)
		}
	case journal.PutState:
		return encodeState(o)
	case *journal.PutMeta:
		if o != nil {
			return encodeMeta(*o)
		}
	case journal.PutMeta:
		return encodeMeta(o)
	}
	return &messages.JournalOp{}
}

func encodeState(s journal.PutState) *messages.JournalOp {
	return &messages.JournalOp{Op: &messages.JournalOp_State{State: &messages.JournalState{
		Strategy: s.Strategy, State: s.State, SavedMs: s.SavedMs}}}
}

func encodeMeta(m journal.PutMeta) *messages.JournalOp {
	return &messages.JournalOp{Op: &messages.JournalOp_Meta{Meta: &messages.JournalMeta{Key: m.Key, Value: m.Value}}}
}

// Decode checks a batch's header (node, term > 0, seq > 0) and op count
// and turns its ops back into journal ops. It does not check the ops'
// fields: journal.Write does, and refuses the whole batch when one is bad.
// The ops share the batch's messages.
func Decode(b *messages.JournalOps) ([]journal.Op, error) {
	switch {
	case b == nil:
		return nil, fmt.Errorf("%w: no batch", ErrBadBatch)
	case b.GetNode() == "":
		return nil, fmt.Errorf("%w: no node", ErrBadBatch)
	case b.GetTerm() <= 0:
		return nil, fmt.Errorf("%w: term %d <= 0", ErrBadBatch, b.GetTerm())
	case b.GetSeq() == 0:
		return nil, fmt.Errorf("%w: seq 0", ErrBadBatch)
	case len(b.GetOps()) == 0:
		return nil, fmt.Errorf("%w: no ops", ErrBadBatch)
	case len(b.GetOps()) > MaxOpsPerEvent:
		return nil, fmt.Errorf("%w: %d ops (max %d)", ErrBadBatch, len(b.GetOps()), MaxOpsPerEvent)
	}
	ops := make([]journal.Op, len(b.GetOps()))
	for i, e := range b.GetOps() {
		op, err := decodeOp(e)
		if err != nil {
			return nil, fmt.Errorf("%w: op %d: %w", ErrBadBatch, i, err)
		}
		ops[i] = op
	}
	return ops, nil
}

func decodeOp(e *messages.JournalOp) (journal.Op, error) {
	switch o := e.GetOp().(type) {
	case *messages.JournalOp_Order:
		if o.Order == nil {
			return nil, errors.New("order op without an order")
		}
		return journal.PutOrder{Order: o.Order}, nil
	case *messages.JournalOp_Fill:
		if o.Fill == nil {
			return nil, errors.New("fill op without a fill")
		}
		return journal.AddFill{Fill: o.Fill}, nil
	case *messages.JournalOp_State:
		if o.State == nil {
			return nil, errors.New("state op without a state")
		}
		return journal.PutState{Strategy: o.State.GetStrategy(), State: o.State.GetState(), SavedMs: o.State.GetSavedMs()}, nil
	case *messages.JournalOp_Meta:
		if o.Meta == nil {
			return nil, errors.New("meta op without a meta")
		}
		return journal.PutMeta{Key: o.Meta.GetKey(), Value: o.Meta.GetValue()}, nil
	default:
		return nil, errors.New("empty op")
	}
}
