// Package leader runs the trading part of a clustered daemon, the order
// actor and the strategy host, on the node that leads the "trading"
// election only (issue 12, singleton modules). Every node runs one leader
// actor: while it leads, it runs the two for the term the election gave it
// (its fencing token and guard go to the order actor); while it does not,
// it runs the journal follower, which keeps this node's copy of the
// leader's journal. The trading.* methods and the daemon's shutdown
// requests go to this actor, which forwards them to the term's actors or,
// on a standby, answers that another node leads.
package leader

import (
	"fmt"
	"log/slog"
	"reflect"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/messages"
)

// Kind is the actor's name in the supervision tree.
const Kind = "trading-leader"

// Election is the name of the election the trading part runs under.
const Election = election.Trading

// Deps are the leader actor's collaborators.
type Deps struct {
	// Election is the props of the "trading" election actor
	// (election.Props); its Elected and Deposed come to this actor.
	Election *actor.Props
	// Orders returns the order actor's props for one term.
	Orders func(el *election.Elected) *actor.Props
	// Strategies returns the strategy host's props for one term, given
	// its order actor.
	Strategies func(el *election.Elected, orders *actor.PID) *actor.Props
	// Follower returns the journal follower's props (run while this node
	// does not lead); nil: none.
	Follower func() *actor.Props
	// Leading, when set, is told when a term's actors start (true) and
	// when they are told to stop (false); the daemon publishes it in the
	// node's cluster record (cluster.Leads), so that other nodes relay
	// trading.* here.
	Leading func(leading bool)
	// Logger may be nil.
	Logger *slog.Logger
}

// StatusRequest asks for a Status.
type StatusRequest struct{}

// Status is the leader actor's state.
type Status struct {
	// Leading holds while the term's order actor and strategy host run.
	Leading bool
	// Term is the current term's fencing token (0 when not leading).
	Term int64
	// State is "standby", "starting", "leading" or "stepping down".
	State string
	// Terms counts the terms this node has led since it started.
	Terms int
}

// Props returns the leader actor's props.
func Props(deps Deps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	routes := map[reflect.Type]routed{}
	for _, rt := range orders.Routes(nil) {
		routes[reflect.TypeOf(rt.New())] = routed{orders.Kind, rt}
	}
	for _, rt := range strategies.Routes(nil) {
		routes[reflect.TypeOf(rt.New())] = routed{strategies.Kind, rt}
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &leader{deps: deps, log: deps.Logger, routes: routes}
	})
}

// routed is where a trading request goes: the actor kind and its route.
type routed struct {
	kind string
	rt   rpc.Route
}

type state int

const (
	standby  state = iota // not leading: the follower runs
	starting              // elected: waiting for the follower to close the journal
	leading               // the term's order actor and strategy host run
	stepping              // deposed: waiting for them to stop
)

func (s state) String() string {
	return [...]string{"standby", "starting", "leading", "stepping down"}[s]
}

type leader struct {
	deps       Deps
	log        *slog.Logger
	routes     map[reflect.Type]routed
	state      state
	term       *election.Elected // the term being started or led
	pending    *election.Elected // elected again while stepping down
	election   *actor.PID
	follower   *actor.PID
	orders     *actor.PID
	strategies *actor.PID
	terms      int
	stopping   bool // the actor is stopping: no term starts, no follower
}

// Receive is the leader actor's behaviour.
func (a *leader) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.election = ctx.Spawn(a.deps.Election)
		a.startFollower(ctx)
	case *actor.Stopping:
		a.stopping = true // protoactor stops the children next
		a.tell(false)
	case *election.Elected:
		if !a.stopping {
			a.onElected(ctx, msg)
		}
	case *election.Deposed:
		if !a.stopping {
			a.onDeposed(ctx, msg)
		}
	case *actor.Terminated:
		a.onTerminated(ctx, msg.Who)
	case StatusRequest:
		ctx.Respond(a.status())
	case *strategies.SaveAll:
		a.forwardOr(ctx, a.strategies, &strategies.SaveAllResult{})
	case *orders.PrepareStop:
		a.forwardOr(ctx, a.orders, &orders.PrepareStopResult{})
	case *actor.Stopped, *actor.Restarting:
	case proto.Message:
		a.route(ctx, msg)
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *leader) status() *Status {
	st := &Status{Leading: a.state == leading, State: a.state.String(), Terms: a.terms}
	if a.state == leading {
		st.Term = a.term.Token
	}
	return st
}

