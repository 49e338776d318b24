package modules

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/superbot/superbot/actors/internal/restarts"
)

// Module types.
const (
	TypeUvicorn = "uvicorn"
	TypeFlask   = "flask"
	TypePython  = "python"
	TypeExec    = "exec"
	TypeThread  = "thread"
)

// Restart policies.
const (
	RestartAlways    = "always"
	RestartOnFailure = "on-failure"
	RestartNever     = "never"
)

// Config is the modules part of the [daemon] table: daemon.modules.NAME and
// daemon.autostart. The config package embeds it into [daemon].
type Config struct {
	// Modules are the module definitions by name. Default: none.
	Modules map[string]ModuleConfig `toml:"modules"`
	// Autostart names the modules started when the daemon is up (step 9 of
	// the startup sequence), in dependency order. Default [].
	Autostart []string `toml:"autostart"`
	// Resurrect starts again, at the next daemon start, the modules that
	// were running when the daemon stopped or died (like pm2 resurrect);
	// the set is kept in state_dir/modules.running. Default true.
	Resurrect bool `toml:"resurrect"`
	// Policy is every module's restart policy, from [daemon.supervisor]
	// (max_restarts, within, cooldown); a module's own keys override it.
	// The daemon fills it in; zero means DefaultPolicy.
	Policy RestartPolicy `toml:"-"`
}

// RestartPolicy is a restart policy: Max restarts within Within, and a
// failed module tried again after Cooldown (0: never).
type RestartPolicy = restarts.Policy

// ModuleConfig is one [daemon.modules.NAME] table. New entries start from
// DefaultModuleConfig. Zero durations mean the default.
type ModuleConfig struct {
	// Enabled allows the module to start; a disabled module is listed but
	// module.start refuses it. Default true.
	Enabled bool `toml:"enabled"`
	// Type is uvicorn, flask, python, exec or thread. Required.
	Type string `toml:"type"`
	// App is the ASGI/WSGI application ("pkg.mod:app") of uvicorn and flask
	// modules. Required for those.
	App string `toml:"app"`
	// Module is the Python module run with "python -m" (type python) or the
	// registered name of a thread module (default: the module's own name).
	Module string `toml:"module"`
	// Args are extra arguments, after the type's own (for exec, after
	// command). Default [].
	Args []string `toml:"args"`
	// Command is the program and its arguments, as given (type exec).
	Command []string `toml:"command"`
	// Host is the listen host of uvicorn and flask modules. Default "127.0.0.1".
	Host string `toml:"host"`
	// Port is the listen port of uvicorn and flask modules (1-65535);
	// required for them. Default 0.
	Port int `toml:"port"`
	// Workers is uvicorn's worker count. Default 1.
	Workers int `toml:"workers"`
	// Debug runs flask's development server instead of waitress. Default false.
	Debug bool `toml:"debug"`
	// HealthcheckEndpoint is an HTTP path ("/health") on host:port, or a full
	// URL, that must answer 200 for the module to count as started and
	// healthy. Default "" (no HTTP check).
	HealthcheckEndpoint string `toml:"healthcheck_endpoint"`
	// Python is the interpreter, or a virtualenv directory (its bin/python3
	// is used). Default "python3".
	Python string `toml:"python"`
	// Env is added to the module's environment, after SUPERBOT_MODULE,
	// SUPERBOT_SOCKET and SUPERBOT_TOKEN_PATH. Default {}.
	Env map[string]string `toml:"env"`
	// Cwd is the working directory. Default "" (the daemon's).
	Cwd string `toml:"cwd"`
	// DependsOn names modules that must be running before this one starts
	// (and are stopped after it). Default [].
	DependsOn []string `toml:"depends_on"`
	// StartTimeout bounds the start: the health check must pass within it.
	// Default "30s".
	StartTimeout time.Duration `toml:"start_timeout"`
	// StartPeriod is how long the module must stay up to count as
	// started. Default "1s".
	StartPeriod time.Duration `toml:"start_seconds"`
	// StopTimeout is the wait between SIGTERM and SIGKILL. Default "10s".
	StopTimeout time.Duration `toml:"stop_timeout"`
	// Restart is always, on-failure or never. Default "on-failure".
	Restart string `toml:"restart"`
	// Backoff is the delay before a crash restart ([...backoff]).
	Backoff Backoff `toml:"backoff"`
	// MaxMemory is the RSS above which the watchdog restarts the module,
	// e.g. "512MiB", "1GB"; "" means no limit. Default "".
	MaxMemory string `toml:"max_memory"`
	// MaxRestarts overrides daemon.supervisor.max_restarts for this module
	// (crash restarts within Within before it is failed); 0 inherits it.
	// Default 0. (No restarts at all is restart = "never".)
	MaxRestarts int `toml:"max_restarts"`
	// Within overrides daemon.supervisor.within, the sliding window of
	// MaxRestarts; "0s" inherits it. Default "0s".
	Within time.Duration `toml:"within"`
	// Singleton, with [cluster] on, runs the module on one node at a time:
	// the node that leads its election (module-NAME). That node starts it
	// (autostart, module.start) with SUPERBOT_FENCING_TOKEN, the term's
	// fencing token, in its environment; the others hold it until they are
	// elected; a deposed node kills it at once (SIGKILL), before the lease
	// can expire. Without [cluster] it has no effect. Default false.
	Singleton bool `toml:"singleton"`
	// Cooldown overrides daemon.supervisor.cooldown: how long the module
	// stays failed after the restart cap before it is tried again; "never"
	// never retries, "" inherits. Default "".
	Cooldown string `toml:"cooldown"`
}

