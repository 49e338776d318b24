package journalsync_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// leaderNode is node a of a rig: a real journal that publishes each
// committed batch as the journalsync Publisher does (term, seq, node "a"),
// except the ones drop names (an event lost on the way), and answers
// journal.snapshot as the order actor does: journal.Snapshot with the
// stream position read at the cut, served in chunks of at most chunk
// bytes. Its hooks let a test hold the first answer (hold) or fail it.
type leaderNode struct {
	t     *testing.T
	r     *rig
	j     *journal.Journal
	term  int64
	dir   string
	chunk int

	mu    sync.Mutex
	seq   uint64
	drop  map[uint64]bool
	snaps map[string][]byte
	// taken is closed once the first snapshot is taken; hold, when set,
	// holds its answer until closed. failures fail the next first requests.
	taken    chan struct{}
	hold     chan struct{}
	failures int
	served   int
}

func newLeader(t *testing.T, r *rig, term int64) *leaderNode {
	t.Helper()
	l := &leaderNode{t: t, r: r, term: term, dir: t.TempDir(), chunk: 8 << 10, drop: map[uint64]bool{},
		snaps: map[string][]byte{}, taken: make(chan struct{})}
	j, err := journal.Open(filepath.Join(l.dir, "journal.db"), journal.Options{OnCommit: l.publish})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	l.j = j
	return l
}

// publish is the leader journal's OnCommit.
func (l *leaderNode) publish(ops []journal.Op) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, part := range journalsync.Encode(ops) {
		l.seq++
		if !l.drop[l.seq] {
			l.r.send(&messages.JournalOps{Term: l.term, Seq: l.seq, Node: "a", Ops: part})
		}
	}
}

// write commits ops on the leader (and so publishes them).
func (l *leaderNode) write(ops ...[]journal.Op) {
	l.t.Helper()
	for _, o := range ops {
		done := make(chan error, 1)
		l.j.Write(o, func(err error) { done <- err })
		must(l.t, <-done)
	}
}

func (l *leaderNode) position() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq
}

