// Package daemon wires superbotd: it follows the seed's startup sequence
// step by step (pid file, core actors, daemon components, module
// definitions, the JSON-RPC edge, watchdog, scheduler, autostart modules,
// system.ready) and its shutdown sequence in reverse, handles signals
// (SIGINT/SIGTERM graceful, a second SIGINT forces, SIGHUP reloads) and
// applies config reloads.
package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/metrics"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/actors/webui"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/logging"
	"github.com/superbot/superbot/runtime/pidfile"
	"github.com/superbot/superbot/runtime/sdnotify"
)

// Version is set at build time (-ldflags -X).
var Version = "dev"

// Options are what the command line gives the daemon.
type Options struct {
	// ConfigPath is -c: a file or a directory; empty means embedded
	// defaults overlaid by ./config.
	ConfigPath string
	// Stderr receives the console log; nil means os.Stderr.
	Stderr io.Writer
}

// Daemon is one running superbotd.
type Daemon struct {
	opts      Options
	cfg       *config.Config // as started; what cannot change without a restart
	mu        sync.Mutex     // guards live
	live      *config.Config // the config in effect (reloads replace it)
	log       *slog.Logger
	logClose  io.Closer
	level     *slog.LevelVar
	started   time.Time
	sys       *actor.ActorSystem
	root      *actor.PID
	pids      map[string]*actor.PID
	router    *rpc.Router
	metrics   *metrics.Metrics             // served by the webui module at /metrics
	webCfg    atomic.Pointer[webui.Config] // [webui] as last reloaded; nil: d.cfg's
	pidfile   *pidfile.PIDFile
	listeners *edge.Listeners
	token     string
	simLn     *exchangesim.Listener // the simulator's port, bound at step 4
	simErr    error                 // why simLn could not be bound
	hooks     []hook
	ring      *logRing

	state    atomic.Int32 // stateStarting, then stateRunning, then stateStopping
	reloadMu sync.Mutex   // one reload at a time (SIGHUP and RPC may race)
	stopReq  chan bool    // true: forced
	stopOnce sync.Once
	deadline atomic.Int64 // of the shutdown under way (unix ns), 0 before
	forced   atomic.Bool
	done     chan struct{}
}

// hook is a component's part of the wiring (modules, scheduler, ...): it
// starts its children in the startup sequence and stops them in the
// shutdown sequence.
type hook struct {
	name string
	// step is the startup step the component belongs to.
	step  int
	start func(d *Daemon) error
	stop  func(d *Daemon)
	// section is the config key whose changes reload applies (e.g.
	// "daemon.schedule"; the keys under it too). check runs before anything
	// of a reload is applied; an error rejects the whole reload. reload
	// applies the section and returns why it could not ("" when it did).
	section string
	check   func(d *Daemon, next *config.Config) error
	reload  func(d *Daemon, next *config.Config) string
}

// claim returns the changed keys that are h's section or under it.
func (h hook) claim(changed []string) []string {
	if h.section == "" {
		return nil
	}
	var out []string
	for _, k := range changed {
		if k == h.section || strings.HasPrefix(k, h.section+".") {
			out = append(out, k)
		}
	}
	return out
}

// The daemon's states, for what may run when (Reload).
const (
	stateStarting int32 = iota
	stateRunning
	stateStopping
)

// New loads the config and builds the logger; nothing is started yet.
func New(opts Options) (*Daemon, error) {
	if opts.Stderr == nil {
		opts.Stderr = os.Stderr
	}
	cfg, err := config.Load(opts.ConfigPath)
	if err != nil {
		return nil, err
	}
	d := &Daemon{opts: opts, cfg: cfg, level: new(slog.LevelVar), pids: map[string]*actor.PID{},
		stopReq: make(chan bool, 2), done: make(chan struct{}), hooks: components()}
	if err := d.setupLogging(); err != nil {
		return nil, err
	}
	return d, nil
}

func (d *Daemon) setupLogging() error {
	lc := d.cfg.Daemon.Logging
	lvl, err := logging.ParseLevel(lc.Level)
	if err != nil {
		return err
	}
	d.level.Set(lvl)
	o := logging.Options{Level: d.level, Format: logging.Format(lc.Format), MaxSizeMB: lc.MaxSizeMB, MaxBackups: lc.MaxBackups}
	if lc.Console {
		o.Console = d.opts.Stderr
	}
	if lc.File != "" {
		o.File = d.cfg.Daemon.LogFile()
	}
	base, closer, err := logging.New(o)
	if err != nil {
		return err
	}
	d.ring = &logRing{}
	d.log, d.logClose = withRing(base, d.ring, d.level), closer
	return nil
}

