package config

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/superbot/superbot/actors/backtest"
	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cache"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/heartbeat"
	"github.com/superbot/superbot/actors/marketdata"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/reports"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/scheduler"
	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/actors/trading"
	"github.com/superbot/superbot/actors/watchdog"
	"github.com/superbot/superbot/actors/webui"
)

// Config is the whole superbotd configuration, the root of the TOML tree.
//
// Adding a section is a one-field change: give the field a toml tag and a
// default in Default and in defaults.toml. Strict decoding, validation
// (every struct or map value with a Validate method), environment secrets,
// Get, Redacted and Diff all walk the tree by reflection.
type Config struct {
	// Daemon is the [daemon] table: the daemon itself and its core actors.
	Daemon DaemonConfig `toml:"daemon"`
	// Cache is the shared cache ([cache]).
	Cache cache.Config `toml:"cache"`
	// Connector is the exchange connector ([connector]).
	Connector connector.Config `toml:"connector"`
	// Marketdata is the candle store and its downloads ([marketdata]).
	Marketdata marketdata.Config `toml:"marketdata"`
	// ExchangeSim is the built-in simulated exchange ([exchange_sim]), the
	// default exchange: the thread module "exchange-sim" serves it.
	ExchangeSim exchangesim.Config `toml:"exchange_sim"`
	// Trading is order management and the strategies ([trading]).
	Trading TradingConfig `toml:"trading"`
	// WebUI is the HTTP surface ([webui]): the thread module "webui".
	WebUI webui.Config `toml:"webui"`

	meta *meta // where the config came from; nil for a composed default
}

// DaemonConfig is the [daemon] table.
type DaemonConfig struct {
	// StateDir holds the pid file, the socket, the token and module state
	// (created 0700). Relative paths are relative to the working directory.
	// Default ".superbot".
	StateDir string `toml:"state_dir"`
	// LogDir holds the daemon and module logs. Default "logs".
	LogDir string `toml:"log_dir"`
	// Node is this node's name in the cluster. Empty means the host name,
	// resolved by Load. Default "".
	Node string `toml:"node"`
	// ShutdownTimeout bounds the graceful shutdown of the whole tree.
	// Default "10s".
	ShutdownTimeout time.Duration `toml:"shutdown_timeout"`

	// IPC is the JSON-RPC edge ([daemon.ipc]).
	IPC edge.Config `toml:"ipc"`
	// Supervisor is the root supervisor's restart policy ([daemon.supervisor]).
	Supervisor supervisor.Config `toml:"supervisor"`
	// Bus is the event bus ([daemon.bus]).
	Bus bus.Config `toml:"bus"`
	// Logging is the daemon log ([daemon.logging]).
	Logging LoggingConfig `toml:"logging"`
	// Schedule is the scheduler: trading window and jobs ([daemon.schedule]).
	Schedule scheduler.Config `toml:"schedule"`
	// Watchdog checks the running modules ([daemon.watchdog]).
	Watchdog watchdog.Config `toml:"watchdog"`
	// ResourceAllocation bounds the daemon's worker goroutines
	// ([daemon.resource_allocation.thread_pools]).
	ResourceAllocation ResourceAllocation `toml:"resource_allocation"`
	// Config holds the module definitions ([daemon.modules.NAME]) and
	// daemon.autostart; its keys live directly in [daemon].
	modules.Config
}

// LoggingConfig is the daemon log configuration ([daemon.logging]).
type LoggingConfig struct {
	// Level is the lowest level logged: debug, info, warn or error.
	// Default "info".
	Level string `toml:"level"`
	// Format is the line format: console (compact, one line per event) or
	// json. Default "console".
	Format string `toml:"format"`
	// Console also writes the log to standard error. Default true.
	Console bool `toml:"console"`
	// File is the log file, relative to daemon.log_dir unless absolute;
	// empty disables the file. It gets the same records as the console.
	// Default "daemon.log".
	File string `toml:"file"`
	// MaxSizeMB rotates the file when it reaches this size, in megabytes.
	// Default 10.
	MaxSizeMB int `toml:"max_size_mb"`
	// MaxBackups is how many rotated files are kept; 0 keeps them all.
	// Default 5.
	MaxBackups int `toml:"max_backups"`
}

