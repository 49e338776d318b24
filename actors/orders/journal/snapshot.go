package journal

import (
	"fmt"
)

// Snapshot writes a consistent copy of the journal to dst (which must not
// exist; 0600, a plain SQLite file like Backup's) and returns its size.
// Unlike Backup, the copy is taken ON THE WRITER GOROUTINE, between two
// commits: every Write committed before it is in the copy, none committed
// after it. at (may be nil) is called there too, just before the copy, so
// the caller can read state that moves with the commits (the journalsync
// publisher's stream position, which Options.OnCommit advances on the same
// goroutine) and that matches the copy exactly.
//
// No commit happens while the copy is written: Writes queue up and commit
// (grouped) right after it, so a snapshot stalls the journal for the
// copy's duration (VACUUM INTO of the whole file; see BenchmarkSnapshot).
// Snapshot blocks its caller until the copy is done: call it off an
// actor's mailbox. After Close it returns ErrClosed.
func (j *Journal) Snapshot(dst string, at func()) (int64, error) {
	return j.copyTo(dst, "snapshot", func() error {
		done := make(chan error, 1)
		run := func() {
			if at != nil {
				at()
			}
			done <- j.vacuumInto(dst)
		}
		j.mu.Lock()
		if j.closed {
			j.mu.Unlock()
			return ErrClosed
		}
		j.queue = append(j.queue, request{snap: run})
		j.mu.Unlock()
		j.signal()
		if err := <-done; err != nil {
			return fmt.Errorf("copy: %w", err)
		}
		return nil
	})
}
