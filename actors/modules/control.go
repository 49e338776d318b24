package modules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

func (s *supervisor) onStartRequest(ctx actor.Context, req *messages.ModuleStartRequest) {
	rec, errRes := s.lookup(req.Module)
	if errRes != nil {
		ctx.Respond(&messages.ModuleStartResponse{Error: errRes})
		return
	}
	if rec.state == StateRunning || rec.state == StateStarting || rec.state == StateStopping {
		ctx.Respond(&messages.ModuleStartResponse{Status: s.moduleStatus(rec), Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS,
			"module %q is already %s (use module.restart)", rec.name, rec.state)})
		return
	}
	eff, err := applyParams(rec.cfg, req.GetParams())
	if err == nil {
		err = s.checkPort(rec.name, eff)
	}
	if err != nil {
		ctx.Respond(&messages.ModuleStartResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "module %q: %v", rec.name, err)})
		return
	}
	rec.eff = eff
	if e := s.requestStart(rec.name, &waiter{to: ctx.Sender(), kind: waitStart}); e != nil {
		ctx.Respond(&messages.ModuleStartResponse{Error: e})
		return
	}
	s.settle(ctx, rec)
}

func (s *supervisor) onStopRequest(ctx actor.Context, req *messages.ModuleStopRequest) {
	rec, errRes := s.lookup(req.Module)
	if errRes != nil {
		ctx.Respond(&messages.ModuleStopResponse{Error: errRes})
		return
	}
	s.requestStop(ctx, rec, &waiter{to: ctx.Sender(), kind: waitStop})
}

func (s *supervisor) onRestartRequest(ctx actor.Context, req *messages.ModuleRestartRequest) {
	rec, errRes := s.lookup(req.Module)
	if errRes != nil {
		ctx.Respond(&messages.ModuleRestartResponse{Error: errRes})
		return
	}
	if s.shutting {
		ctx.Respond(&messages.ModuleRestartResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", ErrShuttingDown)})
		return
	}
	w := &waiter{to: ctx.Sender(), kind: waitRestart, stopping: true}
	s.requestStop(ctx, rec, w)
}

// lookup finds a module or builds the NOT_FOUND / disabled error.
func (s *supervisor) lookup(name string) (*record, *messages.Error) {
	rec := s.recs[name]
	if rec == nil {
		e := messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "%v %q (known: %s)", ErrUnknownModule, name, strings.Join(s.names(), ", "))
		e.Details = s.names()
		return nil, e
	}
	return rec, nil
}

func (s *supervisor) names() []string {
	out := make([]string, 0, len(s.recs))
	for n := range s.recs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// checkPort refuses a port another running module uses.
func (s *supervisor) checkPort(name string, eff ModuleConfig) error {
	if eff.Port == 0 || eff.Type == TypeThread {
		return nil
	}
	for _, other := range s.recs {
		if other.name != name && other.eff.Port == eff.Port && other.eff.Type != TypeThread && other.state != StateStopped &&
			other.state != StateFailed && other.state != StateExited && other.state != StateDisabled {
			return fmt.Errorf("port %d is in use by module %q", eff.Port, other.name)
		}
	}
	return nil
}

// requestStart asks for name and its dependencies to run; w (if any) is
// answered once name is running or cannot be.
func (s *supervisor) requestStart(name string, w *waiter) *messages.Error {
	if s.shutting {
		return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", ErrShuttingDown)
	}
	closure := s.closure(name)
	for _, n := range closure {
		if rec := s.recs[n]; rec.state == StateDisabled || rec.child == nil {
			return messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "module %q is disabled in the config", n)
		}
	}
	for _, n := range closure {
		rec := s.recs[n]
		rec.want = true
		switch rec.state {
		case StateRunning, StateStarting:
		case StateBackoff: // an explicit start does not wait
			rec.backoff.Stop()
			rec.backoff = nil
			rec.failures = nil
			s.restartChild(rec)
			s.setState(rec, StateStopped)
			rec.pending = true
		case StateStopping:
			rec.pending = true
		default:
			rec.failures = nil // an explicit start clears the count
			rec.pending = true
		}
	}
	rec := s.recs[name]
	if w != nil {
		rec.waiters = append(rec.waiters, w)
	}
	s.advance()
	return nil
}

// closure lists name and everything it depends on, in dependency order.
func (s *supervisor) closure(name string) []string {
	need := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if need[n] {
			return
		}
		need[n] = true
		for _, d := range s.recs[n].cfg.DependsOn {
			visit(d)
		}
	}
	visit(name)
	var out []string
	for _, n := range s.order {
		if need[n] {
			out = append(out, n)
		}
	}
	return out
}

