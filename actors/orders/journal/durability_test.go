package journal

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// crashChildEnv names the journal file the crash test's child writes to.
const crashChildEnv = "SUPERBOT_JOURNAL_CRASH_CHILD"

// crashWriters is how many goroutines the child writes with, each waiting
// for its done before the next Write (as the orders actor does per order).
const crashWriters = 8

// runCrashChild is the crash test's child process: it writes order+fill
// pairs until it is killed, printing each id once its done said committed.
// It gives up by itself after a minute in case the parent died.
func runCrashChild(path, prefix string) int {
	j, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var out sync.Mutex
	for w := range crashWriters {
		go func() {
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", prefix, w, i)
				ch := make(chan error, 1)
				j.Write([]Op{
					PutOrder{order(id, "crash", "BTCUSDT", stNew, int64(i))},
					AddFill{fill(id, "BTCUSDT", 0, int64(i))},
				}, func(err error) { ch <- err })
				if err := <-ch; err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				out.Lock()
				_, _ = os.Stdout.WriteString(id + "\n") // one write(2) per acked id
				out.Unlock()
			}
		}()
	}
	<-time.After(time.Minute)
	return 2
}

// TestCrashKeepsAckedWrites SIGKILLs a child process writing to the journal
// and checks that every write whose done said committed is in the file,
// several rounds on the same file.
func TestCrashKeepsAckedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	var acked []string
	for round := range 3 {
		acked = append(acked, crashRound(t, path, fmt.Sprintf("r%d", round), 150+round*50)...)
		j, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after SIGKILL: %v", round, err)
		}
		for _, id := range acked {
			o, err := j.Order(id)
			if err != nil || o == nil {
				t.Fatalf("round %d: acked order %s missing after SIGKILL (%v)", round, id, err)
			}
		}
		fills, err := j.Fills(FillFilter{})
		if err != nil {
			t.Fatal(err)
		}
		withFill := map[string]bool{}
		for _, f := range fills {
			withFill[f.ClientOrderId] = true
		}
		orders, err := j.Orders(OrderFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range orders { // a Write is atomic: never an order without its fill
			if !withFill[o.ClientOrderId] {
				t.Fatalf("round %d: order %s without its fill", round, o.ClientOrderId)
			}
		}
		checkIntegrity(t, j)
		t.Logf("round %d: %d acked so far, %d orders in the journal", round, len(acked), len(orders))
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// crashRound runs the child until it acked at least n writes, SIGKILLs it
// and returns every id it acked.
func crashRound(t *testing.T, path, prefix string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+path, crashChildEnv+"_PREFIX="+prefix)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var acked []string
	killed := false
	for sc.Scan() {
		acked = append(acked, sc.Text())
		if len(acked) >= n && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true // keep reading: lines already written were acked
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d acks (%d): %v: %s", n, len(acked), err, stderr.String())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child did not die by SIGKILL: %v: %s", err, stderr.String())
	}
	return acked
}

func checkIntegrity(t *testing.T, j *Journal) {
	t.Helper()
	var res string
	if err := j.rdb.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity check: %q, %v", res, err)
	}
}

// TestGroupCommit holds SQLite's write lock from another connection while
// 50 goroutines queue 500 Writes: once the lock is released they commit in
// a couple of transactions, not 500.
func TestGroupCommit(t *testing.T) {
	j, path := openTemp(t)
	mustWrite(t, j, PutMeta{Key: "warm", Value: "up"})
	db := rawDB(t, path)
	defer db.Close()
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	before := j.Stats()
	const writers, each = 50, 10
	var wg, queued sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(each)
		queued.Add(1)
		go func() {
			defer queued.Done()
			for i := range each {
				o := order(fmt.Sprintf("g-%d-%d", w, i), fmt.Sprintf("s%d", w), "BTCUSDT", stIntent, int64(i))
				j.Write([]Op{PutOrder{o}}, func(err error) { errs <- err; wg.Done() })
			}
		}()
	}
	queued.Wait() // every Write returned without waiting for the lock
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := j.Stats()
	commits, ops := after.Commits-before.Commits, after.Ops-before.Ops
	if ops != writers*each {
		t.Fatalf("%d ops committed, want %d", ops, writers*each)
	}
	if commits > 3 {
		t.Fatalf("%d writes took %d commits; group commit should need at most 3", ops, commits)
	}
	t.Logf("%d writes in %d commits", ops, commits)
}

// TestMaxBatchSplitsTransactions checks that a queue longer than MaxBatch
// commits in several transactions.
func TestMaxBatchSplitsTransactions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, Options{MaxBatch: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	db := rawDB(t, path)
	defer db.Close()
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	wg.Add(100)
	for i := range 100 {
		j.Write([]Op{PutMeta{Key: fmt.Sprint("k", i), Value: "v"}}, func(err error) {
			if err != nil {
				failed.Add(1)
			}
			wg.Done()
		})
	}
	if _, err := conn.ExecContext(context.Background(), `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if st := j.Stats(); failed.Load() != 0 || st.Commits < 10 || st.Ops != 100 {
		t.Fatalf("stats %+v, %d failed; want >= 10 commits of <= 10 ops", st, failed.Load())
	}
}
