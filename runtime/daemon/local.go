package daemon

import (
	"errors"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// localKind names the actor that answers what only the daemon knows:
// config.get (the config in effect) and monitoring.health (the root's
// answer plus the core modules' states).
const localKind = "daemon-rpc"

// localActor answers config.get and monitoring.health.
type localActor struct {
	// live returns the config in effect; safe from any goroutine.
	live    func() *config.Config
	root    *actor.PID
	modules *actor.PID
	// core lists the modules the daemon's core needs (the simulator that
	// the connector talks to): one that is not running makes the daemon
	// unhealthy.
	core    []string
	timeout time.Duration
}

func (a *localActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.ConfigGetRequest:
		ctx.Respond(a.configGet(msg))
	case *messages.HealthRequest:
		a.health(ctx)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: localKind})
	}
}

func (a *localActor) configGet(req *messages.ConfigGetRequest) *messages.ConfigGetResponse {
	v, err := a.live().Value(req.GetKey())
	if errors.Is(err, config.ErrUnknownKey) {
		return &messages.ConfigGetResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "%v", err)}
	}
	if err != nil {
		return &messages.ConfigGetResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "config.get: %v", err)}
	}
	pv, err := structpb.NewValue(v)
	if err != nil {
		return &messages.ConfigGetResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "config.get %q: %v", req.GetKey(), err)}
	}
	return &messages.ConfigGetResponse{Key: req.GetKey(), Value: pv}
}

// health asks the root (which pings the core actors), then the modules
// supervisor for the core modules, without blocking the mailbox.
func (a *localActor) health(ctx actor.Context) {
	ctx.ReenterAfter(ctx.RequestFuture(a.root, &messages.HealthRequest{}, a.timeout), func(res any, err error) {
		h, ok := res.(*messages.HealthResponse)
		if !ok || err != nil {
			ctx.Respond(&messages.HealthResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the root supervisor did not answer")})
			return
		}
		if len(a.core) == 0 || a.modules == nil {
			ctx.Respond(h)
			return
		}
		ctx.ReenterAfter(ctx.RequestFuture(a.modules, &messages.ModuleListRequest{}, a.timeout), func(res any, err error) {
			list, _ := res.(*messages.ModuleListResponse)
			ctx.Respond(withCoreModules(h, a.core, list))
		})
	})
}

// withCoreModules adds one component per core module to h: healthy only
// while the module runs.
func withCoreModules(h *messages.HealthResponse, core []string, list *messages.ModuleListResponse) *messages.HealthResponse {
	for _, name := range core {
		c := &messages.ComponentHealth{Name: name, Error: "the modules supervisor did not answer"}
		for _, m := range list.GetModules() {
			if m.GetName() != name {
				continue
			}
			c.Healthy, c.Error = m.GetState() == modules.StateRunning, ""
			if !c.Healthy {
				c.Error = "module is " + m.GetState()
				if why := m.GetLastError(); why != "" {
					c.Error += ": " + why
				}
			}
		}
		h.Components = append(h.Components, c)
		h.Healthy = h.Healthy && c.Healthy
	}
	return h
}

// startLocal is startup step 5's part: the local actor and its routes.
func startLocal(d *Daemon) error {
	var core []string
	if c := d.cfg.Connector; c.Endpoint == connector.EndpointSim && c.BaseURL == "" {
		core = simModules(d.cfg)
	}
	a := &localActor{live: d.Config, root: d.root, modules: d.pids[modules.Kind], core: core, timeout: d.cfg.Daemon.IPC.RequestTimeout / 2}
	if err := d.startChild(supervisor.ChildSpec{Name: localKind, Props: actor.PropsFromProducer(func() actor.Actor { return a })}); err != nil {
		return err
	}
	pid := d.pids[localKind]
	return d.router.Add(
		rpc.Route{Method: "config.get", Target: pid, New: func() proto.Message { return &messages.ConfigGetRequest{} },
			Doc: "the config in effect at a dotted key (a section is a table; no key: all of it), secrets redacted"},
		rpc.Route{Method: "monitoring.health", Target: pid, New: func() proto.Message { return &messages.HealthRequest{} },
			Doc: "each core actor answers a ping, and the core modules (the simulator the connector uses) run"},
	)
}
