package rpc

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Observer is told of every call sent along a route through a Router:
// Router.Send (and so Router.Call) and Inbox.Call, whoever the caller (the
// JSON-RPC edge, the web UI, the scheduler's jobs). Calls refused before
// they are sent (unknown method, bad params) are not reported.
//
// ObserveCall runs on the caller's goroutine (Inbox.Call) or on the
// goroutine that completes the call's future (Router.Send: the answering
// actor's, or a timer's); it must be quick and must not block. err is what
// Pending.Result would return (nil, a *messages.Error, or another error).
type Observer interface {
	ObserveCall(method string, err error, d time.Duration)
}

// observerRef boxes an Observer for an atomic pointer.
type observerRef struct{ Observer }

// SetObserver makes o the router's observer (nil: none). Calls already sent
// report to the observer that was set when they were sent.
func (r *Router) SetObserver(o Observer) {
	if o == nil {
		r.observer.Store(nil)
		return
	}
	r.observer.Store(&observerRef{o})
}

// watchFuture reports f's outcome to o once it completes: a process
// registered for the one reply f pipes to it, removed when it arrives.
func watchFuture(sys *actor.ActorSystem, f *actor.Future, o Observer, method string, start time.Time) {
	w := &watchProcess{sys: sys, o: o, method: method, start: start}
	w.pid, _ = sys.ProcessRegistry.Add(w, "rpcwatch"+sys.ProcessRegistry.NextId())
	f.PipeTo(w.pid)
}

// watchProcess receives the result a future pipes to it (the reply, or the
// future's error: actor.ErrTimeout, actor.ErrDeadLetter).
type watchProcess struct {
	sys    *actor.ActorSystem
	o      Observer
	method string
	start  time.Time
	pid    *actor.PID
}

func (w *watchProcess) SendUserMessage(_ *actor.PID, message any) {
	w.sys.ProcessRegistry.Remove(w.pid)
	d := max(time.Since(w.start), 0) // the start was read on another goroutine
	msg := actor.UnwrapEnvelopeMessage(message)
	var err error
	if e, ok := msg.(error); ok && (e == actor.ErrTimeout || e == actor.ErrDeadLetter) { //nolint:errorlint // the future's own sentinels, as it sends them
		_, err = Reply(nil, e)
	} else {
		_, err = Reply(msg, nil)
	}
	w.o.ObserveCall(w.method, err, d)
}

func (w *watchProcess) SendSystemMessage(*actor.PID, any) {}

func (w *watchProcess) Stop(*actor.PID) {}
