package journal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// TestSnapshotCutIsExact takes snapshots while four writers commit orders
// (eight Writes in flight each): each copy holds exactly the orders OnCommit had seen
// when `at` ran, no more and no fewer (the copy and `at` sit between the
// same two commits). A Snapshot on an existing file or after Close fails.
func TestSnapshotCutIsExact(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	var mu sync.Mutex
	var seen []string // committed order ids, in commit order
	j, err := Open(path, Options{MaxBatch: 8, OnCommit: func(ops []Op) {
		mu.Lock()
		defer mu.Unlock()
		for _, op := range ops {
			seen = append(seen, op.(PutOrder).Order.GetClientOrderId())
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const writers = 4
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var dones sync.WaitGroup
				for k := range 8 { // eight Writes in flight, then wait
					dones.Add(1)
					j.Write([]Op{PutOrder{order(fmt.Sprintf("w%d-%d-%d", w, i, k), "s1", "BTCUSDT", stNew, int64(i))}}, func(err error) {
						defer dones.Done()
						if err != nil {
							t.Error(err)
						}
					})
				}
				dones.Wait()
			}
		})
	}
	for { // let some commits happen first
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n >= 100 {
			break
		}
		runtime.Gosched()
	}
	dir := t.TempDir()
	var cuts []int
	for k := range 6 {
		dst := filepath.Join(dir, fmt.Sprintf("snap-%d.db", k))
		cut := -1
		if _, err := j.Snapshot(dst, func() {
			mu.Lock()
			defer mu.Unlock()
			cut = len(seen)
		}); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		want := append([]string(nil), seen[:cut]...)
		mu.Unlock()
		cuts = append(cuts, cut)
		checkCopy(t, dst, want)
	}
	close(stop)
	wg.Wait()
	t.Logf("cuts at %v of %d orders", cuts, len(seen))
	if _, err := j.Snapshot(filepath.Join(dir, "snap-0.db"), nil); !errors.Is(err, ErrBackupExists) {
		t.Fatalf("snapshot onto an existing file: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, "closed.db")
	if _, err := j.Snapshot(dst, nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("snapshot after close: %v", err)
	}
	if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused snapshot left %s: %v", dst, err)
	}
}

// checkCopy opens a snapshot and checks it holds exactly the orders want.
func checkCopy(t *testing.T, path string, want []string) {
	t.Helper()
	c, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	checkIntegrity(t, c)
	got, err := c.Orders(OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range got {
		ids[o.GetClientOrderId()] = true
	}
	if len(got) != len(want) {
		t.Fatalf("%s holds %d orders, %d were committed before the cut", filepath.Base(path), len(got), len(want))
	}
	for _, id := range want {
		if !ids[id] {
			t.Fatalf("%s lacks %s, committed before the cut", filepath.Base(path), id)
		}
	}
}
