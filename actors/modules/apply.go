package modules

import (
	"reflect"
	"slices"
	"sort"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/restarts"
	"github.com/superbot/superbot/messages"
)

// onApplyConfig puts a reloaded modules config into effect (like
// supervisorctl update) and answers *ApplyConfigResult once every module it
// touched has settled.
func (s *supervisor) onApplyConfig(ctx actor.Context, msg *ApplyConfig) {
	res := &ApplyConfigResult{}
	to := ctx.Sender()
	if err := msg.Config.Validate(); err != nil {
		res.Problems = []string{err.Error()}
		s.reply(to, res)
		return
	}
	if s.shutting {
		res.Problems = []string{ErrShuttingDown.Error()}
		s.reply(to, res)
		return
	}
	next := msg.Config
	s.cfg = next
	b := newBatch()
	s.removeModules(next, res, b)
	added := s.updateModules(ctx, next, res, b)
	s.order = topoOrder(next.Modules)
	for _, n := range next.Autostart {
		if !added[n] {
			continue
		}
		res.Started = append(res.Started, n)
		if e := s.startOne(s.recs[n], nil, b.waiter(goalUp, n)); e != nil {
			b.set(n, s.moduleStatus(s.recs[n]), e)
		}
	}
	s.reporter.last = nil // the next report is the whole tree: modules came and went
	for _, l := range [][]string{res.Added, res.Removed, res.Changed, res.Started, res.Stopped, res.Restarted} {
		sort.Strings(l)
	}
	b.finish = func(b *batch) {
		for _, r := range b.list() {
			if r.Error != nil {
				res.Problems = append(res.Problems, r.Module+": "+r.Error.Message)
			}
		}
		s.log.Info("modules config applied", "added", res.Added, "removed", res.Removed, "changed", res.Changed, "problems", len(res.Problems))
		s.reply(to, res)
	}
	s.batches = append(s.batches, b)
}

// removeModules stops and forgets the modules next no longer has.
func (s *supervisor) removeModules(next Config, res *ApplyConfigResult, b *batch) {
	for _, name := range slices.Clone(s.order) {
		if _, ok := next.Modules[name]; ok {
			continue
		}
		rec := s.recs[name]
		res.Removed = append(res.Removed, name)
		delete(s.recs, name)
		rec.retiring = true
		s.gone = append(s.gone, rec)
		if isDown(rec.state) && rec.state != StateStopping {
			s.drop(rec)
			continue
		}
		res.Stopped = append(res.Stopped, name)
		s.stopOne(rec, b.waiter(goalDown, name))
	}
}

// updateModules adds the new modules and applies the changed ones; it
// returns the names added.
func (s *supervisor) updateModules(ctx actor.Context, next Config, res *ApplyConfigResult, b *batch) map[string]bool {
	added := map[string]bool{}
	global := next.globalPolicy()
	for _, name := range sortedNames(next.Modules) {
		mc := next.Modules[name].withDefaults()
		rec := s.recs[name]
		switch {
		case rec == nil:
			s.recs[name] = s.newRecord(ctx, name, mc)
			res.Added = append(res.Added, name)
			added[name] = true
		case !reflect.DeepEqual(rec.cfg, mc):
			res.Changed = append(res.Changed, name)
			rec.cfg = mc
			s.syncElection(ctx, rec) // before the restart: it starts only where it leads
			s.changeModule(rec, mc, global, res, b)
		default:
			rec.policy = mc.policy(global)
		}
	}
	return added
}

// changeModule gives rec its new config: a module that runs (or is on its
// way) is restarted with it; one now disabled is stopped.
func (s *supervisor) changeModule(rec *record, mc ModuleConfig, global restarts.Policy, res *ApplyConfigResult, b *batch) {
	rec.cfg, rec.eff, rec.policy = mc, mc, mc.policy(global)
	switch {
	case !mc.Enabled && isDown(rec.state):
		s.unwant(rec, "disabled in the config")
		s.setState(rec, StateDisabled)
	case !mc.Enabled:
		res.Stopped = append(res.Stopped, rec.name)
		w := b.waiter(goalDown, rec.name)
		set := w.done
		w.done = func(st *messages.ModuleStatus, e *messages.Error) {
			if isDown(rec.state) && !rec.want {
				s.setState(rec, StateDisabled)
				st = s.moduleStatus(rec)
			}
			set(st, e)
		}
		s.stopOne(rec, w)
	case rec.state == StateDisabled:
		s.setState(rec, StateStopped)
	case rec.want || !isDown(rec.state):
		res.Restarted = append(res.Restarted, rec.name)
		if e := s.restartOne(rec, b.waiter(goalUp, rec.name)); e != nil {
			b.set(rec.name, s.moduleStatus(rec), e)
		}
	}
}

// drop forgets a removed module once it is down: its actor is stopped and
// its log closed when the actor has gone.
func (s *supervisor) drop(rec *record) {
	s.unwant(rec, "removed from the config") // a start still waiting (pending) is answered now
	s.settle(rec)
	s.gone = slices.DeleteFunc(s.gone, func(r *record) bool { return r == rec })
	stopTimer(&rec.backoff)
	stopTimer(&rec.cooldown)
	s.stopElection(rec)
	s.root.Stop(rec.child)
}
