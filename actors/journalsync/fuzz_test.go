package journalsync_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/messages"
)

// FuzzDecode: whatever bytes arrive as a JournalOps, Decode never panics,
// and what it accepts encodes back to the same ops.
func FuzzDecode(f *testing.F) {
	for _, ops := range batches() {
		for _, part := range journalsync.Encode(ops) {
			b, err := proto.Marshal(&messages.JournalOps{Term: 3, Seq: 1, Node: "a", Ops: part})
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte{})
	f.Add([]byte{0x22, 0x00}) // one empty op
	f.Fuzz(func(t *testing.T, data []byte) {
		b := &messages.JournalOps{}
		if (proto.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(data, b) != nil { // unknown fields are not ops
			return
		}
		ops, err := journalsync.Decode(b)
		if err != nil {
			return
		}
		var back []*messages.JournalOp
		for _, part := range journalsync.Encode(ops) {
			back = append(back, part...)
		}
		if len(back) != len(b.Ops) {
			t.Fatalf("%d ops back, want %d", len(back), len(b.Ops))
		}
		for i := range back {
			if !proto.Equal(back[i], b.Ops[i]) {
				t.Fatalf("op %d: %v back, want %v", i, back[i], b.Ops[i])
			}
		}
	})
}
