package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
)

// writeLoop writes order+fill pairs (one Write each, waiting for its done)
// until stop closes; acked counts the committed ones. It returns when the
// loop ended.
func writeLoop(t *testing.T, j *Journal, prefix string, stop <-chan struct{}, acked *atomic.Int64) <-chan error {
	t.Helper()
	res := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				res <- nil
				return
			default:
			}
			id := fmt.Sprintf("%s-%d", prefix, i)
			ch := make(chan error, 1)
			j.Write([]Op{PutOrder{order(id, "s1", "BTCUSDT", stNew, int64(i))}, AddFill{fill(id, "BTCUSDT", int64(i+1), int64(i))}},
				func(err error) { ch <- err })
			if err := <-ch; err != nil {
				res <- err
				return
			}
			acked.Add(1)
		}
	}()
	return res
}

// TestBackupWhileWriting takes a backup while a writer goes on: the copy
// opens, passes an integrity check, holds every write acked before the
// backup began, and never an order without its fill.
func TestBackupWhileWriting(t *testing.T) {
	j, _ := openTemp(t)
	var acked atomic.Int64
	stop := make(chan struct{})
	loop := writeLoop(t, j, "b", stop, &acked)
	for acked.Load() < 50 { // let some commits happen first
		select {
		case err := <-loop:
			t.Fatal(err)
		default:
		}
		if _, err := j.Orders(OrderFilter{Limit: 1}); err != nil {
			t.Fatal(err)
		}
	}
	ackedBefore := acked.Load()
	dst := filepath.Join(t.TempDir(), "backup.db")
	size, err := j.Backup(dst)
	close(stop)
	if lerr := <-loop; lerr != nil {
		t.Fatal(lerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dst)
	if err != nil || st.Size() != size || size == 0 || st.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v (size %d, mode %v), Backup said %d", err, st.Size(), st.Mode().Perm(), size)
	}
	if _, err := j.Backup(dst); !errors.Is(err, ErrBackupExists) {
		t.Fatalf("backup onto an existing file: %v", err)
	}

	b, err := Open(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkIntegrity(t, b)
	orders, err := b.Orders(OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	fills, err := b.Fills(FillFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(orders)) < ackedBefore || len(fills) != len(orders) {
		t.Fatalf("backup holds %d orders and %d fills; %d were acked before it began", len(orders), len(fills), ackedBefore)
	}
	for i := range ackedBefore {
		if o, err := b.Order(fmt.Sprintf("b-%d", i)); err != nil || o == nil {
			t.Fatalf("backup lacks acked order b-%d: %v", i, err)
		}
	}
	t.Logf("backup: %d bytes, %d orders (%d acked before, %d in the end)", size, len(orders), ackedBefore, acked.Load())
}

// TestReadsDuringWrites runs readers on the read pool while a writer
// commits; under -race this checks the pool and writer share nothing
// unsafely, and readers see a growing, consistent journal.
func TestReadsDuringWrites(t *testing.T) {
	j, _ := openTemp(t)
	var acked atomic.Int64
	stop := make(chan struct{})
	loop := writeLoop(t, j, "r", stop, &acked)
	var wg sync.WaitGroup
	// Readers that never block keep both CPUs busy: the writer then waits
	// for the scheduler after each fsync, so a few readers and acks suffice.
	const readers = 2
	errs := make(chan error, readers)
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- readUntil(j, &acked, 60)
		}()
	}
	wg.Wait()
	close(stop)
	if err := <-loop; err != nil {
		t.Fatal(err)
	}
	for range readers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// readUntil reads until acked reaches n, checking that what it sees only
// grows and that every order it sees committed with its fill.
func readUntil(j *Journal, acked *atomic.Int64, n int64) error {
	last := 0
	for acked.Load() < n {
		floor := acked.Load() // acked before this read began: must be visible
		orders, err := j.Orders(OrderFilter{})
		if err != nil {
			return err
		}
		if len(orders) < last || int64(len(orders)) < floor {
			return fmt.Errorf("read %d orders after %d (acked %d)", len(orders), last, floor)
		}
		last = len(orders)
		if len(orders) == 0 {
			continue
		}
		ids, err := j.LastTradeIDs()
		if err != nil {
			return err
		}
		if ids["BTCUSDT"] < int64(len(orders)) {
			return fmt.Errorf("%d orders but last trade id %d", len(orders), ids["BTCUSDT"])
		}
		if _, err := j.OpenOrders(); err != nil {
			return err
		}
	}
	return nil
}

func TestCheckpointEmptiesTheWAL(t *testing.T) {
	j, path := openTemp(t)
	for i := range 20 {
		mustWrite(t, j, PutMeta{Key: fmt.Sprint("k", i), Value: "v"})
	}
	st, err := os.Stat(path + "-wal")
	if err != nil || st.Size() == 0 {
		t.Fatalf("WAL before checkpoint: %v", err)
	}
	if err := j.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() != 0 {
		t.Fatalf("WAL after checkpoint: %d bytes, %v", st.Size(), err)
	}
	if v, ok, err := j.Meta("k19"); v != "v" || !ok || err != nil {
		t.Fatalf("after checkpoint: %v %v %v", v, ok, err)
	}
}
