package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func windowConfig(zone, start, stop string, days ...int) Config {
	cfg := DefaultConfig()
	cfg.Timezone = zone
	cfg.TradingStart, cfg.TradingStop = start, stop
	if len(days) > 0 {
		cfg.TradingDays = days
	}
	return cfg
}

func withJobs(cfg Config, jobs map[string]JobConfig) Config {
	cfg.Jobs = map[string]JobConfig{}
	for name, j := range jobs {
		d := DefaultJobConfig()
		d.Cron, d.At, d.Days, d.Action, d.Params, d.Timeout = j.Cron, j.At, j.Days, j.Action, j.Params, j.Timeout
		if j.Overlap != "" {
			d.Overlap = j.Overlap
		}
		cfg.Jobs[name] = d
	}
	return cfg
}

// TestWindowCatchUp: started inside the window, the module is started at
// once; outside it, stopped.
func TestWindowCatchUp(t *testing.T) {
	ist := mustLoc(t, "Europe/Istanbul")
	cases := []struct {
		name        string
		cfg         Config
		now         time.Time
		want        string
		state       string
		nextOpenIn  string // local "Mon 15:04", "" when not checked
		nextCloseIn string
	}{
		{"weekday inside", windowConfig("Europe/Istanbul", "09:00", "18:00"), time.Date(2026, 6, 3, 12, 0, 0, 0, ist), "module.start trading", "open", "Thu 09:00", "Wed 18:00"},
		{"weekday before opening", windowConfig("Europe/Istanbul", "09:00", "18:00"), time.Date(2026, 6, 3, 8, 0, 0, 0, ist), "module.stop trading", "closed", "Wed 09:00", "Wed 18:00"},
		{"weekday after closing", windowConfig("Europe/Istanbul", "09:00", "18:00"), time.Date(2026, 6, 5, 18, 30, 0, 0, ist), "module.stop trading", "closed", "Mon 09:00", "Mon 18:00"},
		{"weekend", windowConfig("Europe/Istanbul", "09:00", "18:00"), time.Date(2026, 6, 6, 12, 0, 0, 0, ist), "module.stop trading", "closed", "Mon 09:00", "Mon 18:00"},
		{"weekend day listed", windowConfig("Europe/Istanbul", "09:00", "18:00", 6, 7), time.Date(2026, 6, 6, 12, 0, 0, 0, ist), "module.start trading", "open", "Sun 09:00", "Sat 18:00"},
		{"midnight-crossing, after midnight", windowConfig("Europe/Istanbul", "22:00", "06:00"), time.Date(2026, 6, 4, 3, 0, 0, 0, ist), "module.start trading", "open", "Thu 22:00", "Thu 06:00"},
		{"midnight-crossing, evening", windowConfig("Europe/Istanbul", "22:00", "06:00"), time.Date(2026, 6, 3, 23, 0, 0, 0, ist), "module.start trading", "open", "Thu 22:00", "Thu 06:00"},
		{"midnight-crossing, daytime", windowConfig("Europe/Istanbul", "22:00", "06:00"), time.Date(2026, 6, 3, 12, 0, 0, 0, ist), "module.stop trading", "closed", "Wed 22:00", "Thu 06:00"},
		{"midnight-crossing, saturday early (from friday)", windowConfig("Europe/Istanbul", "22:00", "06:00"), time.Date(2026, 6, 6, 5, 59, 0, 0, ist), "module.start trading", "open", "Mon 22:00", "Sat 06:00"},
		{"midnight-crossing, monday early (sunday not listed)", windowConfig("Europe/Istanbul", "22:00", "06:00"), time.Date(2026, 6, 8, 3, 0, 0, 0, ist), "module.stop trading", "closed", "Mon 22:00", "Tue 06:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.now).start(tc.cfg)
			if got := summary(h.takeCalls()); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("calls = %v, want [%s]", got, tc.want)
			}
			ws := actortest.Request[*messages.WindowStatusResponse](t, h.sys, h.pid, &messages.WindowStatusRequest{})
			if ws.GetState() != tc.state || ws.GetModule() != "trading" || ws.GetZone() != "Europe/Istanbul" {
				t.Fatalf("status = %v", ws)
			}
			if g := ws.GetNextOpen().AsTime().In(ist).Format("Mon 15:04"); g != tc.nextOpenIn {
				t.Errorf("next open %s, want %s", g, tc.nextOpenIn)
			}
			if g := ws.GetNextClose().AsTime().In(ist).Format("Mon 15:04"); g != tc.nextCloseIn {
				t.Errorf("next close %s, want %s", g, tc.nextCloseIn)
			}
			evs := topics(h.takeEvents(), ist)
			wantTopic := TopicWindowClosed
			if tc.state == "open" {
				wantTopic = TopicWindowOpened
			}
			if len(evs) != 1 || !strings.HasPrefix(evs[0], wantTopic) {
				t.Fatalf("events = %v, want one %s", evs, wantTopic)
			}
		})
	}
}

