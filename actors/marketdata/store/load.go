package store

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Load returns the bars of symbol at interval whose open time is in
// [fromMs, toMs) (toMs 0: to the end), ascending. An interval not stored
// is aggregated from the finest stored interval that divides it (1m ->
// 15m); nothing stored gives an error naming what is there. An aggregated
// bar is built from all its source bars, also those past toMs.
func (s *Store) Load(symbol, interval string, fromMs, toMs int64) ([]strategy.Bar, error) {
	ivMs, err := checkSeries(symbol, interval)
	if err != nil {
		return nil, err
	}
	if toMs == 0 {
		toMs = math.MaxInt64
	}
	if toMs <= fromMs {
		return nil, fmt.Errorf("store: load %s %s: empty range [%d, %d)", symbol, interval, fromMs, toMs)
	}
	parts, err := s.partitions(symbol, interval, ivMs)
	if err != nil {
		return nil, err
	}
	if len(parts) > 0 {
		return s.loadParts(symbol, interval, ivMs, parts, fromMs, toMs)
	}
	src, srcMs, err := s.finestDivisor(symbol, ivMs)
	if err != nil {
		return nil, err
	}
	if src == "" {
		return nil, s.noData(symbol, interval)
	}
	if parts, err = s.partitions(symbol, src, srcMs); err != nil {
		return nil, err
	}
	lo := bucketStart(fromMs, ivMs) // the first bucket opening at or after fromMs
	if lo < fromMs {
		lo += ivMs
	}
	hi := toMs
	if hi < math.MaxInt64-ivMs {
		hi = bucketStart(toMs-1, ivMs) + ivMs
	}
	return s.loadAggregated(symbol, src, srcMs, parts, lo, hi, ivMs)
}

// loadAggregated folds the source bars of [fromMs, toMs) into bars of
// ivMs file by file, under the source series' read lock, so a year of
// minutes is never held whole on the way to its hours.
func (s *Store) loadAggregated(symbol, src string, srcMs int64, parts []partition, fromMs, toMs, ivMs int64) ([]strategy.Bar, error) {
	dir := s.seriesDir(symbol, src)
	mu := lockFor(dir)
	mu.RLock()
	defer mu.RUnlock()
	sel, total := overlapping(dir, parts, srcMs, fromMs, toMs)
	f := folder{toMs: ivMs, out: make([]strategy.Bar, 0, total/(ivMs/srcMs)+int64(len(sel)))}
	var buf []byte
	var scratch []strategy.Bar
	for _, p := range sel {
		path := filepath.Join(dir, p.name)
		var err error
		if buf, err = readFile(path, buf, srcMs, p); err != nil {
			return nil, fileError(path, err)
		}
		if scratch, err = decodeFile(scratch[:0], buf, srcMs, p, fromMs, toMs); err != nil {
			return nil, fileError(path, err)
		}
		if err := f.add(scratch); err != nil {
			return nil, err
		}
	}
	return f.done(), nil
}

// overlapping selects the partitions of a series in dir overlapping
// [fromMs, toMs) and bounds the bars they hold, from their sizes.
func overlapping(dir string, parts []partition, ivMs, fromMs, toMs int64) (sel []partition, bars int64) {
	var total int64
	for _, p := range parts {
		if p.startMs >= toMs || p.endMs <= fromMs {
			continue
		}
		sel = append(sel, p)
		if st, err := os.Stat(filepath.Join(dir, p.name)); err == nil {
			total += min(st.Size(), headerSize+p.maxBars(ivMs)*recordSize)
		}
	}
	return sel, total / recordSize
}

// loadParts reads the partitions overlapping [fromMs, toMs) under the
// series' read lock.
func (s *Store) loadParts(symbol, interval string, ivMs int64, parts []partition, fromMs, toMs int64) ([]strategy.Bar, error) {
	dir := s.seriesDir(symbol, interval)
	mu := lockFor(dir)
	mu.RLock()
	defer mu.RUnlock()
	sel, total := overlapping(dir, parts, ivMs, fromMs, toMs)
	out := make([]strategy.Bar, 0, total)
	var buf []byte
	for _, p := range sel {
		path := filepath.Join(dir, p.name)
		var err error
		if buf, err = readFile(path, buf, ivMs, p); err != nil {
			return nil, fileError(path, err)
		}
		if len(buf) == 0 {
			continue // removed since listed
		}
		if out, err = decodeFile(out, buf, ivMs, p, fromMs, toMs); err != nil {
			return nil, fileError(path, err)
		}
	}
	return out, nil
}

// partitions lists a series' files, ascending (none: the series is not
// stored).
func (s *Store) partitions(symbol, interval string, ivMs int64) ([]partition, error) {
	ents, err := os.ReadDir(s.seriesDir(symbol, interval))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var parts []partition
	for _, e := range ents {
		if p, ok := parsePartition(e.Name(), ivMs); ok && e.Type().IsRegular() {
			parts = append(parts, p)
		}
	}
	slices.SortFunc(parts, func(a, b partition) int { return cmpInt(a.startMs, b.startMs) })
	return parts, nil
}

