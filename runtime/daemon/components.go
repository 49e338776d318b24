package daemon

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/backtest"
	"github.com/superbot/superbot/actors/busredis"
	"github.com/superbot/superbot/actors/cache"
	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/heartbeat"
	"github.com/superbot/superbot/actors/marketdata"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/reports"
	"github.com/superbot/superbot/actors/scheduler"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/actors/trading"
	"github.com/superbot/superbot/actors/watchdog"
	"github.com/superbot/superbot/actors/webui"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
)

// components lists every component's part of the startup and shutdown
// sequences, in the order the seed gives.
func components() []hook {
	return []hook{
		{name: busredis.Kind, step: 3, start: startBusRedis, stop: stopKind(busredis.Kind), section: "daemon.bus", reload: reloadBusRedis},
		{name: cache.Kind, step: 3, start: startCache, stop: stopKind(cache.Kind)},
		{name: "exchange-sim listener", step: 4, start: bindSim},
		{name: connector.Kind, step: 4, start: startConnector, stop: stopKind(connector.Kind)},
		{name: orders.Kind, step: 4, start: startOrders},
		{name: strategies.Kind, step: 4, start: startStrategies},
		{name: backtest.Kind, step: 4, start: startBacktest, stop: stopKind(backtest.Kind)},
		{name: marketdata.Kind, step: 4, start: startMarketdata, stop: stopKind(marketdata.Kind)},
		{name: reports.Kind, step: 4, start: startReports, stop: stopKind(reports.Kind)},
		{name: tradingKind, stop: stopTrading, section: "trading", reload: reloadTrading},
		{name: webui.Name, section: "webui", reload: reloadWebUI},
		{name: modules.Kind, step: 4, start: startModules, stop: stopModules},
		{name: localKind, step: 5, start: startLocal},
		{name: cluster.Kind, step: 5, start: startCluster, stop: stopCluster},
		{name: watchdog.Kind, step: 7, start: startWatchdog, stop: stopKind(watchdog.Kind)},
		{name: "autostart", step: 9, start: autostart},
		{name: scheduler.Kind, step: 8, start: startScheduler, stop: stopKind(scheduler.Kind), section: "daemon.schedule", check: checkScheduler, reload: reloadScheduler},
	}
}

// stopKind returns a stop hook that stops one root child.
func stopKind(kind string) func(d *Daemon) {
	return func(d *Daemon) { d.stopChild(kind, d.stepTimeout()) }
}

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

// bindSim binds the simulator's port before the connector starts, when a
// thread module runs the simulator: the connector then gets the bound
// address (a free port by default), and module restarts keep it. A port
// that cannot be bound (e.g. another daemon has it) is not a startup
// error: the module fails with that reason when it starts, and the
// connector is given no exchange rather than the other daemon's.
func bindSim(d *Daemon) error {
	if len(simModules(d.cfg)) == 0 {
		return nil
	}
	ln, err := exchangesim.Listen(d.cfg.ExchangeSim.Listen)
	if err != nil {
		d.simErr = fmt.Errorf("exchange_sim.listen %s: %w (is another superbotd's simulator there? port 0 picks a free one)", d.cfg.ExchangeSim.Listen, err)
		d.log.Error("exchange simulator port unavailable", "listen", d.cfg.ExchangeSim.Listen, "error", err)
		return nil
	}
	d.simLn = ln
	d.log.Info("exchange simulator port bound", "addr", ln.Addr())
	return nil
}

// simModules lists the enabled modules that run the simulator's thread
// module.
func simModules(cfg *config.Config) []string {
	var out []string
	for name, m := range cfg.Daemon.Modules {
		if m.Enabled && m.Type == modules.TypeThread && (m.Module == exchangesim.Name || (m.Module == "" && name == exchangesim.Name)) {
			out = append(out, name)
		}
	}
	return out
}

// noExchange is the connector's base address when the simulator could not
// bind its port: nothing listens on port 0, so every request fails at once
// (connection refused) instead of reaching another daemon's simulator.
const noExchange = "127.0.0.1:0"

// lendSim gives a starting simulator the daemon's listener.
func (d *Daemon) lendSim() (net.Listener, error) {
	if d.simLn == nil {
		return nil, d.simErr
	}
	return d.simLn.Lend()
}

func closeSim(d *Daemon) {
	if d.simLn != nil {
		_ = d.simLn.Close()
	}
}

