// Package election is the fenced singleton election: one actor per
// singleton name campaigns on etcd (etcd.Client.Campaign, concurrency's
// election, on a lease of Config.TTL) and tells its parent Elected{Name, Token, Guard} and
// Deposed{Name, Token, Reason}. The token is the election key's create
// revision: strictly increasing across leaders, it fences whatever the
// singleton writes. The leader may act only while Guard.MayAct answers true:
// while its last successful lease renewal was SENT less than TTL - Margin
// ago (etcd renewed it after the send, so it lives at least TTL past it).
// When the proof runs out (etcd unreachable, node paused or cut off) the actor
// deposes itself, publishes an alert and campaigns again; nobody leads
// while etcd is away. On stop it resigns, so a standby takes over at once.
package election

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/cluster/etcd"
	"github.com/superbot/superbot/messages"
)

// Kind is the actor kind (bus event source).
const Kind = "election"

// AlertTopic is where an involuntary deposal is published (ElectionAlert).
const AlertTopic = "alert.cluster.election"

// Deps are the election's collaborators.
type Deps struct {
	// Client is the etcd client (owned by the caller; required).
	Client *etcd.Client
	// Node names this node; it is the election key's value.
	Node string
	// Bus receives alerts; may be nil.
	Bus *actor.PID
	// Guard is the guard the singleton asks; nil: the actor makes one
	// (Elected carries it either way).
	Guard *Guard
	// Clock drives the guard when Guard is nil; nil: time.Now.
	Clock Clock
	// Log may be nil.
	Log *slog.Logger
}

// Props returns the props of the election actor for name.
func Props(name string, cfg Config, deps Deps) (*actor.Props, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := ValidateName(name); err != nil {
		return nil, err
	}
	if deps.Client == nil {
		return nil, errors.New("election: etcd client is required")
	}
	if deps.Guard == nil {
		deps.Guard = NewGuard(deps.Clock)
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &elector{name: name, cfg: cfg, deps: deps, log: deps.Log.With("election", name)}
	}), nil
}

type elector struct {
	name   string
	cfg    Config
	deps   Deps
	log    *slog.Logger
	root   *actor.RootContext
	self   *actor.PID
	parent *actor.PID
	terms  uint64
	cur    *term // nil between a term's end and the retry
	leader bool
	token  int64
	timer  *time.Timer
	stale  []etcd.LeaseID
}

// maxStale bounds the leases kept for revoking later.
const maxStale = 8

func (e *elector) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		e.root, e.self, e.parent = ctx.ActorSystem().Root, ctx.Self(), ctx.Parent()
		e.startTerm()
	case termWon:
		e.onWon(ctx, msg)
	case proofCheck:
		e.onCheck(ctx, msg)
	case termEnded:
		if e.cur != nil && msg.id == e.cur.id {
			e.endTerm(ctx, msg.reason, false)
			e.scheduleRetry()
		}
	case retry:
		if e.cur == nil && msg.id == e.terms {
			e.startTerm()
		}
	case Resign:
		if e.leader {
			e.endTerm(ctx, "resigned", true)
			e.scheduleRetry()
		}
	case staleLease:
		if len(e.stale) < maxStale {
			e.stale = append(e.stale, msg.id)
		}
	case StatusRequest:
		ctx.Respond(Status{Name: e.name, Leader: e.leader, Token: e.token, Terms: e.terms})
	case *actor.Stopping, *actor.Restarting:
		if e.cur != nil {
			e.endTerm(ctx, "stopped", true)
		}
		e.stopTimer()
	}
}

func (e *elector) startTerm() {
	e.terms++
	tctx, cancel := context.WithCancel(context.Background())
	e.cur = &term{
		id: e.terms, cli: e.deps.Client, key: e.cfg.Prefix + e.name, node: e.deps.Node, cfg: e.cfg,
		guard: e.deps.Guard, proof: &proof{}, root: e.root, self: e.self, log: e.log, ctx: tctx, cancel: cancel,
		stale: e.stale,
	}
	e.stale = nil
	go e.cur.run()
}

func (e *elector) onWon(ctx actor.Context, msg termWon) {
	if e.cur == nil || msg.id != e.cur.id || e.leader {
		return
	}
	e.deps.Guard.arm(e.cur.proof, msg.token)
	if _, ok := e.deps.Guard.MayAct(); !ok {
		e.deps.Guard.disarm()
		e.log.Warn("election won with an expired lease proof", "token", msg.token)
		e.endTerm(ctx, "won with an expired lease proof", false)
		e.scheduleRetry()
		return
	}
	e.leader, e.token = true, msg.token
	e.log.Info("election won", "token", msg.token, "node", e.deps.Node)
	if e.parent != nil {
		ctx.Send(e.parent, &Elected{Name: e.name, Token: msg.token, Guard: e.deps.Guard})
	}
	e.armCheck(msg.id)
}

// onCheck deposes the leader whose proof ran out, or re-arms the timer.
func (e *elector) onCheck(ctx actor.Context, msg proofCheck) {
	if !e.leader || e.cur == nil || msg.id != e.cur.id {
		return
	}
	if _, ok := e.deps.Guard.MayAct(); ok {
		e.armCheck(msg.id)
		return
	}
	e.endTerm(ctx, "lease proof expired (no renewal sent within ttl - margin succeeded)", false)
	e.scheduleRetry()
}

// armCheck wakes the actor just after the current proof would run out.
func (e *elector) armCheck(id uint64) {
	e.stopTimer()
	d := e.deps.Guard.Until() + time.Millisecond
	root, self := e.root, e.self
	e.timer = time.AfterFunc(d, func() { root.Send(self, proofCheck{id: id}) })
}

func (e *elector) scheduleRetry() {
	e.stopTimer()
	root, self, id := e.root, e.self, e.terms
	e.timer = time.AfterFunc(e.cfg.RetryDelay, func() { root.Send(self, retry{id: id}) })
}

func (e *elector) stopTimer() {
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
}

// endTerm disarms the guard first, then cancels the term (resigning when
// asked) and tells the parent; an involuntary deposal also raises an alert.
func (e *elector) endTerm(ctx actor.Context, reason string, resign bool) {
	wasLeader, token := e.leader, e.token
	e.deps.Guard.disarm()
	e.leader, e.token = false, 0
	t := e.cur
	e.cur = nil
	if resign {
		t.setResign()
	}
	t.cancel()
	if !wasLeader {
		e.log.Debug("election term ended", "reason", reason)
		return
	}
	e.log.Warn("election deposed", "token", token, "reason", reason)
	if e.parent != nil {
		ctx.Send(e.parent, &Deposed{Name: e.name, Token: token, Reason: reason})
	}
	if !resign && e.deps.Bus != nil {
		ctx.Send(e.deps.Bus, messages.NewEvent(AlertTopic, Kind,
			&messages.ElectionAlert{Name: e.name, Node: e.deps.Node, Token: token, Reason: reason}))
	}
}
