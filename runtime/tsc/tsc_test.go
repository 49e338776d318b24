package tsc

import (
	"testing"
	"time"
)

// TestAgreesWithTheClock: over a quarter second the counter and the clock
// agree within the clock's step.
func TestAgreesWithTheClock(t *testing.T) {
	s, start := Now(), time.Now()
	for time.Since(start) < 250*time.Millisecond {
	}
	got, want := Since(s), time.Since(start)
	if d := got - want; d > 10*time.Millisecond || d < -10*time.Millisecond {
		t.Fatalf("tsc %s vs clock %s", got, want)
	}
}

func TestPercentiles(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	p := Percentiles(ds, 50, 90, 100)
	if p[0] != 5 || p[1] != 9 || p[2] != 10 {
		t.Fatalf("percentiles = %v", p)
	}
}