// fetch is the follower's Fetch: journal.snapshot on node a.
func (l *leaderNode) fetch(ctx context.Context, node string, req *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error) {
	if node != "a" {
		return nil, fmt.Errorf("node %q does not lead", node)
	}
	if req.GetPositionOnly() {
		return &messages.JournalSnapshotResponse{Term: l.term, Seq: l.position()}, nil
	}
	if req.GetId() == "" {
		if err := l.take(ctx, req); err != nil {
			return &messages.JournalSnapshotResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", err)}, nil
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	id := req.GetId()
	if id == "" {
		id = fmt.Sprint(l.served)
	}
	data, ok := l.snaps[id]
	if !ok || req.GetOffset() > uint64(len(data)) {
		return &messages.JournalSnapshotResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no snapshot %q", id)}, nil
	}
	var term int64
	var seq uint64
	_, _ = fmt.Sscanf(string(l.snaps[id+".pos"]), "%d/%d", &term, &seq)
	end := min(uint64(len(data)), req.GetOffset()+uint64(min(int(req.GetLength()), l.chunk)))
	sum := sha256.Sum256(data)
	return &messages.JournalSnapshotResponse{Id: id, Term: term, Seq: seq, Size: uint64(len(data)), Sha256: sum[:],
		Offset: req.GetOffset(), Data: data[req.GetOffset():end], Last: end == uint64(len(data)), SchemaVersion: journal.CurrentSchema}, nil
}

// take takes a snapshot for a first request.
func (l *leaderNode) take(ctx context.Context, _ *messages.JournalSnapshotRequest) error {
	l.mu.Lock()
	if l.failures > 0 {
		l.failures--
		l.mu.Unlock()
		return fmt.Errorf("refused by the test")
	}
	l.served++
	n := l.served
	hold := l.hold
	l.mu.Unlock()
	dst := filepath.Join(l.dir, fmt.Sprintf("snap-%d.db", n))
	var seq uint64
	if _, err := l.j.Snapshot(dst, func() { seq = l.position() }); err != nil {
		return err
	}
	data, err := os.ReadFile(dst)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.snaps[fmt.Sprint(n)], l.snaps[fmt.Sprint(n)+".pos"] = data, []byte(fmt.Sprintf("%d/%d", l.term, seq))
	l.mu.Unlock()
	if n == 1 {
		close(l.taken)
	}
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// caughtUp waits until the follower has installed at least n snapshots and applied
// everything up to the leader's position.
func (r *rig) caughtUp(t *testing.T, l *leaderNode, n uint64) journalsync.FollowerStatus {
	t.Helper()
	var st journalsync.FollowerStatus
	for deadline := time.Now().Add(wait); ; time.Sleep(10 * time.Millisecond) {
		st = r.status(t, r.follower)
		if st.CatchUps >= n && !st.CatchingUp && st.Seq == l.position() && st.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("follower not caught up to %d/%d with %d snapshots after %s: status %+v", l.term, l.position(), n, wait, st)
		}
	}
	return st
}

// expectAlerts reads alerts until one of kind comes, failing on a kind not
// in allowed.
func (r *rig) expectAlert(t *testing.T, kind string, allowed ...string) *messages.JournalSyncAlert {
	t.Helper()
	for {
		a := r.alert(t)
		if a.Kind == kind {
			return a
		}
		ok := false
		for _, k := range allowed {
			ok = ok || a.Kind == k
		}
		if !ok {
			t.Fatalf("alert %v while waiting for %s", a, kind)
		}
	}
}

// TestFollowerCatchesUpWhenItJoinsLate: the leader journaled and
// published ten batches before the follower existed. The first batch the
// follower sees starts a catch-up; the snapshot is taken (cut at the
// leader's position), and batches published before its answer arrives are
// held: those up to the cut are skipped, the later ones applied. The
// follower's journal then equals the leader's, and its position is the
// leader's.
func TestFollowerCatchesUpWhenItJoinsLate(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 5)
	r.fetch = l.fetch
	l.hold = make(chan struct{})
	bs := batches()
	l.write(bs[:10]...) // nobody follows yet
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[10]) // 5/11: the follower joins here
	<-l.taken
	l.write(bs[11:]...) // after the cut, before the answer: held
	actortest.Eventually(t, wait, func() bool { return r.status(t, r.follower).Buffered == len(bs)-10 },
		"the follower holds the batches published during its catch-up")
	close(l.hold)
	st := r.caughtUp(t, l, 1)
	if st.CatchUps != 1 || st.Gaps != 0 || st.Skipped != 1 || st.Applied != uint64(len(bs)-11) {
		t.Fatalf("status %+v: want no gap, 1 batch skipped (in the snapshot), %d applied", st, len(bs)-11)
	}
	if a := r.expectAlert(t, journalsync.AlertCatchUp); a.Term != 5 || a.Seq != 11 || a.Leader != "a" {
		t.Fatalf("catch-up alert %v: want the cut 5/11 from a", a)
	}
	r.stopFollower(t)
	if _, err := os.Stat(r.path + ".catchup"); !os.IsNotExist(err) {
		t.Fatalf("the download file is left: %v", err)
	}
	got := openJournal(t, r.path)
	sameJournal(t, got, l.j, strategies, metaKeys)
	if pos, _, _ := got.Meta(journalsync.PositionKey); pos != fmt.Sprintf("5/%d", len(bs)) {
		t.Fatalf("position %q, want 5/%d", pos, len(bs))
	}
}

// TestFollowerCatchesUpAfterAGap: an event lost in the middle of the
// stream (the leader committed it, the follower never got it) is reported
// as a gap and repaired by a catch-up: the follower's journal equals the
// leader's, including the lost batch's rows.
func TestFollowerCatchesUpAfterAGap(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 9)
	r.fetch = l.fetch
	r.follower = r.startFollower(t, "b", r.path)
	bs := batches()
	l.write(bs[:4]...) // a fresh follower catches up at the first
	r.caughtUp(t, l, 1)
	l.drop[6] = true
	l.write(bs[4:]...)
	st := r.caughtUp(t, l, 2)
	if st.CatchUps != 2 || st.Gaps != 1 {
		t.Fatalf("status %+v: want the gap reported", st)
	}
	if a := r.expectAlert(t, journalsync.AlertGap, journalsync.AlertCatchUp); a.Seq != 7 || a.ExpectedSeq != 6 {
		t.Fatalf("gap alert %v: want 9/7, expected 6", a)
	}
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), l.j, strategies, metaKeys)
}

