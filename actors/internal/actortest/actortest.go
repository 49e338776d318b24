// Package actortest gives each test its own actor system and small tools to
// drive real actors with messages: a typed request helper, a probe actor that
// records what it receives, and a polling Eventually.
package actortest

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// DefaultTimeout bounds every wait in this package unless a test says otherwise.
const DefaultTimeout = 5 * time.Second

// NewSystem returns a fresh actor system whose logs (ours and protoactor's)
// go to t.Log. Every actor spawned from its root is stopped when the test ends.
func NewSystem(t testing.TB) *actor.ActorSystem {
	t.Helper()
	logger := Logger(t)
	sys := actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return logger.With("lib", "protoactor") }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
		actor.WithDeadLetterRequestLogging(false),
	)
	t.Cleanup(func() { sys.Shutdown() })
	return sys
}

// Logger returns a slog.Logger that writes to t.Log until the test ends.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.close)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) close() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Spawn spawns props from the system root and stops the actor (waiting for
// it) when the test ends.
func Spawn(t testing.TB, sys *actor.ActorSystem, props *actor.Props) *actor.PID {
	t.Helper()
	pid := sys.Root.Spawn(props)
	t.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait() })
	return pid
}

// Request sends msg to pid and waits for a reply of type T.
func Request[T any](t testing.TB, sys *actor.ActorSystem, pid *actor.PID, msg any) T {
	t.Helper()
	res, err := TryRequest[T](sys, pid, msg, DefaultTimeout)
	if err != nil {
		t.Fatalf("request %T to %s: %v", msg, pid.Id, err)
	}
	return res
}

// TryRequest is Request that returns errors instead of failing the test.
func TryRequest[T any](sys *actor.ActorSystem, pid *actor.PID, msg any, timeout time.Duration) (T, error) {
	var zero T
	res, err := sys.Root.RequestFuture(pid, msg, timeout).Result()
	if err != nil {
		return zero, err
	}
	v, ok := res.(T)
	if !ok {
		return zero, fmt.Errorf("reply is %T, want %T", res, zero)
	}
	return v, nil
}

// Eventually polls cond every few milliseconds until it is true or timeout
// passes, then fails the test with msg.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not true after %s: %s", timeout, fmt.Sprintf(msg, args...))
		}
		time.Sleep(2 * time.Millisecond) //nolint:forbidigo // polling with a deadline is this helper's job
	}
}

// Discard returns a logger that drops everything (benchmarks).
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// DiscardLoggerFactory silences protoactor's own logs (benchmarks).
func DiscardLoggerFactory(*actor.ActorSystem) *slog.Logger { return Discard() }
