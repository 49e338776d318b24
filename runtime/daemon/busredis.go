package daemon

import (
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/busredis"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/messages"
)

// startBusRedis starts the Redis bus bridge ([daemon.bus.redis]); with no
// URL it only answers events.redis (enabled false). A change to the
// section takes effect after a restart.
func startBusRedis(d *Daemon) error {
	if err := d.startChild(supervisor.ChildSpec{
		Name: busredis.Kind, Core: true,
		Props:   busredis.Props(d.cfg.Daemon.Bus.Redis, busredis.Deps{Bus: d.busPID(), Logger: d.log.With("component", busredis.Kind)}),
		Metrics: func() proto.Message { return &messages.BusRedisStatusRequest{} },
	}); err != nil {
		return err
	}
	return d.router.Add(busredis.Routes(d.pids[busredis.Kind])...)
}
