package actortest

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Probe is an actor that records every user message it receives, for tests
// that assert what an actor sends. Pass Probe.PID wherever the actor under
// test expects a collaborator.
type Probe struct {
	PID *actor.PID
	ch  chan any
	t   testing.TB
	// Reply, when set, is called for each message and its result (if not nil)
	// is sent back to the sender. It runs on the probe's actor goroutine.
	reply func(msg any) any
}

// NewProbe spawns a probe that answers nothing.
func NewProbe(t testing.TB, sys *actor.ActorSystem) *Probe {
	return NewReplyingProbe(t, sys, nil)
}

// NewReplyingProbe spawns a probe whose reply function answers requests.
func NewReplyingProbe(t testing.TB, sys *actor.ActorSystem, reply func(msg any) any) *Probe {
	t.Helper()
	p := &Probe{ch: make(chan any, 65536), t: t, reply: reply}
	p.PID = Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case actor.SystemMessage, actor.AutoReceiveMessage:
			return
		}
		msg := ctx.Message()
		if p.reply != nil && ctx.Sender() != nil {
			if r := p.reply(msg); r != nil {
				ctx.Respond(r)
			}
		}
		select {
		case p.ch <- msg:
		default:
			t.Errorf("probe %s: buffer full, message %T lost", ctx.Self().Id, msg)
		}
	}))
	return p
}

// Next waits for the next message of any type.
func (p *Probe) Next(timeout time.Duration) (any, bool) {
	select {
	case m := <-p.ch:
		return m, true
	case <-time.After(timeout):
		return nil, false
	}
}

// ExpectNoMessage fails if a message arrives within d.
func (p *Probe) ExpectNoMessage(d time.Duration) {
	p.t.Helper()
	if m, ok := p.Next(d); ok {
		p.t.Fatalf("probe: unexpected message %T: %v", m, m)
	}
}

// Expect waits for the next message of type T, skipping messages of other
// types, and fails the test after timeout.
func Expect[T any](t testing.TB, p *Probe, timeout time.Duration) T {
	t.Helper()
	return ExpectMatch[T](t, p, timeout, func(T) bool { return true })
}

// ExpectMatch waits for a message of type T for which match is true,
// skipping all others.
func ExpectMatch[T any](t testing.TB, p *Probe, timeout time.Duration, match func(T) bool) T {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-p.ch:
			if v, ok := m.(T); ok && match(v) {
				return v
			}
		case <-deadline:
			var zero T
			t.Fatalf("probe: no matching %T within %s", zero, timeout)
			return zero
		}
	}
}
