// Package heartbeat is a built-in thread module: it publishes
// monitoring.heartbeat on the bus every interval (param "interval",
// default 10s), proving the daemon's actors and bus are alive.
//
// Register it with modules.Registry.Register(heartbeat.Name, heartbeat.Factory)
// and configure it as [daemon.modules.heartbeat] type = "thread".
package heartbeat

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

// Kind names the heartbeat actor.
const Kind = "heartbeat"

// Name is the name the module registers under.
const Name = "heartbeat"

// Topic is where heartbeats are published.
const Topic = "monitoring.heartbeat"

// DefaultInterval is the interval when the "interval" param is absent.
const DefaultInterval = 10 * time.Second

// Factory is the heartbeat's modules.ThreadFactory. An invalid interval
// param makes the actor fail at start (the module crashes, then fails).
func Factory(env modules.ThreadEnv) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		log := env.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return &heartbeatActor{env: env, log: log}
	})
}

// tick is the heartbeat's timer message.
type tick struct{}

type heartbeatActor struct {
	env      modules.ThreadEnv
	log      *slog.Logger
	interval time.Duration
	started  time.Time
	seq      uint64
	timer    *time.Ticker
	done     chan struct{}
}

// Receive is the heartbeat's behaviour.
func (a *heartbeatActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.release()
	case *actor.Stopped:
	case tick:
		a.beat(ctx)
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *heartbeatActor) onStarted(ctx actor.Context) {
	a.interval = DefaultInterval
	if s, ok := a.env.Params["interval"]; ok {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			panic(fmt.Errorf("heartbeat: invalid interval %q", s))
		}
		a.interval = d
	}
	a.started = time.Now()
	a.timer = time.NewTicker(a.interval)
	a.done = make(chan struct{})
	self, root, t, done := ctx.Self(), ctx.ActorSystem().Root, a.timer, a.done
	go func() { // forwards ticks to the mailbox until released
		for {
			select {
			case <-t.C:
				root.Send(self, tick{})
			case <-done:
				return
			}
		}
	}()
	a.beat(ctx)
}

func (a *heartbeatActor) beat(ctx actor.Context) {
	a.seq++
	if a.env.Bus == nil {
		return
	}
	ctx.Send(a.env.Bus, messages.NewEvent(Topic, a.env.Name, &messages.Heartbeat{
		Module:        a.env.Name,
		Sequence:      a.seq,
		UptimeSeconds: time.Since(a.started).Seconds(),
		Goroutines:    int32(runtime.NumGoroutine()),
	}))
}

func (a *heartbeatActor) release() {
	if a.timer != nil {
		a.timer.Stop()
		close(a.done)
		a.timer = nil
	}
}
