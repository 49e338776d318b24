package election

import "github.com/superbot/superbot/actors/cluster/etcd"

// Elected tells the parent this node now leads Name. Token (the election
// key's create revision) is the fencing token; Guard.MayAct must be asked
// before each action.
type Elected struct {
	Name  string
	Token int64
	Guard *Guard
}

// Deposed tells the parent this node no longer leads Name (Guard.MayAct
// already answers false when it arrives).
type Deposed struct {
	Name   string
	Token  int64
	Reason string
}

// StatusRequest asks the election actor for a Status.
type StatusRequest struct{}

// Status is the answer to StatusRequest.
type Status struct {
	Name   string
	Leader bool
	Token  int64
	// Terms counts campaigns started (1 for the first).
	Terms uint64
}

// Resign asks the leader to step down and campaign again after RetryDelay
// (a handover; ignored when not leading).
type Resign struct{}

// self-messages from term goroutines and timers, keyed by term id.
type (
	termWon struct {
		id    uint64
		token int64
	}
	termEnded struct {
		id     uint64
		reason string
	}
	proofCheck struct{ id uint64 }
	retry      struct{ id uint64 }
	staleLease struct{ id etcd.LeaseID }
)