// Logger returns the daemon's logger.
func (d *Daemon) Logger() *slog.Logger { return d.log }

// Config returns the config in effect (redacted copies are for display).
func (d *Daemon) Config() *config.Config {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.live != nil {
		return d.live
	}
	return d.cfg
}

// Start runs the startup sequence. On error everything started is undone.
func (d *Daemon) Start() (err error) {
	d.started = time.Now()
	defer func() {
		if err != nil {
			d.abort()
		}
	}()

	d.log.Info("startup step 1: check already running", "pid_file", d.pidPath())
	d.pidfile, err = pidfile.Acquire(d.pidPath())
	if err != nil {
		return err
	}
	d.log.Info("startup step 2: pid file written", "pid", os.Getpid())

	d.log.Info("startup step 3: core infrastructure", "config", d.cfg.Source(), "node", d.node())
	if err := d.startCore(); err != nil {
		return err
	}

	d.log.Info("startup step 4: daemon components")
	if err := d.runHooks(4); err != nil {
		return err
	}
	d.log.Info("startup step 5: module definitions loaded")
	if err := d.runHooks(5); err != nil {
		return err
	}

	d.log.Info("startup step 6: ipc server")
	if err := d.startEdge(); err != nil {
		return err
	}

	d.log.Info("startup step 7: watchdog")
	if err := d.runHooks(7); err != nil {
		return err
	}
	d.log.Info("startup step 8: scheduler")
	if err := d.runHooks(8); err != nil {
		return err
	}
	d.log.Info("startup step 9: autostart modules")
	if err := d.runHooks(9); err != nil {
		return err
	}

	startup := time.Since(d.started)
	// From here on the tree is complete: a reload may read d.pids. The
	// switch and READY=1 are one step for Reload (reloadMu): systemd never
	// hears RELOADING=1 before READY=1.
	d.reloadMu.Lock()
	d.state.CompareAndSwap(stateStarting, stateRunning)
	d.publish("system.ready", &messages.SystemReady{Version: Version, Pid: int32(os.Getpid()), Node: d.node(), StartupMs: float64(startup.Microseconds()) / 1000})
	d.log.Info("startup step 10: system.ready published", "startup", startup.Round(time.Microsecond).String(), "listen", strings.Join(d.listeners.Addrs(), ","))
	_ = sdnotify.Notify(sdnotify.Ready + "\n" + sdnotify.Status("ready"))
	d.reloadMu.Unlock()
	// Start-up garbage (config parsing, price history, descriptors) is
	// never needed again: hand it back to the OS now, not minutes later.
	go debug.FreeOSMemory()
	return nil
}

// startCore spawns the actor system, the root supervisor, the bus and the
// router (startup step 3).
func (d *Daemon) startCore() error {
	cfg := d.cfg.Daemon
	d.sys = actor.NewActorSystem(
		actor.WithLoggerFactory(logging.ActorLoggerFactory(d.log)),
		actor.WithDeadLetterThrottleCount(3),
		actor.WithDeadLetterRequestLogging(false),
	)
	d.root = d.sys.Root.Spawn(supervisor.Props(cfg.Supervisor, supervisor.Deps{
		Info: supervisor.Info{Version: Version, PID: os.Getpid(), Node: d.node(), Started: d.started,
			ConfigSource: func() string { return d.Config().Source() }},
		Control: control{d}, Logger: d.log.With("component", "supervisor"),
	}))
	if err := d.startChild(supervisor.ChildSpec{Name: bus.Kind, Props: bus.Props(cfg.Bus, d.node(), d.log.With("component", "bus")), Core: true,
		Metrics: func() proto.Message { return &messages.BusStatsRequest{} }}); err != nil {
		return err
	}
	d.sys.Root.Send(d.root, &supervisor.SetBus{PID: d.pids[bus.Kind]})
	d.ring.sink.Store(&logSink{sys: d.sys, bus: d.pids[bus.Kind]})
	d.router = rpc.NewRouter(cfg.IPC.RequestTimeout)
	d.router.MustAdd(d.coreRoutes()...)
	d.metrics = metrics.New(d.sys, d.router)
	return d.runHooks(3)
}