// TestWindowWeek walks a week: weekdays open and close on time, the weekend
// stays closed, and nothing else is sent.
func TestWindowWeek(t *testing.T) {
	ist := mustLoc(t, "Europe/Istanbul")
	start := time.Date(2026, 6, 5, 17, 0, 0, 0, ist) // Friday
	h := newHarness(t, start).start(windowConfig("Europe/Istanbul", "09:00", "18:00"))
	h.advanceTo(time.Date(2026, 6, 9, 12, 0, 0, 0, ist)) // Tuesday
	want := []string{"module.start trading", "module.stop trading", "module.start trading", "module.stop trading", "module.start trading"}
	if got := summary(h.takeCalls()); !equalStrings(got, want) {
		t.Fatalf("calls = %v, want %v", got, want)
	}
	wantEv := []string{
		"scheduler.window.opened 06-05 17:00 +03", "scheduler.window.closed 06-05 18:00 +03",
		"scheduler.window.opened 06-08 09:00 +03", "scheduler.window.closed 06-08 18:00 +03",
		"scheduler.window.opened 06-09 09:00 +03",
	}
	if got := topics(h.takeEvents(), ist); !equalStrings(got, wantEv) {
		t.Fatalf("events = %v, want %v", got, wantEv)
	}
}

// TestWindowAcrossDST keeps a midnight-crossing window right across both
// changes: it opens and closes at the configured wall times.
func TestWindowAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone string
		from, to   time.Time // local dates, read in zone
		want       []string
	}{
		{"berlin spring", "Europe/Berlin", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 12, 0, 0, 0, time.UTC),
			[]string{"scheduler.window.closed 03-28 12:00 CET", "scheduler.window.opened 03-28 22:00 CET", "scheduler.window.closed 03-29 06:00 CEST"}},
		{"berlin fall", "Europe/Berlin", time.Date(2026, 10, 24, 12, 0, 0, 0, time.UTC), time.Date(2026, 10, 25, 12, 0, 0, 0, time.UTC),
			[]string{"scheduler.window.closed 10-24 12:00 CEST", "scheduler.window.opened 10-24 22:00 CEST", "scheduler.window.closed 10-25 06:00 CET"}},
		{"new york spring", "America/New_York", time.Date(2026, 3, 7, 12, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 12, 0, 0, 0, time.UTC),
			[]string{"scheduler.window.closed 03-07 12:00 EST", "scheduler.window.opened 03-07 22:00 EST", "scheduler.window.closed 03-08 06:00 EDT"}},
		{"new york fall", "America/New_York", time.Date(2026, 10, 31, 12, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			[]string{"scheduler.window.closed 10-31 12:00 EDT", "scheduler.window.opened 10-31 22:00 EDT", "scheduler.window.closed 11-01 06:00 EST"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			at := func(d time.Time) time.Time {
				return time.Date(d.Year(), d.Month(), d.Day(), d.Hour(), 0, 0, 0, loc)
			}
			h := newHarness(t, at(tc.from)).start(windowConfig(tc.zone, "22:00", "06:00", 1, 2, 3, 4, 5, 6, 7))
			h.advanceTo(at(tc.to))
			if got := topics(h.takeEvents(), loc); !equalStrings(got, tc.want) {
				t.Fatalf("events = %v, want %v", got, tc.want)
			}
			if got := summary(h.takeCalls()); !equalStrings(got, []string{"module.stop trading", "module.start trading", "module.stop trading"}) {
				t.Fatalf("calls = %v", got)
			}
		})
	}
}