func startConnector(d *Daemon) error {
	cfg := d.cfg.Connector
	cfg.IOWorkers = ioWorkers(d.cfg)
	if cfg.Endpoint == connector.EndpointSim && (d.simLn != nil || d.simErr != nil) {
		// The simulator is a thread module: point at the port bound for it.
		addr := noExchange
		if d.simLn != nil {
			addr = d.simLn.Addr()
		}
		if cfg.BaseURL == "" {
			cfg.BaseURL = "http://" + addr
		}
		if cfg.WSBaseURL == "" {
			cfg.WSBaseURL = "ws://" + addr
		}
	} else if cfg.Endpoint == connector.EndpointSim {
		// No simulator module: a simulator someone runs at exchange_sim.listen.
		if cfg.BaseURL == "" {
			cfg.BaseURL = "http://" + d.cfg.ExchangeSim.Listen
		}
		if cfg.WSBaseURL == "" {
			cfg.WSBaseURL = "ws://" + d.cfg.ExchangeSim.Listen
		}
	}
	if err := d.startChild(supervisor.ChildSpec{
		Name: connector.Kind, Core: true,
		Props:   connector.Props(cfg, connector.Deps{Bus: d.busPID(), Cache: d.pids[cache.Kind], Logger: d.log.With("component", connector.Kind)}),
		Metrics: func() proto.Message { return &messages.ConnectorStatusRequest{} },
	}); err != nil {
		return err
	}
	return d.router.Add(connector.Routes(d.pids[connector.Kind])...)
}

// registry holds the built-in thread modules.
func (d *Daemon) registry() *modules.Registry {
	r := modules.NewRegistry()
	simCfg := d.cfg.ExchangeSim
	_ = r.Register(exchangesim.Name, func(env modules.ThreadEnv) *actor.Props {
		return exchangesim.ModuleProps(simCfg, d.lendSim, env.Logger)
	})
	_ = r.Register(heartbeat.Name, heartbeat.Factory)
	_ = r.Register(trading.Name, trading.Factory(d.cfg.Trading.Mode, d.strategyNames()))
	_ = r.Register(webui.Name, d.webUIFactory())
	return r
}

func startModules(d *Daemon) error {
	cfg := d.cfg.Daemon
	deps := modules.Deps{
		Bus: d.busPID(), StateDir: cfg.StateDir, LogDir: cfg.LogDir,
		SocketPath: d.SocketPath(), TokenPath: d.TokenPath(), Registry: d.registry(),
		Logger: d.log.With("component", modules.Kind), Node: d.node(),
		Connector: d.pids[connector.Kind], Orders: d.pids[orders.Kind], Strategies: d.pids[strategies.Kind],
	}
	if d.links != nil { // singleton modules run where their election is led
		leads := d.links.leads
		deps.Elect, deps.Leading = d.elections(), leads.Set
	}
	if err := d.startChild(supervisor.ChildSpec{
		Name: modules.Kind, Core: true,
		Props:   modules.Props(modulesConfig(cfg), deps),
		Metrics: func() proto.Message { return &messages.ModuleListRequest{} },
	}); err != nil {
		return err
	}
	logs := &logsActor{ring: d.ring, modules: d.pids[modules.Kind]}
	if err := d.startChild(supervisor.ChildSpec{Name: logsKind, Props: actor.PropsFromProducer(func() actor.Actor { return logs })}); err != nil {
		return err
	}
	for _, rt := range modules.Routes(d.pids[modules.Kind], nil) {
		if rt.Method == "logs.tail" { // the logs actor answers it: "daemon" is its own
			rt.Target, rt.Doc = d.pids[logsKind], "the most recent output lines of a module, or of the daemon (module \"daemon\")"
		}
		if err := d.router.Add(rt); err != nil {
			return err
		}
	}
	return nil
}

// modulesConfig is the modules supervisor's config: the modules, under
// the restart policy of [daemon.supervisor].
func modulesConfig(c config.DaemonConfig) modules.Config {
	mc := c.Config
	mc.Policy = modules.RestartPolicy{Max: c.Supervisor.MaxRestarts, Within: c.Supervisor.Within, Cooldown: c.Supervisor.Cooldown}
	return mc
}

// modulesReloadTimeout bounds a reload's wait for the modules it restarts,
// starts and stops to settle (their start and stop timeouts).
const modulesReloadTimeout = 2 * time.Minute

// isModulesKey reports whether a changed config key is a module definition.
func isModulesKey(key string) bool { return strings.HasPrefix(key, "daemon.modules.") }