// CooldownNever is the Cooldown that never retries a failed module.
const CooldownNever = "never"

// parseCooldown reads a module's Cooldown: ok is false for "" (inherit);
// "never" and "0s" are 0 (never).
func parseCooldown(s string) (d time.Duration, ok bool, err error) {
	switch s {
	case "":
		return 0, false, nil
	case CooldownNever:
		return 0, true, nil
	}
	d, err = time.ParseDuration(s)
	if err == nil && d < 0 {
		err = fmt.Errorf("must be >= 0, got %s", s)
	}
	return d, true, err
}

// policy is the restart policy of a module with config m under the
// global policy global.
func (m ModuleConfig) policy(global restarts.Policy) restarts.Policy {
	p := global
	if m.MaxRestarts > 0 {
		p.Max = m.MaxRestarts
	}
	if m.Within > 0 {
		p.Within = m.Within
	}
	if d, ok, err := parseCooldown(m.Cooldown); ok && err == nil {
		p.Cooldown = d
	}
	return p
}

// globalPolicy is c.Policy, or DefaultPolicy when unset.
func (c Config) globalPolicy() restarts.Policy {
	if c.Policy == (restarts.Policy{}) {
		return DefaultPolicy()
	}
	return c.Policy
}

// Backoff is the crash-restart delay: Initial after the first failure in
// the window, doubled for each further one, at most Max. Initial "0s"
// restarts at once.
type Backoff struct {
	// Initial is the first delay. Default "500ms".
	Initial time.Duration `toml:"initial"`
	// Max caps the delay. Default "10s".
	Max time.Duration `toml:"max"`
}

// Defaults of a module definition.
const (
	DefaultStartTimeout   = 30 * time.Second
	DefaultStartPeriod    = time.Second
	DefaultStopTimeout    = 10 * time.Second
	DefaultBackoffInitial = 500 * time.Millisecond
	DefaultBackoffMax     = 10 * time.Second
)

// DefaultConfig returns no modules (a nil map: defaults.toml has no
// [daemon.modules] table), an empty autostart list, and resurrect on.
func DefaultConfig() Config {
	return Config{Autostart: []string{}, Resurrect: true}
}

// DefaultModuleConfig is the starting value of a new [daemon.modules.NAME]
// entry (register it as the config package's entry default).
func DefaultModuleConfig() ModuleConfig {
	return ModuleConfig{
		Enabled:      true,
		Host:         "127.0.0.1",
		Workers:      1,
		Python:       "python3",
		StartTimeout: DefaultStartTimeout,
		StartPeriod:  DefaultStartPeriod,
		StopTimeout:  DefaultStopTimeout,
		Restart:      RestartOnFailure,
		Backoff:      Backoff{Initial: DefaultBackoffInitial, Max: DefaultBackoffMax},
	}
}

