package election

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
)

// lifecycle is what a singleton child reports to the test.
type lifecycle struct {
	node    string
	token   int64
	started bool // false: stopping
	mayAct  bool
}

func TestSingletonRunsChildOnlyWhileElected(t *testing.T) {
	e := localEtcd(t)
	sys := actortest.NewSystem(t)
	events := actortest.NewProbe(t, sys)
	spawn := func(node string) *actor.PID {
		props, err := SingletonProps("trading", DefaultConfig(),
			Deps{Client: newClient(t, e.Endpoint), Node: node, Log: actortest.Logger(t)},
			func(el *Elected) *actor.Props {
				return actor.PropsFromFunc(func(ctx actor.Context) {
					switch ctx.Message().(type) {
					case *actor.Started:
						_, ok := el.Guard.MayAct()
						ctx.Send(events.PID, lifecycle{node: node, token: el.Token, started: true, mayAct: ok})
					case *actor.Stopping:
						_, ok := el.Guard.MayAct()
						ctx.Send(events.PID, lifecycle{node: node, token: el.Token, mayAct: ok})
					}
				})
			})
		if err != nil {
			t.Fatal(err)
		}
		return actortest.Spawn(t, sys, props)
	}
	a := spawn("a")
	first := actortest.Expect[lifecycle](t, events, 10*time.Second)
	if first.node != "a" || !first.started || !first.mayAct || first.token <= 0 {
		t.Fatalf("first child: %+v", first)
	}
	st := actortest.Request[Status](t, sys, a, StatusRequest{})
	if !st.Leader || st.Token != first.token {
		t.Fatalf("status %+v", st)
	}
	spawn("b")
	events.ExpectNoMessage(300 * time.Millisecond) // b's child does not run

	sys.Root.Send(a, Resign{})
	// The two children report from their own goroutines: match by node.
	got := map[string]lifecycle{}
	for range 2 {
		ev := actortest.Expect[lifecycle](t, events, 5*time.Second)
		got[ev.node] = ev
	}
	stopped, second := got["a"], got["b"]
	if stopped.node != "a" || stopped.started || stopped.mayAct {
		t.Fatalf("a's child on deposal: %+v (must be stopping and fenced)", stopped)
	}
	if second.node != "b" || !second.started || second.token <= first.token {
		t.Fatalf("second child: %+v after token %d", second, first.token)
	}
}