// TestJobsAcrossDST runs a 02:30 job through the DST days of two zones:
// once on each day, never zero, never twice.
func TestJobsAcrossDST(t *testing.T) {
	cases := []struct {
		name, zone string
		job        JobConfig
		day        time.Time
		want       []string
	}{
		{"berlin spring cron", "Europe/Berlin", JobConfig{Cron: "30 2 * * *"}, time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), []string{"03-29 03:00 CEST"}},
		{"berlin fall cron", "Europe/Berlin", JobConfig{Cron: "30 2 * * *"}, time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), []string{"10-25 02:30 CEST"}},
		{"berlin spring at", "Europe/Berlin", JobConfig{At: "02:30"}, time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), []string{"03-29 03:00 CEST"}},
		{"berlin fall at", "Europe/Berlin", JobConfig{At: "02:30"}, time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), []string{"10-25 02:30 CEST"}},
		{"new york spring cron", "America/New_York", JobConfig{Cron: "30 2 * * *"}, time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), []string{"03-08 03:00 EDT"}},
		{"new york fall cron", "America/New_York", JobConfig{Cron: "30 2 * * *"}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 02:30 EST"}},
		{"new york fall 01:30", "America/New_York", JobConfig{At: "01:30"}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), []string{"11-01 01:30 EDT"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := mustLoc(t, tc.zone)
			from := time.Date(tc.day.Year(), tc.day.Month(), tc.day.Day(), 0, 0, 0, 0, loc)
			tc.job.Action = "backtest.run"
			cfg := withJobs(Config{Timezone: tc.zone, History: 20}, map[string]JobConfig{"nightly": tc.job})
			h := newHarness(t, from).start(cfg)
			h.advanceTo(from.AddDate(0, 0, 1))
			got := filter(topics(h.takeEvents(), loc), func(s string) bool { return strings.HasPrefix(s, TopicJobStarted) })
			var want []string
			for _, w := range tc.want {
				want = append(want, TopicJobStarted+" nightly "+w)
			}
			if !equalStrings(got, want) {
				t.Fatalf("runs = %v, want %v", got, want)
			}
			if n := len(h.takeCalls()); n != len(tc.want) {
				t.Fatalf("%d calls to backtest.run, want %d", n, len(tc.want))
			}
		})
	}
}

// TestJobResultIsTheAnswersJSON: a run's recorded result is the answer as
// JSON-RPC clients see it: 64-bit integers are numbers, not strings.
func TestJobResultIsTheAnswersJSON(t *testing.T) {
	loc := mustLoc(t, "UTC")
	start := time.Date(2026, 6, 1, 1, 0, 0, 0, loc)
	cfg := withJobs(Config{Timezone: "UTC", History: 3}, map[string]JobConfig{
		"publish": {Cron: "0 2 * * *", Action: "backtest.run"},
	})
	h := newHarness(t, start)
	h.setMode("backtest.run", "numbers")
	h.start(cfg)
	h.advanceTo(time.Date(2026, 6, 1, 3, 0, 0, 0, loc))
	if n := len(h.takeCalls()); n != 1 {
		t.Fatalf("%d calls, want 1", n)
	}
	hist := h.job("publish").GetHistory()
	if len(hist) != 1 || hist[0].GetResult() != `{"sequence":56}` {
		t.Fatalf("history = %v, want one run with result {\"sequence\":56}", hist)
	}
}

