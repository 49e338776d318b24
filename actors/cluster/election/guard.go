package election

import (
	"sync/atomic"
	"time"
)

// Clock returns the current time (with its monotonic reading). Tests inject
// one; nil means time.Now.
type Clock func() time.Time

// Guard answers "may I act now?" cheaply (two atomic loads and a clock
// read) from the singleton's own goroutine before each action: yes only
// while this node leads and its last successful renewal was sent less than
// TTL - margin ago, i.e. while its lease is provably alive.
type Guard struct {
	clock Clock
	epoch time.Time
	cur   atomic.Pointer[proof]
}

// NewGuard returns a guard reading clock (nil: time.Now).
func NewGuard(clock Clock) *Guard {
	if clock == nil {
		clock = time.Now
	}
	return &Guard{clock: clock, epoch: clock()}
}

// MayAct returns the fencing token and true while this node leads and its
// lease proof is fresh; 0 and false otherwise. Carry the token in what you
// write.
func (g *Guard) MayAct() (token int64, ok bool) {
	p := g.cur.Load()
	if p == nil || g.since() >= p.until.Load() {
		return 0, false
	}
	return p.token, true
}

// Until returns how long the current proof lasts (0 when not leading).
func (g *Guard) Until() time.Duration {
	p := g.cur.Load()
	if p == nil {
		return 0
	}
	return max(0, time.Duration(p.until.Load()-g.since()))
}

func (g *Guard) since() int64 { return int64(g.clock().Sub(g.epoch)) }

// proof is one term's evidence: the instant (ns since the guard's epoch)
// until which its lease is provably alive.
type proof struct {
	token int64
	until atomic.Int64
}

// extend moves the proof to answeredAt + valid if that is later.
func (p *proof) extend(g *Guard, answeredAt time.Time, valid time.Duration) {
	v := int64(answeredAt.Sub(g.epoch) + valid)
	for {
		old := p.until.Load()
		if v <= old || p.until.CompareAndSwap(old, v) {
			return
		}
	}
}

// arm makes p the guard's current proof, with its token.
func (g *Guard) arm(p *proof, token int64) {
	p.token = token
	g.cur.Store(p)
}

// disarm clears the current proof: MayAct answers false from now on.
func (g *Guard) disarm() { g.cur.Store(nil) }
