package scheduler

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// Config is the scheduler configuration ([daemon.schedule]).
type Config struct {
	// Timezone is the IANA zone the trading window and the jobs are read in
	// (e.g. "Europe/Istanbul"). Empty means the machine's zone. Default "".
	Timezone string `toml:"timezone"`
	// TradingStart opens the trading window, "HH:MM" local time. The window
	// is disabled while TradingStart and TradingStop are empty. Default "".
	TradingStart string `toml:"trading_start"`
	// TradingStop closes the window, "HH:MM"; at or before TradingStart
	// means the window crosses midnight (22:00 -> 06:00). Default "".
	TradingStop string `toml:"trading_stop"`
	// TradingDays are the days the window opens, 1 = Monday ... 7 = Sunday
	// (a window crossing midnight closes on the next day). Default [1,2,3,4,5].
	TradingDays []int `toml:"trading_days"`
	// TradingModule is the module the window starts (module.start) and stops
	// (module.stop). Default "trading".
	TradingModule string `toml:"trading_module"`
	// History is how many runs are kept per job. Default 20.
	History int `toml:"history"`
	// Jobs are the scheduled jobs by name ([daemon.schedule.jobs.NAME]).
	// Default none.
	Jobs map[string]JobConfig `toml:"jobs"`
	// DailyBacktest is the seed's daily drift report
	// ([daemon.schedule.daily_backtest]); enabled, it is the job
	// "daily_backtest" calling report.drift.
	DailyBacktest DailyBacktestConfig `toml:"daily_backtest"`
	// WeeklyReport is the seed's weekly trading report
	// ([daemon.schedule.weekly_report]); enabled, it is the job
	// "weekly_report" calling report.weekly.
	WeeklyReport WeeklyReportConfig `toml:"weekly_report"`
}

// DailyBacktestConfig is [daemon.schedule.daily_backtest]: backtest a
// strategy over the last Days days and compare it with what it did in
// paper/live trading (the drift report, report.drift).
type DailyBacktestConfig struct {
	// Enabled schedules it. Default false.
	Enabled bool `toml:"enabled"`
	// Cron is when it runs, as JobConfig.Cron. Default "0 2 * * *".
	Cron string `toml:"cron"`
	// Strategy names one of [trading.strategies]. Default "default".
	Strategy string `toml:"strategy"`
	// Days is how many days back the backtest covers, 1 to 366. Default 1.
	Days int `toml:"days"`
}

// WeeklyReportConfig is [daemon.schedule.weekly_report]: the weekly
// trading report (report.weekly).
type WeeklyReportConfig struct {
	// Enabled schedules it. Default false.
	Enabled bool `toml:"enabled"`
	// Cron is when it runs, as JobConfig.Cron. Default "0 0 * * 0"
	// (Sunday midnight).
	Cron string `toml:"cron"`
}

// JobConfig is one job ([daemon.schedule.jobs.NAME]). Exactly one of Cron
// and At is set.
type JobConfig struct {
	// Cron is a 5-field cron expression ("0 2 * * *": minute, hour, day of
	// month, month, day of week with 0 = Sunday) or a descriptor (@yearly,
	// @monthly, @weekly, @daily, @hourly, "@every 90m"). Default "".
	Cron string `toml:"cron"`
	// At is a daily time, "HH:MM". Default "".
	At string `toml:"at"`
	// Days restricts At to these days, 1 = Monday ... 7 = Sunday; empty
	// means every day. Only with At. Default [].
	Days []int `toml:"days"`
	// Timezone overrides the scheduler's timezone for this job. Default "".
	Timezone string `toml:"timezone"`
	// Enabled schedules the job; a disabled job can still be run by hand
	// (scheduler.run). Unset means true (see IsEnabled). Default true.
	Enabled *bool `toml:"enabled"`
	// Action is the JSON-RPC method the job calls, e.g. "module.restart".
	Action string `toml:"action"`
	// Params are the method's params, a TOML table sent as a JSON object
	// (params = { module = "trading" }). Default none.
	Params map[string]any `toml:"params"`
	// Timeout bounds one run; "0s" means the method's own deadline.
	// Default "0s".
	Timeout time.Duration `toml:"timeout"`
	// Overlap is what happens when a run is due while the previous one is
	// still going: "skip" it (counted) or "allow" both. Default "skip".
	Overlap string `toml:"overlap"`
}

// Overlap policies.
const (
	OverlapSkip  = "skip"
	OverlapAllow = "allow"
)

// DefaultConfig returns the scheduler defaults: no trading window (a fresh
// install has no trading module), no jobs, the machine's zone, and the
// seed's daily_backtest ("0 2 * * *", strategy "default", 1 day) and
// weekly_report ("0 0 * * 0") disabled.
func DefaultConfig() Config {
	return Config{
		TradingDays:   []int{1, 2, 3, 4, 5},
		TradingModule: "trading",
		History:       20,
		DailyBacktest: DailyBacktestConfig{Cron: "0 2 * * *", Strategy: "default", Days: 1},
		WeeklyReport:  WeeklyReportConfig{Cron: "0 0 * * 0"},
	}
}

