package orders

import (
	"bytes"
	"crypto/sha256"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// TestJournalSnapshotServesTheJournalInChunks: journal.snapshot takes a
// copy with the stream position at its cut, serves it in chunks whose
// hash matches, and deletes it after the last chunk; the copy holds the
// orders placed before. position_only answers the position alone, with
// no copy. Without a Position (not clustered) it is refused.
func TestJournalSnapshotServesTheJournalInChunks(t *testing.T) {
	var commits atomic.Uint64
	f := newFixtureDeps(t, testCfg(ModePaper), nil, func(d *Deps) {
		d.OnCommit = func([]journal.Op) { commits.Add(1) }
		d.Position = func() (int64, uint64) { return 7, commits.Load() }
	})
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	for range 5 {
		if r := f.place(buy("s1", "LIMIT", "0.01", "49000")); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	placed := len(f.orders(""))
	pos := actortest.Request[*messages.JournalSnapshotResponse](t, f.sys, f.pid, &messages.JournalSnapshotRequest{PositionOnly: true})
	if pos.GetError() != nil || pos.GetTerm() != 7 || pos.GetSeq() != commits.Load() || pos.GetId() != "" || len(pos.GetData()) != 0 {
		t.Fatalf("position only: %v; want 7/%d and no snapshot", pos, commits.Load())
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, snapshotPrefix+"*")); len(left) != 0 {
		t.Fatalf("a position-only request took a snapshot: %v", left)
	}
	req := &messages.JournalSnapshotRequest{Length: 4096}
	var file []byte
	var first *messages.JournalSnapshotResponse
	for chunks := 0; ; chunks++ {
		r := actortest.Request[*messages.JournalSnapshotResponse](t, f.sys, f.pid, req)
		if r.GetError() != nil {
			t.Fatal(r.GetError())
		}
		if first == nil {
			first = r
			if r.GetTerm() != 7 || r.GetSeq() != commits.Load() || r.GetSeq() == 0 || r.GetSize() <= 4096 {
				t.Fatalf("first chunk: term %d seq %d size %d; %d commits", r.GetTerm(), r.GetSeq(), r.GetSize(), commits.Load())
			}
		}
		if r.GetOffset() != uint64(len(file)) || len(r.GetData()) > 4096 || r.GetId() != first.GetId() {
			t.Fatalf("chunk %d: offset %d, %d bytes, id %q", chunks, r.GetOffset(), len(r.GetData()), r.GetId())
		}
		file = append(file, r.GetData()...)
		if r.GetLast() {
			break
		}
		req = &messages.JournalSnapshotRequest{Id: r.GetId(), Offset: uint64(len(file)), Length: 4096}
	}
	sum := sha256.Sum256(file)
	if uint64(len(file)) != first.GetSize() || !bytes.Equal(sum[:], first.GetSha256()) {
		t.Fatalf("assembled %d bytes (want %d), hash match %v", len(file), first.GetSize(), bytes.Equal(sum[:], first.GetSha256()))
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, snapshotPrefix+"*")); len(left) != 0 {
		t.Fatalf("snapshot files left after the last chunk: %v", left)
	}
	again := actortest.Request[*messages.JournalSnapshotResponse](t, f.sys, f.pid, &messages.JournalSnapshotRequest{Id: first.GetId()})
	if again.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("a finished snapshot asked again: %v", again)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(dst, file, 0o600); err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(dst, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if got, err := j.Orders(journal.OrderFilter{}); err != nil || len(got) != placed {
		t.Fatalf("the copy holds %d orders (%v), %d were placed", len(got), err, placed)
	}

	plain := newFixture(t, testCfg(ModePaper))
	r := actortest.Request[*messages.JournalSnapshotResponse](t, plain.sys, plain.pid, &messages.JournalSnapshotRequest{})
	if r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("snapshot without a stream: %v", r)
	}
}

// TestJournalSnapshotDeletedAtStop: a snapshot half served is deleted when
// the actor stops.
func TestJournalSnapshotDeletedAtStop(t *testing.T) {
	f := newFixtureDeps(t, testCfg(ModePaper), nil, func(d *Deps) {
		d.Position = func() (int64, uint64) { return 3, 0 }
	})
	r := actortest.Request[*messages.JournalSnapshotResponse](t, f.sys, f.pid, &messages.JournalSnapshotRequest{Length: 1024})
	if r.GetError() != nil || r.GetLast() {
		t.Fatalf("first chunk: %v", r)
	}
	if left, _ := filepath.Glob(filepath.Join(f.dir, snapshotPrefix+"*")); len(left) != 1 {
		t.Fatalf("snapshot files while served: %v", left)
	}
	f.restart()
	if left, _ := filepath.Glob(filepath.Join(f.dir, snapshotPrefix+"*")); len(left) != 0 {
		t.Fatalf("snapshot files left after stop: %v", left)
	}
}
