package tsc

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAgreesWithTheClock: over half a second, a pinned counter and the
// (coarse) clock agree within the clock's step.
func TestAgreesWithTheClock(t *testing.T) {
	unpin := Pin()
	defer unpin()
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil || set.Count() != 1 {
		t.Fatalf("Pin left the thread on %d CPUs (%v)", set.Count(), err)
	}
	s, start := Now(), time.Now()
	for time.Since(start) < 500*time.Millisecond {
	}
	got, want := Since(s), time.Since(start)
	if got == Invalid {
		t.Fatal("a pinned goroutine read two CPUs")
	}
	if d := got - want; d > 25*time.Millisecond || d < -25*time.Millisecond {
		t.Fatalf("tsc %s vs clock %s", got, want)
	}
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
