package scheduler

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.WindowEnabled() || cfg.History != 20 || cfg.TradingModule != "trading" {
		t.Fatalf("defaults = %+v", cfg)
	}
	if err := ValidateActions(cfg, nil); err != nil {
		t.Fatalf("a disabled window needs no methods: %v", err)
	}
}

func TestValidate(t *testing.T) {
	job := func(mod func(*JobConfig)) Config {
		cfg := DefaultConfig()
		j := DefaultJobConfig()
		j.Cron, j.Action = "0 2 * * *", "backtest.run"
		mod(&j)
		cfg.Jobs = map[string]JobConfig{"daily_backtest": j}
		return cfg
	}
	seed := func(mod func(*Config)) Config {
		cfg := DefaultConfig()
		mod(&cfg)
		return cfg
	}
	win := func(mod func(*Config)) Config {
		cfg := windowConfig("Europe/Istanbul", "09:00", "18:00")
		mod(&cfg)
		return cfg
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // each a substring of one problem; nil means valid
	}{
		{"valid window and job", job(func(j *JobConfig) { j.Params = map[string]any{"strategy": "default"} }), nil},
		{"valid at with days", job(func(j *JobConfig) { j.Cron, j.At, j.Days = "", "23:59", []int{1, 7} }), nil},
		{"valid midnight crossing", win(func(c *Config) { c.TradingStart, c.TradingStop = "22:00", "06:00" }), nil},
		{"valid descriptor", job(func(j *JobConfig) { j.Cron = "@every 90m" }), nil},
		{"bad zone", win(func(c *Config) { c.Timezone = "Europe/Istambul" }), []string{`timezone: unknown time zone "Europe/Istambul"`}},
		{"bad start", win(func(c *Config) { c.TradingStart = "9:00" }), []string{`trading_start: must be HH:MM`}},
		{"bad stop", win(func(c *Config) { c.TradingStop = "24:00" }), []string{`trading_stop: must be HH:MM`}},
		{"only start", win(func(c *Config) { c.TradingStop = "" }), []string{"trading_stop: must be set with trading_start"}},
		{"start equals stop", win(func(c *Config) { c.TradingStop = "09:00" }), []string{"trading_stop: must differ"}},
		{"bad days", win(func(c *Config) { c.TradingDays = []int{1, 0, 8} }), []string{"trading_days[1]: must be 1 (Monday) to 7 (Sunday), got 0", "trading_days[2]:"}},
		{"no days", win(func(c *Config) { c.TradingDays = nil }), []string{"trading_days: must list at least one day"}},
		{"no module", win(func(c *Config) { c.TradingModule = "" }), []string{"trading_module: must name"}},
		{"history", win(func(c *Config) { c.History = 0 }), []string{"history: must be >= 1"}},
		{"bad cron", job(func(j *JobConfig) { j.Cron = "0 25 * * *" }), []string{"jobs.daily_backtest.cron: end of range (25) above maximum (23)"}},
		{"six fields", job(func(j *JobConfig) { j.Cron = "0 0 2 * * *" }), []string{"jobs.daily_backtest.cron: expected exactly 5 fields"}},
		{"cron tz prefix", job(func(j *JobConfig) { j.Cron = "CRON_TZ=UTC 0 2 * * *" }), []string{"jobs.daily_backtest.cron: time zone prefixes are not supported"}},
		{"never runs", job(func(j *JobConfig) { j.Cron = "0 0 30 2 *" }), []string{`jobs.daily_backtest.cron: "0 0 30 2 *" never runs`}},
		{"cron and at", job(func(j *JobConfig) { j.At = "02:00" }), []string{"jobs.daily_backtest: set one of cron and at"}},
		{"neither", job(func(j *JobConfig) { j.Cron = "" }), []string{"jobs.daily_backtest: set cron"}},
		{"bad at", job(func(j *JobConfig) { j.Cron, j.At = "", "2am" }), []string{`jobs.daily_backtest.at: must be HH:MM (00:00 to 23:59), got "2am"`}},
		{"bad job day", job(func(j *JobConfig) { j.Cron, j.At, j.Days = "", "02:00", []int{9} }), []string{"jobs.daily_backtest.days[0]: must be 1 (Monday) to 7 (Sunday), got 9"}},
		{"days with cron", job(func(j *JobConfig) { j.Days = []int{1} }), []string{"jobs.daily_backtest.days: only with at"}},
		{"no action", job(func(j *JobConfig) { j.Action = "" }), []string{"jobs.daily_backtest.action: must name"}},
		{"bad action", job(func(j *JobConfig) { j.Action = "backtest run" }), []string{"jobs.daily_backtest.action: must be a method name"}},
		{"bad job zone", job(func(j *JobConfig) { j.Timezone = "Nowhere/Land" }), []string{"jobs.daily_backtest.timezone: unknown time zone"}},
		{"negative timeout", job(func(j *JobConfig) { j.Timeout = -time.Second }), []string{"jobs.daily_backtest.timeout: must be >= 0"}},
		{"bad job name", func() Config {
			c := job(func(*JobConfig) {})
			c.Jobs["Daily Backtest"] = c.Jobs["daily_backtest"]
			delete(c.Jobs, "daily_backtest")
			return c
		}(), []string{"jobs.Daily Backtest: job names use only a-z, 0-9, '_' and '-'"}},
		{"bad overlap", job(func(j *JobConfig) { j.Overlap = "queue" }), []string{`jobs.daily_backtest.overlap: must be "skip" or "allow", got "queue"`}},
		{"seed jobs enabled", seed(func(c *Config) { c.DailyBacktest.Enabled, c.WeeklyReport.Enabled = true, true }), nil},
		{"seed job bad cron", seed(func(c *Config) { c.DailyBacktest.Enabled, c.DailyBacktest.Cron = true, "0 2 * *" }),
			[]string{"daily_backtest.cron: expected exactly 5 fields"}},
		{"enabled seed job bad cron", seed(func(c *Config) { c.WeeklyReport.Enabled, c.WeeklyReport.Cron = true, "0 0 * * 8" }),
			[]string{"weekly_report.cron: end of range (8) above maximum (6)"}},
		{"disabled seed jobs are not checked", Config{History: 1}, nil},
		{"seed job no cron", seed(func(c *Config) { c.WeeklyReport.Enabled, c.WeeklyReport.Cron = true, "" }),
			[]string{"weekly_report: set cron"}},
		{"seed job days", seed(func(c *Config) { c.DailyBacktest.Enabled, c.DailyBacktest.Days = true, 0 }), []string{"daily_backtest.days: must be 1 to 366, got 0"}},
		{"seed job no strategy", seed(func(c *Config) { c.DailyBacktest.Enabled, c.DailyBacktest.Strategy = true, "" }),
			[]string{"daily_backtest.strategy: must name one of [trading.strategies]"}},
		{"seed job name taken", func() Config {
			c := job(func(*JobConfig) {})
			c.DailyBacktest.Enabled = true
			return c
		}(), []string{"jobs.daily_backtest: the name is the job of daemon.schedule.daily_backtest, which is enabled"}},
		{"every problem at once", func() Config {
			c := job(func(j *JobConfig) { j.Cron, j.Action = "nope", "" })
			c.Timezone, c.TradingStart, c.TradingStop = "X/Y", "25:00", "06:00"
			return c
		}(), []string{"timezone:", "trading_start:", "jobs.daily_backtest.cron:", "jobs.daily_backtest.action:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %v", tc.want)
			}
			probs := flattenErr(err)
			if len(probs) != len(tc.want) {
				t.Fatalf("problems = %q, want %d", probs, len(tc.want))
			}
			for i, w := range tc.want {
				if !strings.Contains(probs[i], w) {
					t.Errorf("problem %d = %q, want it to contain %q", i, probs[i], w)
				}
			}
		})
	}
}