// DefaultJobConfig is the starting value of a new [daemon.schedule.jobs.NAME]
// entry: enabled (Enabled unset), overlap "skip". A zero JobConfig means the
// same, so decoders need not start from it.
func DefaultJobConfig() JobConfig {
	return JobConfig{Overlap: OverlapSkip}
}

// IsEnabled reports whether the job is scheduled: Enabled unset or true.
func (j JobConfig) IsEnabled() bool { return j.Enabled == nil || *j.Enabled }

// WindowEnabled reports whether the trading window is configured.
func (c Config) WindowEnabled() bool { return c.TradingStart != "" || c.TradingStop != "" }

// Validate reports every problem at once, each prefixed with its key
// relative to daemon.schedule (e.g. "jobs.daily_backtest.cron: ...").
func (c Config) Validate() error {
	_, err := compile(c)
	return err
}

// ValidateActions checks that every job's action (the enabled seed jobs'
// too), and the window's module.start / module.stop, is one of the known
// methods (the daemon passes
// router.Methods()).
func ValidateActions(cfg Config, known []string) error {
	set := make(map[string]bool, len(known))
	for _, m := range known {
		set[m] = true
	}
	var errs []error
	if cfg.WindowEnabled() {
		for _, m := range []string{methodStart, methodStop} {
			if !set[m] {
				errs = append(errs, fmt.Errorf("trading_module: the window needs the %s method, which the daemon does not serve", m))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Jobs)) {
		a := cfg.Jobs[name].Action
		if a != "" && !set[a] {
			errs = append(errs, fmt.Errorf("jobs.%s.action: unknown method %q%s", name, a, suggest(a, known)))
		}
	}
	seeds := seedJobs(cfg)
	for _, name := range slices.Sorted(maps.Keys(seeds)) {
		if m := seeds[name].Action; !set[m] {
			errs = append(errs, fmt.Errorf("%s.enabled: the job needs the %s method, which the daemon does not serve", name, m))
		}
	}
	return errors.Join(errs...)
}

// suggest names the known methods of the same family ("module.").
func suggest(method string, known []string) string {
	prefix, _, _ := strings.Cut(method, ".")
	var same []string
	for _, k := range known {
		if strings.HasPrefix(k, prefix+".") {
			same = append(same, k)
		}
	}
	if len(same) == 0 {
		return ""
	}
	return " (known: " + strings.Join(same, ", ") + ")"
}

// Methods the trading window calls.
const (
	methodStart = "module.start"
	methodStop  = "module.stop"
)

// compiled is a checked Config ready for the actor.
type compiled struct {
	cfg    Config
	loc    *time.Location
	zone   string
	window *window // nil when disabled
	module string
	jobs   map[string]*jobSpec
}

// jobSpec is one compiled job.
type jobSpec struct {
	name   string
	cfg    JobConfig
	sched  schedule
	zone   string
	spec   string
	params json.RawMessage
	loc    *time.Location
}

// compile checks cfg and builds the schedules, reporting every problem.
func compile(cfg Config) (*compiled, error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	out := &compiled{cfg: cfg, jobs: map[string]*jobSpec{}, module: cfg.TradingModule}
	loc, zone, err := loadZone(cfg.Timezone)
	if err != nil {
		bad("timezone", "%v", err)
		loc, zone = time.UTC, "UTC"
	}
	out.loc, out.zone = loc, zone
	if cfg.History < 1 {
		bad("history", "must be >= 1, got %d", cfg.History)
	}
	if cfg.WindowEnabled() {
		w := &window{loc: loc}
		var ok1, ok2 bool
		w.start, ok1 = parseHHMM(cfg.TradingStart)
		w.stop, ok2 = parseHHMM(cfg.TradingStop)
		switch {
		case cfg.TradingStart == "":
			bad("trading_start", "must be set with trading_stop (HH:MM), or both left empty to disable the window")
		case !ok1:
			bad("trading_start", "must be HH:MM (00:00 to 23:59), got %q", cfg.TradingStart)
		}
		switch {
		case cfg.TradingStop == "":
			bad("trading_stop", "must be set with trading_start (HH:MM), or both left empty to disable the window")
		case !ok2:
			bad("trading_stop", "must be HH:MM (00:00 to 23:59), got %q", cfg.TradingStop)
		}
		if ok1 && ok2 && w.start == w.stop {
			bad("trading_stop", "must differ from trading_start (%s)", cfg.TradingStart)
		}
		if len(cfg.TradingDays) == 0 {
			bad("trading_days", "must list at least one day (1 = Monday ... 7 = Sunday)")
		}
		for i, d := range cfg.TradingDays {
			if d < 1 || d > 7 {
				bad(fmt.Sprintf("trading_days[%d]", i), "must be 1 (Monday) to 7 (Sunday), got %d", d)
				continue
			}
			w.days[d] = true
		}
		if cfg.TradingModule == "" {
			bad("trading_module", "must name the module the window starts and stops")
		}
		out.window = w
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.Jobs)) {
		js, jerrs := compileJob("jobs."+name, name, cfg.Jobs[name], loc, zone)
		errs = append(errs, jerrs...)
		out.jobs[name] = js
	}
	errs = append(errs, compileSeedJobs(cfg, out, loc, zone)...)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// validJobName: the name is a CLI argument and part of config key paths.
func validJobName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// compileJob checks one job, reporting its problems under key.
func compileJob(key, name string, jc JobConfig, defLoc *time.Location, defZone string) (*jobSpec, []error) {
	var errs []error
	bad := func(sub, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+sub+": "+format, args...))
	}
	if !validJobName(name) {
		bad("", "job names use only a-z, 0-9, '_' and '-'")
	}
	js := &jobSpec{name: name, cfg: jc, zone: defZone, loc: defLoc}
	loc := defLoc
	if jc.Timezone != "" {
		l, z, err := loadZone(jc.Timezone)
		if err != nil {
			bad(".timezone", "%v", err)
		} else {
			loc, js.zone, js.loc = l, z, l
		}
	}
	switch {
	case jc.Cron != "" && jc.At != "":
		bad("", "set one of cron and at, not both")
	case jc.Cron == "" && jc.At == "":
		bad("", "set cron (\"0 2 * * *\", \"@daily\") or at (\"HH:MM\")")
	case jc.Cron != "":
		js.spec = jc.Cron
		s, err := parseCron(jc.Cron, loc)
		if err != nil {
			bad(".cron", "%v", err)
			break
		}
		if len(jc.Days) > 0 {
			bad(".days", "only with at; use the cron day-of-week field")
		}
		if s.next(time.Now()).IsZero() {
			bad(".cron", "%q never runs", jc.Cron)
			break
		}
		js.sched = s
	default:
		m, ok := parseHHMM(jc.At)
		if !ok {
			bad(".at", "must be HH:MM (00:00 to 23:59), got %q", jc.At)
			break
		}
		dayOK := true
		for i, d := range jc.Days {
			if d < 1 || d > 7 {
				bad(fmt.Sprintf(".days[%d]", i), "must be 1 (Monday) to 7 (Sunday), got %d", d)
				dayOK = false
			}
		}
		js.spec = "at " + jc.At + daysText(jc.Days)
		if dayOK {
			js.sched = atSpec(m, jc.Days, loc)
		}
	}
	if jc.Action == "" {
		bad(".action", "must name the JSON-RPC method to call (e.g. \"module.restart\")")
	} else if !strings.Contains(jc.Action, ".") || strings.ContainsAny(jc.Action, " \t") {
		bad(".action", "must be a method name such as \"module.restart\", got %q", jc.Action)
	}
	if len(jc.Params) > 0 {
		b, err := json.Marshal(jc.Params)
		if err != nil {
			bad(".params", "cannot be sent as JSON: %v", err)
		}
		js.params = b
	}
	if jc.Timeout < 0 {
		bad(".timeout", "must be >= 0, got %s", jc.Timeout)
	}
	switch jc.Overlap {
	case "", OverlapSkip, OverlapAllow:
	default:
		bad(".overlap", "must be %q or %q, got %q", OverlapSkip, OverlapAllow, jc.Overlap)
	}
	return js, errs
}

