package election

import (
	"github.com/asynkron/protoactor-go/actor"
)

// ChildFactory returns the props of the singleton's actor for one term; it
// gets the Elected message (token and guard) so the actor can fence what it
// writes and ask Guard.MayAct before each action.
type ChildFactory func(el *Elected) *actor.Props

// SingletonProps returns the props of an actor that runs the election for
// name as its child and, only while this node leads, the singleton's actor
// (made by child for each term) as another child: started on Elected,
// stopped on Deposed. Elected and Deposed are forwarded to its own parent;
// Resign and StatusRequest go to the election.
func SingletonProps(name string, cfg Config, deps Deps, child ChildFactory) (*actor.Props, error) {
	props, err := Props(name, cfg, deps)
	if err != nil {
		return nil, err
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &singleton{electionProps: props, child: child}
	}), nil
}

type singleton struct {
	electionProps *actor.Props
	child         ChildFactory
	election      *actor.PID
	running       *actor.PID
}

func (s *singleton) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.election = ctx.Spawn(s.electionProps)
	case *Elected:
		s.stopRunning(ctx)
		s.running = ctx.Spawn(s.child(msg))
		s.forward(ctx, msg)
	case *Deposed:
		s.stopRunning(ctx)
		s.forward(ctx, msg)
	case Resign:
		ctx.Send(s.election, msg)
	case StatusRequest:
		ctx.Forward(s.election)
	case *actor.Terminated:
		if s.running != nil && msg.Who.Equal(s.running) {
			s.running = nil
		}
	}
}

func (s *singleton) stopRunning(ctx actor.Context) {
	if s.running != nil {
		ctx.Stop(s.running)
		s.running = nil
	}
}

func (s *singleton) forward(ctx actor.Context, msg any) {
	if p := ctx.Parent(); p != nil {
		ctx.Send(p, msg)
	}
}
