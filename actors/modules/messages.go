package modules

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// StartAutostart is sent by the daemon at step 9 of its startup sequence.
// The supervisor starts daemon.autostart (and their dependencies) in
// dependency order and answers *AutostartResult once each is running or
// failed, or its start timeouts have passed.
type StartAutostart struct{}

// AutostartResult answers StartAutostart.
type AutostartResult struct {
	// Started lists the autostart modules that are running.
	Started []string
	// Errors maps every other autostart module to why it is not running.
	Errors map[string]string
}

// ThreadFailed is sent by a thread module's actor to its parent (with
// ctx.Request, so that the sender is known) when it cannot run and a
// restart would not help, e.g. its configured port is taken: the module
// becomes failed with Reason at once, without restarts. A panic instead is
// a crash, restarted under the restart policy. No answer.
type ThreadFailed struct {
	Reason string
}

// StopAll is sent by the daemon at step 4 of its shutdown sequence: every
// module is stopped in reverse dependency order. Answered by *StopAllResult
// when all are stopped and their PID files removed; later starts are
// refused.
type StopAll struct{}

// StopAllResult answers StopAll.
type StopAllResult struct{}

// WatchTargetsRequest is sent by the watchdog each round; the supervisor
// answers *WatchTargetsResponse with the running process modules.
type WatchTargetsRequest struct{}

// WatchTargetsResponse answers WatchTargetsRequest.
type WatchTargetsResponse struct {
	Targets []WatchTarget
}

// WatchTarget is one running module process for the watchdog to check.
type WatchTarget struct {
	Name string
	// PID is the process group leader.
	PID int
	// Since is when the module started running (a new process is a new target).
	Since time.Time
	// HealthURL is the HTTP health check, or "".
	HealthURL string
	// MaxMemory is the RSS limit in bytes; 0 means none.
	MaxMemory uint64
}

// RestartModule is sent by the watchdog: the module is restarted as if it
// had crashed (it counts toward the restart cap), provided it still runs
// the process PID (0: whatever it runs). No answer.
type RestartModule struct {
	Name   string
	PID    int
	Reason string
}

// ResourcesReport is sent by the watchdog after each check of a module;
// module.status shows the last one. No answer.
type ResourcesReport struct {
	Name      string
	Resources *messages.Resources
	// Health is "ok", the failing check's error, or "" when not checked.
	Health string
}

// Messages between the supervisor and a module actor.
type (
	// startModule tells the module actor to launch with cfg. inc is the
	// incarnation number its reports carry (see stateChanged).
	startModule struct {
		cfg ModuleConfig
		inc uint64
	}
	// stopModule tells it to stop (SIGTERM, stop_timeout, SIGKILL).
	stopModule struct{ inc uint64 }
	// crashModule tells it to crash now (watchdog restart).
	crashModule struct {
		pid    int
		reason string
	}
	// stateChanged is the module actor's report to the supervisor. A crash
	// (a system message) may overtake a report sent just before it; inc
	// tells the supervisor which reports are stale.
	stateChanged struct {
		inc    uint64
		name   string
		state  string
		pid    int
		exit   *messages.ModuleExit
		reason string
	}
)

// Self-messages of the module actor (from its goroutines and timers).
type (
	procStarted struct {
		gen uint64
		p   *proc
		err error
	}
	procExited struct {
		gen uint64
		p   *proc
	}
	prevGone     struct{ gen uint64 }
	startElapsed struct{ gen uint64 } // start_seconds passed
	healthDone   struct {
		gen uint64
		err error
	}
	stopExpired  struct{ gen uint64 }
	survivorGone struct{ err error }
)

// Self-messages of the supervisor.
type (
	backoffDone struct {
		name string
		gen  uint64
	}
	autostartExpired struct{ id uint64 }
)

// crashError is the panic value of a crashing module actor: the supervisor
// reads the exit from it (the Failure overtakes any message sent before).
type crashError struct {
	pid      int
	exit     *messages.ModuleExit
	reason   string
	reported string // the last state this incarnation reported
}

func (e *crashError) Error() string { return "module crashed: " + e.reason }

// waiter is an RPC caller waiting for a module to settle.
type waiter struct {
	to       *actor.PID
	kind     string // waitStart, waitStop or waitRestart
	stopping bool   // a restart still in its stop phase
}

// Waiter kinds.
const (
	waitStart   = "start"
	waitStop    = "stop"
	waitRestart = "restart"
)