// loadZone resolves an IANA name; "" is the machine's zone.
func loadZone(name string) (*time.Location, string, error) {
	if name == "" || name == "Local" {
		return time.Local, localZoneName(), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, "", fmt.Errorf("unknown time zone %q (use an IANA name such as \"Europe/Istanbul\")", name)
	}
	return loc, loc.String(), nil
}

// localZoneName names the machine's zone for humans: $TZ when set, else the
// abbreviation in effect now ("Local" says nothing).
func localZoneName() string {
	if tz := strings.TrimPrefix(os.Getenv("TZ"), ":"); tz != "" {
		return tz
	}
	abbr, _ := time.Now().Zone()
	return "Local (" + abbr + ")"
}

// parseHHMM parses "HH:MM" (24-hour) into minutes since midnight.
func parseHHMM(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	h, m := 0, 0
	for i, r := range s {
		if i == 2 {
			continue
		}
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	h = int(s[0]-'0')*10 + int(s[1]-'0')
	m = int(s[3]-'0')*10 + int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, false
	}
	return h*60 + m, true
}

var dayNames = [8]string{"", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

func daysText(days []int) string {
	if len(days) == 0 {
		return ""
	}
	ds := slices.Clone(days)
	sort.Ints(ds)
	names := make([]string, 0, len(ds))
	for _, d := range ds {
		if d >= 1 && d <= 7 {
			names = append(names, dayNames[d])
		}
	}
	return " on " + strings.Join(names, ",")
}
