package daemon

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"maps"
	"slices"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/leader"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
)

// tradingKind names the trading part of the shutdown sequence (strategies
// save, orders prepare, both stop), before the connector stops.
const tradingKind = "trading"

// startOrders starts the order-management actor after the connector, with
// the books of the configured strategies, and adds its methods
// (trading.* but the strategies', journal.backup).
func startOrders(d *Daemon) error {
	if d.links != nil {
		return startLeader(d) // clustered: trading is the cluster's fenced singleton
	}
	cfg := d.cfg.Trading.Orders()
	props := orders.Props(cfg, orders.Deps{
		Bus: d.busPID(), Connector: d.pids[connector.Kind], StateDir: d.cfg.Daemon.StateDir,
		Logger: d.log.With("component", orders.Kind),
	})
	if err := d.startChild(supervisor.ChildSpec{Name: orders.Kind, Core: true, Props: props}); err != nil {
		return err
	}
	d.log.Info("order management started", "mode", cfg.Mode, "books", len(cfg.Books))
	return d.router.Add(orders.Routes(d.pids[orders.Kind])...)
}

// startStrategies starts the strategy host after the order actor (it
// needs it) and adds trading.strategies and trading.strategy.*.
func startStrategies(d *Daemon) error {
	if d.links != nil {
		return nil // the leader actor runs the strategy host per term
	}
	props := strategies.Props(d.cfg.Trading.StrategiesConfig(), strategies.Deps{
		Bus: d.busPID(), Orders: d.pids[orders.Kind], Connector: d.pids[connector.Kind],
		Logger: d.log.With("component", strategies.Kind),
	})
	if err := d.startChild(supervisor.ChildSpec{Name: strategies.Kind, Core: true, Props: props}); err != nil {
		return err
	}
	d.log.Info("strategy host started", "strategies", len(d.cfg.Trading.Strategies), "enabled", d.cfg.Trading.Enabled())
	return d.router.Add(strategies.Routes(d.pids[strategies.Kind])...)
}

// stopTrading is the trading part of shutdown, before the connector stops
// (issue 10, section 4): the strategies save their state and stop (no new
// orders from them), then the order actor cancels or leaves the open
// orders and closes positions as [trading] says and checkpoints the
// journal, then stops. Each step is bounded by what is left of the
// shutdown deadline and logged.
func stopTrading(d *Daemon) {
	if pid := d.pids[leader.Kind]; pid != nil { // clustered: it forwards to the term's actors
		saveStrategies(d, pid)
		prepareOrders(d, pid)
		d.stopChild(leader.Kind, d.stepTimeout())
		return
	}
	if pid := d.pids[strategies.Kind]; pid != nil {
		saveStrategies(d, pid)
		d.stopChild(strategies.Kind, d.stepTimeout())
	}
	if pid := d.pids[orders.Kind]; pid != nil {
		prepareOrders(d, pid)
		d.stopChild(orders.Kind, d.stepTimeout())
	}
}

// saveStrategies asks the strategy host (or the leader actor) to save
// every strategy's state, and logs the outcome.
func saveStrategies(d *Daemon, pid *actor.PID) {
	res, err := d.sys.Root.RequestFuture(pid, &strategies.SaveAll{}, d.stepTimeout()).Result()
	r, _ := res.(*strategies.SaveAllResult)
	switch {
	case err != nil:
		d.log.Warn("strategy states not saved in time", "error", err)
	case r == nil:
		d.log.Warn("strategy states: unexpected answer", "type", fmt.Sprintf("%T", res))
	case r.Err != nil:
		d.log.Warn("strategy states not all saved", "saved", r.Saved, "error", r.Err)
	default:
		d.log.Info("strategy states saved", "saved", r.Saved)
	}
}

// prepareOrders asks the order actor (or the leader actor) to cancel or
// leave the open orders as [trading] says, and logs the outcome.
func prepareOrders(d *Daemon, pid *actor.PID) {
	res, err := d.sys.Root.RequestFuture(pid, &orders.PrepareStop{}, d.stepTimeout()).Result()
	r, _ := res.(*orders.PrepareStopResult)
	switch {
	case err != nil:
		d.log.Warn("orders not prepared for stop in time", "error", err)
	case r == nil:
		d.log.Warn("orders prepare stop: unexpected answer", "type", fmt.Sprintf("%T", res))
	case r.Err != nil:
		d.log.Warn("orders not fully prepared for stop", "canceled", r.Canceled, "closing", r.Closing, "error", r.Err)
	default:
		d.log.Info("orders prepared for stop", "canceled", r.Canceled, "closing", r.Closing)
	}
}

// reloadTrading refuses every [trading] change: the order actor and the
// strategies keep the config they started with until the daemon restarts,
// so that no order is placed under half of an old config and half of a new
// one. The reload answer lists each changed key with this reason.
func reloadTrading(*Daemon, *config.Config) string {
	return "takes effect at the next daemon start (the order actor and the strategies keep the config they started with)"
}

// strategyNames lists the configured strategies, sorted.
func (d *Daemon) strategyNames() []string {
	return slices.Sorted(maps.Keys(d.cfg.Trading.Strategies))
}
