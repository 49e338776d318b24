package daemon

import (
	"fmt"
	"path/filepath"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/reports"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
)

// reportsDir is where the reports actor writes, under the daemon's working
// directory (beside logs/).
const reportsDir = "reports"

// startReports starts the reports actor after the connector and the order
// actor (it reads their bars and journal) and adds report.weekly and
// report.drift, which the scheduler's daily_backtest and weekly_report
// jobs call.
func startReports(d *Daemon) error {
	cfg, err := reportsConfig(d.cfg)
	if err != nil {
		return err
	}
	props := reports.Props(cfg, reports.Deps{
		Bus: d.busPID(), Connector: d.pids[connector.Kind], Logger: d.log.With("component", reports.Kind),
	})
	if err := d.startChild(supervisor.ChildSpec{Name: reports.Kind, Core: true, Props: props}); err != nil {
		return err
	}
	return d.router.Add(reports.Routes(d.pids[reports.Kind])...)
}

// reportsConfig composes the reports actor's config: the journal of
// [trading], the strategies of [trading.strategies] and the paper
// matcher's fees and slippage.
func reportsConfig(c *config.Config) (reports.Config, error) {
	dir, err := filepath.Abs(reportsDir)
	if err != nil {
		return reports.Config{}, fmt.Errorf("reports dir: %w", err)
	}
	journal := c.Trading.Journal
	if !filepath.IsAbs(journal) {
		journal = filepath.Join(c.Daemon.StateDir, journal)
	}
	out := reports.Config{Dir: dir, Journal: journal, Strategies: map[string]reports.Strategy{},
		MakerFee: c.Trading.Paper.MakerFee, TakerFee: c.Trading.Paper.TakerFee, Slippage: c.Trading.Paper.Slippage}
	for name, s := range c.Trading.Strategies {
		amount, _, err := config.ParseAllocation(s.Allocation)
		if err != nil {
			continue // config.Validate reported it
		}
		out.Strategies[name] = reports.Strategy{Kind: s.Kind, Symbol: s.Symbol, Interval: s.Interval, Params: s.Params, Allocation: amount}
	}
	if err := out.Validate(); err != nil {
		return reports.Config{}, err
	}
	return out, nil
}
