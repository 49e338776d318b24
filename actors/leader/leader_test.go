package leader

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/cluster/election"
	"github.com/superbot/superbot/actors/internal/actortest"
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

func expectLife(t *testing.T, p *actortest.Probe, name string, term int64, up bool) {
	t.Helper()
	got := actortest.Expect[lifeEvent](t, p, 5*time.Second)
	if got != (lifeEvent{name, term, up}) {
		t.Fatalf("got %+v, want %+v", got, lifeEvent{name, term, up})
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
		Strategies: func(*actor.PID) *actor.Props { return lifeProps("strategies", 0, probe.PID) },
		Follower:   func() *actor.Props { return lifeProps("follower", 0, probe.PID) },
	})
	pid := actortest.Spawn(t, sys, props)
	el := actortest.Expect[*actor.PID](t, probe, 5*time.Second)
	expectLife(t, probe, "follower", 0, true)

	res := actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), "does not lead") {
		t.Fatalf("standby answered %v", res)
	}
	if r := actortest.Request[*strategies.SaveAllResult](t, sys, pid, &strategies.SaveAll{}); r.Saved != 0 {
		t.Fatalf("standby SaveAll = %+v", r)
	}

	sys.Root.Send(el, elect{5})
	expectLife(t, probe, "follower", 0, false)
	expectLife(t, probe, "orders", 5, true)
	expectLife(t, probe, "strategies", 0, true)
	res = actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError() != nil || len(res.GetOrders()) != 1 || res.GetOrders()[0].GetTerm() != 5 {
		t.Fatalf("leader answered %v", res)
	}
	if st := actortest.Request[*Status](t, sys, pid, StatusRequest{}); !st.Leading || st.Term != 5 || st.Terms != 1 {
		t.Fatalf("status %+v", st)
	}

	sys.Root.Send(el, depose{5})
	sys.Root.Send(el, elect{9})
	stopped := map[string]bool{}
	for range 2 {
		ev := actortest.Expect[lifeEvent](t, probe, 5*time.Second)
		if ev.up {
			t.Fatalf("%+v started before the term's actors stopped", ev)
		}
		stopped[ev.name] = true
	}
	if !stopped["orders"] || !stopped["strategies"] {
		t.Fatalf("stopped %v", stopped)
	}
	expectLife(t, probe, "orders", 9, true) // no follower between: the new term came first
	expectLife(t, probe, "strategies", 0, true)

	sys.Root.Send(el, depose{9})
	for range 2 {
		if ev := actortest.Expect[lifeEvent](t, probe, 5*time.Second); ev.up {
			t.Fatalf("%+v started before the term's actors stopped", ev)
		}
	}
	expectLife(t, probe, "follower", 0, true)
	res = actortest.Request[*messages.TradeOrdersResponse](t, sys, pid, &messages.TradeOrdersRequest{})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("deposed node answered %v", res)
	}
}
