package journal

import (
	"fmt"
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
	reportCommits(b, j, time.Since(start))
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
	b.ResetTimer()
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
	reportCommits(b, j, elapsed)
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
// commits/s (fsyncs per second) and ops per commit.
func reportCommits(b *testing.B, j *Journal, elapsed time.Duration) {
	st := j.Stats()
	sec := elapsed.Seconds()
	b.ReportMetric(float64(st.Ops)/sec, "ops/s")
	b.ReportMetric(float64(st.Commits)/sec, "fsyncs/s")
	b.ReportMetric(float64(st.Ops)/float64(st.Commits), "ops/fsync")
	b.ReportMetric(float64(elapsed.Microseconds())/float64(st.Ops), "µs/op-wall")
}