// Default returns the built-in configuration, composed from every section's
// DefaultConfig. It equals decoding the embedded defaults.toml (a test holds
// the two together). Daemon.Node stays empty: Load resolves it.
func Default() *Config {
	c := &Config{
		Daemon: DaemonConfig{
			StateDir:        ".superbot",
			LogDir:          "logs",
			ShutdownTimeout: 10 * time.Second,
			IPC:             edge.DefaultConfig(),
			Supervisor:      supervisor.DefaultConfig(),
			Bus:             bus.DefaultConfig(),
			Logging:         DefaultLoggingConfig(),
			Schedule:        scheduler.DefaultConfig(),
			Watchdog:        watchdog.DefaultConfig(),
			Config:          DefaultModules(),
		},
		Cache:       cache.DefaultConfig(),
		Connector:   connector.DefaultConfig(),
		Marketdata:  marketdata.DefaultConfig(),
		ExchangeSim: DefaultExchangeSim(),
		Trading:     DefaultTradingConfig(),
		WebUI:       webui.DefaultConfig(),
	}
	c.Daemon.ResourceAllocation = DefaultResourceAllocation()
	return c
}

// DefaultExchangeSim is the simulator's defaults in the daemon: a free port
// (127.0.0.1:0), so that two daemons on one machine never share one; the
// daemon hands the bound address to the connector.
func DefaultExchangeSim() exchangesim.Config {
	c := exchangesim.DefaultConfig()
	c.Listen = "127.0.0.1:0"
	return c
}

// DefaultLoggingConfig returns the logging defaults.
func DefaultLoggingConfig() LoggingConfig {
	return LoggingConfig{
		Level:      "info",
		Format:     "console",
		Console:    true,
		File:       "daemon.log",
		MaxSizeMB:  10,
		MaxBackups: 5,
	}
}

// LogFile returns the log file path: Logging.File inside LogDir, or as is
// when absolute; empty when the file log is off.
func (c DaemonConfig) LogFile() string {
	if c.Logging.File == "" || filepath.IsAbs(c.Logging.File) {
		return c.Logging.File
	}
	return filepath.Join(c.LogDir, c.Logging.File)
}

// Validate checks the [daemon] table's own keys; its sub-sections validate
// themselves (Load walks them).
func (c DaemonConfig) Validate() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("state_dir: must not be empty"))
	}
	if c.LogDir == "" {
		errs = append(errs, errors.New("log_dir: must not be empty"))
	}
	if strings.ContainsAny(c.Node, " \t\r\n/") {
		errs = append(errs, fmt.Errorf("node: must not contain spaces or '/', got %q", c.Node))
	}
	if c.ShutdownTimeout <= 0 {
		errs = append(errs, fmt.Errorf("shutdown_timeout: must be > 0, got %s", c.ShutdownTimeout))
	}
	errs = append(errs, c.Config.Validate()) // the modules (keys under daemon.)
	return errors.Join(errs...)
}

// Validate reports every problem at once, each prefixed with its key.
func (c LoggingConfig) Validate() error {
	var errs []error
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("level: must be debug, info, warn or error, got %q", c.Level))
	}
	switch c.Format {
	case "console", "json":
	default:
		errs = append(errs, fmt.Errorf("format: must be console or json, got %q", c.Format))
	}
	if c.MaxSizeMB < 1 {
		errs = append(errs, fmt.Errorf("max_size_mb: must be >= 1, got %d", c.MaxSizeMB))
	}
	if c.MaxBackups < 0 {
		errs = append(errs, fmt.Errorf("max_backups: must be >= 0, got %d", c.MaxBackups))
	}
	return errors.Join(errs...)
}

// secretPaths lists secret keys whose Go field lives in a package that does
// not tag it `secret:"true"`. A "*" segment matches any map key. Fields
// tagged `secret:"true"` need no entry here.
var secretPaths = []string{
	"daemon.ipc.auth_token",
	"exchange_sim.accounts[*].api_key",
	"exchange_sim.accounts[*].secret_key",
}

// entryDefaults gives the starting value of a new entry in a map section
// (e.g. daemon.modules.NAME), keyed by the element type. Register a section's
// element type with registerEntryDefault(pkg.DefaultConfig); without one, a
// new entry starts from the zero value.
var entryDefaults = map[reflect.Type]func() reflect.Value{}

// registerEntryDefault makes new map entries of type T start from f().
func registerEntryDefault[T any](f func() T) {
	entryDefaults[reflect.TypeFor[T]()] = func() reflect.Value {
		v := reflect.New(reflect.TypeFor[T]()).Elem()
		v.Set(reflect.ValueOf(f()))
		return v
	}
}