// requestStop stops one module (its dependents keep running).
func (s *supervisor) requestStop(ctx actor.Context, rec *record, w *waiter) {
	rec.want = false
	if rec.pending {
		rec.pending = false
		s.answerStarts(rec, "stop requested")
	}
	if w != nil {
		rec.waiters = append(rec.waiters, w)
	}
	switch rec.state {
	case StateRunning, StateStarting:
		s.setState(rec, StateStopping)
		ctx.Send(rec.child, stopModule{inc: rec.inc})
	case StateBackoff:
		rec.backoff.Stop()
		rec.backoff = nil
		s.restartChild(rec)
		s.setState(rec, StateStopped)
		s.publish(rec, "stopped", 0, rec.lastExit, "stop requested")
	}
	s.settle(ctx, rec)
}

// advance starts pending modules whose dependencies run, gives up on those
// whose dependencies can't, and during StopAll stops modules whose
// dependents are all down.
func (s *supervisor) advance() {
	for _, n := range s.order {
		rec := s.recs[n]
		if !rec.pending || rec.state == StateStopping {
			continue
		}
		ready := true
		for _, d := range rec.cfg.DependsOn {
			dep := s.recs[d]
			switch {
			case dep.state == StateRunning:
			case dep.pending || dep.state == StateStarting || dep.state == StateBackoff || dep.state == StateStopping && dep.want:
				ready = false
			default:
				ready = false
				rec.pending = false
				s.answerStarts(rec, fmt.Sprintf("dependency %q is %s", d, dep.state))
			}
		}
		if ready && rec.pending {
			s.sendStart(rec)
		}
	}
	if s.shutting {
		s.advanceStopAll()
	}
}

// settle answers the waiters of rec that its state now answers.
func (s *supervisor) settle(ctx actor.Context, rec *record) {
	keep := rec.waiters[:0]
	for _, w := range rec.waiters {
		if !s.answer(ctx, rec, w) {
			keep = append(keep, w)
		}
	}
	for i := len(keep); i < len(rec.waiters); i++ {
		rec.waiters[i] = nil
	}
	rec.waiters = keep
	s.advance()
	s.checkAutostarts()
}

// answer replies to w if rec's state settles it.
func (s *supervisor) answer(_ actor.Context, rec *record, w *waiter) bool {
	down := rec.state == StateStopped || rec.state == StateFailed || rec.state == StateExited
	switch {
	case w.kind == waitStop:
		if !down {
			return false
		}
		s.reply(w.to, &messages.ModuleStopResponse{Status: s.moduleStatus(rec)})
		return true
	case w.stopping:
		if !down {
			return false
		}
		w.stopping = false
		if e := s.requestStart(rec.name, nil); e != nil {
			s.reply(w.to, &messages.ModuleRestartResponse{Status: s.moduleStatus(rec), Error: e})
			return true
		}
		return s.answer(nil, rec, w)
	case rec.state == StateRunning:
		s.respondStart(w, s.moduleStatus(rec), nil)
		return true
	case rec.state == StateBackoff: // the attempt this start caused failed; the next waits out the backoff
		s.respondStart(w, s.moduleStatus(rec), messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION,
			"module %q did not start: %s (next try after its backoff)", rec.name, rec.lastErr))
		return true
	case rec.pending || rec.state == StateStarting || rec.state == StateStopping:
		return false
	default:
		msg := fmt.Sprintf("module %q is %s", rec.name, rec.state)
		if rec.lastErr != "" {
			msg += ": " + rec.lastErr
		}
		s.respondStart(w, s.moduleStatus(rec), messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "%s", msg))
		return true
	}
}

func (s *supervisor) respondStart(w *waiter, st *messages.ModuleStatus, e *messages.Error) {
	if w.kind == waitRestart {
		s.reply(w.to, &messages.ModuleRestartResponse{Status: st, Error: e})
		return
	}
	s.reply(w.to, &messages.ModuleStartResponse{Status: st, Error: e})
}

// answerStarts fails the start waiters of rec.
func (s *supervisor) answerStarts(rec *record, why string) {
	keep := rec.waiters[:0]
	for _, w := range rec.waiters {
		if w.kind == waitStop || w.stopping {
			keep = append(keep, w)
			continue
		}
		s.respondStart(w, s.moduleStatus(rec), messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "module %q not started: %s", rec.name, why))
	}
	rec.waiters = keep
}

func (s *supervisor) onAutostart(ctx actor.Context) {
	s.nextRun++
	id := s.nextRun
	run := &autostartRun{to: ctx.Sender(), names: append([]string(nil), s.cfg.Autostart...)}
	errs := map[string]string{}
	for _, n := range run.names {
		if _, e := s.lookup(n); e != nil {
			errs[n] = e.Message
			continue
		}
		if e := s.requestStart(n, nil); e != nil {
			errs[n] = e.Message
		}
	}
	run.errs = errs
	run.timer = time.AfterFunc(s.autostartDeadline(), func() { s.root.Send(s.self, autostartExpired{id: id}) })
	s.autostarts[id] = run
	s.finishAutostart(ctx, id, false)
}

