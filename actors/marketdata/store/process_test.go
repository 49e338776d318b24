package store

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

func TestConcurrentWriteAndLoad(t *testing.T) {
	s := openTemp(t)
	start := ms(t, "2024-01-01T00:00:00Z")
	const batches, per = 20, 500 // one month file, rewritten by every batch
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 4)
	wg.Add(1)
	go func() { // the download
		defer wg.Done()
		defer close(done)
		for i := 0; i < batches; i++ {
			if _, err := s.Write("BTCUSDT", "1m", minutes(start+int64(i*per)*minuteMs, per)); err != nil {
				errs <- err
				return
			}
		}
	}()
	for r := 0; r < 2; r++ { // the backtests
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				bars, err := s.Load("BTCUSDT", "1m", 0, 0)
				if err != nil && !errors.Is(err, ErrNoData) {
					errs <- err
					return
				}
				// Always a whole prefix of the batches, in order.
				if len(bars)%per != 0 || (len(bars) > 0 && bars[len(bars)-1].OpenTimeMs != start+int64(len(bars)-1)*minuteMs) {
					errs <- errors.New("a load saw a partial write")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := mustLoad(t, s, "BTCUSDT", "1m", 0, 0); len(got) != batches*per {
		t.Fatalf("%d bars after the download, want %d", len(got), batches*per)
	}
}

// interleavedBatches of interleavedPer bars: a writer of parity p writes the
// minutes m with m%2 == p, batch by batch, into one month file.
const interleavedBatches, interleavedPer = 30, 20

func writeInterleaved(s *Store, parity int) error {
	start := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := 0; i < interleavedBatches; i++ {
		var batch []strategy.Bar
		for j := 0; j < interleavedPer; j++ {
			m := int64((i*interleavedPer+j)*2 + parity)
			batch = append(batch, minutes(start+m*minuteMs, 1)[0])
		}
		if _, err := s.Write("BTCUSDT", "1m", batch); err != nil {
			return err
		}
	}
	return nil
}

// TestWritersInTwoProcesses: the daemon and the CLI's --local mode may write
// one series at once; the lock file makes their merges take turns, so no
// bar is lost.
func TestWritersInTwoProcesses(t *testing.T) {
	s := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerChildEnv+"="+s.Dir()+",1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	errHere := writeInterleaved(s, 0)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("writer child: %v: %s", err, stderr.String())
	}
	if errHere != nil {
		t.Fatal(errHere)
	}
	bars := mustLoad(t, s, "BTCUSDT", "1m", 0, 0)
	if want := 2 * interleavedBatches * interleavedPer; len(bars) != want {
		t.Fatalf("%d bars after two processes wrote, want %d: merges were lost", len(bars), want)
	}
}

func TestWriteRemovesACrashedWritersTemp(t *testing.T) {
	s := openTemp(t)
	start := ms(t, "2024-07-01T00:00:00Z")
	if _, err := s.Write("BTCUSDT", "1m", minutes(start, 2)); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(s.Dir(), "BTCUSDT", "1m", ".2024-07.bars.tmp-12345")
	if err := os.WriteFile(stale, []byte("half a file"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, s, "BTCUSDT", "1m", 0, 0); len(got) != 2 {
		t.Fatalf("a stale temporary file changed a load: %d bars", len(got))
	}
	if _, err := s.Write("BTCUSDT", "1m", minutes(start+2*minuteMs, 1)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatalf("the stale temporary file is still there (%v)", err)
	}
}

// killPage is the page a killed writer writes: 2,000 bars, so that pages
// fall both inside a month (appends) and across months (two files).
const killPage = 2000

// killStart is where the killed writer starts: a few pages before a month
// boundary.
var killStart = time.Date(2024, 1, 28, 0, 0, 0, 0, time.UTC).UnixMilli()

func writePagesForever(s *Store) error {
	start := killStart
	for i := int64(0); ; i++ {
		// Every tenth page comes with the page before again (a merge, not
		// an append).
		from, n := i, killPage
		if i%10 == 9 {
			from, n = i-1, 2*killPage
		}
		if _, err := s.Write("BTCUSDT", "1m", minutes(start+from*killPage*minuteMs, n)); err != nil {
			return err
		}
	}
}

// TestKilledWriterLeavesWholeFiles kills a writing process at some point
// of its writes: what is left loads without error, is a gap-free run from
// the start (a page across two months is renamed in time order, so a kill
// between the two renames leaves a prefix of it), and the next write goes
// on from it.
func TestKilledWriterLeavesWholeFiles(t *testing.T) {
	s := openTemp(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), writerChildEnv+"="+s.Dir()+",forever")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Let it write across a month boundary (3 pages of 2,000 minutes).
	deadline := time.Now().Add(60 * time.Second)
	for {
		last, ok, err := s.Last("BTCUSDT", "1m")
		if err == nil && ok && last >= ms(t, "2024-02-01T00:00:00Z") {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("the writer did not reach February in 60 s (last %d, %v, %v)", last, ok, err)
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	bars := mustLoad(t, s, "BTCUSDT", "1m", 0, 0)
	start := killStart
	if len(bars) == 0 || bars[len(bars)-1].OpenTimeMs != start+int64(len(bars)-1)*minuteMs {
		t.Fatalf("after the kill: %d bars, not a gap-free run from the start", len(bars))
	}
	next := minutes(start+int64(len(bars))*minuteMs, killPage)
	if added, err := s.Write("BTCUSDT", "1m", next); err != nil || added != killPage {
		t.Fatalf("the write after the kill: %d, %v", added, err)
	}
	if list, err := s.List(); err != nil || len(list) != 1 || len(list[0].Gaps) != 0 || list[0].Bars != len(bars)+killPage {
		t.Fatalf("List after the kill = %+v, %v", list, err)
	}
}