// TestFollowerRetriesAFailedCatchUp: a refused journal.snapshot is
// alerted, the batches go on being applied (the hole stays, reported), and
// the catch-up is retried after its backoff, with a later batch.
func TestFollowerRetriesAFailedCatchUp(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 2)
	r.fetch = l.fetch
	bs := batches()
	l.write(bs[:3]...)
	l.mu.Lock()
	l.failures = 1
	l.mu.Unlock()
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[3])
	if a := r.expectAlert(t, journalsync.AlertCatchUpFailed); a.Leader != "a" {
		t.Fatalf("alert %v", a)
	}
	l.write(bs[4:]...)
	tick := 0
	actortest.Eventually(t, wait, func() bool { // batches until the retry's backoff (1 s) passed
		tick++
		l.write([]journal.Op{journal.PutMeta{Key: "tick", Value: fmt.Sprint(tick)}})
		return r.status(t, r.follower).CatchUps == 1
	}, "the catch-up was retried")
	st := r.caughtUp(t, l, 1)
	if st.CatchUps != 1 || st.CatchUpFailures != 1 {
		t.Fatalf("status %+v: want one failure", st)
	}
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), l.j, strategies, metaKeys)
}

// TestFollowerCatchUpBufferOverflow: more batches than MaxBuffered come
// during a catch-up; the buffer is dropped and a second catch-up fetches
// them, so the copy still equals the leader's journal.
func TestFollowerCatchUpBufferOverflow(t *testing.T) {
	r := newBareRig(t)
	r.cfg.MaxBuffered = 2
	l := newLeader(t, r, 4)
	r.fetch = l.fetch
	l.hold = make(chan struct{})
	bs := batches()
	l.write(bs[:2]...)
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[2])
	<-l.taken
	l.write(bs[3:8]...) // 5 batches during the catch-up: over 2
	actortest.Eventually(t, wait, func() bool {
		st := r.status(t, r.follower)
		return st.CatchingUp && st.Buffered == 0
	}, "the buffer was dropped")
	close(l.hold)
	l.write(bs[8:]...) // the first of these finds the hole: a second catch-up
	st := r.caughtUp(t, l, 2)
	t.Logf("%d catch-ups", st.CatchUps)
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), l.j, strategies, metaKeys)
}

// TestFollowerStopsDuringACatchUp: a follower stopped while its download
// waits cancels it; the file is closed and left as it was (the order
// actor may open it at once), and no download file is left.
func TestFollowerStopsDuringACatchUp(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 3)
	r.fetch = l.fetch
	l.hold = make(chan struct{}) // never closed: the answer never comes
	bs := batches()
	l.write(bs[:2]...)
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[2])
	<-l.taken
	r.stopFollower(t)
	if _, err := os.Stat(r.path + ".catchup"); !os.IsNotExist(err) {
		t.Fatalf("the download file is left: %v", err)
	}
	j := openJournal(t, r.path)
	if o, err := j.Orders(journal.OrderFilter{}); err != nil || len(o) != 0 {
		t.Fatalf("the follower's journal holds %d orders (%v): nothing was installed", len(o), err)
	}
}

// TestFollowerRestartCatchesUpOnlyWhenItMissedSome: a follower restarted
// with nothing published meanwhile goes on from its position without a
// catch-up; one restarted after the leader published catches up, and its
// journal equals the leader's.
func TestFollowerRestartCatchesUpOnlyWhenItMissedSome(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 6)
	r.fetch = l.fetch
	bs := batches()
	l.write(bs[:3]...)
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[3])
	r.caughtUp(t, l, 1)
	r.stopFollower(t)
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[4])
	if st := r.caughtUp(t, l, 0); st.CatchUps != 0 || st.Applied != 1 {
		t.Fatalf("status %+v: want the next batch applied without a catch-up", st)
	}
	r.stopFollower(t)
	l.write(bs[5:10]...) // missed
	r.follower = r.startFollower(t, "b", r.path)
	l.write(bs[10:]...)
	if st := r.caughtUp(t, l, 1); st.CatchUps != 1 {
		t.Fatalf("status %+v: want one catch-up", st)
	}
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), l.j, strategies, metaKeys)
}