// TestJobRunsAndRecords: a job calls its action with its params through the
// router, records the run and publishes started and finished.
func TestJobRunsAndRecords(t *testing.T) {
	loc := mustLoc(t, "Europe/Istanbul")
	start := time.Date(2026, 6, 1, 1, 0, 0, 0, loc)
	cfg := withJobs(Config{Timezone: "Europe/Istanbul", History: 3}, map[string]JobConfig{
		"daily_backtest": {Cron: "0 2 * * *", Action: "backtest.run", Params: map[string]any{"strategy": "default", "days": int64(30)}},
		"weekly_report":  {Cron: "0 0 * * 0", Action: "report.weekly"},
	})
	h := newHarness(t, start).start(cfg)
	if got := h.takeCalls(); len(got) != 0 {
		t.Fatalf("missed runs replayed at start: %v", summary(got))
	}
	j := h.job("daily_backtest")
	if j.GetNextRunLocal() != "2026-06-01T02:00:00+03:00" || j.GetZone() != "Europe/Istanbul" || j.GetSpec() != "0 2 * * *" || !j.GetEnabled() {
		t.Fatalf("job = %v", j)
	}
	h.advanceTo(time.Date(2026, 6, 5, 12, 0, 0, 0, loc))
	calls := h.takeCalls()
	if len(calls) != 5 {
		t.Fatalf("calls = %v, want 5 backtests", summary(calls))
	}
	if calls[0].method != "backtest.run" || calls[0].params["strategy"] != "default" || calls[0].params["days"] != float64(30) {
		t.Fatalf("first call = %+v", calls[0])
	}
	j = h.job("daily_backtest")
	if j.GetRuns() != 5 || len(j.GetHistory()) != 3 || j.GetLastResult() != "ok" || j.GetHistory()[2].GetResult() == "" {
		t.Fatalf("job = %v", j)
	}
	if got := j.GetHistory()[0].GetStartedAt().AsTime().In(loc).Format("01-02 15:04"); got != "06-03 02:00" {
		t.Fatalf("oldest kept run started %s (history is the last 3)", got)
	}
	evs := filter(topics(h.takeEvents(), loc), func(s string) bool { return strings.Contains(s, "daily_backtest") })
	if len(evs) != 10 || !strings.HasPrefix(evs[0], TopicJobStarted) || !strings.HasPrefix(evs[1], TopicJobFinished) {
		t.Fatalf("events = %v", evs)
	}
	h.advanceTo(time.Date(2026, 6, 7, 0, 30, 0, 0, loc)) // Sunday
	if got := summary(h.takeCalls()); !equalStrings(got, []string{"backtest.run", "report.weekly"}) {
		t.Fatalf("calls = %v", got)
	}
}

// TestSeedJobsFire: [daemon.schedule.daily_backtest] and weekly_report,
// enabled, run on the injected clock as the jobs daily_backtest (calling
// report.drift with {strategy, days}) and weekly_report (report.weekly),
// in the scheduler's zone; disabled, they are not jobs.
func TestSeedJobsFire(t *testing.T) {
	loc := mustLoc(t, "Europe/Istanbul")
	cfg := DefaultConfig()
	cfg.Timezone = "Europe/Istanbul"
	cfg.DailyBacktest = DailyBacktestConfig{Enabled: true, Cron: "0 2 * * *", Strategy: "trend", Days: 3}
	cfg.WeeklyReport = WeeklyReportConfig{Enabled: true, Cron: "0 0 * * 0"}
	h := newHarness(t, time.Date(2026, 6, 5, 12, 0, 0, 0, loc)).start(cfg) // a Friday
	if got := h.job(DailyBacktestJob); got.GetAction() != MethodDrift || got.GetSpec() != "0 2 * * *" || got.GetNextRunLocal() != "2026-06-06T02:00:00+03:00" {
		t.Fatalf("daily_backtest job = %v", got)
	}
	h.advanceTo(time.Date(2026, 6, 7, 12, 0, 0, 0, loc))
	calls := h.takeCalls()
	if got := summary(calls); !equalStrings(got, []string{"report.drift", "report.weekly", "report.drift"}) {
		t.Fatalf("calls = %v", got)
	}
	if p := calls[0].params; p["strategy"] != "trend" || p["days"] != float64(3) || len(p) != 2 {
		t.Fatalf("report.drift params = %v", p)
	}
	if len(calls[1].params) != 0 {
		t.Fatalf("report.weekly params = %v", calls[1].params)
	}
	evs := filter(topics(h.takeEvents(), loc), func(s string) bool { return strings.HasPrefix(s, TopicJobFinished) })
	if !equalStrings(evs, []string{TopicJobFinished + " daily_backtest 06-06 02:00 +03", TopicJobFinished + " weekly_report 06-07 00:00 +03",
		TopicJobFinished + " daily_backtest 06-07 02:00 +03"}) {
		t.Fatalf("events = %v", evs)
	}

	cfg.DailyBacktest.Enabled = false
	res := actortest.Request[*ReloadResult](t, h.sys, h.pid, &Reload{Config: cfg})
	if res.Err != nil || !equalStrings(res.Removed, []string{DailyBacktestJob}) {
		t.Fatalf("reload = %+v", res)
	}
	h.advanceTo(time.Date(2026, 6, 8, 12, 0, 0, 0, loc))
	if got := summary(h.takeCalls()); len(got) != 0 {
		t.Fatalf("calls after disabling daily_backtest = %v", got)
	}
}

