// Package modules runs SuperBot's modules: one module actor per configured
// module under the modules supervisor. A module is a child OS process
// (uvicorn, flask, python, exec) or an in-process thread module (actors
// registered by name in a Registry).
//
// A module actor owns its process: it starts it in its own process group
// from a thread that lives as long as the daemon (with the parent-death
// signal set), waits on it from a goroutine, and crashes when the process
// exits unasked, fails to start or fails its start health check. The
// supervisor restarts it at once or after the module's backoff, at most
// MaxRestarts times within a sliding RestartWindow; beyond that the module
// is failed and alert.module.failed goes on the bus, while the daemon and
// every other module keep running. Every transition is a bus event
// module.NAME.{starting,started,stopped,crashed,failed}.
package modules

import (
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Kind names the modules supervisor in the supervision tree.
const Kind = "modules"

// The restart cap: more than MaxRestarts failures within RestartWindow make
// a module failed.
const (
	MaxRestarts   = 3
	RestartWindow = 60 * time.Second
)

// Errors of the modules supervisor.
var (
	ErrUnknownModule = errors.New("unknown module")
	ErrDisabled      = errors.New("module is disabled")
	ErrShuttingDown  = errors.New("the daemon is shutting down")
)

// Deps are the modules supervisor's collaborators.
type Deps struct {
	// Bus is the event bus; nil publishes nothing.
	Bus *actor.PID
	// StateDir holds the module PID files (NAME.pid); "" writes none.
	StateDir string
	// LogDir holds the module logs (NAME.log, rotated); "" writes none.
	LogDir string
	// SocketPath and TokenPath are passed to modules as SUPERBOT_SOCKET and
	// SUPERBOT_TOKEN_PATH so that they can call back into the daemon.
	SocketPath string
	TokenPath  string
	// Registry holds the thread modules; nil has none.
	Registry *Registry
	// Logger is the daemon's logger; nil discards.
	Logger *slog.Logger
	// Node is this daemon's cluster node name.
	Node string
}

// Props returns the modules supervisor's props. cfg must have passed
// Validate.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Registry == nil {
		deps.Registry = NewRegistry()
	}
	deps.Logger = deps.Logger.With("actor", Kind)
	return actor.PropsFromProducer(func() actor.Actor { return newSupervisor(cfg, deps) })
}
