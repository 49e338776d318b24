package restarts

import (
	"testing"
	"time"
)

func TestWindow(t *testing.T) {
	p := Policy{Max: 3, Within: time.Minute}
	t0 := time.Unix(1000, 0)
	tests := []struct {
		name     string
		at       []time.Duration // failures, offsets from t0
		exceeded bool            // on the last one
		count    int             // Count just after the last one (if not exceeded)
	}{
		{"three within the window", []time.Duration{0, time.Second, 2 * time.Second}, false, 3},
		{"fourth within the window fails", []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second}, true, 0},
		{"old failures slide out", []time.Duration{0, time.Second, 2 * time.Second, 61 * time.Second}, false, 2},
		{"a clock that steps back is tolerated", []time.Duration{10 * time.Second, 9 * time.Second, 68 * time.Second, 70 * time.Second}, false, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var w Window
			var ex bool
			var last time.Time
			for _, d := range tc.at {
				last = t0.Add(d)
				ex = w.Fail(p, last)
			}
			if ex != tc.exceeded {
				t.Fatalf("exceeded = %v, want %v", ex, tc.exceeded)
			}
			if got := w.Count(p, last); got != tc.count {
				t.Fatalf("count = %d, want %d", got, tc.count)
			}
		})
	}
}

func TestZeroWithinKeepsNothing(t *testing.T) {
	var w Window
	p := Policy{Max: 0, Within: 0}
	if !w.Fail(p, time.Unix(1, 0)) {
		t.Fatal("Max 0: the first failure must exceed")
	}
	p.Max = 1
	if w.Fail(p, time.Unix(2, 0)) || w.Fail(p, time.Unix(3, 0)) {
		t.Fatal("Within 0 keeps no failure, so none exceeds Max 1")
	}
}
