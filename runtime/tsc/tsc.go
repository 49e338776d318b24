// Package tsc measures short intervals precisely on machines whose clock is
// coarse. On this project's machines time.Now advances in 4 ms steps, which
// makes per-call latencies of microseconds unmeasurable with it; the CPU's
// time-stamp counter, calibrated once against the clock, is exact to well
// under a microsecond. Used by benchmarks and measuring harnesses only.
package tsc

import (
	"slices"
	"sync"
	"time"
)

// Stamp is a reading of the counter.
type Stamp uint64

var (
	calOnce sync.Once
	nsPerTk float64
)

// Now reads the counter (the first call calibrates it, about 200 ms).
func Now() Stamp {
	calOnce.Do(calibrate)
	return Stamp(rdtsc())
}

// Since returns the time elapsed since s.
func Since(s Stamp) time.Duration { return Now().Sub(s) }

// Sub returns the time between two readings.
func (s Stamp) Sub(earlier Stamp) time.Duration {
	calOnce.Do(calibrate)
	return time.Duration(float64(s-earlier) * nsPerTk)
}

// calibrate counts ticks between two clock edges about 200 ms apart, so
// the clock's coarseness does not enter the ratio.
func calibrate() {
	if !haveTSC {
		nsPerTk = 1
		return
	}
	edge := func() (time.Time, uint64) {
		t0 := time.Now()
		for {
			t, c := time.Now(), rdtsc()
			if !t.Equal(t0) {
				return t, c
			}
		}
	}
	t1, c1 := edge()
	for time.Since(t1) < 200*time.Millisecond {
	}
	t2, c2 := edge()
	nsPerTk = float64(t2.Sub(t1).Nanoseconds()) / float64(c2-c1)
}

// Percentiles returns the p-th percentiles (0 < p <= 100) of ds, which it sorts.
func Percentiles(ds []time.Duration, ps ...float64) []time.Duration {
	if len(ds) == 0 {
		return make([]time.Duration, len(ps))
	}
	slices.Sort(ds)
	out := make([]time.Duration, len(ps))
	for i, p := range ps {
		k := int(p/100*float64(len(ds))+0.5) - 1
		if k < 0 {
			k = 0
		}
		if k >= len(ds) {
			k = len(ds) - 1
		}
		out[i] = ds[k]
	}
	return out
}
