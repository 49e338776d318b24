package modules

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/messages"
)

// AllModules is the module name that module.start and module.stop take for
// every module: started in dependency order, stopped in reverse.
const AllModules = "all"

// goal is what a waiter waits for.
type goal int

const (
	goalUp   goal = iota + 1 // running (module.start, module.restart)
	goalDown                 // stopped (module.stop)
)

// waiter is a caller waiting for a module to settle. Every waiter lives in
// its record's list, and settle (called by setState, and after every
// message) answers each one whose goal is reached or no longer reachable.
type waiter struct {
	goal goal
	kind string     // waitStart, waitStop or waitRestart: the answer's type
	to   *actor.PID // the caller (nil: fire and forget)
	// done, if set, takes the answer instead of to (a batch).
	done func(st *messages.ModuleStatus, e *messages.Error)
}

// Waiter kinds.
const (
	waitStart   = "start"
	waitStop    = "stop"
	waitRestart = "restart"
)

func (s *supervisor) onStartRequest(ctx actor.Context, req *messages.ModuleStartRequest) {
	if req.Module == AllModules {
		s.startAll(ctx.Sender(), req.GetParams())
		return
	}
	rec, e := s.lookup(req.Module)
	if e == nil {
		e = s.startOne(rec, req.GetParams(), &waiter{goal: goalUp, kind: waitStart, to: ctx.Sender()})
	}
	if e != nil {
		ctx.Respond(&messages.ModuleStartResponse{Status: s.statusOf(rec), Error: e})
	}
}

func (s *supervisor) onStopRequest(ctx actor.Context, req *messages.ModuleStopRequest) {
	if req.Module == AllModules {
		s.stopAllModules(ctx.Sender())
		return
	}
	rec, e := s.lookup(req.Module)
	if e != nil {
		ctx.Respond(&messages.ModuleStopResponse{Error: e})
		return
	}
	s.stopOne(rec, &waiter{goal: goalDown, kind: waitStop, to: ctx.Sender()})
}

func (s *supervisor) onRestartRequest(ctx actor.Context, req *messages.ModuleRestartRequest) {
	rec, e := s.lookup(req.Module)
	if e == nil {
		e = s.restartOne(rec, &waiter{goal: goalUp, kind: waitRestart, to: ctx.Sender()})
	}
	if e != nil {
		ctx.Respond(&messages.ModuleRestartResponse{Status: s.statusOf(rec), Error: e})
	}
}

// statusOf is rec's status, nil for no record.
func (s *supervisor) statusOf(rec *record) *messages.ModuleStatus {
	if rec == nil {
		return nil
	}
	return s.moduleStatus(rec)
}

// lookup finds a module or builds the NOT_FOUND error.
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

func precondition(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, format, args...)
}

func shuttingDown() *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%v", ErrShuttingDown)
}

// startOne handles module.start of one module: an error refuses it at
// once; otherwise w waits in the record.
func (s *supervisor) startOne(rec *record, params *structpb.Struct, w *waiter) *messages.Error {
	switch {
	case s.shutting:
		return shuttingDown()
	case rec.state == StateRunning && !rec.restart:
		return messages.Errorf(messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS, "module %q is already running (use module.restart)", rec.name)
	case rec.state == StateStopping && !rec.restart:
		return precondition("module %q is stopping", rec.name)
	}
	eff, err := applyParams(rec.cfg, params)
	if err == nil {
		err = s.checkPort(rec.name, eff)
	}
	if err != nil {
		return messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "module %q: %v", rec.name, err)
	}
	if !s.onItsWay(rec) {
		if e := s.checkStartable(rec.name); e != nil {
			return e
		}
		rec.eff = eff
		s.markStart(rec.name)
	}
	rec.waiters = append(rec.waiters, w)
	s.settle(rec)
	return nil
}

// onItsWay reports whether rec is wanted and starting or about to.
func (s *supervisor) onItsWay(rec *record) bool {
	return rec.want && (rec.pending || rec.restart || rec.state == StateStarting)
}

// stopOne handles module.stop of one module; w (if any) waits in the record.
func (s *supervisor) stopOne(rec *record, w *waiter) {
	s.unwant(rec, "a stop was requested")
	stopTimer(&rec.cooldown)
	if w != nil {
		rec.waiters = append(rec.waiters, w)
	}
	switch rec.state {
	case StateRunning, StateStarting:
		s.sendStop(rec)
	case StateBackoff:
		stopTimer(&rec.backoff)
		s.publish(rec, "stopped", 0, rec.lastExit, "stop requested")
		s.setState(rec, StateStopped)
		s.afterDown(rec)
	}
	s.settle(rec)
}

