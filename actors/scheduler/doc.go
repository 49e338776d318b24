// Package scheduler is SuperBot's scheduler actor: the trading window
// (start the trading module at trading_start, stop it at trading_stop, on
// trading_days, in one time zone) and cron jobs that call any JSON-RPC method
// the daemon serves ([daemon.schedule] in the config).
//
// # One code path
//
// The scheduler acts only by sending the requests the JSON-RPC edge would
// send: each job's action and params, and the window's module.start /
// module.stop with {"module": NAME}, go through the same rpc.Router. Replies
// come back through ctx.ReenterAfter; the mailbox never waits. Each run is
// recorded (start, end, result or error; the last `history` runs per job) and
// published on the bus as scheduler.job.started, scheduler.job.finished or
// scheduler.job.failed (payload messages.JobRun); the window publishes
// scheduler.window.opened and scheduler.window.closed (messages.WindowChanged).
//
// # The seed's jobs
//
// [daemon.schedule.daily_backtest] (enabled, cron, strategy, days) and
// [daemon.schedule.weekly_report] (enabled, cron) are jobs like the others
// once enabled: "daily_backtest" calls report.drift with {strategy, days}
// and "weekly_report" calls report.weekly (actors/reports). A job of
// [daemon.schedule.jobs] may not take their names while they are enabled.
//
// # Time
//
// The clock comes from Deps.Clock (RealClock by default; tests use
// ManualClock). The scheduler keeps one wake-up, at the earliest job run or
// window boundary; RealClock wakes it at least once a minute, so a
// wall-clock step (NTP, a suspended laptop) is noticed within a minute.
//
// Restarts and missed runs: when the daemon starts, or a reload changes the
// window, the window's state is applied at once: inside the window the
// trading module is started, outside it is stopped. Cron jobs are not
// replayed: runs missed while the daemon was down, while a job was paused,
// or by more than a minute (the machine slept, the clock jumped) are skipped
// (counted in `skipped` when the scheduler saw them pass). A job whose
// previous run is still going is skipped too, unless overlap = "allow".
//
// # Daylight saving time
//
// Times are wall-clock times in the configured zone. robfig/cron/v3 parses
// the expressions, but its SpecSchedule.Next walks the local clock and so,
// verified in TestRobfigNextOnDSTDays, a daily 02:30 job does not run at all
// on the spring-forward day (Europe/Berlin 2026-03-29, America/New_York
// 2026-03-08) and runs twice when 02:30 occurs twice on the fall-back day
// (Europe/Berlin 2026-10-25; in New York it is 01:30 that repeats). The
// scheduler computes next runs itself from the parsed fields, with the rules
// of Vixie cron and cronie:
//
//   - A time that does not exist (the spring-forward gap) runs once, at the
//     moment the clocks jump: a 02:30 job runs at 03:00 CEST / EDT. Several
//     missing times of one job coalesce into that one run.
//   - A time that occurs twice (the fall-back overlap) runs once, at its
//     first occurrence (02:30 CEST in Berlin, 01:30 EDT in New York).
//   - A job whose hour field is every hour ("*", 0-23, @hourly, "*/15 * * *
//     *") keeps its cadence in elapsed time instead: a missing wall time is
//     skipped and a repeated one runs twice, so an hourly job runs every 60
//     minutes through both changes.
//   - @every durations are elapsed time and ignore the zone.
//
// The trading window follows the same rules for its boundaries: it opens and
// closes at the first occurrence of trading_start / trading_stop, or when the
// clocks jump past them, so a 22:00 -> 06:00 window lasts 7 hours on the
// spring-forward night and 9 on the fall-back night.
//
// # Reload
//
// Send Reload with a validated Config. Unchanged jobs keep their state and
// next run; changed jobs keep their history and paused flag and are
// rescheduled from now; removed jobs go (a run in flight finishes and is
// published). A changed window (times, days, module, zone) is re-applied at
// once; an unchanged one sends nothing. Disabling the window leaves the
// module as it is. A restarted scheduler starts from the last applied config.
//
// # RPC
//
// Routes returns scheduler.jobs [NAME], scheduler.run NAME, scheduler.pause
// NAME, scheduler.resume NAME and scheduler.window. The scheduler also
// answers messages.WindowStatusRequest and messages.PingRequest.
package scheduler