func TestJobFailures(t *testing.T) {
	loc := time.UTC
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, loc)
	cases := []struct {
		name    string
		job     JobConfig
		setup   func(h *harness)
		wantErr string
	}{
		{"action answers an error", JobConfig{Cron: "@hourly", Action: "backtest.run"}, func(h *harness) { h.setMode("backtest.run", "fail") }, "backtest crashed"},
		{"params the method rejects", JobConfig{Cron: "@hourly", Action: "typed.run", Params: map[string]any{"strategy": "x"}}, func(*harness) {}, "invalid params"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, start)
			tc.setup(h)
			h.start(withJobs(Config{Timezone: "UTC", History: 5}, map[string]JobConfig{"bt": tc.job}))
			h.advanceTo(start.Add(time.Hour))
			j := h.job("bt")
			if j.GetFailures() != 1 || j.GetLastRun().GetStatus() != "failed" || !strings.Contains(j.GetLastResult(), tc.wantErr) {
				t.Fatalf("job = %v", j)
			}
			evs := filter(topics(h.takeEvents(), loc), func(s string) bool { return strings.HasPrefix(s, "scheduler.job.") })
			if !equalStrings(evs, []string{TopicJobStarted + " bt 06-01 01:00 UTC", TopicJobFailed + " bt 06-01 01:00 UTC"}) {
				t.Fatalf("events = %v", evs)
			}
			// the job keeps its schedule after a failure
			if j.GetNextRunLocal() != "2026-06-01T02:00:00Z" {
				t.Fatalf("next run = %s", j.GetNextRunLocal())
			}
		})
	}
}

// TestUnknownMethodAtRunTime: a method that vanished from the router fails the run.
func TestUnknownMethodAtRunTime(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, start)
	cfg := withJobs(Config{Timezone: "UTC", History: 5}, map[string]JobConfig{"gone": {Cron: "@hourly", Action: "report.daily"}})
	h.pid = nil
	pid := actortest.Spawn(t, h.sys, Props(cfg, Deps{Router: h.router, Clock: h.clock, Logger: actortest.Logger(t)}))
	h.pid = pid
	res := actortest.Request[*messages.SchedulerRunResponse](t, h.sys, pid, &messages.SchedulerRunRequest{Name: "gone"})
	if res.GetError() != nil || res.GetRunId() != 1 {
		t.Fatalf("run = %v", res)
	}
	j := h.job("gone")
	if j.GetLastRun().GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("last run = %v", j.GetLastRun())
	}
}

// TestOverlapSkip: while a run is going, due runs are skipped and counted;
// with overlap = "allow" they start anyway.
func TestOverlapSkip(t *testing.T) {
	cases := []struct {
		name        string
		overlap     string
		wantCalls   int
		wantSkipped uint64
	}{
		{"skip", OverlapSkip, 1, 2},
		{"allow", OverlapAllow, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Date(2026, 6, 1, 0, 0, 30, 0, time.UTC)
			h := newHarness(t, start).start(withJobs(Config{Timezone: "UTC", History: 5},
				map[string]JobConfig{"slow": {Cron: "* * * * *", Action: "slow.job", Overlap: tc.overlap}}))
			h.advanceTo(start.Add(3 * time.Minute))
			if n := len(h.takeCalls()); n != tc.wantCalls {
				t.Fatalf("%d calls, want %d", n, tc.wantCalls)
			}
			j := h.job("slow")
			if j.GetSkipped() != tc.wantSkipped || j.GetLastResult() != "running" || int(j.GetRunning()) != tc.wantCalls {
				t.Fatalf("job = %v", j)
			}
			if tc.overlap == OverlapSkip {
				res := actortest.Request[*messages.SchedulerRunResponse](t, h.sys, h.pid, &messages.SchedulerRunRequest{Name: "slow"})
				if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
					t.Fatalf("manual run while running = %v", res)
				}
			}
			h.releaseHeld()
			actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return h.job("slow").GetRunning() == 0 }, "runs finish")
			h.advanceTo(start.Add(4 * time.Minute))
			if n := len(h.takeCalls()); n != 1 {
				t.Fatalf("%d calls after the run ended, want 1", n)
			}
			h.releaseHeld()
		})
	}
}

