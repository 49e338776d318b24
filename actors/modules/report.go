package modules

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
)

// reported is what the parent last heard about one module.
type reported struct {
	state    string
	restarts uint32
	lastErr  string
	since    time.Time
}

// treeReporter pushes the modules' part of daemon.status to the parent
// (the root supervisor) as messages.StatusReport: in full when the
// supervisor starts, then only the modules that changed.
type treeReporter struct {
	parent *actor.PID
	last   map[string]reported
}

// treeState is the state a module shows in the tree.
func treeState(state string) string {
	switch state {
	case StateBackoff:
		return "restarting"
	case StateExited, StateDisabled:
		return StateStopped
	}
	return state
}

func (r reported) status(name string) *messages.ChildStatus {
	return &messages.ChildStatus{Name: name, State: r.state, Restarts: r.restarts, LastError: r.lastErr, Since: timestamppb.New(r.since)}
}

func (s *supervisor) snapshot(rec *record) reported {
	return reported{state: treeState(rec.state), restarts: rec.restarts, lastErr: rec.lastErr, since: rec.since}
}

// reportTree sends the parent what changed since the last report. It runs
// after every message and before every late reply, so that a client that
// got an answer sees its effect in daemon.status.
func (s *supervisor) reportTree() {
	rp := &s.reporter
	if rp.parent == nil {
		return
	}
	full := rp.last == nil
	if full {
		rp.last = make(map[string]reported, len(s.order))
	}
	var changed []*messages.ChildStatus
	for _, name := range s.order {
		rec := s.recs[name]
		now := s.snapshot(rec)
		if prev, ok := rp.last[name]; ok && prev == now {
			continue
		}
		rp.last[name] = now
		changed = append(changed, now.status(name))
	}
	if !full && len(changed) == 0 {
		return
	}
	rep := &messages.StatusReport{From: s.self}
	if full {
		rep.Tree, rep.TreeSet = changed, true
	} else {
		rep.Changed = changed
	}
	s.root.Send(rp.parent, rep)
}
