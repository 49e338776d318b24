// Package restarts holds the one restart-window type every supervisor in
// SuperBot uses: at most Max failures within a sliding Within, then the child
// is failed; after Cooldown a failed child may be tried again.
package restarts

import "time"

// Policy is a supervisor's restart policy. The design card's default is 3
// restarts within 60 s.
type Policy struct {
	// Max is how many restarts a child may have within Within. A failure
	// beyond it fails the child.
	Max int
	// Within is the sliding window for Max.
	Within time.Duration
	// Cooldown is how long a failed child stays failed before it is tried
	// again; 0 means never.
	Cooldown time.Duration
}

// DefaultPolicy is 3 restarts within 60 s, never retried after failing.
func DefaultPolicy() Policy { return Policy{Max: 3, Within: 60 * time.Second} }

// Window counts one child's failures within a Policy's sliding window. Its
// zero value is an empty window. It is not safe for concurrent use: it
// belongs to the supervisor's goroutine.
type Window struct {
	failures []time.Time // within the window, in the order recorded
}

// Fail records a failure at now and reports whether it exceeds p.Max (the
// child is then failed, and the window is emptied for its next life).
func (w *Window) Fail(p Policy, now time.Time) (exceeded bool) {
	w.prune(p, now)
	w.failures = append(w.failures, now)
	if len(w.failures) > p.Max {
		w.failures = nil
		return true
	}
	return false
}

// Count is how many failures are within the window at now.
func (w *Window) Count(p Policy, now time.Time) int {
	w.prune(p, now)
	return len(w.failures)
}

// Reset forgets every failure (an explicit start clears the count).
func (w *Window) Reset() { w.failures = nil }

// prune drops the failures that left the window. It checks every entry: a
// clock may step back a little between CPUs, so the list is not always in
// order. A Within <= 0 keeps none.
func (w *Window) prune(p Policy, now time.Time) {
	kept := w.failures[:0]
	for _, f := range w.failures {
		if p.Within > 0 && now.Sub(f) < p.Within {
			kept = append(kept, f)
		}
	}
	w.failures = kept
}
