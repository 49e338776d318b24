package journalsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Catch-up alert kinds (messages.JournalSyncAlert.Kind).
const (
	// AlertCatchUp: a snapshot of the leader's journal was installed
	// (term and seq are its cut; reason gives rows, bytes and ms).
	AlertCatchUp = "catchup"
	// AlertCatchUpFailed: a catch-up failed; it is retried after a backoff.
	AlertCatchUpFailed = "catchup_failed"
)

// Catch-up constants.
const (
	// ChunkBytes is the chunk size a follower asks journal.snapshot for.
	ChunkBytes = 1 << 20
	// minRetry and maxRetry bound the backoff between failed catch-ups.
	minRetry = time.Second
	maxRetry = 30 * time.Second
	// probeTimeout bounds the start-up probe of the leader's position.
	probeTimeout = 30 * time.Second
)

// errCatchUp wraps every reason a catch-up fails.
var errCatchUp = errors.New("journalsync: catch-up")

// catchup is the catch-up under way: its goroutine fetches the snapshot
// and swaps the file; the actor holds the batches meanwhile.
type catchup struct {
	leader   string
	cancel   context.CancelFunc
	done     chan struct{}
	buf      []*messages.JournalOps
	bytes    int
	overflow bool // the buffer overflowed: another catch-up follows
}

// caughtUp is the catch-up goroutine's result. j is the journal now open
// at the path (the snapshot, or the old file when the swap did not
// happen); nil only when it could not be reopened.
type caughtUp struct {
	j       *journal.Journal
	swapped bool     // the journal was closed and reopened: pos is its position
	pos     position // the file's position (the cut once installed)
	bytes   int64
	orders  int64
	fills   int64
	took    time.Duration
	err     error
}

// needsCatchUp says why batch b calls for a catch-up ("" : it does not):
// the first batch after the journal opened that is not the next of the
// position's term (the copy may miss what was published before), a gap, or
// the first batch of a new term (the new leader's journal may hold batches
// of the old term this copy never got: with three nodes or more, the old
// leader's last events may have reached the new leader only). A batch of
// an older term never does; retries wait for their backoff.
func (f *follower) needsCatchUp(b *messages.JournalOps) string {
	term, seq := b.GetTerm(), b.GetSeq()
	if f.deps.Fetch == nil || term <= 0 || seq == 0 || b.GetNode() == "" {
		return ""
	}
	k, expected := classify(f.pos, term, seq)
	reason := ""
	switch {
	case k == older:
		return ""
	case k == gapped:
		reason = fmt.Sprintf("gap: expected %d/%d, got %d/%d", f.pos.term, expected, term, seq)
	case f.fresh && (k == unknown || term != f.pos.term):
		reason = fmt.Sprintf("joined at %d/%d with the journal at %s", term, seq, f.pos)
	case k == inOrder && term > f.pos.term:
		reason = fmt.Sprintf("term %d began (the journal was at %s)", term, f.pos)
	case f.owed:
		reason = "retrying an earlier catch-up"
	}
	f.fresh = false
	if reason != "" && time.Now().Before(f.retryAt) {
		f.owed = true
		return ""
	}
	return reason
}

// catchUpFor starts a catch-up from b's node; a gap is still reported.
func (f *follower) catchUpFor(ctx actor.Context, b *messages.JournalOps, reason string) {
	if k, expected := classify(f.pos, b.GetTerm(), b.GetSeq()); k == gapped {
		f.gap(ctx, b, expected, reason+"; catching up")
	}
	f.startCatchUp(b.GetNode(), reason)
}

// startCatchUp starts fetching a snapshot from the leader's node; the
// batches that come meanwhile are held (hold).
func (f *follower) startCatchUp(leader, reason string) {
	f.owed, f.leader = false, leader
	if f.retry != nil {
		f.retry.Stop()
		f.retry = nil
	}
	cctx, cancel := context.WithCancel(context.Background())
	c := &catchup{leader: leader, cancel: cancel, done: make(chan struct{})}
	f.catching, f.j = c, nil // the goroutine may close the journal: no writes meanwhile
	f.log.Info("journal sync catching up", "leader", c.leader, "reason", reason)
	job := &catchUpJob{path: f.cfg.Path, leader: c.leader, fetch: f.deps.Fetch, maxBytes: f.cfg.MaxSnapshotBytes, log: f.log, h: f.handoff}
	root, self := f.root, f.self
	go func() {
		defer close(c.done)
		defer cancel()
		if res := job.run(cctx); res != nil {
			root.Send(self, res)
		}
	}()
}