func flattenErr(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, flattenErr(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func TestValidateActions(t *testing.T) {
	known := []string{"backtest.run", "daemon.reload_config", "module.restart", "module.start", "module.stop"}
	cases := []struct {
		name  string
		cfg   Config
		known []string
		want  []string
	}{
		{"all known", withJobs(windowConfig("", "09:00", "18:00"), map[string]JobConfig{"a": {Cron: "@daily", Action: "module.restart"}}), known, nil},
		{"unknown action", withJobs(DefaultConfig(), map[string]JobConfig{"a": {Cron: "@daily", Action: "module.reboot"}}), known,
			[]string{`jobs.a.action: unknown method "module.reboot" (known: module.restart, module.start, module.stop)`}},
		{"seed jobs without the reports methods", func() Config {
			c := DefaultConfig()
			c.DailyBacktest.Enabled, c.WeeklyReport.Enabled = true, true
			return c
		}(), known, []string{"daily_backtest.enabled: the job needs the report.drift method, which the daemon does not serve",
			"weekly_report.enabled: the job needs the report.weekly method, which the daemon does not serve"}},
		{"disabled seed jobs need nothing", DefaultConfig(), nil, nil},
		{"window without module methods", windowConfig("", "09:00", "18:00"), []string{"backtest.run"},
			[]string{"trading_module: the window needs the module.start method, which the daemon does not serve", "trading_module: the window needs the module.stop method, which the daemon does not serve"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateActions(tc.cfg, tc.known)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			probs := flattenErr(err)
			if !equalStrings(probs, tc.want) {
				t.Fatalf("problems = %q, want %q", probs, tc.want)
			}
		})
	}
}

// TestValidateStrategies: an enabled daily_backtest must name a strategy
// of [trading.strategies]; a disabled one is not checked.
func TestValidateStrategies(t *testing.T) {
	cfg := DefaultConfig()
	if err := ValidateStrategies(cfg, nil); err != nil {
		t.Fatalf("disabled, default strategy: %v", err)
	}
	cfg.DailyBacktest.Enabled = true
	cfg.DailyBacktest.Strategy = "trend"
	if err := ValidateStrategies(cfg, []string{"grid", "trend"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		known []string
		want  string
	}{
		{[]string{"grid", "trend2"}, `daily_backtest.strategy: unknown strategy "trend" (configured: grid, trend2)`},
		{nil, `daily_backtest.strategy: unknown strategy "trend": [trading.strategies] configures none`},
	} {
		if err := ValidateStrategies(cfg, tc.known); err == nil || err.Error() != tc.want {
			t.Errorf("known %v: error %v, want %q", tc.known, err, tc.want)
		}
	}
}

// TestDecodeTOML reads the seed's schedule, as [daemon.schedule] in TOML,
// into Config; params become a JSON object for the router.
func TestDecodeTOML(t *testing.T) {
	const doc = `
timezone = "Europe/Istanbul"
trading_start = "09:00"
trading_stop = "18:00"
trading_days = [1, 2, 3, 4, 5]

[jobs.daily_backtest]
enabled = false
cron = "0 2 * * *"
action = "backtest.run"
params = { strategy = "default", days = 30, symbols = ["BTCUSDT"] }
timeout = "30m"

[jobs.weekly_report]
cron = "0 0 * * 0"
action = "report.weekly"

[daily_backtest]
enabled = false # enabled, its job would take the name of jobs.daily_backtest
cron = "30 3 * * *"
strategy = "trend"
days = 7

[weekly_report]
cron = "0 1 * * 1"
`
	cfg := DefaultConfig()
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) != 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bt := c.jobs["daily_backtest"]
	var params map[string]any
	if err := json.Unmarshal(bt.params, &params); err != nil {
		t.Fatal(err)
	}
	if params["strategy"] != "default" || params["days"] != float64(30) || bt.cfg.IsEnabled() || bt.cfg.Timeout != 30*time.Minute {
		t.Fatalf("daily_backtest = %+v, params %s", bt.cfg, bt.params)
	}
	if wr := c.jobs["weekly_report"]; !wr.cfg.IsEnabled() || wr.cfg.Overlap != "" {
		t.Fatalf("weekly_report = %+v", wr.cfg)
	}
	want := DailyBacktestConfig{Cron: "30 3 * * *", Strategy: "trend", Days: 7}
	if cfg.DailyBacktest != want || cfg.WeeklyReport != (WeeklyReportConfig{Cron: "0 1 * * 1"}) {
		t.Fatalf("seed jobs = %+v, %+v", cfg.DailyBacktest, cfg.WeeklyReport)
	}
}

// TestSeedJobDefaults are the seed's: disabled, 02:00 daily and Sunday
// midnight, strategy "default", one day.
func TestSeedJobDefaults(t *testing.T) {
	cfg := DefaultConfig()
	if cfg.DailyBacktest != (DailyBacktestConfig{Cron: "0 2 * * *", Strategy: "default", Days: 1}) ||
		cfg.WeeklyReport != (WeeklyReportConfig{Cron: "0 0 * * 0"}) {
		t.Fatalf("defaults = %+v, %+v", cfg.DailyBacktest, cfg.WeeklyReport)
	}
	c, err := compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.jobs) != 0 {
		t.Fatalf("disabled seed jobs became jobs: %v", c.jobs)
	}
}

func FuzzParseHHMM(f *testing.F) {
	for _, s := range []string{"09:00", "23:59", "24:00", "9:00", "ab:cd", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, ok := parseHHMM(s)
		if ok && (m < 0 || m >= 24*60) {
			t.Fatalf("%q -> %d", s, m)
		}
	})
}

