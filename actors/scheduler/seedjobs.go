package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// The seed's scheduled jobs: their job names and the methods they call.
const (
	// DailyBacktestJob is the job [daemon.schedule.daily_backtest] becomes.
	DailyBacktestJob = "daily_backtest"
	// WeeklyReportJob is the job [daemon.schedule.weekly_report] becomes.
	WeeklyReportJob = "weekly_report"
	// MethodDrift and MethodWeekly are what they call (actors/reports).
	MethodDrift  = "report.drift"
	MethodWeekly = "report.weekly"
	// MaxBacktestDays bounds daily_backtest.days.
	MaxBacktestDays = 366
)

// seedJobs maps the enabled seed jobs onto jobs: daily_backtest calls
// report.drift with {strategy, days}, weekly_report calls report.weekly.
func seedJobs(cfg Config) map[string]JobConfig {
	out := map[string]JobConfig{}
	if d := cfg.DailyBacktest; d.Enabled {
		out[DailyBacktestJob] = JobConfig{Cron: d.Cron, Action: MethodDrift,
			Params: map[string]any{"strategy": d.Strategy, "days": int64(d.Days)}}
	}
	if w := cfg.WeeklyReport; w.Enabled {
		out[WeeklyReportJob] = JobConfig{Cron: w.Cron, Action: MethodWeekly}
	}
	return out
}

// compileSeedJobs checks the enabled ones of daily_backtest and
// weekly_report (a disabled one is not checked: a zero Config stays valid)
// and adds them to out.jobs, each problem under its own key.
func compileSeedJobs(cfg Config, out *compiled, loc *time.Location, zone string) []error {
	var errs []error
	if d := cfg.DailyBacktest; d.Enabled {
		if d.Days < 1 || d.Days > MaxBacktestDays {
			errs = append(errs, fmt.Errorf("daily_backtest.days: must be 1 to %d, got %d", MaxBacktestDays, d.Days))
		}
		if d.Strategy == "" {
			errs = append(errs, errors.New("daily_backtest.strategy: must name one of [trading.strategies]"))
		}
	}
	seeds := seedJobs(cfg)
	for _, name := range []string{DailyBacktestJob, WeeklyReportJob} {
		jc, enabled := seeds[name]
		if !enabled {
			continue
		}
		if _, taken := cfg.Jobs[name]; taken {
			errs = append(errs, fmt.Errorf("jobs.%s: the name is the job of daemon.schedule.%s, which is enabled: rename the job", name, name))
			continue
		}
		js, jerrs := compileJob(name, name, jc, loc, zone)
		errs = append(errs, jerrs...)
		out.jobs[name] = js
	}
	return errs
}

// ValidateStrategies checks that an enabled daily_backtest names a known
// strategy (the daemon passes the names of [trading.strategies]).
func ValidateStrategies(cfg Config, known []string) error {
	d := cfg.DailyBacktest
	if !d.Enabled || d.Strategy == "" {
		return nil
	}
	for _, k := range known {
		if k == d.Strategy {
			return nil
		}
	}
	if len(known) == 0 {
		return fmt.Errorf("daily_backtest.strategy: unknown strategy %q: [trading.strategies] configures none", d.Strategy)
	}
	return fmt.Errorf("daily_backtest.strategy: unknown strategy %q (configured: %s)", d.Strategy, strings.Join(known, ", "))
}