// hold keeps a batch for after the catch-up; over the bounds the buffer is
// dropped (those batches come back with the next snapshot).
func (f *follower) hold(b *messages.JournalOps) {
	c := f.catching
	if c.overflow {
		return
	}
	n := proto.Size(b)
	if len(c.buf) >= f.cfg.MaxBuffered || c.bytes+n > f.cfg.MaxBufferedBytes {
		f.log.Warn("journal sync catch-up buffer full; another catch-up follows", "batches", len(c.buf), "bytes", c.bytes)
		c.overflow, c.buf, c.bytes = true, nil, 0
		return
	}
	c.buf, c.bytes = append(c.buf, b), c.bytes+n
}

// onCaughtUp installs the catch-up's outcome and replays the held batches
// (those the snapshot holds are skipped).
func (f *follower) onCaughtUp(ctx actor.Context, r *caughtUp) {
	c := f.catching
	f.catching = nil
	if r.j == nil {
		panic(fmt.Errorf("%w: %s: reopen after a catch-up: %w", ErrJournal, f.cfg.Path, r.err))
	}
	f.j = r.j
	if r.swapped {
		f.pos = r.pos
		f.status.Term, f.status.Seq = f.pos.term, f.pos.seq
	}
	if r.err != nil {
		f.status.CatchUpFailures++
		f.backoff = min(max(2*f.backoff, minRetry), maxRetry)
		f.retryAt, f.owed = time.Now().Add(f.backoff), true
		root, self := f.root, f.self
		f.retry = time.AfterFunc(f.backoff, func() { root.Send(self, &retryCatchUp{}) })
		f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertCatchUpFailed, Leader: c.leader,
			Reason: fmt.Sprintf("%v; retrying in %s", r.err, f.backoff)})
	} else {
		f.status.CatchUps++
		f.backoff, f.retryAt, f.cut = 0, time.Time{}, r.pos
		f.log.Info("journal sync caught up", "leader", c.leader, "term", r.pos.term, "seq", r.pos.seq,
			"orders", r.orders, "fills", r.fills, "bytes", r.bytes, "ms", r.took.Milliseconds(), "held", len(c.buf))
		f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertCatchUp, Leader: c.leader, Term: r.pos.term, Seq: r.pos.seq,
			Reason: fmt.Sprintf("installed a snapshot of %d orders, %d fills, %d bytes in %d ms", r.orders, r.fills, r.bytes, r.took.Milliseconds())})
	}
	if c.overflow && r.err == nil { // the held batches were dropped: fetch them again
		f.startCatchUp(c.leader, "the batches held during the last catch-up overflowed")
		return
	}
	for _, b := range c.buf {
		f.onBatch(ctx, b, false)
	}
}

// retryCatchUp is the retry timer's tick after a failed catch-up.
type retryCatchUp struct{}

// onRetry retries a failed catch-up when no batch did meanwhile.
func (f *follower) onRetry() {
	f.retry = nil
	if f.owed && f.catching == nil && f.j != nil && f.leader != "" {
		f.startCatchUp(f.leader, "retrying an earlier catch-up")
	}
}

// awaitCatchUp waits (at most closeTimeout) for a cancelled catch-up's
// goroutine to end.
func (f *follower) awaitCatchUp(c *catchup) {
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		f.log.Error("journal sync catch-up did not stop in time; it closes its file itself", "timeout", closeTimeout)
	}
}

// statusNow is the status with the catch-up's state.
func (f *follower) statusNow() FollowerStatus {
	st := f.status
	st.CatchingUp = f.catching != nil
	if f.catching != nil {
		st.Buffered = len(f.catching.buf)
	}
	return st
}

// catchUpJob is what the catch-up goroutine needs.
type catchUpJob struct {
	path, leader string
	fetch        func(context.Context, string, *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error)
	maxBytes     int64
	log          *slog.Logger
	h            *handoff
}

