package journal

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// BenchmarkJournalFsyncFloor writes one single-op Write at a time, waiting
// for its done: one commit, one fsync each. The floor the group-commit
// figure is compared with.
func BenchmarkJournalFsyncFloor(b *testing.B) {
	j := benchJournal(b)
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := write(b, j, PutOrder{order(fmt.Sprintf("f-%d", i), "s", "BTCUSDT", stIntent, int64(i))}); err != nil {
			b.Fatal(err)
		}
	}
	reportCommits(b, j, Stats{}, time.Since(start))
}

// BenchmarkJournalGroupCommit is a burst of 2,000 order intents from 50
// strategies (50 goroutines, 40 PutOrders each), every intent a Write of
// its own. ops/s is orders journaled per second of wall time; fsyncs/s is
// commits per second (one WAL fsync each).
//
//   - async: each goroutine issues its 40 Writes and then waits for their
//     dones, as the orders actor does (it never waits in its mailbox).
//   - wait_each: each goroutine waits for one done before its next Write,
//     the worst case (at most 50 intents can share a commit).
func BenchmarkJournalGroupCommit(b *testing.B) {
	b.Run("async", func(b *testing.B) { benchBurst(b, false) })
	b.Run("wait_each", func(b *testing.B) { benchBurst(b, true) })
}

func benchBurst(b *testing.B, waitEach bool) {
	const strategies, perStrategy = 50, 40
	j := benchJournal(b)
	floor := fsyncFloor(b, j)
	base := j.Stats()
	var elapsed time.Duration
	for n := 0; b.Loop(); n++ {
		start := time.Now()
		var wg sync.WaitGroup
		for s := range strategies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				burstStrategy(b, j, fmt.Sprintf("s%d", s), n, perStrategy, waitEach)
			}()
		}
		wg.Wait()
		elapsed += time.Since(start)
	}
	st := reportCommits(b, j, base, elapsed)
	b.ReportMetric(floor, "floor_ops/s")
	b.ReportMetric(float64(st.Ops)/elapsed.Seconds()/floor, "x_floor")
}

// fsyncFloor measures, in the same run, single-op Writes one at a time
// (one fsync each) on j and returns their ops/s.
func fsyncFloor(b *testing.B, j *Journal) float64 {
	const n = 50
	start := time.Now()
	for i := range n {
		if err := write(b, j, PutOrder{order(fmt.Sprintf("floor-%d", i), "floor", "BTCUSDT", stIntent, int64(i))}); err != nil {
			b.Fatal(err)
		}
	}
	return n / time.Since(start).Seconds()
}

// burstStrategy writes count PutOrders for strategy and returns once all
// are committed.
func burstStrategy(b *testing.B, j *Journal, strategy string, round, count int, waitEach bool) {
	dones := make(chan error, count)
	for i := range count {
		id := fmt.Sprintf("sb-%s-%d-%d", strategy, round, i)
		j.Write([]Op{PutOrder{order(id, strategy, "BTCUSDT", stIntent, int64(i))}}, func(err error) { dones <- err })
		if waitEach {
			if err := <-dones; err != nil {
				b.Error(err)
				return
			}
		}
	}
	if waitEach {
		return
	}
	for range count {
		if err := <-dones; err != nil {
			b.Error(err)
		}
	}
}

func benchJournal(b *testing.B) *Journal {
	b.Helper()
	j, err := Open(filepath.Join(b.TempDir(), "journal.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = j.Close() })
	return j
}

// reportCommits reports ops/s (journaled ops per second of wall time),
// commits/s (fsyncs per second) and ops per commit, counting from the
// journal's stats in base.
func reportCommits(b *testing.B, j *Journal, base Stats, elapsed time.Duration) Stats {
	st := j.Stats()
	st.Ops -= base.Ops
	st.Commits -= base.Commits
	sec := elapsed.Seconds()
	b.ReportMetric(float64(st.Ops)/sec, "ops/s")
	b.ReportMetric(float64(st.Commits)/sec, "fsyncs/s")
	b.ReportMetric(float64(st.Ops)/float64(st.Commits), "ops/fsync")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(st.Ops), "µs/op-wall")
	return st
}

// BenchmarkJournalReconcileWrite is the reconcile figure's journal work:
// one Write of 1,000 adopted orders, 100 order updates and 10,000 fills
// (the fills of the 100 orders), into a journal that already holds 20,000
// fills of earlier orders.
func BenchmarkJournalReconcileWrite(b *testing.B) {
	j := benchJournal(b)
	var old []Op
	for i := range 20_000 {
		if i%100 == 0 {
			old = append(old, PutOrder{order(fmt.Sprintf("old-%d", i/100), "s", "BTCUSDT", stIntent, int64(i))})
		}
		old = append(old, AddFill{fill(fmt.Sprintf("old-%d", i/100), "BTCUSDT", int64(i+1), int64(i))})
	}
	if err := write(b, j, old...); err != nil {
		b.Fatal(err)
	}
	next := int64(1_000_000)
	for n := 0; b.Loop(); n++ {
		ops := make([]Op, 0, 11_100)
		for i := range 1_000 {
			ops = append(ops, PutOrder{order(fmt.Sprintf("ext-%d-%d", n, i), "external", "BTCUSDT", stIntent, int64(i))})
		}
		for i := range 100 {
			ops = append(ops, PutOrder{order(fmt.Sprintf("r-%d-%d", n, i), "s", "BTCUSDT", stIntent, int64(i))})
		}
		for i := range 10_000 {
			next++
			ops = append(ops, AddFill{fill(fmt.Sprintf("r-%d-%d", n, i%100), "BTCUSDT", next, next)})
		}
		if err := write(b, j, ops...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshot10k is Snapshot of a journal of 10,000 orders with a
// fill each: ns/op is how long the copy holds up the writer (no commit
// happens meanwhile); MB is the copy's size. The floor is Backup of the
// same journal (the same VACUUM INTO, off the writer).
func BenchmarkSnapshot10k(b *testing.B) {
	j := benchJournal(b)
	const n = 10000
	for start := 0; start < n; start += 500 {
		ops := make([]Op, 0, 1000)
		for i := start; i < start+500; i++ {
			id := fmt.Sprintf("s-%d", i)
			ops = append(ops, PutOrder{order(id, "s", "BTCUSDT", stNew, int64(i))}, AddFill{fill(id, "BTCUSDT", int64(i+1), int64(i))})
		}
		if err := write(b, j, ops...); err != nil {
			b.Fatal(err)
		}
	}
	dir := b.TempDir()
	for _, kind := range []string{"snapshot", "backup_floor"} {
		b.Run(kind, func(b *testing.B) {
			var size int64
			for i := 0; b.Loop(); i++ {
				dst := filepath.Join(dir, fmt.Sprintf("%s-%d.db", kind, i))
				var err error
				if kind == "snapshot" {
					size, err = j.Snapshot(dst, nil)
				} else {
					size, err = j.Backup(dst)
				}
				if err != nil {
					b.Fatal(err)
				}
				_ = os.Remove(dst)
			}
			b.ReportMetric(float64(size)/1e6, "MB")
		})
	}
}
