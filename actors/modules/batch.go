package modules

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/messages"
)

// batch is one request over several modules (module.start all, module.stop
// all, ApplyConfig) in progress: each module's answer comes through a
// waiter, and finish runs once every one is in.
type batch struct {
	names   []string // in the order of the answer
	results map[string]*messages.ModuleResult
	step    func() bool // issues what may go next; true when all is issued
	issued  bool
	finish  func(b *batch)
}

func newBatch() *batch {
	return &batch{results: map[string]*messages.ModuleResult{}}
}

// waiter returns a waiter whose answer is name's result.
func (b *batch) waiter(g goal, name string) *waiter {
	b.expect(name)
	return &waiter{goal: g, done: func(st *messages.ModuleStatus, e *messages.Error) { b.set(name, st, e) }}
}

// expect adds name to the answer.
func (b *batch) expect(name string) {
	if !slices.Contains(b.names, name) {
		b.names = append(b.names, name)
	}
}

// set records name's result.
func (b *batch) set(name string, st *messages.ModuleStatus, e *messages.Error) {
	b.expect(name)
	b.results[name] = &messages.ModuleResult{Module: name, Status: st, Error: e}
}

// done reports whether every module of b has its result.
func (b *batch) done() bool {
	if b.step != nil && !b.issued {
		return false
	}
	for _, n := range b.names {
		if b.results[n] == nil {
			return false
		}
	}
	return true
}

// list is the results in the order of names.
func (b *batch) list() []*messages.ModuleResult {
	out := make([]*messages.ModuleResult, 0, len(b.names))
	for _, n := range b.names {
		out = append(out, b.results[n])
	}
	return out
}

// checkBatches moves every batch on and finishes those that are complete.
func (s *supervisor) checkBatches() {
	keep := s.batches[:0]
	var finished []*batch
	for _, b := range s.batches {
		if b.step != nil && !b.issued {
			b.issued = b.step()
		}
		if b.done() {
			finished = append(finished, b)
		} else {
			keep = append(keep, b)
		}
	}
	clear(s.batches[len(keep):])
	s.batches = keep
	for _, b := range finished {
		b.finish(b)
	}
}

// startAll is module.start all: every enabled module, in dependency order
// (a module already running is a success). Answered once each settled.
func (s *supervisor) startAll(to *actor.PID, params *structpb.Struct) {
	if len(params.GetFields()) > 0 {
		s.reply(to, &messages.ModuleStartResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "params cannot be given with module %q", AllModules)})
		return
	}
	b := newBatch()
	for _, n := range s.order {
		rec := s.recs[n]
		switch {
		case rec.state == StateDisabled:
		case rec.state == StateRunning && !rec.restart:
			b.set(n, s.moduleStatus(rec), nil)
		default:
			if e := s.startOne(rec, nil, b.waiter(goalUp, n)); e != nil {
				b.set(n, s.moduleStatus(rec), e)
			}
		}
	}
	b.finish = func(b *batch) { s.reply(to, &messages.ModuleStartResponse{Results: b.list()}) }
	s.batches = append(s.batches, b)
}

// stopAllModules is module.stop all: every module, each once the modules
// that depend on it are down. Answered once all are down.
func (s *supervisor) stopAllModules(to *actor.PID) {
	b := newBatch()
	order := slices.Clone(s.order)
	slices.Reverse(order)
	for _, n := range order {
		b.expect(n)
	}
	issued := map[string]bool{}
	b.step = func() bool {
		all := true
		for _, n := range order {
			rec := s.recs[n]
			if issued[n] {
				continue
			}
			if rec == nil { // removed by a reload meanwhile
				issued[n] = true
				b.set(n, nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "module %q was removed from the config", n))
				continue
			}
			if !s.dependentsDown(n) {
				all = false
				continue
			}
			issued[n] = true
			s.stopOne(rec, b.waiter(goalDown, n))
		}
		return all
	}
	b.finish = func(b *batch) { s.reply(to, &messages.ModuleStopResponse{Results: b.list()}) }
	b.issued = b.step()
	s.batches = append(s.batches, b)
}

// dependentsDown reports whether every module depending on name is down.
func (s *supervisor) dependentsDown(name string) bool {
	for _, d := range s.dependents(name) {
		if !isDown(s.recs[d].state) {
			return false
		}
	}
	return true
}
