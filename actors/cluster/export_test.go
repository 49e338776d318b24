package cluster

import "time"

// SetAckTimeout sets how long forwarders wait for acks; it returns the
// previous value.
func SetAckTimeout(d time.Duration) time.Duration {
	prev := ackTimeout
	ackTimeout = d
	return prev
}

// ForwardQueue is a forwarder's bus queue (its window of events in flight).
const ForwardQueue = forwardQueue
