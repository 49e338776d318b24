package scheduler

import (
	"sort"
	"sync"
	"time"
)

// Clock is where the scheduler takes its time from. The daemon uses the real
// clock (the default when Deps.Clock is nil); tests inject a ManualClock and
// move it by hand, so nothing waits for real.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// WakeAt calls f once, on a goroutine of the clock's choosing, when the
	// clock reaches at (at once when at is not after Now). It may call f
	// earlier: the scheduler re-reads Now and waits again. The scheduler's
	// f only sends a message to the scheduler. stop cancels the call and
	// reports whether it did so before f ran.
	WakeAt(at time.Time, f func()) (stop func() bool)
}

// RealClock is the system clock. Its wake-ups are time.AfterFunc timers,
// which follow the monotonic clock, so it wakes the scheduler at least once
// every MaxWait: a wall-clock step (NTP, a suspended machine, a DST change
// is not one) is noticed within a minute.
type RealClock struct{}

// MaxWait is the longest RealClock waits before waking the scheduler.
const MaxWait = time.Minute

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// WakeAt runs f on the timer's goroutine after time.Until(at), or after
// MaxWait if that is sooner.
func (RealClock) WakeAt(at time.Time, f func()) func() bool {
	return time.AfterFunc(min(time.Until(at), MaxWait), f).Stop
}

// ManualClock is a Clock that only moves when told to, for tests of the
// scheduler (and of code that embeds it). It is safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers map[uint64]manualTimer
}

type manualTimer struct {
	at time.Time
	f  func()
}

// NewManualClock returns a ManualClock that reads now.
func NewManualClock(now time.Time) *ManualClock {
	return &ManualClock{now: now, timers: map[uint64]manualTimer{}}
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// WakeAt registers f to run when Set or Advance reaches at. A wake-up that is
// already due runs at the next Set or Advance (or Fire).
func (c *ManualClock) WakeAt(at time.Time, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	id := c.seq
	c.timers[id] = manualTimer{at: at, f: f}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// Set moves the clock to now (forwards or backwards) and runs, on the
// caller's goroutine, every wake-up that is due, earliest first.
func (c *ManualClock) Set(now time.Time) {
	c.mu.Lock()
	c.now = now
	c.mu.Unlock()
	c.Fire()
}

// Advance moves the clock forward by d and runs the due wake-ups.
func (c *ManualClock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// Fire runs the wake-ups that are due at the current time.
func (c *ManualClock) Fire() {
	c.mu.Lock()
	type due struct {
		id uint64
		manualTimer
	}
	var ready []due
	for id, t := range c.timers {
		if !t.at.After(c.now) {
			ready = append(ready, due{id, t})
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	sort.Slice(ready, func(i, j int) bool {
		if !ready[i].at.Equal(ready[j].at) {
			return ready[i].at.Before(ready[j].at)
		}
		return ready[i].id < ready[j].id
	})
	for _, t := range ready {
		t.f()
	}
}

// NextWake returns the earliest pending wake-up, if any.
func (c *ManualClock) NextWake() (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var first time.Time
	for _, t := range c.timers {
		if first.IsZero() || t.at.Before(first) {
			first = t.at
		}
	}
	return first, !first.IsZero()
}
