package modules

import (
	"maps"
	"strconv"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/messages"
)

// FencingTokenEnv carries a singleton module's fencing token (the term of
// its election this node leads) into its process.
const FencingTokenEnv = "SUPERBOT_FENCING_TOKEN"

// awaitsLead reports a singleton module this node does not lead: it is
// never started here until this node is elected.
func (s *supervisor) awaitsLead(rec *record) bool { return rec.single && !rec.leads }

// notLeading answers a start of a singleton module this node does not lead.
func notLeading(name string) *messages.Error {
	return precondition("module %q is a singleton and this node does not lead its election %q: it starts here only if this node is elected (`superbot cluster members` shows who leads it)",
		name, election.ModuleElection(name))
}

// syncElection starts the election of a module that is a singleton (and
// the daemon clustered), or stops the election of one that no longer is.
func (s *supervisor) syncElection(ctx actor.Context, rec *record) {
	want := rec.cfg.Singleton && s.deps.Elect != nil
	switch {
	case want && rec.election == nil:
		props, err := s.deps.Elect(election.ModuleElection(rec.name))
		if err != nil {
			s.log.Error("singleton module without an election: it will not start", "module", rec.name, "err", err)
			rec.single = true // never started here
			return
		}
		rec.single, rec.election = true, ctx.Spawn(props)
	case !want && rec.election != nil:
		s.stopElection(rec)
	}
}

// stopElection stops rec's election (resigning it) and forgets the lead.
func (s *supervisor) stopElection(rec *record) {
	if rec.election != nil {
		s.root.Stop(rec.election)
		rec.election = nil
	}
	s.setLead(rec, false, 0)
	rec.single = false
}

func (s *supervisor) setLead(rec *record, leads bool, token int64) {
	changed := rec.leads != leads
	rec.leads, rec.token = leads, token
	if changed && s.deps.Leading != nil {
		s.deps.Leading(election.ModuleElection(rec.name), leads)
	}
}

// onElected: this node leads a singleton module; one that is wanted (by
// autostart or a start) starts now, with the term's token.
func (s *supervisor) onElected(m *election.Elected) {
	name, _ := election.ModuleOf(m.Name)
	rec := s.recs[name]
	if rec == nil || !rec.single {
		return
	}
	s.log.Info("singleton module: this node leads it", "module", rec.name, "token", m.Token)
	s.setLead(rec, true, m.Token)
}

// onDeposed: this node no longer leads a singleton module: it is killed at
// once (its lease is no longer provably alive), and starts again here only
// if this node is elected again.
func (s *supervisor) onDeposed(m *election.Deposed) {
	name, _ := election.ModuleOf(m.Name)
	rec := s.recs[name]
	if rec == nil || !rec.single {
		return
	}
	s.log.Warn("singleton module: this node no longer leads it; killing it", "module", rec.name, "token", m.Token, "reason", m.Reason)
	s.setLead(rec, false, 0)
	switch rec.state {
	case StateRunning, StateStarting, StateStopping:
		if rec.want {
			rec.restart = true // wanted again once down, if elected
		}
		rec.seq++
		s.setState(rec, StateStopping)
		s.root.Send(rec.child, stopModule{seq: rec.seq, kill: true})
	case StateBackoff:
		stopTimer(&rec.backoff)
		rec.pending = rec.want
		s.setState(rec, StateStopped)
	}
}

// startConfig is what a module starts with: a singleton's environment
// gets its fencing token.
func (s *supervisor) startConfig(rec *record) ModuleConfig {
	eff := rec.eff
	if rec.single {
		eff.Env = maps.Clone(eff.Env)
		if eff.Env == nil {
			eff.Env = map[string]string{}
		}
		eff.Env[FencingTokenEnv] = strconv.FormatInt(rec.token, 10)
	}
	return eff
}
