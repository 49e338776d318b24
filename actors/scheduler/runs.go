package scheduler

import (
	"container/heap"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// fireDue starts the queued jobs whose run is due at now, at most
// fireBatch of them; it reports whether more are due.
func (a *schedulerActor) fireDue(ctx actor.Context, now time.Time) bool {
	for n := 0; len(a.queue) > 0 && !a.queue[0].next.After(now); n++ {
		if n == fireBatch {
			return true
		}
		j := a.queue[0]
		due := j.next
		if late := now.Sub(due); late > misfireGrace {
			j.skipped++
			a.log.Warn("job run missed, not replayed", "job", j.spec.name, "due", due, "late", late)
		} else {
			_, _ = a.start(ctx, j, "schedule", due, now)
		}
		j.next = j.spec.sched.next(now)
		if j.next.IsZero() {
			heap.Remove(&a.queue, j.idx)
			continue
		}
		heap.Fix(&a.queue, j.idx)
	}
	return false
}

// start begins a run of j. A scheduled run that would overlap a running one
// under overlap = "skip" is skipped; a manual one is refused.
func (a *schedulerActor) start(ctx actor.Context, j *job, trigger string, due, now time.Time) (*messages.JobRun, *messages.Error) {
	if j.running > 0 && j.spec.cfg.Overlap != OverlapAllow {
		if trigger == "manual" {
			return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "job %q is still running", j.spec.name)
		}
		j.skipped++
		a.log.Info("job run skipped: previous run still going", "job", j.spec.name, "due", due)
		return nil, nil
	}
	a.runSeq++
	run := &messages.JobRun{
		Job:         j.spec.name,
		Id:          a.runSeq,
		Trigger:     trigger,
		Action:      j.spec.cfg.Action,
		Status:      statusRunning,
		ScheduledAt: timestamppb.New(due),
		StartedAt:   timestamppb.New(now),
	}
	j.running++
	j.runs++
	j.history = append(j.history, run)
	if over := len(j.history) - a.c.cfg.History; over > 0 {
		j.history = slices.Delete(j.history, 0, over)
	}
	a.publish(ctx, TopicJobStarted, run)
	a.log.Debug("job started", "job", j.spec.name, "run", run.Id, "action", run.Action, "trigger", trigger)
	p, err := a.call(ctx, j.spec.cfg.Action, j.spec.params, j.spec.cfg.Timeout)
	if err != nil {
		a.finish(ctx, j, run, nil, err)
		return run, nil
	}
	ctx.ReenterAfter(p.Future, func(res any, err error) {
		m, err := rpc.Reply(res, err)
		a.finish(ctx, j, run, m, err)
	})
	return run, nil
}

// finish records the end of a run and publishes it. JobRun values are never
// changed once stored (responses share them): the finished run replaces the
// running one.
func (a *schedulerActor) finish(ctx actor.Context, j *job, run *messages.JobRun, res proto.Message, err error) {
	now := a.deps.Clock.Now()
	fin := &messages.JobRun{
		Job: run.Job, Id: run.Id, Trigger: run.Trigger, Action: run.Action,
		ScheduledAt: run.ScheduledAt, StartedAt: run.StartedAt, FinishedAt: timestamppb.New(now),
		DurationMs: float64(now.Sub(run.StartedAt.AsTime())) / float64(time.Millisecond),
	}
	if i := slices.Index(j.history, run); i >= 0 {
		j.history[i] = fin
	}
	j.running--
	topic := TopicJobFinished
	if err != nil {
		fin.Status, fin.Error = statusFailed, clientError(err)
		j.failures++
		topic = TopicJobFailed
		a.log.Warn("job failed", "job", j.spec.name, "run", fin.Id, "action", fin.Action, "error", err)
	} else {
		fin.Status = statusOK
		if res != nil {
			if b, err := messages.AppendJSON(nil, res); err == nil {
				if len(b) > maxResult {
					b = b[:maxResult]
				}
				fin.Result = string(b)
			}
		}
		a.log.Info("job finished", "job", j.spec.name, "run", fin.Id, "action", fin.Action, "duration_ms", fin.DurationMs)
	}
	a.publish(ctx, topic, fin)
}

// call sends method with params through the router, as the JSON-RPC edge
// would; timeout > 0 overrides the method's deadline.
func (a *schedulerActor) call(ctx actor.Context, method string, params json.RawMessage, timeout time.Duration) (*rpc.Pending, error) {
	if a.deps.Router == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the scheduler has no method table")
	}
	rt, ok := a.deps.Router.Lookup(method)
	if !ok {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown method %q", method)
	}
	req, err := rpc.Decode(rt, params)
	if err != nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "%s: %v", method, err)
	}
	if timeout > 0 {
		rt.Timeout = timeout
	}
	return a.deps.Router.Send(ctx, rt, req), nil
}

// schedule queues j at its next run after now (unless disabled or paused).
func (a *schedulerActor) schedule(j *job, now time.Time) {
	j.next = time.Time{}
	if !j.spec.cfg.IsEnabled() || j.paused || j.spec.sched == nil {
		return
	}
	j.next = j.spec.sched.next(now)
	if !j.next.IsZero() {
		heap.Push(&a.queue, j)
	}
}

func (a *schedulerActor) unqueue(j *job) {
	if j.idx >= 0 {
		heap.Remove(&a.queue, j.idx)
	}
	j.next = time.Time{}
}

// arm sets the one wake-up, at the earliest job run or window boundary (the
// clock may wake the scheduler earlier: it then re-reads the time).
func (a *schedulerActor) arm(now time.Time) {
	var at time.Time
	if len(a.queue) > 0 {
		at = a.queue[0].next
	}
	if a.c.window != nil {
		b := a.win.st.nextOpen
		if a.win.open {
			b = a.win.st.nextClose
		}
		if !b.IsZero() && (at.IsZero() || b.Before(at)) {
			at = b
		}
	}
	if a.stopTimer != nil && a.timerAt.Equal(at) {
		return
	}
	a.release()
	if at.IsZero() {
		return // nothing to wait for
	}
	if at.Before(now) {
		at = now
	}
	a.wakeGen++
	gen, root, self := a.wakeGen, a.root, a.self
	a.timerAt = at
	a.stopTimer = a.deps.Clock.WakeAt(at, func() { root.Send(self, wake{gen: gen}) })
}

// clientError turns an error into the client-safe *messages.Error it carries,
// or an INTERNAL one.
func clientError(err error) *messages.Error {
	var e *messages.Error
	if errors.As(err, &e) {
		return e
	}
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
}

// jobQueue is a min-heap of jobs by next run (then name, for stable order).
type jobQueue []*job

func (q jobQueue) Len() int { return len(q) }

func (q jobQueue) Less(i, k int) bool {
	if !q[i].next.Equal(q[k].next) {
		return q[i].next.Before(q[k].next)
	}
	return q[i].spec.name < q[k].spec.name
}

func (q jobQueue) Swap(i, k int) {
	q[i], q[k] = q[k], q[i]
	q[i].idx, q[k].idx = i, k
}

func (q *jobQueue) Push(x any) {
	j := x.(*job)
	j.idx = len(*q)
	*q = append(*q, j)
}

func (q *jobQueue) Pop() any {
	old := *q
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	j.idx = -1
	return j
}