// startEdge loads the token, binds the IPC listeners and starts the edge
// (startup step 6).
func (d *Daemon) startEdge() error {
	cfg := d.cfg.Daemon
	var err error
	if d.token, err = d.loadToken(); err != nil {
		return err
	}
	if d.listeners, err = edge.Listen(cfg.IPC, cfg.StateDir); err != nil {
		return fmt.Errorf("ipc: %w", err)
	}
	return d.startChild(supervisor.ChildSpec{Name: edge.Kind, Core: true, Props: edge.Props(cfg.IPC, edge.Deps{
		Router: d.router, Bus: d.pids[bus.Kind], Listeners: d.listeners, Token: d.token,
		ModuleMarker: modules.DaemonID(), Logger: d.log.With("component", "edge"),
	})})
}

func (d *Daemon) runHooks(step int) error {
	for _, h := range d.hooks {
		if h.step == step && h.start != nil {
			if err := h.start(d); err != nil {
				return fmt.Errorf("%s: %w", h.name, err)
			}
		}
	}
	return nil
}

func (d *Daemon) pidPath() string { return filepath.Join(d.cfg.Daemon.StateDir, "daemon.pid") }

func (d *Daemon) node() string {
	if n := d.cfg.Daemon.Node; n != "" {
		return n
	}
	h, err := os.Hostname()
	if err != nil {
		return "superbot"
	}
	return h
}

// startChild asks the root supervisor to spawn spec and records its PID.
func (d *Daemon) startChild(spec supervisor.ChildSpec) error {
	res, err := d.sys.Root.RequestFuture(d.root, &supervisor.StartChild{Spec: spec}, 5*time.Second).Result()
	if err != nil {
		return fmt.Errorf("start %s: %w", spec.Name, err)
	}
	st := res.(*supervisor.ChildStarted)
	if st.Err != nil {
		return st.Err
	}
	d.pids[spec.Name] = st.PID
	return nil
}

// stopChild stops one child of the root and waits (bounded) until it has.
func (d *Daemon) stopChild(name string, timeout time.Duration) {
	if _, ok := d.pids[name]; !ok {
		return
	}
	res, err := d.sys.Root.RequestFuture(d.root, &supervisor.StopChild{Name: name}, timeout).Result()
	if err != nil {
		d.log.Warn("stop child timed out", "child", name, "error", err)
		return
	}
	if st := res.(*supervisor.ChildStopped); st.Err != nil && !errors.Is(st.Err, supervisor.ErrNoSuchChild) {
		d.log.Warn("stop child failed", "child", name, "error", st.Err)
	}
}

func (d *Daemon) busPID() *actor.PID { return d.pids[bus.Kind] }

func (d *Daemon) publish(topic string, payload proto.Message) {
	if pid := d.pids[bus.Kind]; pid != nil {
		d.sys.Root.Send(pid, messages.NewEvent(topic, "daemon", payload))
	}
}

// loadToken returns the configured token (config or environment) or the one
// in <state_dir>/token, generating it on first start. The file (0600)
// always holds the token in effect, so that the CLI and modules
// (SUPERBOT_TOKEN_PATH) find it.
func (d *Daemon) loadToken() (string, error) {
	path := d.TokenPath()
	tok := d.cfg.Daemon.IPC.AuthToken
	if b, err := os.ReadFile(path); err == nil && tok == "" && len(strings.TrimSpace(string(b))) >= 16 {
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" {
		buf := make([]byte, 32)
		if _, err := rand.Read(buf); err != nil {
			return "", fmt.Errorf("token: %w", err)
		}
		tok = hex.EncodeToString(buf)
		d.log.Info("rpc token generated", "path", path)
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("token: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil { // an older file may be wider
		return "", fmt.Errorf("token: %w", err)
	}
	return tok, nil
}

// TokenPath is where the daemon keeps a generated token.
func (d *Daemon) TokenPath() string { return filepath.Join(d.cfg.Daemon.StateDir, "token") }

// SocketPath is the Unix socket the edge listens on.
func (d *Daemon) SocketPath() string {
	if d.listeners != nil {
		return d.listeners.SocketPath
	}
	if p := d.cfg.Daemon.IPC.SocketPath; p != "" {
		return p
	}
	return filepath.Join(d.cfg.Daemon.StateDir, "superbot.sock")
}

// Stop asks for a shutdown; it returns at once. Safe to call many times.
func (d *Daemon) Stop(force bool) {
	select {
	case d.stopReq <- force:
	default:
	}
}

// Done is closed when the daemon has shut down.
func (d *Daemon) Done() <-chan struct{} { return d.done }