// onElected starts a term: the follower closes the journal first.
func (a *leader) onElected(ctx actor.Context, el *election.Elected) {
	switch a.state {
	case stepping:
		a.pending = el
		return
	case leading:
		// A new term without a deposal between (not expected): stop the old one first.
		a.pending = el
		a.stepDown(ctx)
		return
	}
	a.term, a.state = el, starting
	a.log.Info("trading leader elected", "term", el.Token)
	if a.follower != nil {
		ctx.Stop(a.follower)
		return
	}
	a.startTerm(ctx)
}

func (a *leader) startTerm(ctx actor.Context) {
	a.orders = ctx.Spawn(a.deps.Orders(a.term))
	a.strategies = ctx.Spawn(a.deps.Strategies(a.term, a.orders))
	a.state = leading
	a.terms++
	a.log.Info("trading started on this node", "term", a.term.Token)
	a.tell(true)
}

// tell passes a change of leadership to Deps.Leading.
func (a *leader) tell(leading bool) {
	if a.deps.Leading != nil {
		a.deps.Leading(leading)
	}
}

func (a *leader) onDeposed(ctx actor.Context, d *election.Deposed) {
	a.pending = nil
	switch a.state {
	case starting:
		a.log.Warn("trading leadership lost before the term started", "term", d.Token, "reason", d.Reason)
		a.term, a.state = nil, standby
		if a.follower == nil {
			a.startFollower(ctx)
		}
	case leading:
		a.log.Warn("trading leadership lost: stopping trading on this node", "term", d.Token, "reason", d.Reason)
		a.stepDown(ctx)
	}
}

// stepDown stops the term's actors at once: the guard already refuses
// every action, and a deposed node must not cancel or close anything.
func (a *leader) stepDown(ctx actor.Context) {
	a.state = stepping
	a.tell(false)
	if a.strategies != nil {
		ctx.Stop(a.strategies)
	}
	if a.orders != nil {
		ctx.Stop(a.orders)
	}
	a.afterStop(ctx)
}

func (a *leader) onTerminated(ctx actor.Context, who *actor.PID) {
	if a.stopping {
		return
	}
	switch {
	case a.follower != nil && who.Equal(a.follower):
		a.follower = nil
		if a.state == starting {
			a.startTerm(ctx)
		}
	case a.orders != nil && who.Equal(a.orders):
		a.orders = nil
		a.afterStop(ctx)
	case a.strategies != nil && who.Equal(a.strategies):
		a.strategies = nil
		a.afterStop(ctx)
	}
}

// afterStop finishes a step-down once both actors have stopped (the
// order actor has closed the journal): the follower takes the file back,
// or a term that came meanwhile starts.
func (a *leader) afterStop(ctx actor.Context) {
	if a.state != stepping || a.orders != nil || a.strategies != nil {
		return
	}
	a.term, a.state = nil, standby
	if el := a.pending; el != nil {
		a.pending = nil
		a.onElected(ctx, el)
		return
	}
	a.startFollower(ctx)
}

func (a *leader) startFollower(ctx actor.Context) {
	if a.deps.Follower != nil {
		a.follower = ctx.Spawn(a.deps.Follower())
	}
}

// forwardOr forwards a daemon request to the term's actor, or answers
// empty when this node does not lead (nothing to save or prepare).
func (a *leader) forwardOr(ctx actor.Context, to *actor.PID, empty any) {
	if a.state == leading && to != nil {
		ctx.Forward(to)
		return
	}
	ctx.Respond(empty)
}

// route forwards a trading.* request to the term's actor, or answers it
// with an error naming why this node cannot.
func (a *leader) route(ctx actor.Context, msg proto.Message) {
	r, ok := a.routes[reflect.TypeOf(msg)]
	if !ok {
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
		return
	}
	to := a.orders
	if r.kind == strategies.Kind {
		to = a.strategies
	}
	if a.state == leading && to != nil {
		ctx.Forward(to)
		return
	}
	why := "this node does not lead trading: without the node param a call goes to the leader, once its record says it leads (`superbot cluster members`)"
	if a.state != standby {
		why = fmt.Sprintf("trading is %s on this node; retry shortly", a.state)
	}
	if ctx.Sender() != nil {
		ctx.Respond(errorReply(r.rt, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "%s", why)))
	}
}

// errorReply is the route's response message carrying e.
func errorReply(rt rpc.Route, e *messages.Error) proto.Message {
	out := rpc.ResultOf(rt)
	if out == nil {
		return e
	}
	fd := out.ProtoReflect().Descriptor().Fields().ByName("error")
	if fd == nil || fd.Message() == nil || fd.Message().FullName() != e.ProtoReflect().Descriptor().FullName() {
		return e
	}
	out.ProtoReflect().Set(fd, protoreflect.ValueOfMessage(e.ProtoReflect()))
	return out
}
