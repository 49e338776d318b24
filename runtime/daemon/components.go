package daemon

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/cache"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/scheduler"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// components lists every component's part of the startup and shutdown
// sequences, in the order the seed gives.
func components() []hook {
	return []hook{
		{name: cache.Kind, step: 3, start: startCache, stop: stopKind(cache.Kind)},
		{name: connector.Kind, step: 4, start: startConnector, stop: stopKind(connector.Kind)},
		{name: scheduler.Kind, step: 8, start: startScheduler, stop: stopKind(scheduler.Kind), section: "daemon.schedule", reload: reloadScheduler},
	}
}

// stopKind returns a stop hook that stops one root child.
func stopKind(kind string) func(d *Daemon) {
	return func(d *Daemon) { d.stopChild(kind, d.stepTimeout()) }
}

// stepTimeout bounds one shutdown step.
func (d *Daemon) stepTimeout() time.Duration { return d.cfg.Daemon.ShutdownTimeout }

func startCache(d *Daemon) error {
	if err := d.startChild(supervisor.ChildSpec{
		Name: cache.Kind, Core: true,
		Props:   cache.Props(d.cfg.Cache, d.busPID(), d.log.With("component", cache.Kind)),
		Metrics: func() proto.Message { return &messages.CacheStatsRequest{} },
	}); err != nil {
		return err
	}
	return d.router.Add(cache.Routes(d.pids[cache.Kind])...)
}

func startConnector(d *Daemon) error {
	cfg := d.cfg.Connector
	if cfg.Endpoint == connector.EndpointSim {
		// The simulator is the thread module exchange-sim; point at its listener.
		if cfg.BaseURL == "" {
			cfg.BaseURL = "http://" + d.cfg.ExchangeSim.Listen
		}
		if cfg.WSBaseURL == "" {
			cfg.WSBaseURL = "ws://" + d.cfg.ExchangeSim.Listen
		}
	}
	if err := d.startChild(supervisor.ChildSpec{
		Name: connector.Kind, Core: true,
		Props: connector.Props(cfg, connector.Deps{Bus: d.busPID(), Cache: d.pids[cache.Kind], Logger: d.log.With("component", connector.Kind)}),
		Metrics: func() proto.Message { return &messages.ConnectorStatusRequest{} },
	}); err != nil {
		return err
	}
	return d.router.Add(connector.Routes(d.pids[connector.Kind])...)
}

func startScheduler(d *Daemon) error {
	cfg := d.cfg.Daemon.Schedule
	if err := scheduler.ValidateActions(cfg, d.methods()); err != nil {
		return fmt.Errorf("daemon.schedule: %w", err)
	}
	if err := d.startChild(supervisor.ChildSpec{
		Name: scheduler.Kind, Core: true,
		Props:  scheduler.Props(cfg, scheduler.Deps{Bus: d.busPID(), Router: d.router, Logger: d.log.With("component", scheduler.Kind)}),
		Status: func() proto.Message { return &messages.WindowStatusRequest{} },
	}); err != nil {
		return err
	}
	return d.router.Add(scheduler.Routes(d.pids[scheduler.Kind])...)
}

func reloadScheduler(d *Daemon, next *config.Config) string {
	if err := scheduler.ValidateActions(next.Daemon.Schedule, d.methods()); err != nil {
		return err.Error()
	}
	res, err := d.sys.Root.RequestFuture(d.pids[scheduler.Kind], &scheduler.Reload{Config: next.Daemon.Schedule}, 5*time.Second).Result()
	if err != nil {
		return "scheduler did not answer: " + err.Error()
	}
	if r := res.(*scheduler.ReloadResult); r.Err != nil {
		return r.Err.Error()
	}
	return ""
}

// methods is every method name the daemon serves (router and edge).
func (d *Daemon) methods() []string {
	return append(d.router.Methods(), edge.EdgeMethods()...)
}