// KnownMethods lists every method a job's action may name: the daemon's
// JSON-RPC methods that go through the method table (the edge's own
// streaming methods cannot be a job).
func KnownMethods() []string {
	var out []string
	for _, routes := range [][]rpc.Route{
		supervisor.Routes(nil), bus.Routes(nil), cache.Routes(nil), connector.Routes(nil),
		modules.Routes(nil, nil), scheduler.Routes(nil), orders.Routes(nil), strategies.Routes(nil),
		backtest.Routes(nil), reports.Routes(nil),
	} {
		for _, rt := range routes {
			out = append(out, rt.Method)
		}
	}
	out = append(out, "config.get") // the daemon's own (runtime/daemon)
	sort.Strings(out)
	return out
}

// Validate checks what spans sections; each section validates itself.
func (c Config) Validate() error {
	var errs []error
	for _, err := range unjoin(scheduler.ValidateActions(c.Daemon.Schedule, KnownMethods())) {
		errs = append(errs, fmt.Errorf("daemon.schedule.%w", err))
	}
	if err := scheduler.ValidateStrategies(c.Daemon.Schedule, slices.Sorted(maps.Keys(c.Trading.Strategies))); err != nil {
		errs = append(errs, fmt.Errorf("daemon.schedule.%w", err))
	}
	if s := c.Daemon.Schedule; s.WindowEnabled() {
		if _, ok := c.Daemon.Modules[s.TradingModule]; !ok {
			errs = append(errs, fmt.Errorf("daemon.schedule.trading_module: the trading window starts %q, which is not in daemon.modules", s.TradingModule))
		}
	}
	runsSim := false
	for _, name := range slices.Sorted(maps.Keys(c.Daemon.Modules)) {
		m := c.Daemon.Modules[name]
		if m.Type != modules.TypeThread {
			continue
		}
		runsSim = runsSim || (m.Enabled && cmp.Or(m.Module, name) == exchangesim.Name)
		switch id := cmp.Or(m.Module, name); {
		case slices.Contains(ThreadModules, id):
		case m.Module == "":
			errs = append(errs, fmt.Errorf("daemon.modules.%s: no thread module is registered as %q: set module to one of %s", name, id, strings.Join(ThreadModules, ", ")))
		default:
			errs = append(errs, fmt.Errorf("daemon.modules.%s.module: no thread module is registered as %q (registered: %s)", name, id, strings.Join(ThreadModules, ", ")))
		}
	}
	if c.Connector.Endpoint == connector.EndpointSim && c.Connector.BaseURL == "" && !runsSim {
		if _, port, err := net.SplitHostPort(c.ExchangeSim.Listen); err == nil && port == "0" {
			errs = append(errs, errors.New("exchange_sim.listen: no module runs the simulator, so the connector (endpoint sim) needs its fixed address here, or connector.base_url"))
		}
	}
	return errors.Join(errs...)
}

// ThreadModules names the thread modules superbotd registers (a thread
// module's `module`, by default its name, must be one of them). The daemon
// registers exactly these; a test holds the two together.
var ThreadModules = []string{exchangesim.Name, heartbeat.Name, trading.Name, webui.Name}

// The built-in modules of the embedded config.
const (
	ModuleExchangeSim = exchangesim.Name
	ModuleHeartbeat   = heartbeat.Name
	ModuleWebUI       = webui.Name
)

// DefaultModules are the embedded config's modules: the simulated exchange
// (the default exchange), the heartbeat and the web UI, all autostarted.
func DefaultModules() modules.Config {
	sim := modules.DefaultModuleConfig()
	sim.Type, sim.StartPeriod = "thread", 0
	hb := modules.DefaultModuleConfig()
	hb.Type, hb.StartPeriod = "thread", 0
	web := modules.DefaultModuleConfig()
	web.Type, web.StartPeriod = "thread", 0
	return modules.Config{
		Modules:   map[string]modules.ModuleConfig{ModuleExchangeSim: sim, ModuleHeartbeat: hb, ModuleWebUI: web},
		Autostart: []string{ModuleExchangeSim, ModuleHeartbeat, ModuleWebUI},
		Resurrect: true,
	}
}

func init() { registerEntryDefault(modules.DefaultModuleConfig) }

// unjoin splits an errors.Join result into its errors.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