// TestMissedRunsNotReplayed: a clock that jumps past a run (suspend, long
// stall) skips it instead of running it late.
func TestMissedRunsNotReplayed(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, start).start(withJobs(Config{Timezone: "UTC", History: 5},
		map[string]JobConfig{"bt": {Cron: "0 2 * * *", Action: "backtest.run"}}))
	h.clock.Set(start.Add(5 * time.Hour))
	h.sync()
	if calls := h.takeCalls(); len(calls) != 0 {
		t.Fatalf("late run replayed: %v", summary(calls))
	}
	if j := h.job("bt"); j.GetSkipped() != 1 || j.GetNextRunLocal() != "2026-06-02T02:00:00Z" {
		t.Fatalf("job = %v", j)
	}
}

// TestReload: unchanged jobs keep their state and next run, changed ones are
// rescheduled, removed ones go, added ones start; a changed window is applied
// at once; a bad config changes nothing.
func TestReload(t *testing.T) {
	loc := mustLoc(t, "Europe/Berlin")
	start := time.Date(2026, 6, 1, 10, 0, 0, 0, loc) // Monday
	base := windowConfig("Europe/Berlin", "09:00", "18:00")
	cfg := withJobs(base, map[string]JobConfig{
		"keep":   {Cron: "*/10 * * * *", Action: "report.weekly"},
		"change": {Cron: "0 12 * * *", Action: "backtest.run"},
		"remove": {Cron: "0 13 * * *", Action: "backtest.run"},
	})
	h := newHarness(t, start).start(cfg)
	h.advanceTo(start.Add(25 * time.Minute))
	_ = h.takeCalls()
	actortest.Request[*messages.SchedulerPauseResponse](t, h.sys, h.pid, &messages.SchedulerPauseRequest{Name: "change"})
	before := h.job("keep")

	next := withJobs(windowConfig("Europe/Berlin", "11:00", "18:00"), map[string]JobConfig{
		"keep":   {Cron: "*/10 * * * *", Action: "report.weekly"},
		"change": {Cron: "0 15 * * *", Action: "backtest.run"},
		"add":    {At: "16:00", Action: "backtest.run"},
	})
	res := actortest.Request[*ReloadResult](t, h.sys, h.pid, &Reload{Config: next})
	if res.Err != nil || !equalStrings(res.Added, []string{"add"}) || !equalStrings(res.Changed, []string{"change"}) ||
		!equalStrings(res.Removed, []string{"remove"}) || !res.WindowChanged {
		t.Fatalf("reload = %+v", res)
	}
	after := h.job("keep")
	if !after.GetNextRun().AsTime().Equal(before.GetNextRun().AsTime()) || after.GetRuns() != before.GetRuns() || after.GetRuns() != 2 {
		t.Fatalf("unchanged job lost its state: before %v after %v", before, after)
	}
	if ch := h.job("change"); !ch.GetPaused() || ch.GetSpec() != "0 15 * * *" {
		t.Fatalf("changed job = %v", ch)
	}
	if a := h.job("add"); a.GetNextRunLocal() != "2026-06-01T16:00:00+02:00" {
		t.Fatalf("added job = %v", a)
	}
	// the window now opens at 11:00: at 10:25 the module is stopped at once
	if got := summary(h.takeCalls()); !equalStrings(got, []string{"module.stop trading"}) {
		t.Fatalf("calls after reload = %v", got)
	}
	names := []string{}
	for _, j := range h.jobs() {
		names = append(names, j.GetName())
	}
	if !equalStrings(names, []string{"add", "change", "keep"}) {
		t.Fatalf("jobs = %v", names)
	}

	bad := next
	bad.Timezone = "Mars/Olympus"
	res = actortest.Request[*ReloadResult](t, h.sys, h.pid, &Reload{Config: bad})
	if res.Err == nil || !strings.Contains(res.Err.Error(), "timezone:") {
		t.Fatalf("bad reload = %+v", res)
	}
	if ws := actortest.Request[*messages.WindowStatusResponse](t, h.sys, h.pid, &messages.WindowStatusRequest{}); ws.GetZone() != "Europe/Berlin" || ws.GetStart() != "11:00" {
		t.Fatalf("window after a bad reload = %v", ws)
	}
	// unchanged window: a reload sends nothing
	res = actortest.Request[*ReloadResult](t, h.sys, h.pid, &Reload{Config: next})
	if res.Err != nil || res.WindowChanged || len(res.Changed)+len(res.Added)+len(res.Removed) != 0 {
		t.Fatalf("same reload = %+v", res)
	}
	if got := h.takeCalls(); len(got) != 0 {
		t.Fatalf("calls after an empty reload = %v", summary(got))
	}
}