// withDefaults fills the zero values a hand-built config may leave.
func (m ModuleConfig) withDefaults() ModuleConfig {
	d := DefaultModuleConfig()
	if m.Host == "" {
		m.Host = d.Host
	}
	if m.Workers == 0 {
		m.Workers = d.Workers
	}
	if m.Python == "" {
		m.Python = d.Python
	}
	if m.StartTimeout == 0 {
		m.StartTimeout = d.StartTimeout
	}
	if m.StopTimeout == 0 {
		m.StopTimeout = d.StopTimeout
	}
	if m.Restart == "" {
		m.Restart = d.Restart
	}
	if m.Backoff.Max == 0 {
		m.Backoff.Max = d.Backoff.Max
	}
	return m
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate reports every problem at once, each prefixed with its key path
// relative to [daemon]: "modules.ai.port: ...".
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	ports := map[int]string{}
	for _, name := range sortedNames(c.Modules) {
		m := c.Modules[name]
		key := "modules." + name
		if !nameRE.MatchString(name) {
			add(key, "module names are lower case letters, digits, '-' and '_'")
		}
		if name == "daemon" || name == AllModules {
			add(key, "%q is reserved", name)
		}
		for _, err := range m.validate(c.Modules) {
			errs = append(errs, fmt.Errorf("%s.%w", key, err))
		}
		if m.Port != 0 && m.Type != TypeThread && m.Type != TypeExec {
			if other, dup := ports[m.Port]; dup {
				add(key+".port", "port %d is also used by module %q", m.Port, other)
			} else {
				ports[m.Port] = name
			}
		}
	}
	for _, cyc := range findCycles(c.Modules) {
		add("modules."+cyc[0]+".depends_on", "dependency cycle: %s", strings.Join(cyc, " -> "))
	}
	seen := map[string]bool{}
	for i, name := range c.Autostart {
		key := fmt.Sprintf("autostart[%d]", i)
		m, ok := c.Modules[name]
		switch {
		case !ok:
			add(key, "unknown module %q (known: %s)", name, knownList(c.Modules))
		case !m.Enabled:
			add(key, "module %q is disabled", name)
		case seen[name]:
			add(key, "module %q is listed twice", name)
		}
		seen[name] = true
	}
	return errors.Join(errs...)
}

// validate checks one module; each error starts with the field's key.
func (m ModuleConfig) validate(all map[string]ModuleConfig) []error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch m.Type {
	case TypeUvicorn, TypeFlask:
		if m.App == "" {
			add("app", "required for type %s (e.g. \"pkg.app:app\")", m.Type)
		}
		if m.Port < 1 || m.Port > 65535 {
			add("port", "must be 1-65535 for type %s, got %d", m.Type, m.Port)
		}
	case TypePython:
		if m.Module == "" {
			add("module", "required for type python (the module run with python -m)")
		}
	case TypeExec:
		if len(m.Command) == 0 || m.Command[0] == "" {
			add("command", `required for type exec (["prog", "arg", ...])`)
		}
	case TypeThread:
	case "":
		add("type", "required: uvicorn, flask, python, exec or thread")
	default:
		add("type", "must be uvicorn, flask, python, exec or thread, got %q", m.Type)
	}
	if m.Port < 0 || m.Port > 65535 {
		add("port", "must be 0-65535, got %d", m.Port)
	}
	if m.Workers < 0 {
		add("workers", "must be >= 1, got %d", m.Workers)
	}
	if len(m.Command) > 0 && m.Type != TypeExec {
		add("command", "only for type exec")
	}
	if m.HealthcheckEndpoint != "" {
		if err := checkEndpoint(m); err != nil {
			add("healthcheck_endpoint", "%v", err)
		}
	}
	for i, dep := range m.DependsOn {
		if _, ok := all[dep]; !ok {
			add(fmt.Sprintf("depends_on[%d]", i), "unknown module %q (known: %s)", dep, knownList(all))
		}
	}
	for k := range m.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("env", "invalid variable name %q", k)
		}
	}
	if m.StartTimeout < 0 {
		add("start_timeout", "must be > 0, got %s", m.StartTimeout)
	}
	if m.StartPeriod < 0 {
		add("start_seconds", "must be >= 0, got %s", m.StartPeriod)
	}
	if st := m.withDefaults().StartTimeout; m.StartPeriod > st {
		add("start_seconds", "must be <= start_timeout (%s), got %s", st, m.StartPeriod)
	}
	if m.StopTimeout < 0 {
		add("stop_timeout", "must be > 0, got %s", m.StopTimeout)
	}
	switch m.Restart {
	case RestartAlways, RestartOnFailure, RestartNever, "":
	default:
		add("restart", "must be always, on-failure or never, got %q", m.Restart)
	}
	if m.Backoff.Initial < 0 {
		add("backoff.initial", "must be >= 0, got %s", m.Backoff.Initial)
	}
	if m.Backoff.Max < 0 || (m.Backoff.Max > 0 && m.Backoff.Max < m.Backoff.Initial) {
		add("backoff.max", "must be >= backoff.initial (%s), got %s", m.Backoff.Initial, m.Backoff.Max)
	}
	if m.MaxMemory != "" {
		if _, err := ParseBytes(m.MaxMemory); err != nil {
			add("max_memory", "%v", err)
		}
	}
	return append(errs, m.validatePolicy()...)
}