// reloadModules applies the changed module definitions and autostart of
// next at once (like supervisorctl update): removed modules stop, changed
// running ones restart, new autostart ones start. Its actions say what
// happened to each module; a module that did not go as asked is not
// applied, with the reason.
func reloadModules(d *Daemon, next *config.Config) stepResult {
	pid := d.pids[modules.Kind]
	if pid == nil {
		return noted("the modules supervisor is not running")
	}
	res, err := d.sys.Root.RequestFuture(pid, &modules.ApplyConfig{Config: modulesConfig(next.Daemon)}, modulesReloadTimeout).Result()
	if err != nil {
		return noted("the modules supervisor did not answer: " + err.Error())
	}
	r, ok := res.(*modules.ApplyConfigResult)
	if !ok {
		return noted(fmt.Sprintf("unexpected answer %T", res))
	}
	did := map[string][]string{}
	note := func(names []string, what string) {
		for _, n := range names {
			did[n] = append(did[n], what)
		}
	}
	note(r.Added, "added")
	note(r.Removed, "removed")
	note(r.Changed, "changed")
	note(r.Started, "started")
	note(r.Stopped, "stopped")
	note(r.Restarted, "restarted")
	out := stepResult{failed: map[string]string{}}
	for _, n := range slices.Sorted(maps.Keys(did)) {
		line := "daemon.modules." + n + ": " + strings.Join(did[n], ", ")
		if slices.Equal(did[n], []string{"changed"}) {
			line += " (not running: used at its next start)"
		}
		out.actions = append(out.actions, line)
	}
	if len(did) == 0 && len(r.Problems) > 0 { // refused as a whole
		return noted(strings.Join(r.Problems, "; "))
	}
	for _, p := range r.Problems {
		name, why, _ := strings.Cut(p, ": ")
		out.failed["daemon.modules."+name] = why
		out.actions = append(out.actions, "daemon.modules."+p)
	}
	return out
}

// stopModules is shutdown step 4: every module stops in reverse dependency
// order (SIGTERM, stop_timeout, SIGKILL), then the modules supervisor.
func stopModules(d *Daemon) {
	pid := d.pids[modules.Kind]
	if pid == nil {
		return
	}
	if _, err := d.sys.Root.RequestFuture(pid, &modules.StopAll{}, d.stepTimeout()).Result(); err != nil {
		d.log.Warn("modules did not all stop in time", "error", err)
	}
	d.stopChild(modules.Kind, d.stepTimeout())
	closeSim(d)
}

func startWatchdog(d *Daemon) error {
	cfg := d.cfg.Daemon.Watchdog
	if !cfg.Enabled {
		d.log.Info("watchdog disabled")
		return nil
	}
	return d.startChild(supervisor.ChildSpec{
		Name: watchdog.Kind, Core: true,
		Props: watchdog.Props(cfg, watchdog.Deps{Bus: d.busPID(), Modules: d.pids[modules.Kind], Logger: d.log.With("component", watchdog.Kind)}),
	})
}

// autostart is startup step 9: the autostart modules, in dependency order.
// A module that does not start is logged; the daemon runs on.
func autostart(d *Daemon) error {
	if len(d.cfg.Daemon.Autostart) == 0 && !d.cfg.Daemon.Resurrect {
		return nil
	}
	res, err := d.sys.Root.RequestFuture(d.pids[modules.Kind], &modules.StartAutostart{}, 5*time.Minute).Result()
	if err != nil {
		return fmt.Errorf("autostart: %w", err)
	}
	r := res.(*modules.AutostartResult)
	for name, why := range r.Errors {
		d.log.Warn("autostart module not running", "module", name, "error", why)
	}
	d.log.Info("autostart modules running", "modules", r.Started)
	return nil
}

func startScheduler(d *Daemon) error {
	cfg := d.cfg.Daemon.Schedule
	if err := scheduler.ValidateActions(cfg, d.methods()); err != nil {
		return fmt.Errorf("daemon.schedule: %w", err)
	}
	if err := d.startChild(supervisor.ChildSpec{
		Name: scheduler.Kind, Core: true,
		Props: scheduler.Props(cfg, scheduler.Deps{Bus: d.busPID(), Router: d.router, Logger: d.log.With("component", scheduler.Kind)}),
	}); err != nil {
		return err
	}
	return d.router.Add(scheduler.Routes(d.pids[scheduler.Kind])...)
}

// checkScheduler: every job's action must be a method the daemon serves.
func checkScheduler(d *Daemon, next *config.Config) error {
	return scheduler.ValidateActions(next.Daemon.Schedule, d.methods())
}

func reloadScheduler(d *Daemon, next *config.Config) string {
	pid := d.pids[scheduler.Kind]
	if pid == nil {
		return "the scheduler is not running"
	}
	res, err := d.sys.Root.RequestFuture(pid, &scheduler.Reload{Config: next.Daemon.Schedule}, 5*time.Second).Result()
	if err != nil {
		return "scheduler did not answer: " + err.Error()
	}
	if r := res.(*scheduler.ReloadResult); r.Err != nil {
		return r.Err.Error()
	}
	return ""
}

// methods is every method a job may call: the router's, the scheduler's
// own included (they are added once it runs).
func (d *Daemon) methods() []string {
	out := d.router.Methods()
	for _, rt := range scheduler.Routes(nil) {
		out = append(out, rt.Method)
	}
	return out
}