// restartOne handles module.restart: a stop (if it runs) and a start, the
// failure count cleared. An error refuses it at once.
func (s *supervisor) restartOne(rec *record, w *waiter) *messages.Error {
	if s.shutting {
		return shuttingDown()
	}
	switch rec.state {
	case StateRunning, StateStarting, StateStopping:
		if e := s.checkStartable(rec.name); e != nil {
			return e
		}
		rec.want, rec.why, rec.restart, rec.pending = true, "", true, false
		rec.window.Reset()
		rec.capped = 0
		if rec.state != StateStopping {
			s.sendStop(rec)
		}
	default:
		if e := s.checkStartable(rec.name); e != nil {
			return e
		}
		s.markStart(rec.name)
	}
	rec.waiters = append(rec.waiters, w)
	s.settle(rec)
	return nil
}

// checkStartable refuses a start of name when it or a dependency is
// disabled, or the daemon is shutting down.
func (s *supervisor) checkStartable(name string) *messages.Error {
	if s.shutting {
		return shuttingDown()
	}
	for _, n := range s.closure(name) {
		if s.recs[n].state == StateDisabled {
			return precondition("module %q is disabled in the config", n)
		}
	}
	return nil
}

// checkPort refuses a port another running module uses.
func (s *supervisor) checkPort(name string, eff ModuleConfig) error {
	if eff.Port == 0 || eff.Type == TypeThread {
		return nil
	}
	for _, other := range s.recs {
		if other.name != name && other.eff.Port == eff.Port && other.eff.Type != TypeThread && !isDown(other.state) {
			return fmt.Errorf("port %d is in use by module %q", eff.Port, other.name)
		}
	}
	return nil
}

// requestStart asks for name and its dependencies to run (checkStartable
// first). A start clears the failure count.
func (s *supervisor) requestStart(name string) *messages.Error {
	if e := s.checkStartable(name); e != nil {
		return e
	}
	s.markStart(name)
	return nil
}

// markStart is requestStart once checkStartable passed.
func (s *supervisor) markStart(name string) {
	for _, n := range s.closure(name) {
		rec := s.recs[n]
		stopTimer(&rec.cooldown)
		if rec.want && (rec.state == StateRunning || s.onItsWay(rec)) {
			continue
		}
		rec.want, rec.why = true, ""
		switch rec.state {
		case StateRunning, StateStarting:
		case StateStopping: // start again once down
			rec.restart = true
		default:
			stopTimer(&rec.backoff) // an explicit start does not wait
			rec.window.Reset()
			rec.capped = 0
			rec.pending = true
		}
	}
}

