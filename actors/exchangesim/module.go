package exchangesim

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// ErrStart wraps why the simulator could not start; the module actor that
// hosts it crashes and is restarted (or failed) by its supervisor.
var ErrStart = errors.New("exchange-sim: start")

// ModuleProps returns the props of the actor that hosts the simulator as a
// thread module: it builds and starts the exchange when it starts and
// closes it when it stops or restarts. cfg must be valid.
func ModuleProps(cfg Config, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &moduleActor{cfg: cfg, log: log} })
}

type moduleActor struct {
	cfg Config
	log *slog.Logger
	ex  *Exchange
}

func (a *moduleActor) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		a.start()
	case *actor.Stopping, *actor.Restarting:
		a.close()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Name})
	}
}

func (a *moduleActor) start() {
	ex, err := New(a.cfg, WithLogger(a.log))
	if err == nil {
		err = ex.Start()
	}
	if err != nil {
		panic(fmt.Errorf("%w: %w", ErrStart, err))
	}
	a.ex = ex
	a.log.Info("exchange simulator listening", "url", ex.BaseURL())
}

func (a *moduleActor) close() {
	if a.ex != nil {
		_ = a.ex.Close()
		a.ex = nil
	}
}
