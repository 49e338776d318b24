package daemon

import (
	"path/filepath"
	"runtime"

	"github.com/superbot/superbot/actors/backtest"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
)

// startBacktest starts the backtest actor, its pools from
// [daemon.resource_allocation.thread_pools], and adds backtest.*.
func startBacktest(d *Daemon) error {
	cfg := backtestConfig(d.cfg)
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := d.startChild(supervisor.ChildSpec{Name: backtest.Kind, Core: true,
		Props: backtest.Props(cfg, backtest.Deps{Bus: d.busPID(), Logger: d.log.With("component", backtest.Kind)})}); err != nil {
		return err
	}
	d.log.Info("backtest jobs ready", "cpu_workers", cfg.CPUWorkers, "max_jobs", cfg.MaxJobs, "results", cfg.ResultsDir)
	return d.router.Add(backtest.Routes(d.pids[backtest.Kind])...)
}

// backtestConfig maps the thread pools onto the backtest actor: cpu bounds
// the engine's goroutines (at most runtime.NumCPU(): more would only
// time-slice the same cores), default the jobs in flight. Results go to
// <state_dir>/backtests/JOB/; bars come from the candle store (DataDir).
func backtestConfig(c *config.Config) backtest.Config {
	pools := c.Daemon.ResourceAllocation.ThreadPools
	cfg := backtest.DefaultConfig()
	cfg.CPUWorkers = min(pools.CPU.MaxWorkers, runtime.NumCPU())
	cfg.MaxJobs = pools.Default.MaxWorkers
	cfg.ResultsDir = filepath.Join(c.Daemon.StateDir, "backtests")
	cfg.DataDir = DataDir(c)
	return cfg
}

// ioWorkers is the connector's worker count under the io pool:
// min(connector.io_workers, thread_pools.io.max_workers).
func ioWorkers(c *config.Config) int {
	return min(c.Connector.IOWorkers, c.Daemon.ResourceAllocation.ThreadPools.IO.MaxWorkers)
}
