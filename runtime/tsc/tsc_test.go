package tsc

import (
	"testing"
	"time"
)

// TestAgreesWithTheClock: over half a second, a pinned counter and the
// (coarse) clock agree within the clock's step.
func TestAgreesWithTheClock(t *testing.T) {
	// A run is retried when its readings came from two CPUs: Pin is best
	// effort (a CI machine has refused to keep a thread on one vCPU once in
	// dozens of runs); three refusals in a row fail.
	for attempt := 1; ; attempt++ {
		got, want := pinnedSpin(500 * time.Millisecond)
		if got == Invalid {
			if attempt < 3 {
				continue
			}
			t.Fatal("a pinned goroutine read two CPUs three times in a row")
		}
		if d := got - want; d > 25*time.Millisecond || d < -25*time.Millisecond {
			t.Fatalf("tsc %s vs clock %s", got, want)
		}
		return
	}
}

func pinnedSpin(d time.Duration) (got, want time.Duration) {
	unpin := Pin()
	defer unpin()
	s, start := Now(), time.Now()
	for time.Since(start) < d {
	}
	return Since(s), time.Since(start)
}

func TestCrossCPUReadingsAreRefused(t *testing.T) {
	a, b := Stamp{ticks: 10, cpu: 0}, Stamp{ticks: 20, cpu: 1}
	if b.Sub(a) != Invalid || a.Sub(b) != Invalid {
		t.Fatal("readings from two CPUs were trusted")
	}
}

func TestPercentiles(t *testing.T) {
	ds := []time.Duration{5, 1, 4, 2, 3, 10, 9, 8, 7, 6, Invalid}
	p := Percentiles(ds, 50, 90, 100)
	if p[0] != 5 || p[1] != 9 || p[2] != 10 {
		t.Fatalf("percentiles = %v", p)
	}
}