// autostartDeadline bounds StartAutostart: per level of the longest
// dependency chain, the longest start_timeout plus the longest backoff.
func (s *supervisor) autostartDeadline() time.Duration {
	var per time.Duration
	depth := map[string]int{}
	maxDepth := 1
	for _, n := range s.order {
		rec := s.recs[n]
		if d := rec.cfg.StartTimeout + rec.cfg.Backoff.Max; d > per {
			per = d
		}
		depth[n] = 1
		for _, d := range rec.cfg.DependsOn {
			depth[n] = max(depth[n], depth[d]+1)
		}
		maxDepth = max(maxDepth, depth[n])
	}
	return time.Duration(maxDepth)*per + time.Second
}

func (s *supervisor) checkAutostarts() {
	for id := range s.autostarts {
		s.finishAutostart(nil, id, false)
	}
}

// finishAutostart answers the run once every module settled (or expired).
// It runs after every state change: until then it only looks.
func (s *supervisor) finishAutostart(_ actor.Context, id uint64, expired bool) {
	run := s.autostarts[id]
	if run == nil {
		return
	}
	if !expired && !s.autostartSettled(run) {
		return
	}
	var started []string
	errs := map[string]string{}
	for _, n := range run.names {
		rec := s.recs[n]
		switch {
		case run.errs[n] != "":
			errs[n] = run.errs[n]
		case rec == nil:
			errs[n] = fmt.Sprintf("unknown module %q", n)
		case rec.state == StateRunning:
			started = append(started, n)
		case autostartFailed(rec):
			errs[n] = fmt.Sprintf("%s: %s", rec.state, rec.lastErr)
		default: // expired
			errs[n] = fmt.Sprintf("not running in time (%s)", rec.state)
		}
	}
	run.timer.Stop()
	delete(s.autostarts, id)
	if run.to != nil {
		s.root.Send(run.to, &AutostartResult{Started: started, Errors: errs})
	}
}

// autostartSettled reports whether every module of run is running or
// will not be.
func (s *supervisor) autostartSettled(run *autostartRun) bool {
	for _, n := range run.names {
		if rec := s.recs[n]; run.errs[n] == "" && rec != nil && rec.state != StateRunning && !autostartFailed(rec) {
			return false
		}
	}
	return true
}

// autostartFailed reports whether rec settled without running.
func autostartFailed(rec *record) bool {
	switch rec.state {
	case StateDisabled, StateFailed, StateExited:
		return true
	}
	return rec.state == StateStopped && !rec.pending
}

func (s *supervisor) onStopAll(ctx actor.Context) {
	s.shutting = true
	if ctx.Sender() != nil {
		s.stopAll = append(s.stopAll, ctx.Sender())
	}
	for _, rec := range s.recs {
		rec.want = false
		if rec.pending {
			rec.pending = false
			s.answerStarts(rec, ErrShuttingDown.Error())
		}
	}
	s.advanceStopAll()
}

// advanceStopAll stops, in reverse dependency order, every module whose
// dependents are down, and answers StopAll once all are.
func (s *supervisor) advanceStopAll() {
	for i := len(s.order) - 1; i >= 0; i-- {
		rec := s.recs[s.order[i]]
		if isDown(rec.state) || rec.state == StateStopping {
			continue
		}
		ready := true
		for _, d := range s.dependents(rec.name) {
			if !isDown(s.recs[d].state) {
				ready = false
			}
		}
		if !ready {
			continue
		}
		if rec.state == StateBackoff {
			rec.backoff.Stop()
			rec.backoff = nil
			s.restartChild(rec)
			s.setState(rec, StateStopped)
			s.publish(rec, "stopped", 0, rec.lastExit, ErrShuttingDown.Error())
			continue
		}
		s.setState(rec, StateStopping)
		s.root.Send(rec.child, stopModule{inc: rec.inc})
	}
	for _, rec := range s.recs { // a module in backoff went down at once above
		if !isDown(rec.state) {
			return
		}
	}
	waiters, root := s.stopAll, s.root
	s.stopAll = nil
	fileIO(func() { // after the PID files and log lines queued so far
		for _, to := range waiters {
			if to != nil {
				root.Send(to, &StopAllResult{})
			}
		}
	})
}

func isDown(state string) bool {
	switch state {
	case StateStopped, StateFailed, StateExited, StateDisabled:
		return true
	}
	return false
}
