package journal

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestOnCommitSeesEveryCommittedOpOnceInOrder runs concurrent writers, some
// of whose writes a trigger refuses inside the transaction: OnCommit sees
// every op of every committed write exactly once, in the order the rows
// were committed, each write's ops together and in order, never an op of a
// refused write, and always before the write's done runs.
func TestOnCommitSeesEveryCommittedOpOnceInOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	var mu sync.Mutex
	var seen []Op
	calls := 0
	j, err := Open(path, Options{MaxBatch: 16, OnCommit: func(ops []Op) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		seen = append(seen, ops...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	db := rawDB(t, path)
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON meta WHEN new.key LIKE 'boom%'
		BEGIN SELECT RAISE(ABORT, 'boom refused'); END`); err != nil {
		t.Fatal(err)
	}
	const writers, each = 4, 60
	delivered := func(key string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, op := range seen {
			if m, ok := op.(PutMeta); ok && m.Key == key {
				return true
			}
		}
		return false
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var dones sync.WaitGroup
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				ops := []Op{PutOrder{order(id, "s1", "BTCUSDT", stNew, int64(i))}, PutMeta{Key: id, Value: "1"}}
				refused := i%7 == 3
				if refused {
					ops = append(ops, PutMeta{Key: "boom-" + id})
				}
				dones.Add(1)
				j.Write(ops, func(err error) {
					defer dones.Done()
					switch {
					case refused && err == nil:
						errs <- fmt.Errorf("%s: refused write committed", id)
					case !refused && err != nil:
						errs <- fmt.Errorf("%s: %w", id, err)
					case !refused && !delivered(id):
						errs <- fmt.Errorf("%s: done ran before OnCommit saw the write", id)
					}
				})
			}
			dones.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	// The rows in commit order (rowid) are the PutOrders OnCommit saw, in
	// its order; each followed by its own PutMeta.
	rows, err := db.QueryContext(context.Background(), `SELECT client_order_id FROM orders ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		committed = append(committed, id)
	}
	_ = rows.Close()
	mu.Lock()
	defer mu.Unlock()
	var got []string
	for i := 0; i < len(seen); i++ {
		po, ok := seen[i].(PutOrder)
		if !ok {
			t.Fatalf("op %d: %T, want a PutOrder", i, seen[i])
		}
		if i+1 >= len(seen) {
			t.Fatalf("op %d: the PutOrder of %s without its PutMeta", i, po.Order.GetClientOrderId())
		}
		if m, ok := seen[i+1].(PutMeta); !ok || m.Key != po.Order.GetClientOrderId() {
			t.Fatalf("op %d: %v after the PutOrder of %s, want its PutMeta", i+1, seen[i+1], po.Order.GetClientOrderId())
		}
		if strings.HasPrefix(po.Order.GetClientOrderId(), "boom") {
			t.Fatalf("a refused op was handed over")
		}
		got = append(got, po.Order.GetClientOrderId())
		i++
	}
	if want := writers * (each - countRefused(each)); len(committed) != want {
		t.Fatalf("%d orders committed, want %d", len(committed), want)
	}
	if strings.Join(got, ",") != strings.Join(committed, ",") {
		t.Fatalf("OnCommit saw %d orders in an order other than the commit order (%d rows)", len(got), len(committed))
	}
	if st := j.Stats(); uint64(calls) > st.Commits {
		t.Fatalf("%d OnCommit calls for %d commits", calls, st.Commits)
	}
}

// countRefused is how many of each writes i%7 == 3 refuses.
func countRefused(each int) int {
	n := 0
	for i := range each {
		if i%7 == 3 {
			n++
		}
	}
	return n
}

// TestOnCommitSkipsRefusedWrites: a write refused by validation or after
// Close hands nothing over.
func TestOnCommitSkipsRefusedWrites(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{OnCommit: func(ops []Op) {
		mu.Lock()
		calls++
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := write(t, j, PutMeta{}); err == nil { // invalid: empty key
		t.Fatal("an invalid write was accepted")
	}
	mustWrite(t, j, PutMeta{Key: "k", Value: "v"})
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := write(t, j, PutMeta{Key: "late", Value: "v"}); err == nil {
		t.Fatal("a write after Close was accepted")
	}
	mu.Lock()
	defer mu.Unlock()
	if calls != 1 {
		t.Fatalf("%d OnCommit calls, want 1 (the one valid write)", calls)
	}
}
