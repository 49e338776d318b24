package modules

import (
	"time"

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

// ApplyConfig is sent by the daemon when a reload changed the modules'
// config (like supervisorctl update). The supervisor adds the new modules
// (starting those in the new autostart list), stops and forgets the removed
// ones, and restarts the changed ones that run; a changed module that does
// not run takes its new config at its next start. Answered by
// *ApplyConfigResult once every module it touched has settled. Config must
// have passed Validate.
type ApplyConfig struct {
	Config Config
}

// ApplyConfigResult answers ApplyConfig: what the supervisor did, by module
// name, each list sorted.
type ApplyConfigResult struct {
	// Added, Removed and Changed are the modules whose definitions came,
	// went or changed.
	Added, Removed, Changed []string
	// Started, Stopped and Restarted are the modules that were started
	// (added and autostart), stopped (removed, or now disabled) and
	// restarted (changed while running).
	Started, Stopped, Restarted []string
	// Problems says what did not go as asked, each "NAME: why".
	Problems []string
}

// Messages between the supervisor and a module actor. Every command carries
// the record's command number; the actor's reports carry the number of the
// last command it received, and the supervisor drops reports about an older
// command (they describe a run it has already moved past).
type (
	// startModule tells the module actor to launch with cfg.
	startModule struct {
		cfg ModuleConfig
		seq uint64
	}
	// stopModule tells it to stop (SIGTERM, stop_timeout, SIGKILL).
	// stopModule stops the module: SIGTERM, then SIGKILL after
	// stop_timeout; kill sends SIGKILL at once (a singleton's node deposed).
	stopModule struct {
		seq  uint64
		kill bool
	}
	// crashModule tells it to end its run as a crash (watchdog restart).
	crashModule struct {
		pid    int
		reason string
	}
	// stateChanged is the module actor's report to the supervisor. state
	// stateCrashed is a run that ended unasked: the actor has killed what
	// was left of it and waits for the supervisor's next command.
	stateChanged struct {
		seq    uint64
		name   string
		state  string
		pid    int
		exit   *messages.ModuleExit
		reason string
	}
)

// stateCrashed is a module actor's report of a run that ended unasked (the
// process exited or failed its start). The supervisor never shows it: it
// decides between a restart, the backoff state and failed.
const stateCrashed = "crashed"

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
	cooldownDone struct {
		name string
		gen  uint64
	}
	autostartExpired struct{ id uint64 }
	// runningLoaded carries the running set saved by the last daemon
	// (read off the actor goroutine at start).
	runningLoaded struct {
		names []string
		err   error
	}
)
