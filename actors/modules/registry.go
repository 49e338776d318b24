package modules

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// ErrDuplicateThread is returned by Register for a name registered twice.
var ErrDuplicateThread = errors.New("thread module registered twice")

// ThreadEnv is what a thread module's factory gets.
type ThreadEnv struct {
	// Name is the configured module name (daemon.modules.NAME).
	Name string
	// Bus is the event bus PID: publish by sending *messages.Event.
	Bus *actor.PID
	// Logger is the module's logger.
	Logger *slog.Logger
	// Params are the module's args ("key=value" items) and env, with
	// module.start params merged over them. Keys are lower case.
	Params map[string]string
	// Node is this daemon's cluster node name.
	Node string
	// Connector is the exchange connector (market data, account; nil when
	// none runs). Orders go through Orders, never to the connector.
	Connector *actor.PID
	// Orders is the order-management actor: a thread module trades by
	// sending it *messages.PlaceTradeOrderRequest and the other trading
	// requests (nil when trading is not running).
	Orders *actor.PID
	// Strategies is the strategy host (nil when trading is not running).
	Strategies *actor.PID
}

// ThreadFactory returns the props of a thread module's actor. The module
// actor spawns it as its child; a failure of that actor crashes the module
// like a process crash, and the actor stopping itself is an exit with code 0.
type ThreadFactory func(ThreadEnv) *actor.Props

// Registry maps thread module names to factories. Built-in modules register
// at daemon start; it is safe for concurrent use.
type Registry struct {
	mu        sync.RWMutex
	factories map[string]ThreadFactory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{factories: map[string]ThreadFactory{}}
}

// Register adds a thread module; a name registered twice is an error.
func (r *Registry) Register(name string, f ThreadFactory) error {
	if name == "" || f == nil {
		return errors.New("thread module: name and factory are required")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.factories[name]; dup {
		return fmt.Errorf("%w: %s", ErrDuplicateThread, name)
	}
	r.factories[name] = f
	return nil
}

// Lookup returns the factory registered under name.
func (r *Registry) Lookup(name string) (ThreadFactory, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	f, ok := r.factories[name]
	return f, ok
}

// Names lists the registered thread modules, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.factories))
	for n := range r.factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
