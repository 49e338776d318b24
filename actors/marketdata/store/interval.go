package store

import (
	"fmt"
	"strconv"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

const (
	secondMs = int64(1000)
	minuteMs = 60 * secondMs
	hourMs   = 60 * minuteMs
	dayMs    = 24 * hourMs
	weekMs   = 7 * dayMs
	// weekOffsetMs puts weekly bars on Mondays: 1970-01-01 was a Thursday,
	// so the first Monday 00:00 UTC is four days after the epoch.
	weekOffsetMs = 4 * dayMs
)

// IntervalMs is the length of a Binance kline interval ("1m", "4h", "1d",
// "1w"; "1M" is refused: months are not of fixed length).
func IntervalMs(interval string) (int64, error) {
	if len(interval) < 2 || len(interval) > 6 {
		return 0, fmt.Errorf("store: interval %q: want a number and a unit (1m, 4h, 1d, 1w)", interval)
	}
	n, err := strconv.ParseInt(interval[:len(interval)-1], 10, 32)
	if err != nil || n <= 0 || interval[0] == '+' || interval[0] == '0' {
		return 0, fmt.Errorf("store: interval %q: want a positive number and a unit (1m, 4h, 1d, 1w)", interval)
	}
	var unit int64
	switch interval[len(interval)-1] {
	case 's':
		unit = secondMs
	case 'm':
		unit = minuteMs
	case 'h':
		unit = hourMs
	case 'd':
		unit = dayMs
	case 'w':
		unit = weekMs
	case 'M':
		return 0, fmt.Errorf("store: interval %q: months are not of fixed length", interval)
	default:
		return 0, fmt.Errorf("store: interval %q: unknown unit (s, m, h, d, w)", interval)
	}
	if n*unit > 52*weekMs {
		return 0, fmt.Errorf("store: interval %q: longer than a year", interval)
	}
	return n * unit, nil
}

// gridOffset is where the grid of bars of length ivMs starts: the epoch,
// except weekly bars which open on Mondays as Binance's do.
func gridOffset(ivMs int64) int64 {
	if ivMs%weekMs == 0 {
		return weekOffsetMs
	}
	return 0
}

// gridStep is the step open times must be a multiple of (after the
// offset). Binance aligns bars up to a day on the epoch and weeks on
// Mondays; for other multi-day intervals (3d) only the day is checked.
func gridStep(ivMs int64) int64 {
	if ivMs > dayMs && ivMs%weekMs != 0 {
		return dayMs
	}
	return ivMs
}

// onGrid reports whether openMs is a valid open time for bars of ivMs.
func onGrid(openMs, ivMs int64) bool {
	return floorMod(openMs-gridOffset(ivMs), gridStep(ivMs)) == 0
}

// bucketStart is the open time of the bar of length ivMs holding t.
func bucketStart(t, ivMs int64) int64 {
	return t - floorMod(t-gridOffset(ivMs), ivMs)
}

func floorMod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Aggregate folds ascending bars of interval from into bars of interval to
// (a multiple of from): open of the first, high max, low min, close of the
// last, volumes summed. A bucket with missing bars is still emitted from
// the bars it has; an empty bucket is not.
func Aggregate(bars []strategy.Bar, from, to string) ([]strategy.Bar, error) {
	fromMs, err := IntervalMs(from)
	if err != nil {
		return nil, err
	}
	toMs, err := IntervalMs(to)
	if err != nil {
		return nil, err
	}
	if toMs%fromMs != 0 || floorMod(gridOffset(toMs), fromMs) != 0 {
		return nil, fmt.Errorf("store: aggregate %s to %s: %s is not a multiple of %s", from, to, to, from)
	}
	return aggregate(bars, toMs)
}

// aggregate folds ascending bars into buckets of toMs.
func aggregate(bars []strategy.Bar, toMs int64) ([]strategy.Bar, error) {
	if len(bars) == 0 {
		return nil, nil
	}
	f := folder{toMs: toMs, out: make([]strategy.Bar, 0, estimateBuckets(bars, toMs))}
	if err := f.add(bars); err != nil {
		return nil, err
	}
	return f.done(), nil
}

// folder folds ascending bars, given in runs, into buckets of toMs.
type folder struct {
	toMs int64
	out  []strategy.Bar
	cur  strategy.Bar // the bucket being filled, if n > 0
	n    int          // bars folded so far
	last int64        // the open time of the last bar folded
}

func (f *folder) add(bars []strategy.Bar) error {
	for i := range bars {
		b := &bars[i]
		if f.n > 0 && b.OpenTimeMs <= f.last {
			return fmt.Errorf("store: aggregate: bar %d (open %d) is not after the one before", f.n, b.OpenTimeMs)
		}
		f.n++
		f.last = b.OpenTimeMs
		start := bucketStart(b.OpenTimeMs, f.toMs)
		if f.n == 1 || start != f.cur.OpenTimeMs {
			if f.n > 1 {
				f.out = append(f.out, f.cur)
			}
			f.cur = strategy.Bar{OpenTimeMs: start, CloseTimeMs: start + f.toMs - 1,
				Open: b.Open, High: b.High, Low: b.Low, Close: b.Close, Volume: b.Volume}
			continue
		}
		f.cur.High = max(f.cur.High, b.High)
		f.cur.Low = min(f.cur.Low, b.Low)
		f.cur.Close = b.Close
		f.cur.Volume += b.Volume
	}
	return nil
}

// done returns the buckets, the last one included.
func (f *folder) done() []strategy.Bar {
	if f.n == 0 {
		return f.out
	}
	return append(f.out, f.cur)
}

// estimateBuckets is the number of buckets ascending bars span, bounded
// by the number of bars (an upper bound for the allocation).
func estimateBuckets(bars []strategy.Bar, toMs int64) int {
	span := (bars[len(bars)-1].OpenTimeMs-bars[0].OpenTimeMs)/toMs + 2
	if span < 1 || span > int64(len(bars)) {
		return len(bars)
	}
	return int(span)
}
