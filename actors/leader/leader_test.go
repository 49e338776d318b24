package leader

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeElection tells the probe its PID, and its parent Elected or Deposed
// when told to.
type fakeElection struct{ probe *actor.PID }

type (
	elect  struct{ token int64 }
	depose struct{ token int64 }
)

func (f fakeElection) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(f.probe, ctx.Self())
	case elect:
		ctx.Send(ctx.Parent(), &election.Elected{Name: Election, Token: m.token, Guard: election.NewGuard(nil)})
	case depose:
		ctx.Send(ctx.Parent(), &election.Deposed{Name: Election, Token: m.token, Reason: "test"})
	}
}

// life reports an actor's start and stop to a probe, and answers
// trading.orders with its term in the reason of one order.
type life struct {
	name  string
	term  int64
	probe *actor.PID
}

type lifeEvent struct {
	name string
	term int64
	up   bool
}

func (l *life) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		ctx.Send(l.probe, lifeEvent{l.name, l.term, true})
	case *actor.Stopped:
		ctx.Send(l.probe, lifeEvent{l.name, l.term, false})
	case *messages.TradeOrdersRequest:
		ctx.Respond(&messages.TradeOrdersResponse{Orders: []*messages.TradeOrder{{Term: l.term}}})
	case *strategies.SaveAll:
		ctx.Respond(&strategies.SaveAllResult{Saved: 1})
	}
}

func lifeProps(name string, term int64, probe *actor.PID) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &life{name: name, term: term, probe: probe} })
}

// events reads n life events; the actors send them from their own
// goroutines, so only causally ordered ones arrive in order.
func events(t *testing.T, p *actortest.Probe, n int) []lifeEvent {
	t.Helper()
	out := make([]lifeEvent, n)
	for i := range out {
		out[i] = actortest.Expect[lifeEvent](t, p, 5*time.Second)
	}
	return out
}

// set is events as a set, for the ones that may come in any order.
func set(evs ...lifeEvent) map[lifeEvent]bool {
	out := map[lifeEvent]bool{}
	for _, e := range evs {
		out[e] = true
	}
	return out
}

func sameSet(t *testing.T, got []lifeEvent, want ...lifeEvent) {
	t.Helper()
	if len(got) != len(want) || len(set(got...)) != len(want) {
		t.Fatalf("got %+v, want %+v in any order", got, want)
	}
	for _, w := range want {
		if !set(got...)[w] {
			t.Fatalf("got %+v, want %+v in any order", got, want)
		}
	}
}

// TestLeaderRunsTradingOnlyWhileElected: a standby runs the follower and
// refuses trading.* with UNAVAILABLE; elected, it stops the follower
// BEFORE the order actor of the term starts, and forwards; deposed, it
// stops the term's actors before the follower takes the journal back; a
// term elected while stepping down starts after the old one has stopped.
func TestLeaderRunsTradingOnlyWhileElected(t *testing.T) {
	sys := actortest.NewSystem(t)
	probe := actortest.NewProbe(t, sys)
	props := Props(Deps{
		Election: actor.PropsFromProducer(func() actor.Actor { return fakeElection{probe.PID} }),
		Orders: func(e *election.Elected) *actor.Props {
			return lifeProps("orders", e.Token, probe.PID)
		},
		Strategies: func(*election.Elected, *actor.PID) *actor.Props { return lifeProps("strategies", 0, probe.PID) },
		Follower:   func() *actor.Props { return lifeProps("follower", 0, probe.PID) },
	})
	pid := actortest.Spawn(t, sys, props)
	var el *actor.PID
	var evs []lifeEvent
	for range 2 { // the election's PID and the follower's start, in any order
		m, ok := probe.Next(5 * time.Second)
		switch v := m.(type) {
		case *actor.PID:
			el = v
		case lifeEvent:
			evs = append(evs, v)
		default:
			t.Fatalf("got %T %v (%v)", m, m, ok)
		}
	}
	if el == nil {
		t.Fatal("no election")
	}
	sameSet(t, evs, lifeEvent{"follower", 0, true})

	res := actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), "does not lead") {
		t.Fatalf("standby answered %v", res)
	}
	if r := actortest.Request[*strategies.SaveAllResult](t, sys, pid, &strategies.SaveAll{}); r.Saved != 0 {
		t.Fatalf("standby SaveAll = %+v", r)
	}

	sys.Root.Send(el, elect{5})
	// The follower closes the journal before the term's actors start.
	evs = events(t, probe, 3)
	if evs[0] != (lifeEvent{"follower", 0, false}) {
		t.Fatalf("got %+v, want the follower stopped first", evs)
	}
	sameSet(t, evs[1:], lifeEvent{"orders", 5, true}, lifeEvent{"strategies", 0, true})
	res = actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError() != nil || len(res.GetOrders()) != 1 || res.GetOrders()[0].GetTerm() != 5 {
		t.Fatalf("leader answered %v", res)
	}
	if st := actortest.Request[*Status](t, sys, pid, StatusRequest{}); !st.Leading || st.Term != 5 || st.Terms != 1 {
		t.Fatalf("status %+v", st)
	}

	sys.Root.Send(el, depose{5})
	sys.Root.Send(el, elect{9})
	// Term 9 came while stepping down (it starts once both stopped) or
	// just after (the follower ran between): either way both old actors
	// stopped, and no follower runs, before the order actor of term 9.
	var seen []lifeEvent
	follower := false
	for !slices.Contains(seen, lifeEvent{"orders", 9, true}) || !slices.Contains(seen, lifeEvent{"strategies", 0, true}) {
		ev := actortest.Expect[lifeEvent](t, probe, 5*time.Second)
		if ev == (lifeEvent{"orders", 9, true}) && (follower || !slices.Contains(seen, lifeEvent{"orders", 5, false}) || !slices.Contains(seen, lifeEvent{"strategies", 0, false})) {
			t.Fatalf("term 9 started after %+v", seen)
		}
		if ev.name == "follower" {
			follower = ev.up
		}
		seen = append(seen, ev)
	}

	sys.Root.Send(el, depose{9})
	evs = events(t, probe, 3)
	sameSet(t, evs[:2], lifeEvent{"orders", 9, false}, lifeEvent{"strategies", 0, false})
	if evs[2] != (lifeEvent{"follower", 0, true}) {
		t.Fatalf("got %+v, want the follower started last", evs)
	}
	res = actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("deposed node answered %v", res)
	}
}

// TestEveryTradingRouteCarriesTheRefusal: a standby's refusal is the
// method's own response with its error field set, for every route the
// leader actor answers (a bare Error would read as a success).
func TestEveryTradingRouteCarriesTheRefusal(t *testing.T) {
	e := messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "no")
	for _, rt := range append(orders.Routes(nil), strategies.Routes(nil)...) {
		r, ok := errorReply(rt, e).(messages.Responder)
		if !ok || r.GetError() != e {
			t.Errorf("%s: the refusal is %T, not the method's response with the error", rt.Method, errorReply(rt, e))
		}
	}
}