// TestFollowerCatchesUpAtANewTerm: when a new leader's term begins (seq 1,
// in order), the follower takes a snapshot of the new leader's journal:
// here the new leader holds a batch of the old term the follower never
// got (the old leader's last event reached the new leader only), which
// the stream alone would have left out for good.
func TestFollowerCatchesUpAtANewTerm(t *testing.T) {
	r := newBareRig(t)
	old := newLeader(t, r, 1)
	var mu sync.Mutex
	cur := old
	r.fetch = func(ctx context.Context, node string, req *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error) {
		mu.Lock()
		l := cur
		mu.Unlock()
		return l.fetch(ctx, node, req)
	}
	r.follower = r.startFollower(t, "b", r.path)
	bs := batches()
	old.write(bs[:4]...)
	r.caughtUp(t, old, 1)
	old.mu.Lock()
	old.drop[5] = true // 1/5 never reaches this follower
	old.mu.Unlock()
	old.write(bs[4])
	// The new leader's journal holds the old one's, 1/5 included; it
	// publishes nothing of it (its own stream starts with its term).
	next := newLeader(t, r, 2)
	next.mu.Lock()
	for seq := range uint64(5) {
		next.drop[seq+1] = true
	}
	next.mu.Unlock()
	next.write(bs[:5]...)
	next.mu.Lock()
	next.seq, next.drop = 0, map[uint64]bool{}
	next.mu.Unlock()
	mu.Lock()
	cur = next
	mu.Unlock()
	next.write(bs[5:]...) // 2/1...: a new term, in order
	st := r.caughtUp(t, next, 2)
	if st.Term != 2 || st.CatchUps != 2 || st.Gaps != 0 {
		t.Fatalf("status %+v: want a second catch-up, at term 2, and no gap", st)
	}
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), next.j, strategies, metaKeys)
}

// TestFollowerProbesTheLeaderAtStart: with a Leader, a follower asks the
// leader's position once its journal is open and catches up at once when
// it is not its own, with no batch published: a new standby, and one
// restarted after the leader journaled meanwhile. One restarted with
// nothing missed does not catch up, and applies the next batch in order.
func TestFollowerProbesTheLeaderAtStart(t *testing.T) {
	r := newBareRig(t)
	l := newLeader(t, r, 8)
	r.fetch = l.fetch
	r.leader = func(context.Context) (string, error) { return "a", nil }
	bs := batches()
	l.write(bs[:3]...)
	r.follower = r.startFollower(t, "b", r.path)
	r.caughtUp(t, l, 1) // no batch since it started
	r.stopFollower(t)

	r.follower = r.startFollower(t, "b", r.path)
	actortest.Eventually(t, wait, func() bool { return r.status(t, r.follower).Probed }, "the restarted follower probed the leader")
	if st := r.status(t, r.follower); st.CatchingUp || st.CatchUps != 0 {
		t.Fatalf("status %+v: the follower was up to date, want no catch-up", st)
	}
	l.write(bs[3])
	if st := r.caughtUp(t, l, 0); st.CatchUps != 0 || st.Applied != 1 {
		t.Fatalf("status %+v: want the next batch applied without a catch-up", st)
	}
	r.stopFollower(t)

	l.write(bs[4:]...) // missed
	r.follower = r.startFollower(t, "b", r.path)
	if st := r.caughtUp(t, l, 1); st.CatchUps != 1 || st.Applied != 0 {
		t.Fatalf("status %+v: want a catch-up with no batch", st)
	}
	r.stopFollower(t)
	sameJournal(t, openJournal(t, r.path), l.j, strategies, metaKeys)
}