// intervals lists the stored intervals of symbol with their lengths,
// finest first.
func (s *Store) intervals(symbol string) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, symbol))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if _, err := IntervalMs(e.Name()); err == nil && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		am, _ := IntervalMs(a)
		bm, _ := IntervalMs(b)
		return cmpInt(am, bm)
	})
	return out, nil
}

// finestDivisor is the finest stored interval of symbol with bars that
// aggregates into ivMs ("" if none).
func (s *Store) finestDivisor(symbol string, ivMs int64) (string, int64, error) {
	ivs, err := s.intervals(symbol)
	if err != nil {
		return "", 0, err
	}
	for _, iv := range ivs {
		srcMs, _ := IntervalMs(iv)
		if srcMs >= ivMs || ivMs%srcMs != 0 || floorMod(gridOffset(ivMs), srcMs) != 0 {
			continue
		}
		parts, err := s.partitions(symbol, iv, srcMs)
		if err != nil {
			return "", 0, err
		}
		if len(parts) > 0 {
			return iv, srcMs, nil
		}
	}
	return "", 0, nil
}

// noData is the error for a series with nothing to load, naming what the
// store holds for the symbol (or which symbols it holds).
func (s *Store) noData(symbol, interval string) error {
	ivs, err := s.intervals(symbol)
	if err != nil {
		return err
	}
	if len(ivs) > 0 {
		return fmt.Errorf("store: %s %s: %w (stored for %s: %s; none divides %s)",
			symbol, interval, ErrNoData, symbol, strings.Join(ivs, ", "), interval)
	}
	syms, err := s.symbols()
	if err != nil {
		return err
	}
	if len(syms) == 0 {
		return fmt.Errorf("store: %s %s: %w (the store in %s is empty)", symbol, interval, ErrNoData, s.dir)
	}
	return fmt.Errorf("store: %s %s: %w (stored symbols: %s)", symbol, interval, ErrNoData, strings.Join(syms, ", "))
}

// symbols lists the symbols with a directory in the store, sorted.
func (s *Store) symbols() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var out []string
	for _, e := range ents {
		if checkSymbol(e.Name()) == nil && e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Last returns the open time of the last stored bar of symbol at interval
// (ok false: none), where a download resumes.
func (s *Store) Last(symbol, interval string) (openMs int64, ok bool, err error) {
	ivMs, err := checkSeries(symbol, interval)
	if err != nil {
		return 0, false, err
	}
	parts, err := s.partitions(symbol, interval, ivMs)
	if err != nil {
		return 0, false, err
	}
	for i := len(parts) - 1; i >= 0; i-- {
		bars, err := s.loadParts(symbol, interval, ivMs, parts[i:i+1], math.MinInt64, math.MaxInt64)
		if err != nil {
			return 0, false, err
		}
		if len(bars) > 0 {
			return bars[len(bars)-1].OpenTimeMs, true, nil
		}
	}
	return 0, false, nil
}

// List describes every stored series, sorted by symbol then interval.
// Intervals are sorted by length.
func (s *Store) List() ([]Series, error) {
	syms, err := s.symbols()
	if err != nil {
		return nil, err
	}
	var out []Series
	for _, sym := range syms {
		ivs, err := s.intervals(sym)
		if err != nil {
			return nil, err
		}
		for _, iv := range ivs {
			se, err := s.describe(sym, iv)
			if err != nil {
				return nil, err
			}
			if se.Bars > 0 {
				out = append(out, se)
			}
		}
	}
	return out, nil
}

// describe reads one series whole, partition by partition, for List.
func (s *Store) describe(symbol, interval string) (Series, error) {
	ivMs, _ := IntervalMs(interval)
	se := Series{Symbol: symbol, Interval: interval}
	parts, err := s.partitions(symbol, interval, ivMs)
	if err != nil {
		return se, err
	}
	dir := s.seriesDir(symbol, interval)
	mu := lockFor(dir)
	mu.RLock()
	defer mu.RUnlock()
	var buf []byte
	var bars []strategy.Bar
	prev := int64(math.MinInt64)
	for _, p := range parts {
		path := filepath.Join(dir, p.name)
		if buf, err = readFile(path, buf, ivMs, p); err != nil {
			return se, fileError(path, err)
		}
		if len(buf) == 0 {
			continue
		}
		se.Bytes += int64(len(buf))
		if bars, err = decodeFile(bars[:0], buf, ivMs, p, math.MinInt64, math.MaxInt64); err != nil {
			return se, fileError(path, err)
		}
		for i := range bars {
			t := bars[i].OpenTimeMs
			if se.Bars == 0 {
				se.FromMs = t
			} else if t != prev+ivMs {
				se.Gaps = append(se.Gaps, Gap{FromMs: prev + ivMs, ToMs: t})
			}
			prev = t
			se.Bars++
		}
	}
	if se.Bars > 0 {
		se.ToMs = prev + ivMs - 1
	}
	return se, nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
