// Package store is the local candle store: closed klines per symbol and
// interval, in a compact binary format under the data directory, loaded at
// memory speed, with aggregation (1m -> 5m, 1h, ...) on load.
//
// CONTRACT (fixed by the lead; the store helper implements it): other parts
// (the marketdata actor, the backtest actor, the CLI's --local mode) code
// against these signatures. A Store is safe for concurrent use by several
// goroutines of one process.
//
// On disk: DIR/SYMBOL/INTERVAL/2024-01.bars, one file per UTC calendar
// month for intervals under an hour (2024-01-15.bars, per day, under a
// minute; 2024.bars, per year, from an hour). Each file is a 32-byte header and fixed 48-byte
// little-endian records (see file.go); it is replaced whole, through a
// synced temporary file and a rename, so a reader or a crash never sees
// half of one. Several Stores of one process on the same directory share
// their locks; writers in several processes take turns on a lock file per
// series (DIR/SYMBOL/INTERVAL/.lock).
package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// ErrNotImplemented was returned by the skeleton until the store landed;
// nothing returns it now (kept because the contract exports it).
var ErrNotImplemented = errors.New("store: not implemented")

// ErrNoData is wrapped by Load and Last's errors when a symbol has no bars
// at the interval asked for, nor at one it could be aggregated from.
var ErrNoData = errors.New("no bars stored")

// Store is a directory of candle series.
type Store struct {
	dir string
}

// Gap is a run of missing bars: the open times [FromMs, ToMs) of the bars
// that should be there and are not.
type Gap struct {
	FromMs, ToMs int64
}

// Series describes one stored symbol and interval.
type Series struct {
	Symbol, Interval string
	// FromMs is the first bar's open time, ToMs the last bar's close time.
	FromMs, ToMs int64
	Bars         int
	Gaps         []Gap
	// Bytes is the size on disk.
	Bytes int64
}

// seriesLocks holds one lock per series directory, shared by every Store
// of the process.
var seriesLocks sync.Map // absolute series dir -> *sync.RWMutex

// Open opens (creating it 0700 if needed) the store in dir.
func Open(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return &Store{dir: abs}, nil
}

// Dir is the store's directory (absolute).
func (s *Store) Dir() string { return s.dir }

// Write merges bars (closed, of one symbol and interval, any order) into
// the store: a bar whose open time is stored already is replaced, not
// duplicated. It returns how many bars were new. Bad bars (prices not
// positive and finite, volume negative, low above high, open or close
// outside [low, high], an open time off the interval's grid) are refused
// with an error naming the first, and nothing is written. Bars' close
// times are not read: a stored bar closes at open + interval - 1.
//
// The bars are on disk when Write returns: each changed file is rewritten
// and synced (10 to 25 ms on a virtual disk), so a download should write
// pages of thousands of bars, not bar by bar. Bars after a file's last are
// appended without decoding it.
func (s *Store) Write(symbol, interval string, bars []strategy.Bar) (added int, err error) {
	ivMs, err := checkSeries(symbol, interval)
	if err != nil {
		return 0, err
	}
	for i := range bars {
		if err := checkBar(&bars[i], ivMs); err != nil {
			return 0, fmt.Errorf("store: %s %s: bar %d: %w", symbol, interval, i, err)
		}
	}
	if len(bars) == 0 {
		return 0, nil
	}
	sorted := sortUnique(bars)
	dir := s.seriesDir(symbol, interval)
	mu := lockFor(dir)
	mu.Lock()
	defer mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	unlock, err := lockProcess(dir)
	if err != nil {
		return 0, err
	}
	defer unlock()
	removeStaleTemps(dir)
	return writeMerged(dir, ivMs, sorted)
}

// removeStaleTemps deletes the temporary files a writer that crashed left
// in dir; the caller holds the series' locks, so no writer is using one.
func removeStaleTemps(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return // the write that follows reports it
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, ".") && strings.Contains(n, fileExt+".tmp-") {
			_ = os.Remove(filepath.Join(dir, n))
		}
	}
}

// lockProcess takes the series' lock file (DIR/SYMBOL/INTERVAL/.lock)
// exclusively, waiting for it, so that writers in two processes (the
// daemon and the CLI's --local mode) merge one after the other. Readers
// need no lock: they see whole files, thanks to the rename.
func lockProcess(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("store: lock %s: %w", f.Name(), err)
	}
	return func() { _ = f.Close() }, nil // closing releases the lock
}

// writeMerged merges sorted unique bars into the partition files of dir:
// every changed file is written to a temporary file first, then all are
// renamed in place, so a bad existing file leaves everything unchanged.
// Renames go in time order: a crash between two leaves a prefix in time of
// the write.
func writeMerged(dir string, ivMs int64, sorted []strategy.Bar) (int, error) {
	type pending struct{ tmp, path string }
	var temps []pending
	defer func() {
		for _, t := range temps {
			_ = os.Remove(t.tmp)
		}
	}()
	added := 0
	var buf []byte
	for len(sorted) > 0 {
		p := partitionOf(sorted[0].OpenTimeMs, ivMs)
		n := sort.Search(len(sorted), func(i int) bool { return sorted[i].OpenTimeMs >= p.endMs })
		chunk := sorted[:n]
		sorted = sorted[n:]
		path := filepath.Join(dir, p.name)
		var data []byte
		var newBars int
		var err error
		if buf, err = readFile(path, buf, ivMs, p); err != nil {
			return 0, fileError(path, err)
		}
		if data, newBars, err = mergeFile(buf, ivMs, p, chunk); err != nil {
			return 0, fileError(path, err)
		}
		added += newBars
		if data == nil {
			continue
		}
		tmp, err := writeTemp(dir, p.name, data)
		if err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		temps = append(temps, pending{tmp, path})
	}
	for len(temps) > 0 {
		if err := os.Rename(temps[0].tmp, temps[0].path); err != nil {
			return 0, fmt.Errorf("store: %w", err)
		}
		temps = temps[1:]
	}
	if err := syncDir(dir); err != nil {
		return 0, fmt.Errorf("store: %w", err)
	}
	return added, nil
}

