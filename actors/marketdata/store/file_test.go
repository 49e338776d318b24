package store

import (
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzDecodeFile: whatever a file holds, decoding it is a result or an
// errCorrupt, never a panic; a result's bars are ones the store accepts.
func FuzzDecodeFile(f *testing.F) {
	start := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	good := encodeFile(minutes(start, 4), minuteMs)
	f.Add(good)
	f.Add(good[:headerSize])
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	p := partitionOf(start, minuteMs)
	f.Fuzz(func(t *testing.T, data []byte) {
		bars, err := decodeFile(nil, data, minuteMs, p, math.MinInt64, math.MaxInt64)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		for i := range bars {
			if bars[i].OpenTimeMs < p.startMs || bars[i].OpenTimeMs >= p.endMs || !onGrid(bars[i].OpenTimeMs, minuteMs) {
				t.Fatalf("decoded bar %d opens at %d, outside the file or off the grid", i, bars[i].OpenTimeMs)
			}
			if i > 0 && bars[i].OpenTimeMs <= bars[i-1].OpenTimeMs {
				t.Fatalf("decoded bars out of order at %d", i)
			}
		}
	})
}