// TestRPC drives scheduler.jobs, run, pause and resume through the router
// the JSON-RPC edge uses, with positional and named params.
func TestRPC(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	h := newHarness(t, start).start(withJobs(Config{Timezone: "UTC", History: 5}, map[string]JobConfig{
		"bt":     {Cron: "0 2 * * *", Action: "backtest.run"},
		"report": {Cron: "@weekly", Action: "report.weekly"},
	}))
	cases := []struct {
		name, method, params string
		check                func(t *testing.T, res any, err error)
	}{
		{"jobs", "scheduler.jobs", "", func(t *testing.T, res any, err error) {
			jobs := res.(*messages.SchedulerJobsResponse).GetJobs()
			if err != nil || len(jobs) != 2 || jobs[0].GetName() != "bt" || jobs[0].GetNextRunLocal() != "2026-06-01T02:00:00Z" || jobs[0].GetLastResult() != "" {
				t.Fatalf("jobs = %v, %v", jobs, err)
			}
		}},
		{"run positional", "scheduler.run", `["bt"]`, func(t *testing.T, res any, err error) {
			if err != nil || res.(*messages.SchedulerRunResponse).GetRunId() != 1 {
				t.Fatalf("run = %v, %v", res, err)
			}
		}},
		{"pause", "scheduler.pause", `{"name":"bt"}`, func(t *testing.T, res any, err error) {
			j := res.(*messages.SchedulerPauseResponse).GetJob()
			if err != nil || !j.GetPaused() || j.GetNextRun() != nil {
				t.Fatalf("pause = %v, %v", res, err)
			}
		}},
		{"resume", "scheduler.resume", `["bt"]`, func(t *testing.T, res any, err error) {
			j := res.(*messages.SchedulerResumeResponse).GetJob()
			if err != nil || j.GetPaused() || j.GetNextRunLocal() != "2026-06-01T02:00:00Z" {
				t.Fatalf("resume = %v, %v", res, err)
			}
		}},
		{"one job with history", "scheduler.jobs", `["bt"]`, func(t *testing.T, res any, err error) {
			jobs := res.(*messages.SchedulerJobsResponse).GetJobs()
			if err != nil || len(jobs) != 1 || len(jobs[0].GetHistory()) != 1 || jobs[0].GetHistory()[0].GetTrigger() != "manual" {
				t.Fatalf("jobs = %v, %v", jobs, err)
			}
		}},
		{"unknown job", "scheduler.run", `["nope"]`, func(t *testing.T, _ any, err error) {
			var e *messages.Error
			if !errors.As(err, &e) || e.GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND ||
				!strings.Contains(e.GetMessage(), "known jobs: bt, report") || !equalStrings(e.GetDetails(), []string{"bt", "report"}) {
				t.Fatalf("err = %v", err)
			}
		}},
		{"unknown job on pause", "scheduler.pause", `["nope"]`, func(t *testing.T, _ any, err error) {
			var e *messages.Error
			if !errors.As(err, &e) || e.GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
				t.Fatalf("err = %v", err)
			}
		}},
		{"window disabled", "scheduler.window", "", func(t *testing.T, res any, err error) {
			if err != nil || res.(*messages.WindowStatusResponse).GetState() != "disabled" {
				t.Fatalf("window = %v, %v", res, err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := h.rpcCall(tc.method, tc.params)
			if err == nil {
				// make sure the manual run has finished before the next case
				actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return h.job("bt").GetRunning() == 0 }, "run ends")
			}
			tc.check(t, res, err)
		})
	}
}

func TestPing(t *testing.T) {
	h := newHarness(t, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)).start(DefaultConfig())
	if res := actortest.Request[*messages.PingResponse](t, h.sys, h.pid, &messages.PingRequest{}); res.GetName() != "scheduler" {
		t.Fatalf("ping = %v", res)
	}
	if calls := h.takeCalls(); len(calls) != 0 {
		t.Fatalf("disabled window sent %v", summary(calls))
	}
}