// closure lists name and everything it depends on, in dependency order.
func (s *supervisor) closure(name string) []string {
	need := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if need[n] || s.recs[n] == nil {
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

// advance starts pending modules whose dependencies run, gives up on those
// whose dependencies won't, and during StopAll stops modules whose
// dependents are all down.
func (s *supervisor) advance() {
	for _, n := range s.order {
		rec := s.recs[n]
		if !rec.pending || rec.state == StateStopping || rec.state == StateStarting || rec.state == StateRunning {
			continue
		}
		ready := true
		for _, d := range rec.cfg.DependsOn {
			dep := s.recs[d]
			switch {
			case dep.state == StateRunning && !dep.restart:
			case dep.want:
				ready = false // on its way
			default:
				ready = false
				s.unwant(rec, fmt.Sprintf("dependency %q is %s", d, dep.state))
				s.settle(rec)
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

// settle answers every waiter of rec whose goal is reached or no longer
// reachable. setState calls it on every transition, and afterMessage after
// every message: no waiter outlives the state that decides it.
func (s *supervisor) settle(rec *record) {
	if len(rec.waiters) == 0 {
		return
	}
	type answer struct {
		w *waiter
		e *messages.Error
	}
	var done []answer
	keep := rec.waiters[:0]
	for _, w := range rec.waiters {
		if ok, e := s.verdict(rec, w); ok {
			done = append(done, answer{w, e})
		} else {
			keep = append(keep, w)
		}
	}
	clear(rec.waiters[len(keep):])
	rec.waiters = keep
	if len(done) == 0 {
		return
	}
	st := s.moduleStatus(rec)
	for _, a := range done {
		s.respond(a.w, st, a.e)
	}
}

// verdict says whether w is answered by rec's state, and with which error.
func (s *supervisor) verdict(rec *record, w *waiter) (bool, *messages.Error) {
	if w.goal == goalDown {
		switch {
		case isDown(rec.state):
			return true, nil
		case rec.want && !rec.restart:
			return true, precondition("module %q: the stop was overtaken by a later start", rec.name)
		}
		return false, nil
	}
	switch {
	case rec.state == StateRunning && rec.want && !rec.restart:
		return true, nil
	case rec.want && s.awaitsLead(rec):
		return true, notLeading(rec.name)
	case rec.want && (rec.pending || rec.restart || rec.state == StateStarting || rec.state == StateStopping):
		return false, nil // on its way
	case rec.state == StateBackoff:
		return true, precondition("module %q did not start: %s (next try after its backoff)", rec.name, rec.lastErr)
	case rec.state == StateFailed, rec.state == StateExited, rec.state == StateDisabled:
		if rec.lastErr != "" {
			return true, precondition("module %q is %s: %s", rec.name, rec.state, rec.lastErr)
		}
		return true, precondition("module %q is %s", rec.name, rec.state)
	case !rec.want && s.shutting:
		return true, shuttingDown()
	case !rec.want:
		return true, precondition("module %q not started: %s", rec.name, rec.why)
	}
	return true, precondition("module %q is %s", rec.name, rec.state)
}

// respond answers w.
func (s *supervisor) respond(w *waiter, st *messages.ModuleStatus, e *messages.Error) {
	switch {
	case w.done != nil:
		w.done(st, e)
	case w.kind == waitStop:
		s.reply(w.to, &messages.ModuleStopResponse{Status: st, Error: e})
	case w.kind == waitRestart:
		s.reply(w.to, &messages.ModuleRestartResponse{Status: st, Error: e})
	default:
		s.reply(w.to, &messages.ModuleStartResponse{Status: st, Error: e})
	}
}

func (s *supervisor) onAutostart(ctx actor.Context) {
	if !s.running.loaded {
		s.running.deferred = append(s.running.deferred, ctx.Sender())
		return
	}
	s.autostart(ctx.Sender())
}

// autostart starts daemon.autostart, and the running set of the last
// daemon if resurrect is on, and answers to once all settled.
func (s *supervisor) autostart(to *actor.PID) {
	s.nextRun++
	id := s.nextRun
	run := &autostartRun{to: to, names: s.autostartNames()}
	errs := map[string]string{}
	for _, n := range run.names {
		if _, e := s.lookup(n); e != nil {
			errs[n] = e.Message
			continue
		}
		if e := s.requestStart(n); e != nil {
			errs[n] = e.Message
		}
	}
	run.errs = errs
	self, root := s.self, s.root
	run.timer = time.AfterFunc(s.autostartDeadline(), func() { root.Send(self, autostartExpired{id: id}) })
	s.autostarts[id] = run
	s.advance()
	s.finishAutostart(id, false)
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
		s.finishAutostart(id, false)
	}
}

// finishAutostart answers the run once every module settled (or expired).
// It runs after every message: until then it only looks.
func (s *supervisor) finishAutostart(id uint64, expired bool) {
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
		case s.awaitsLead(rec): // starts here if this node is elected
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
		if rec := s.recs[n]; run.errs[n] == "" && rec != nil && rec.state != StateRunning && !autostartFailed(rec) && !s.awaitsLead(rec) {
			return false
		}
	}
	return true
}

// autostartFailed reports whether rec settled without running.
func autostartFailed(rec *record) bool {
	return isDown(rec.state) && !rec.want
}

func (s *supervisor) onStopAll(ctx actor.Context) {
	s.shutting = true
	if ctx.Sender() != nil {
		s.stopAll = append(s.stopAll, ctx.Sender())
	}
	for _, rec := range s.all() {
		s.unwant(rec, ErrShuttingDown.Error())
		stopTimer(&rec.cooldown)
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
			stopTimer(&rec.backoff)
			s.publish(rec, "stopped", 0, rec.lastExit, ErrShuttingDown.Error())
			s.setState(rec, StateStopped)
			continue
		}
		s.sendStop(rec)
	}
	for _, rec := range s.all() {
		if !isDown(rec.state) {
			return
		}
	}
	waiters, root := s.stopAll, s.root
	s.stopAll = nil
	answer := func() {
		for _, to := range waiters {
			root.Send(to, &StopAllResult{})
		}
	}
	if len(waiters) > 0 && !fileIO(answer) { // after the PID files and log lines queued so far
		answer()
	}
}

func isDown(state string) bool {
	switch state {
	case StateStopped, StateFailed, StateExited, StateDisabled:
		return true
	}
	return false
}
