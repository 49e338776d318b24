// Package modules runs SuperBot's modules: one module actor per configured
// module under the modules supervisor. A module is a child OS process
// (uvicorn, flask, python, exec) or an in-process thread module (actors
// registered by name in a Registry).
//
// A module actor owns its process: it starts it in its own process group
// from a thread that lives as long as the daemon (with the parent-death
// signal set), waits on it from a goroutine, and reports to the supervisor
// when the process exits unasked, fails to start or fails its start health
// check (a message, not a panic). The supervisor restarts it at once or
// after the module's backoff, at most Policy.Max times within a sliding
// Policy.Within (daemon.supervisor, or the module's own keys); beyond that
// the module is failed and alert.module.failed goes on the bus, while the
// daemon and every other module keep running. A failed module is tried
// again after Policy.Cooldown. Every transition is a bus event
// module.NAME.{starting,started,stopped,crashed,failed}.
package modules

import (
	"errors"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/restarts"
)

// Kind names the modules supervisor in the supervision tree.
const Kind = "modules"

// DefaultCooldown is how long a module failed by the restart cap waits
// before it is tried again, unless configured.
const DefaultCooldown = 5 * time.Minute

// DefaultPolicy is the modules' restart policy unless configured: 3
// restarts within 60 s, tried again 5 minutes after failing.
func DefaultPolicy() restarts.Policy {
	p := restarts.DefaultPolicy()
	p.Cooldown = DefaultCooldown
	return p
}

// Clock is the supervisor's time: the restart window and the backoff and
// cooldown timers. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc runs f on its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending Clock.AfterFunc.
type Timer interface{ Stop() bool }

// realClock is the machine's clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

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
	// Clock is the supervisor's time; nil is the machine's clock.
	Clock Clock
	// Connector, Orders and Strategies are handed to thread modules in
	// their ThreadEnv; nil when not running.
	Connector, Orders, Strategies *actor.PID
	// Elect returns the props of the election actor (election.Props) of a
	// singleton module's election (election.ModuleElection); nil when the daemon is
	// not clustered: singleton then has no effect.
	Elect func(election string) (*actor.Props, error)
	// Leading, when set, is told when this node starts or stops leading a
	// singleton module's election (the cluster relay sends the module's
	// calls to its leader).
	Leading func(election string, leading bool)
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
	if deps.Clock == nil {
		deps.Clock = realClock{}
	}
	deps.Logger = deps.Logger.With("actor", Kind)
	return actor.PropsFromProducer(func() actor.Actor { return newSupervisor(cfg, deps) })
}