// TestWindowActionErrors: a module that is already running is not an error
// for the window; any other failure is reported in the window status.
func TestWindowActionErrors(t *testing.T) {
	loc := mustLoc(t, "Europe/Istanbul")
	cases := []struct {
		name, mode, wantErr string
	}{
		{"already running", "exists", ""},
		{"start fails", "fail", "backtest crashed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, time.Date(2026, 6, 3, 12, 0, 0, 0, loc))
			h.setMode("module.start", tc.mode)
			h.start(windowConfig("Europe/Istanbul", "09:00", "18:00"))
			h.settle()
			ws := actortest.Request[*messages.WindowStatusResponse](t, h.sys, h.pid, &messages.WindowStatusRequest{})
			if ws.GetState() != "open" || ws.GetLastAction() != "module.start" || ws.GetLastActionError() != tc.wantErr {
				t.Fatalf("status = %v", ws)
			}
		})
	}
}

// TestDisabledJob: not scheduled, but scheduler.run still runs it and
// records its result.
func TestDisabledJob(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	off := false
	cfg := Config{Timezone: "UTC", History: 5, Jobs: map[string]JobConfig{
		"off": {Cron: "@hourly", Action: "immediate.call", Enabled: &off},
	}}
	h := newHarness(t, start).start(cfg)
	h.advanceTo(start.Add(3 * time.Hour))
	j := h.job("off")
	if j.GetEnabled() || j.GetNextRun() != nil || j.GetRuns() != 0 {
		t.Fatalf("disabled job = %v", j)
	}
	res := actortest.Request[*messages.SchedulerRunResponse](t, h.sys, h.pid, &messages.SchedulerRunRequest{Name: "off"})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { j = h.job("off"); return j.GetLastResult() != "running" }, "the run ends")
	if j.GetRuns() != 1 || j.GetLastResult() != "ok" || j.GetLastRun().GetResult() != `{"name":"immediate"}` || j.GetLastRun().GetTrigger() != "manual" {
		t.Fatalf("job after a manual run = %v", j)
	}
}

// TestRespawnKeepsReloadedConfig: the props' producer (what a supervisor
// restart calls) builds the scheduler from the last applied config.
func TestRespawnKeepsReloadedConfig(t *testing.T) {
	sys := actortest.NewSystem(t)
	clock := NewManualClock(time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
	props := Props(Config{Timezone: "UTC", History: 5}, Deps{Clock: clock, Logger: actortest.Logger(t)})
	pid := sys.Root.Spawn(props)
	next := withJobs(Config{Timezone: "UTC", History: 5}, map[string]JobConfig{"later": {Cron: "@daily", Action: "backtest.run"}})
	if res := actortest.Request[*ReloadResult](t, sys, pid, &Reload{Config: next}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if err := sys.Root.StopFuture(pid).Wait(); err != nil {
		t.Fatal(err)
	}
	pid = actortest.Spawn(t, sys, props)
	res := actortest.Request[*messages.SchedulerJobsResponse](t, sys, pid, &messages.SchedulerJobsRequest{})
	if len(res.GetJobs()) != 1 || res.GetJobs()[0].GetName() != "later" {
		t.Fatalf("jobs after respawn = %v", res.GetJobs())
	}
}

// TestManyDueInBatches: more due jobs than one batch all run once, and the
// scheduler answers requests between batches.
func TestManyDueInBatches(t *testing.T) {
	start := time.Date(2026, 6, 1, 0, 0, 30, 0, time.UTC)
	jobs := map[string]JobConfig{}
	for i := range 3*fireBatch + 5 {
		jobs[fmt.Sprintf("j%03d", i)] = JobConfig{Cron: "* * * * *", Action: "backtest.run"}
	}
	h := newHarness(t, start).start(withJobs(Config{Timezone: "UTC", History: 5}, jobs))
	h.advanceTo(start.Add(time.Minute))
	if n := len(h.takeCalls()); n != len(jobs) {
		t.Fatalf("%d calls, want %d", n, len(jobs))
	}
	for _, j := range h.jobs() {
		if j.GetRuns() != 1 || j.GetNextRunLocal() != "2026-06-01T00:02:00Z" {
			t.Fatalf("job = %v", j)
		}
	}
}