// validatePolicy checks the module's restart policy keys.
func (m ModuleConfig) validatePolicy() []error {
	var errs []error
	if m.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("max_restarts: must be >= 0 (0 inherits daemon.supervisor.max_restarts), got %d", m.MaxRestarts))
	}
	if m.Within < 0 {
		errs = append(errs, fmt.Errorf("within: must be >= 0 (0 inherits daemon.supervisor.within), got %s", m.Within))
	}
	if _, _, err := parseCooldown(m.Cooldown); err != nil {
		errs = append(errs, fmt.Errorf(`cooldown: must be a duration such as "5m", or "never": %w`, err))
	}
	return errs
}

func checkEndpoint(m ModuleConfig) error {
	ep := m.HealthcheckEndpoint
	if strings.HasPrefix(ep, "/") {
		if m.Port == 0 {
			return errors.New("a path needs a port")
		}
		return nil
	}
	u, err := url.Parse(ep)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be a path (\"/health\") or an http(s) URL, got %q", ep)
	}
	return nil
}

// maxCycles bounds how many dependency cycles findCycles lists (and so its
// work on a pathological graph).
const maxCycles = 50

// findCycles returns every elementary dependency cycle (names, the first
// repeated at the end), each starting at its smallest name, sorted; at
// most maxCycles of them.
func findCycles(mods map[string]ModuleConfig) [][]string {
	names := sortedNames(mods)
	var out [][]string
	for _, start := range names {
		onPath := map[string]bool{start: true}
		path := []string{start}
		var visit func(n string)
		visit = func(n string) {
			deps := slices.Clone(mods[n].DependsOn)
			sort.Strings(deps)
			for _, d := range slices.Compact(deps) {
				if len(out) >= maxCycles {
					return
				}
				switch _, known := mods[d]; {
				case !known || d < start: // unknown, or its cycles were listed from d
				case d == start:
					out = append(out, append(slices.Clone(path), start))
				case !onPath[d]:
					onPath[d] = true
					path = append(path, d)
					visit(d)
					path = path[:len(path)-1]
					onPath[d] = false
				}
			}
		}
		visit(start)
	}
	return out
}

// ParseBytes parses a size such as "512MiB", "1GB", "64k" or "1048576"
// (bytes). K/M/G/T are decimal with B or bare; KiB/MiB/GiB/TiB are binary.
func ParseBytes(s string) (uint64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.TrimSpace(t[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("invalid size %q: use a number and a unit, such as \"512MiB\"", s)
	}
	mult, ok := byteUnits[strings.ToLower(unit)]
	if !ok {
		return 0, fmt.Errorf("invalid size unit in %q: use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB", s)
	}
	n := v * float64(mult)
	if n > float64(1<<62) {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	return uint64(n), nil
}

var byteUnits = map[string]uint64{
	"": 1, "b": 1,
	"k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "g": 1e9, "gb": 1e9, "t": 1e12, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

func sortedNames(m map[string]ModuleConfig) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func knownList(m map[string]ModuleConfig) string {
	names := sortedNames(m)
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// topoOrder lists names so that every module comes after its dependencies
// (ties by name). Config must be free of cycles (Validate).
func topoOrder(mods map[string]ModuleConfig) []string {
	var out []string
	done := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if done[n] {
			return
		}
		done[n] = true
		deps := slices.Clone(mods[n].DependsOn)
		sort.Strings(deps)
		for _, d := range deps {
			if _, ok := mods[d]; ok {
				visit(d)
			}
		}
		out = append(out, n)
	}
	for _, n := range sortedNames(mods) {
		visit(n)
	}
	return out
}
