package scheduler

// Reload is sent (by the daemon, on daemon.reload_config or SIGHUP) with a
// new, already validated Config. The scheduler applies only what changed:
// unchanged jobs keep their state and next run. When the message is a
// request, the scheduler answers *ReloadResult.
type Reload struct {
	Config Config
}

// ReloadResult answers Reload: the jobs added, changed and removed, whether
// the trading window changed, or why nothing was applied.
type ReloadResult struct {
	Added, Changed, Removed []string
	WindowChanged           bool
	Err                     error
}

// wake is the clock's message to the scheduler; gen drops stale wake-ups.
type wake struct{ gen uint64 }

// fireMore is the scheduler's message to itself when more jobs are due than
// one batch: requests queued meanwhile are answered between batches.
type fireMore struct{}
