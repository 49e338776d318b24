package connector

import (
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// jobKind is one kind of REST call.
type jobKind int

const (
	jobTime jobKind = iota
	jobExchangeInfo
	jobTicker
	jobDepth
	jobKlines
	jobPlace
	jobGetOrder
	jobCancel
	jobAccount
	jobOpenOrders
	jobMyTrades
)

// Priorities: lower leaves the queue first.
const (
	prioSystem = iota // clock and limits
	prioOrder         // placements, cancels, order queries
	prioMarket        // market data
	numPrios
)

// job is one REST call waiting for budget, running on a worker, or waiting
// to be retried. Only the actor touches it, except the fields a worker reads
// (set before it is handed over).
type job struct {
	id       uint64
	gen      uint64 // the incarnation that made it
	kind     jobKind
	prio     int
	weight   int64
	signed   bool
	deadline time.Time // leave the queue by then or fail
	attempt  int       // tries so far
	offset   time.Duration
	window   int64     // budget window charged
	sent     time.Time // when it left the queue

	// params
	symbol, interval string
	limit            int
	start, end       int64
	orderID          int64
	clientOrderID    string
	place            *placeParams
	fromID           int64

	reply    *actor.PID // account calls: who gets the answer
	key      string     // coalescing key of market data
	fill     *stream    // kline gap fill of this stream
	op       *orderOp   // order operation this call belongs to
	timeSync bool       // a -1021 re-sync already happened for this job
}

func (a *connectorActor) newJob(kind jobKind, prio int) *job {
	a.jobSeq++
	j := &job{id: a.jobSeq, gen: a.gen, kind: kind, prio: prio, weight: 1, deadline: time.Now().Add(a.cfg.QueueTimeout)}
	switch kind {
	case jobExchangeInfo:
		j.weight = 20
	case jobTicker, jobKlines:
		j.weight = 2
	case jobGetOrder:
		j.weight, j.signed = 4, true
	case jobPlace, jobCancel:
		j.signed = true
	case jobAccount:
		j.weight, j.signed = weightAccount, true
	case jobOpenOrders:
		j.weight, j.signed = weightOpenOrders, true
	case jobMyTrades:
		j.weight, j.signed = weightMyTrades, true
	}
	return j
}

// depthWeight is Binance's weight of GET /api/v3/depth for limit.
func depthWeight(limit int) int64 {
	switch {
	case limit <= 100:
		return 5
	case limit <= 500:
		return 25
	case limit <= 1000:
		return 50
	}
	return 250
}

// jobQueue holds waiting jobs, FIFO per priority.
type jobQueue struct{ q [numPrios][]*job }

func (q *jobQueue) push(j *job)      { q.q[j.prio] = append(q.q[j.prio], j) }
func (q *jobQueue) pushFront(j *job) { q.q[j.prio] = append([]*job{j}, q.q[j.prio]...) }

func (q *jobQueue) len() int {
	n := 0
	for _, s := range q.q {
		n += len(s)
	}
	return n
}

// next returns the first job that may leave now (signed jobs wait while the
// clock syncs; only system jobs leave before the limit is known).
func (q *jobQueue) next(ready, syncing bool) (*job, int, int) {
	for p := range numPrios {
		if !ready && p != prioSystem {
			break
		}
		for i, j := range q.q[p] {
			if syncing && j.signed {
				continue
			}
			return j, p, i
		}
	}
	return nil, 0, 0
}

func (q *jobQueue) remove(p, i int) { q.q[p] = append(q.q[p][:i], q.q[p][i+1:]...) }

// expired removes and returns the jobs past their deadline.
func (q *jobQueue) expired(now time.Time) []*job {
	var out []*job
	for p := range numPrios {
		keep := q.q[p][:0]
		for _, j := range q.q[p] {
			if now.After(j.deadline) {
				out = append(out, j)
			} else {
				keep = append(keep, j)
			}
		}
		q.q[p] = keep
	}
	return out
}

// enqueue queues j (refusing it when the queue is full) and pumps.
func (a *connectorActor) enqueue(ctx actor.Context, j *job) {
	if !a.ready && a.netFailures >= netFailuresDown && j.prio != prioSystem {
		a.fail(ctx, j, unavailableErr())
		return
	}
	if j.prio != prioSystem && a.budget.banned(time.Now()) && j.deadline.Before(a.budget.banUntil) {
		a.fail(ctx, j, bannedErr(a.budget.banUntil)) // a ban in force outlasts its queue timeout
		return
	}
	if a.queue.len() >= a.cfg.MaxQueue && j.prio != prioSystem {
		a.fail(ctx, j, rateLimitedErr("the connector's request queue is full"))
		return
	}
	a.queue.push(j)
	a.pump(ctx)
}

// pump hands queued jobs to idle workers while the budget allows.
func (a *connectorActor) pump(ctx actor.Context) {
	for a.busy < a.cfg.IOWorkers && a.cancel != nil {
		now := time.Now()
		if a.budget.banned(now) {
			a.wake(a.budget.banUntil)
			return
		}
		j, p, i := a.queue.next(a.ready, a.syncing)
		if j == nil {
			return
		}
		a.budget.roll(now.Add(-a.offset))
		if !a.budget.fits(j.weight) {
			a.wake(a.budget.nextWindow(a.offset))
			return
		}
		a.queue.remove(p, i)
		j.sent = now
		j.window = a.budget.spend(j.weight, now.Add(-a.offset))
		j.offset = a.offset
		j.attempt++
		if j.op != nil {
			j.op.attempts++
		}
		if j.kind == jobTime {
			a.syncing = true
		}
		a.busy++
		a.stats.upstream++
		a.jobs <- j // never blocks: at most IOWorkers jobs are out
	}
}

// wake makes sure the actor pumps again at t.
func (a *connectorActor) wake(t time.Time) {
	if !a.wakeAt.IsZero() && !a.wakeAt.After(t) && a.wakeAt.After(time.Now()) {
		return
	}
	a.wakeAt = t
	a.after(time.Until(t), timerWake, nil)
}

// backoff is the full-jitter delay before try attempt+1.
func backoff(base, limit time.Duration, attempt int) time.Duration {
	d := base << min(attempt-1, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return time.Duration(rand.Int64N(int64(d)) + 1)
}

// timerKind says what a timer does when it fires.
type timerKind int

const (
	timerWake timerKind = iota
	timerSweep
	timerTimeSync
	timerRetry
)

// timerFired is sent to self by a timer. Local only.
type timerFired struct {
	gen  uint64
	id   uint64
	kind timerKind
	job  *job
}

// after sends a timerFired to self after d; release stops pending timers.
func (a *connectorActor) after(d time.Duration, kind timerKind, j *job) {
	if a.cancel == nil { // released
		return
	}
	a.timerSeq++
	id, gen, send := a.timerSeq, a.gen, a.sender()
	a.timers[id] = time.AfterFunc(max(d, 0), func() { send(&timerFired{gen: gen, id: id, kind: kind, job: j}) })
}

func (a *connectorActor) onTimer(ctx actor.Context, m *timerFired) {
	if m.gen != a.gen {
		return
	}
	delete(a.timers, m.id)
	switch m.kind {
	case timerWake:
		a.wakeAt = time.Time{}
	case timerSweep:
		for _, j := range a.queue.expired(time.Now()) {
			if !a.ready {
				a.fail(ctx, j, unavailableErr())
				continue
			}
			a.fail(ctx, j, rateLimitedErr("no request budget within the queue timeout"))
		}
		a.after(time.Second, timerSweep, nil)
	case timerTimeSync:
		a.queue.pushFront(a.newJob(jobTime, prioSystem))
		a.after(a.cfg.TimeSyncInterval, timerTimeSync, nil)
	case timerRetry:
		a.stats.retries++
		m.job.deadline = time.Now().Add(a.cfg.QueueTimeout)
		a.queue.pushFront(m.job)
	}
	a.updateHealth(ctx)
	a.pump(ctx)
}
