package daemon

import (
	"reflect"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/busredis"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// startBusRedis starts the Redis bus bridge ([daemon.bus.redis]); with no
// URL it only answers events.redis (enabled false).
func startBusRedis(d *Daemon) error {
	if err := d.startChild(busRedisSpec(d, d.cfg.Daemon.Bus.Redis)); err != nil {
		return err
	}
	return d.router.Add(busredis.Routes(d.pids[busredis.Kind])...)
}

func busRedisSpec(d *Daemon, cfg bus.RedisConfig) supervisor.ChildSpec {
	return supervisor.ChildSpec{
		Name: busredis.Kind, Core: true,
		Props:   busredis.Props(cfg, busredis.Deps{Bus: d.busPID(), Logger: d.log.With("component", busredis.Kind)}),
		Metrics: func() proto.Message { return &messages.BusRedisStatusRequest{} },
	}
}

// reloadBusRedis applies a change of [daemon.bus]: a new [daemon.bus.redis]
// restarts the bridge with it (same name, so events.redis still reaches
// it); the bus's own keys need a restart of the daemon, and then nothing
// of the section is applied.
func reloadBusRedis(d *Daemon, next *config.Config) string {
	cur, nb := d.Config().Daemon.Bus, next.Daemon.Bus
	if reflect.DeepEqual(cur.Redis, nb.Redis) {
		return "takes effect after a restart"
	}
	cur.Redis, nb.Redis = bus.RedisConfig{}, bus.RedisConfig{}
	if !reflect.DeepEqual(cur, nb) {
		return "takes effect after a restart (a reload applies [daemon.bus.redis] only when the bus's own keys are unchanged)"
	}
	d.stopChild(busredis.Kind, d.stepTimeout())
	if err := d.startChild(busRedisSpec(d, next.Daemon.Bus.Redis)); err != nil {
		return "the redis bus bridge did not start: " + err.Error()
	}
	return ""
}
