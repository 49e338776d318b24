package messages

// The states of a daemon job (backtest.run, data.download): the string in
// BacktestJob.state and DataJob.state.
const (
	JobQueued    = "queued"
	JobRunning   = "running"
	JobCanceling = "canceling"
	JobDone      = "done"
	JobFailed    = "failed"
	JobCanceled  = "canceled"
)
