package backtest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/superbot/superbot/messages"
)

// job is one backtest.run as the actor books it.
type job struct {
	id    string
	spec  Spec
	state string
	// created, started and finished are on the actor's clock (finished is
	// the job goroutine's for a job read back from disk).
	created, started, finished time.Time
	done, total                int64
	workers                    int // cpu workers held while running
	err                        string
	cancel                     context.CancelFunc
	result                     *messages.BacktestResultResponse // when done
}

// jobProgress is sent by a job's goroutine: the work done so far.
type jobProgress struct {
	id          string
	done, total int64
}

// jobFinished is sent by a job's goroutine when it ends: res when it
// succeeded, else err.
type jobFinished struct {
	id  string
	res *messages.BacktestResultResponse
	err error
}

// run validates the request and queues the job, starting it at once when
// the pools have room.
func (a *backtestActor) run(req *messages.BacktestRunRequest) *messages.BacktestRunResponse {
	spec, err := SpecFromRequest(req)
	if err != nil {
		return &messages.BacktestRunResponse{Error: invalid(err)}
	}
	if len(a.queue) >= a.cfg.MaxQueue && (a.freeCPU == 0 || a.inFlight >= a.cfg.MaxJobs) {
		return &messages.BacktestRunResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
			"%v (%d jobs waiting): try again when one has finished", ErrQueueFull, len(a.queue))}
	}
	a.seq++
	j := &job{id: fmt.Sprintf("bt%d-%d", now().UnixMilli(), a.seq), spec: spec, state: messages.JobQueued, created: now()}
	a.jobs[j.id] = j
	a.queue = append(a.queue, j)
	a.log.Info("backtest queued", "job", j.id, "strategy", spec.Kind, "symbols", spec.Symbols, "points", spec.Points())
	a.admit()
	return &messages.BacktestRunResponse{Job: a.view(j)}
}

func (a *backtestActor) list() *messages.BacktestListResponse {
	out := &messages.BacktestListResponse{}
	for _, j := range a.jobs {
		out.Jobs = append(out.Jobs, a.view(j))
	}
	slices.SortFunc(out.Jobs, func(x, y *messages.BacktestJob) int { // newest first
		if c := cmp.Compare(y.CreatedMs, x.CreatedMs); c != 0 {
			return c
		}
		return cmp.Compare(y.Id, x.Id)
	})
	return out
}

func (a *backtestActor) status(req *messages.BacktestStatusRequest) *messages.BacktestStatusResponse {
	j, e := a.lookup(req.GetId())
	if e != nil {
		return &messages.BacktestStatusResponse{Error: e}
	}
	return &messages.BacktestStatusResponse{Job: a.view(j)}
}

func (a *backtestActor) result(req *messages.BacktestResultRequest) *messages.BacktestResultResponse {
	j, e := a.lookup(req.GetId())
	if e != nil {
		return &messages.BacktestResultResponse{Error: e}
	}
	switch j.state {
	case messages.JobDone:
		r := j.result
		return &messages.BacktestResultResponse{Job: a.view(j), Metrics: r.Metrics, Summary: r.Summary, Files: r.Files,
			Points: r.Points, Metric: r.Metric}
	case messages.JobFailed, messages.JobCanceled:
		return &messages.BacktestResultResponse{Job: a.view(j), Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION,
			"backtest %s %s: no result", j.id, j.state)}
	}
	return &messages.BacktestResultResponse{Job: a.view(j), Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION,
		"backtest %s is %s (%.0f%%): no result yet", j.id, j.state, 100*fraction(j.done, j.total))}
}

// cancel takes a queued job out of the queue, or cancels a running one's
// context: it is "canceling" until its goroutine has ended (its workers
// stay held until then), then "canceled".
func (a *backtestActor) cancel(req *messages.BacktestCancelRequest) *messages.BacktestCancelResponse {
	j, e := a.lookup(req.GetId())
	if e != nil {
		return &messages.BacktestCancelResponse{Error: e}
	}
	switch j.state {
	case messages.JobQueued:
		a.queue = slices.DeleteFunc(a.queue, func(q *job) bool { return q == j })
		a.finish(j, messages.JobCanceled, "")
		a.log.Info("backtest canceled", "job", j.id, "state", messages.JobQueued)
	case messages.JobRunning:
		j.state = messages.JobCanceling
		j.cancel()
		a.log.Info("backtest canceling", "job", j.id)
		a.publish(j)
	}
	return &messages.BacktestCancelResponse{Job: a.view(j)}
}

