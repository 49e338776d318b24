package orders

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Limits of journal.snapshot.
const (
	// SnapshotChunk is the most bytes one journal.snapshot answer carries.
	SnapshotChunk = 1 << 20
	// snapshotTTL: a snapshot no chunk was asked of for this long is deleted.
	snapshotTTL = 2 * time.Minute
	// maxSnapshots bounds the snapshots held at once (one per catching-up
	// standby).
	maxSnapshots = 4
	// snapshotPrefix names the snapshot files, next to the journal.
	snapshotPrefix = ".journal-snapshot-"
)

// snapshots are the journal snapshots being served (journal.snapshot):
// temp files next to the journal, each deleted after its last chunk, after
// snapshotTTL without a request, or when the actor stops. Used from the
// actor's read goroutines, hence the lock.
type snapshots struct {
	dir string
	log *slog.Logger

	mu    sync.Mutex
	byID  map[string]*snapshot
	swept bool // leftovers of an earlier run removed
}

// snapshot is one copy being served.
type snapshot struct {
	path   string
	term   int64
	seq    uint64
	size   uint64
	sum    []byte
	schema int32
	timer  *time.Timer
}

// onSnapshot is journal.snapshot: the copy is taken, hashed and read off
// the mailbox (journal.Snapshot runs on the journal's writer, between two
// commits, with the stream position read at the same cut).
func (a *orderActor) onSnapshot(ctx actor.Context, m *messages.JournalSnapshotRequest) {
	if a.deps.Position == nil {
		ctx.Respond(&messages.JournalSnapshotResponse{Error: precondition("this node does not stream its journal (not clustered)")})
		return
	}
	if len(m.GetId()) > 64 {
		ctx.Respond(&messages.JournalSnapshotResponse{Error: invalid([]string{"id: at most 64 characters"})})
		return
	}
	if m.GetPositionOnly() {
		term, seq := a.deps.Position()
		ctx.Respond(&messages.JournalSnapshotResponse{Term: term, Seq: seq})
		return
	}
	snaps, pos := a.snaps, a.deps.Position
	a.read(ctx, &messages.JournalSnapshotResponse{Error: unavailable()}, func(j *journal.Journal) any {
		if m.GetId() == "" {
			id, err := snaps.take(j, pos)
			if err != nil {
				return &messages.JournalSnapshotResponse{Error: err}
			}
			m = &messages.JournalSnapshotRequest{Id: id, Offset: m.GetOffset(), Length: m.GetLength()}
		}
		return snaps.chunk(m)
	})
}

// take copies the journal to a new snapshot file and returns its id.
func (s *snapshots) take(j *journal.Journal, pos func() (int64, uint64)) (string, *messages.Error) {
	s.mu.Lock()
	if !s.swept {
		s.swept = true
		old, _ := filepath.Glob(filepath.Join(s.dir, snapshotPrefix+"*"))
		for _, p := range old {
			_ = os.Remove(p)
		}
	}
	n := len(s.byID)
	s.mu.Unlock()
	if n >= maxSnapshots {
		return "", messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "%d journal snapshots are being served; retry later", n)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	sn := &snapshot{path: filepath.Join(s.dir, snapshotPrefix+id), schema: int32(j.SchemaVersion())}
	start := time.Now()
	size, err := j.Snapshot(sn.path, func() { sn.term, sn.seq = pos() })
	if err != nil {
		s.log.Error("journal snapshot failed", "err", err)
		return "", internal("journal snapshot failed: %v", err)
	}
	stalled := time.Since(start)
	if sn.sum, err = hashFile(sn.path); err != nil {
		_ = os.Remove(sn.path)
		return "", internal("journal snapshot: hash: %v", err)
	}
	sn.size = uint64(size)
	s.mu.Lock()
	if s.byID == nil { // dropped meanwhile (the actor stopped)
		s.mu.Unlock()
		_ = os.Remove(sn.path)
		return "", messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "trading stopped on this node")
	}
	s.byID[id] = sn
	sn.timer = time.AfterFunc(snapshotTTL, func() { s.drop(id, "expired") })
	s.mu.Unlock()
	s.log.Info("journal snapshot taken", "id", id, "bytes", size, "term", sn.term, "seq", sn.seq, "stall_ms", stalled.Milliseconds())
	return id, nil
}

// chunk answers the chunk of m's snapshot at its offset; the last one
// deletes the file.
func (s *snapshots) chunk(m *messages.JournalSnapshotRequest) *messages.JournalSnapshotResponse {
	s.mu.Lock()
	sn := s.byID[m.GetId()]
	if sn != nil {
		sn.timer.Reset(snapshotTTL)
	}
	s.mu.Unlock()
	if sn == nil {
		return &messages.JournalSnapshotResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "journal snapshot %q: unknown, finished or expired", m.GetId())}
	}
	if m.GetOffset() > sn.size {
		return &messages.JournalSnapshotResponse{Error: invalid([]string{"offset: past the snapshot's end"})}
	}
	n := uint64(m.GetLength())
	if n == 0 || n > SnapshotChunk {
		n = SnapshotChunk
	}
	n = min(n, sn.size-m.GetOffset())
	data := make([]byte, n)
	if err := readAt(sn.path, data, int64(m.GetOffset())); err != nil {
		return &messages.JournalSnapshotResponse{Error: internal("journal snapshot: read: %v", err)}
	}
	last := m.GetOffset()+n == sn.size
	if last {
		s.drop(m.GetId(), "served")
	}
	return &messages.JournalSnapshotResponse{Id: m.GetId(), Term: sn.term, Seq: sn.seq, Size: sn.size, Sha256: sn.sum,
		Offset: m.GetOffset(), Data: data, Last: last, SchemaVersion: sn.schema}
}

// drop deletes a snapshot's file.
func (s *snapshots) drop(id, why string) {
	s.mu.Lock()
	sn := s.byID[id]
	delete(s.byID, id)
	s.mu.Unlock()
	if sn == nil {
		return
	}
	sn.timer.Stop()
	_ = os.Remove(sn.path)
	s.log.Info("journal snapshot deleted", "id", id, "why", why)
}

// close deletes every snapshot; later ones are refused.
func (s *snapshots) close() {
	s.mu.Lock()
	ids := make([]string, 0, len(s.byID))
	for id := range s.byID {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	for _, id := range ids {
		s.drop(id, "trading stopped")
	}
	s.mu.Lock()
	s.byID = nil
	s.mu.Unlock()
}

func hashFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func readAt(path string, buf []byte, off int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.ReadAt(buf, off)
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