// run downloads the snapshot next to the journal, then swaps the files. It
// returns nil when the follower stopped meanwhile (nothing to report; the
// journal is closed).
func (job *catchUpJob) run(ctx context.Context) *caughtUp {
	start := time.Now()
	tmp := job.path + ".catchup"
	cut, size, err := download(ctx, job, tmp)
	if err == nil {
		var orders, fills int64
		if orders, fills, err = countRows(tmp); err == nil {
			return job.swap(tmp, cut, size, orders, fills, start)
		}
	}
	_ = os.Remove(tmp)
	job.h.mu.Lock()
	defer job.h.mu.Unlock()
	if job.h.released {
		return nil
	}
	return &caughtUp{j: job.h.j, err: fmt.Errorf("%w: from %s: %w", errCatchUp, job.leader, err), took: time.Since(start)}
}

// swap closes the journal, replaces its file by the snapshot (its stale
// -wal and -shm removed first), reopens it and records the cut as the
// position.
func (job *catchUpJob) swap(tmp string, cut position, size, orders, fills int64, start time.Time) *caughtUp {
	job.h.mu.Lock()
	if job.h.released {
		job.h.mu.Unlock()
		_ = os.Remove(tmp)
		return nil
	}
	old := job.h.j
	job.h.j = nil
	job.h.mu.Unlock()
	var errs []error
	if old != nil {
		if err := old.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close: %w", err))
		}
	}
	replaced := false
	if len(errs) == 0 {
		err := replaceFile(tmp, job.path)
		errs, replaced = append(errs, err), err == nil
	}
	_ = os.Remove(tmp)
	o := open(job.path, job.log)
	if replaced && o.err == nil {
		// The copy holds the leader's own (stale) position key: the cut
		// replaces it.
		errs = append(errs, writePosition(o.j, cut))
		o.pos = cut
	}
	job.h.mu.Lock()
	defer job.h.mu.Unlock()
	if job.h.released {
		if o.j != nil {
			_ = o.j.Close()
		}
		return nil
	}
	job.h.j = o.j
	res := &caughtUp{j: o.j, swapped: true, pos: o.pos, bytes: size, orders: orders, fills: fills, took: time.Since(start)}
	if err := errors.Join(append(errs, o.err)...); err != nil {
		res.err = fmt.Errorf("%w: install: %w", errCatchUp, err)
	}
	return res
}