// FuzzCron: any expression either fails to parse or yields runs that move
// forward.
func FuzzCron(f *testing.F) {
	for _, s := range []string{"0 2 * * *", "*/5 * * * 1-5", "@daily", "@every 1h", "30 2 29 2 *", "0 0 1,15 * 3"} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		f.Fatal(err)
	}
	from := time.Date(2026, 3, 28, 23, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, expr string) {
		s, err := parseCron(expr, loc)
		if err != nil {
			return
		}
		prev := from
		for range 5 {
			n := s.next(prev)
			if n.IsZero() {
				return
			}
			if !n.After(prev) {
				t.Fatalf("%q: next(%s) = %s", expr, prev, n)
			}
			prev = n
		}
	})
}

func TestRealClock(t *testing.T) {
	var c Clock = RealClock{}
	// Not d < 0: the goroutine may move to the other vCPU between the two
	// readings, and the vCPUs' clocks differ by tens of ms.
	if d := time.Since(c.Now()); d < -time.Second || d > time.Minute {
		t.Fatalf("now is off by %s", d)
	}
	fired := make(chan struct{})
	c.WakeAt(c.Now().Add(-time.Second), func() { close(fired) })
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("a due wake-up did not fire")
	}
	stop := c.WakeAt(c.Now().Add(time.Hour), func() { t.Error("a stopped wake-up fired") })
	if !stop() {
		t.Fatal("stop reported the wake-up already fired")
	}
}