func (a *backtestActor) onProgress(msg *jobProgress) {
	j := a.jobs[msg.id]
	if j == nil || j.state != messages.JobRunning {
		return
	}
	j.done, j.total = msg.done, msg.total
	a.publish(j)
}

// onFinished books a job's end, frees its workers and starts what the
// queue holds.
func (a *backtestActor) onFinished(msg *jobFinished) {
	j := a.jobs[msg.id]
	if j == nil || j.workers == 0 {
		return
	}
	a.freeCPU += j.workers
	a.inFlight--
	switch {
	case j.state == messages.JobCanceling || errCanceled(msg.err):
		a.finish(j, messages.JobCanceled, "")
		a.log.Info("backtest canceled", "job", j.id, "state", messages.JobRunning)
	case msg.err != nil:
		a.finish(j, messages.JobFailed, msg.err.Error())
		a.log.Warn("backtest failed", "job", j.id, "error", msg.err)
	default:
		j.result = msg.res
		if jb := msg.res.GetJob(); jb != nil && jb.GetTotal() > 0 {
			j.done, j.total = jb.GetTotal(), jb.GetTotal()
		}
		a.finish(j, messages.JobDone, "")
		a.log.Info("backtest done", "job", j.id, "duration", j.finished.Sub(j.started).Round(time.Millisecond).String())
	}
	a.admit()
}

// finish moves j to a final state, keeps it among the finished jobs and
// forgets (and deletes the results of) the oldest beyond Config.History.
func (a *backtestActor) finish(j *job, state, why string) {
	j.state, j.err, j.finished, j.cancel = state, why, now(), nil
	a.publish(j)
	j.workers = 0
	a.finished = append(a.finished, j)
	a.prune()
}

// admit starts queued jobs while a cpu worker is free and fewer than
// Config.MaxJobs run.
func (a *backtestActor) admit() {
	for len(a.queue) > 0 && a.freeCPU > 0 && a.inFlight < a.cfg.MaxJobs {
		j := a.queue[0]
		a.queue = a.queue[1:]
		workers := 1
		if n := j.spec.Points(); n > 1 {
			workers = min(a.freeCPU, n)
		}
		a.freeCPU -= workers
		a.inFlight++
		a.start(j, workers)
	}
}

func (a *backtestActor) lookup(id string) (*job, *messages.Error) {
	if id == "" {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "id: a job id is required (backtest.list shows them)")
	}
	j := a.jobs[id]
	if j == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "%v %q (backtest.list shows the jobs kept)", ErrNoSuchJob, id)
	}
	return j, nil
}

// view is j as RPC answers and progress events show it.
func (a *backtestActor) view(j *job) *messages.BacktestJob {
	v := &messages.BacktestJob{
		Id: j.id, State: j.state, Strategy: j.spec.Kind, Symbols: j.spec.Symbols, Interval: j.spec.Interval,
		FromMs: j.spec.FromMs, ToMs: j.spec.ToMs, Sweep: j.spec.Sweep != nil, Done: j.done, Total: j.total,
		Progress: fraction(j.done, j.total), CreatedMs: ms(j.created), StartedMs: ms(j.started), FinishedMs: ms(j.finished),
		Workers: uint32(j.workers), Error: j.err,
	}
	if j.state == messages.JobRunning && j.done > 0 && j.done < j.total {
		elapsed := now().Sub(j.started)
		v.EtaMs = (time.Duration(float64(elapsed) * float64(j.total-j.done) / float64(j.done))).Milliseconds()
	}
	if j.state == messages.JobQueued {
		v.QueuePosition = uint32(slices.Index(a.queue, j) + 1)
	}
	return v
}

// publish sends j's state to the bus as backtest.JOB.progress.
func (a *backtestActor) publish(j *job) {
	if a.deps.Bus != nil {
		a.root.Send(a.deps.Bus, messages.NewEvent("backtest."+j.id+".progress", Kind, a.view(j)))
	}
}

// invalid is an INVALID_ARGUMENT error carrying every problem.
func invalid(err error) *messages.Error {
	e := messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "bad backtest: %v", err)
	for _, p := range unjoin(err) {
		e.Details = append(e.Details, p.Error())
	}
	return e
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func fraction(done, total int64) float64 {
	if total <= 0 {
		return 0
	}
	return min(1, float64(done)/float64(total))
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
