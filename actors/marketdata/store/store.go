// Package store is the local candle store: closed klines per symbol and
// interval, in a compact binary format under the data directory, loaded at
// memory speed, with aggregation (1m -> 5m, 1h, ...) on load.
//
// CONTRACT (fixed by the lead; the store helper implements it): other parts
// (the marketdata actor, the backtest actor, the CLI's --local mode) code
// against these signatures. A Store is safe for concurrent use by several
// goroutines of one process.
package store

import (
	"errors"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// ErrNotImplemented is returned by the skeleton until the store lands.
var ErrNotImplemented = errors.New("store: not implemented")

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

// Open opens (creating it 0700 if needed) the store in dir.
func Open(dir string) (*Store, error) {
	return &Store{dir: dir}, ErrNotImplemented
}

// Write merges bars (closed, of one symbol and interval, any order) into
// the store: a bar whose open time is stored already is replaced, not
// duplicated. It returns how many bars were new. Bad bars (not positive and
// finite, low above high, an open time off the interval's grid) are refused
// with an error naming the first, and nothing is written.
func (s *Store) Write(symbol, interval string, bars []strategy.Bar) (added int, err error) {
	return 0, ErrNotImplemented
}

// Load returns the bars of symbol at interval whose open time is in
// [fromMs, toMs) (toMs 0: to the end), ascending. An interval not stored
// is aggregated from the finest stored interval that divides it (1m ->
// 15m); nothing stored gives an error naming what is there.
func (s *Store) Load(symbol, interval string, fromMs, toMs int64) ([]strategy.Bar, error) {
	return nil, ErrNotImplemented
}

// Last returns the open time of the last stored bar of symbol at interval
// (ok false: none), where a download resumes.
func (s *Store) Last(symbol, interval string) (openMs int64, ok bool, err error) {
	return 0, false, ErrNotImplemented
}

// List describes every stored series, sorted by symbol then interval.
func (s *Store) List() ([]Series, error) {
	return nil, ErrNotImplemented
}

// IntervalMs is the length of a Binance kline interval ("1m", "4h", "1d",
// "1w"; "1M" is refused: months are not of fixed length).
func IntervalMs(interval string) (int64, error) {
	return 0, ErrNotImplemented
}

// Aggregate folds ascending bars of interval from into bars of interval to
// (a multiple of from): open of the first, high max, low min, close of the
// last, volumes summed. A bucket with missing bars is still emitted from
// the bars it has; an empty bucket is not.
func Aggregate(bars []strategy.Bar, from, to string) ([]strategy.Bar, error) {
	return nil, ErrNotImplemented
}