// replaceFile moves the snapshot over the journal's (closed) file.
func replaceFile(tmp, path string) error {
	for _, side := range []string{path + "-wal", path + "-shm", path + "-journal"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writePosition commits the cut as the follower's position.
func writePosition(j *journal.Journal, cut position) error {
	done := make(chan error, 1)
	j.Write([]journal.Op{journal.PutMeta{Key: PositionKey, Value: formatPosition(cut.term, cut.seq)}}, func(err error) { done <- err })
	return <-done
}

// countRows counts the snapshot's orders and fills (for the log).
func countRows(path string) (orders, fills int64, err error) {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return 0, 0, err
	}
	defer func() { _ = db.Close() }()
	err = db.QueryRow(`SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM fills)`).Scan(&orders, &fills)
	return orders, fills, err
}

// download fetches the snapshot's chunks into tmp (0600), checks each
// answer and the whole file's hash, and returns the cut and the size.
func download(ctx context.Context, job *catchUpJob, tmp string) (position, int64, error) {
	_ = os.Remove(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return position{}, 0, err
	}
	defer f.Close()
	h := sha256.New()
	var first *messages.JournalSnapshotResponse
	var off uint64
	for {
		req := &messages.JournalSnapshotRequest{Id: first.GetId(), Offset: off, Length: ChunkBytes}
		r, err := job.fetch(ctx, job.leader, req)
		if err == nil && r.GetError() != nil {
			err = r.GetError()
		}
		if err != nil {
			return position{}, 0, fmt.Errorf("journal.snapshot at offset %d: %w", off, err)
		}
		if err := checkChunk(first, r, off, job.maxBytes); err != nil {
			return position{}, 0, err
		}
		if first == nil {
			first = r
		}
		if err := writeChunk(f, h, r.GetData()); err != nil {
			return position{}, 0, err
		}
		off += uint64(len(r.GetData()))
		if r.GetLast() {
			break
		}
	}
	if !bytes.Equal(h.Sum(nil), first.GetSha256()) {
		return position{}, 0, errors.New("the snapshot's sha256 does not match")
	}
	if err := f.Sync(); err != nil {
		return position{}, 0, err
	}
	return position{term: first.GetTerm(), seq: first.GetSeq(), known: true}, int64(off), nil
}

func writeChunk(f *os.File, h hash.Hash, data []byte) error {
	h.Write(data)
	_, err := f.Write(data)
	return err
}

// checkChunk refuses an answer that does not continue the snapshot at off.
func checkChunk(first, r *messages.JournalSnapshotResponse, off uint64, maxBytes int64) error {
	n := uint64(len(r.GetData()))
	switch {
	case r.GetId() == "" || r.GetTerm() <= 0 || len(r.GetSha256()) != sha256.Size:
		return errors.New("journal.snapshot answered without an id, a term or a sha256")
	case r.GetSize() > uint64(maxBytes):
		return fmt.Errorf("the snapshot is %d bytes, over the %d allowed", r.GetSize(), maxBytes)
	case r.GetSchemaVersion() > journal.CurrentSchema:
		return fmt.Errorf("the snapshot's schema v%d is newer than this build's v%d", r.GetSchemaVersion(), journal.CurrentSchema)
	case r.GetOffset() != off || n > ChunkBytes || off+n > r.GetSize():
		return fmt.Errorf("chunk at %d of %d bytes does not continue the snapshot at %d of %d", r.GetOffset(), n, off, r.GetSize())
	case r.GetLast() != (off+n == r.GetSize()) || (!r.GetLast() && n == 0):
		return fmt.Errorf("chunk at %d of %d bytes: last is %v for a file of %d", off, n, r.GetLast(), r.GetSize())
	case first != nil && (r.GetId() != first.GetId() || r.GetSize() != first.GetSize() || r.GetTerm() != first.GetTerm() ||
		r.GetSeq() != first.GetSeq() || !bytes.Equal(r.GetSha256(), first.GetSha256())):
		return errors.New("a chunk of another snapshot")
	}
	return nil
}

// classify places (term, seq) against position p.
func classify(p position, term int64, seq uint64) (kind, uint64) {
	switch {
	case !p.known:
		return unknown, 0
	case term > p.term && seq != 1:
		return gapped, 1
	case term == p.term && seq != p.seq+1:
		return gapped, p.seq + 1
	case term < p.term:
		return older, 0
	}
	return inOrder, 0
}

// kind is where a batch stands against the position.
type kind int

const (
	unknown kind = iota // no position yet
	inOrder             // the next one, or seq 1 of a later term
	gapped              // events were missed
	older               // an older term's
)

// String formats a position as term/seq ("none" before any).
func (p position) String() string {
	if !p.known {
		return "none"
	}
	return formatPosition(p.term, p.seq)
}

// probed is the start-up probe's answer: the leading node and its stream
// position.
type probed struct {
	node string
	pos  position
	err  error
}

// probe asks, off the mailbox, who leads and where its stream is.
func (f *follower) probe() {
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	f.probing = cancel
	leaderOf, fetch, node, root, self := f.deps.Leader, f.deps.Fetch, f.deps.Node, f.root, f.self
	go func() {
		defer cancel()
		res := &probed{}
		res.node, res.err = leaderOf(ctx)
		if res.err == nil && res.node != "" && res.node != node {
			r, err := fetch(ctx, res.node, &messages.JournalSnapshotRequest{PositionOnly: true})
			if err == nil && r.GetError() != nil {
				err = r.GetError()
			}
			res.pos, res.err = position{term: r.GetTerm(), seq: r.GetSeq(), known: true}, err
		}
		if ctx.Err() == nil || res.err == nil {
			root.Send(self, res)
		}
	}()
}

// onProbed catches up at once when the leader's position is not the
// journal's own; a batch that came first decided already.
func (f *follower) onProbed(p *probed) {
	f.probing, f.status.Probed = nil, true
	switch {
	case p.err != nil:
		f.log.Info("journal sync start-up probe failed; the first batch decides", "leader", p.node, "err", p.err)
	case p.node == "" || p.node == f.deps.Node || !f.fresh || f.catching != nil || f.j == nil:
	case f.pos.known && p.pos.term == f.pos.term && p.pos.seq == f.pos.seq:
		f.log.Info("journal sync up to date with the leader", "leader", p.node, "term", p.pos.term, "seq", p.pos.seq)
	default:
		f.fresh = false
		f.startCatchUp(p.node, fmt.Sprintf("at start: the leader %s is at %s, the journal at %s", p.node, p.pos, f.pos))
	}
}