// mergeFile merges ascending unique bars of partition p into the file
// data held (empty: none) and returns the new file (nil: unchanged) and
// how many bars were new.
func mergeFile(data []byte, ivMs int64, p partition, bars []strategy.Bar) ([]byte, int, error) {
	if len(data) == 0 {
		return encodeFile(bars, ivMs), len(bars), nil
	}
	n, err := checkFile(data, ivMs, p)
	if err != nil {
		return nil, 0, err
	}
	if n > 0 && lastOpen(data, n) < bars[0].OpenTimeMs {
		return appendFile(data, n, bars, ivMs), len(bars), nil
	}
	old, err := decodeFile(nil, data, ivMs, p, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, 0, err
	}
	merged, added, changed := merge(old, bars)
	if !changed {
		return nil, 0, nil
	}
	return encodeFile(merged, ivMs), added, nil
}

// merge merges ascending unique bars into ascending unique old ones (new
// replace old at the same open time), counting the new open times and
// whether anything changed.
func merge(old, upd []strategy.Bar) (out []strategy.Bar, added int, changed bool) {
	out = make([]strategy.Bar, 0, len(old)+len(upd))
	i, j := 0, 0
	for i < len(old) || j < len(upd) {
		switch {
		case j == len(upd) || (i < len(old) && old[i].OpenTimeMs < upd[j].OpenTimeMs):
			out = append(out, old[i])
			i++
		case i == len(old) || upd[j].OpenTimeMs < old[i].OpenTimeMs:
			out = append(out, upd[j])
			added++
			changed = true
			j++
		default: // same open time: the update wins
			if !sameBar(&old[i], &upd[j]) {
				changed = true
			}
			out = append(out, upd[j])
			i++
			j++
		}
	}
	return out, added, changed
}

func sameBar(a, b *strategy.Bar) bool {
	return a.Open == b.Open && a.High == b.High && a.Low == b.Low && a.Close == b.Close && a.Volume == b.Volume
}

// sortUnique copies bars sorted by open time, the last of equal ones kept.
func sortUnique(bars []strategy.Bar) []strategy.Bar {
	out := slices.Clone(bars)
	slices.SortStableFunc(out, func(a, b strategy.Bar) int {
		switch {
		case a.OpenTimeMs < b.OpenTimeMs:
			return -1
		case a.OpenTimeMs > b.OpenTimeMs:
			return 1
		}
		return 0
	})
	w := 0
	for i := range out {
		if w > 0 && out[w-1].OpenTimeMs == out[i].OpenTimeMs {
			out[w-1] = out[i]
			continue
		}
		out[w] = out[i]
		w++
	}
	return out[:w]
}

// checkBar refuses a bar the store would not keep.
func checkBar(b *strategy.Bar, ivMs int64) error {
	for _, v := range [...]float64{b.Open, b.High, b.Low, b.Close} {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("open %s: prices must be positive and finite", formatMs(b.OpenTimeMs))
		}
	}
	if !(b.Volume >= 0) || math.IsInf(b.Volume, 0) {
		return fmt.Errorf("open %s: volume must be zero or more and finite", formatMs(b.OpenTimeMs))
	}
	if b.Low > b.High {
		return fmt.Errorf("open %s: low %v above high %v", formatMs(b.OpenTimeMs), b.Low, b.High)
	}
	if b.Open < b.Low || b.Open > b.High || b.Close < b.Low || b.Close > b.High {
		return fmt.Errorf("open %s: open or close outside [low, high]", formatMs(b.OpenTimeMs))
	}
	if b.OpenTimeMs < 0 || b.OpenTimeMs > maxOpenMs {
		return fmt.Errorf("open time %d out of range", b.OpenTimeMs)
	}
	if !onGrid(b.OpenTimeMs, ivMs) {
		return fmt.Errorf("open %s: off the interval's grid", formatMs(b.OpenTimeMs))
	}
	return nil
}

// maxOpenMs bounds open times to years with four digits (file names).
const maxOpenMs = 253402300799999 // 9999-12-31T23:59:59.999Z

// checkSeries validates a symbol and an interval, which name directories.
func checkSeries(symbol, interval string) (int64, error) {
	if err := checkSymbol(symbol); err != nil {
		return 0, err
	}
	return IntervalMs(interval)
}

// checkSymbol accepts Binance symbols: 1 to 20 of A-Z 0-9.
func checkSymbol(symbol string) error {
	if len(symbol) == 0 || len(symbol) > 20 {
		return fmt.Errorf("store: symbol %q: want 1 to 20 of A-Z and 0-9", symbol)
	}
	for i := 0; i < len(symbol); i++ {
		c := symbol[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return fmt.Errorf("store: symbol %q: want 1 to 20 of A-Z and 0-9", symbol)
		}
	}
	return nil
}

func (s *Store) seriesDir(symbol, interval string) string {
	return filepath.Join(s.dir, symbol, interval)
}

// lockFor is the process-wide lock of a series directory.
func lockFor(dir string) *sync.RWMutex {
	if mu, ok := seriesLocks.Load(dir); ok {
		return mu.(*sync.RWMutex)
	}
	mu, _ := seriesLocks.LoadOrStore(dir, new(sync.RWMutex))
	return mu.(*sync.RWMutex)
}
