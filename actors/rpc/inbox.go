package rpc

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
)

// Inbox is one caller's reply address for calls made one at a time, from
// one goroutine (an edge connection). It is a process registered once,
// where a future per call would register and drop a process and start a
// timer each time: the JSON-RPC edge's hot path.
//
// Each call waits for the one reply to its request. A call that times out
// retires the process (a late reply goes to a process no one reads, and is
// dropped) and registers a fresh one for the next call, so a late reply is
// never taken for the next call's.
//
// An Inbox is not safe for concurrent use. Close it when the caller is done.
type Inbox struct {
	sys   *actor.ActorSystem
	proc  *inboxProcess
	pid   *actor.PID
	timer *time.Timer
}

// NewInbox registers an inbox in sys.
func NewInbox(sys *actor.ActorSystem) *Inbox {
	in := &Inbox{sys: sys}
	in.register()
	return in
}

func (in *Inbox) register() {
	in.proc = &inboxProcess{ch: make(chan any, 1)}
	in.pid, _ = in.sys.ProcessRegistry.Add(in.proc, "inbox"+in.sys.ProcessRegistry.NextId())
}

// Close unregisters the inbox; replies still on their way are dropped.
func (in *Inbox) Close() {
	if in.pid != nil {
		in.sys.ProcessRegistry.Remove(in.pid)
		in.pid = nil
	}
	if in.timer != nil {
		in.timer.Stop()
	}
}

// Call sends req along rt and waits for the reply, at most the route's
// deadline (r.Timeout). Errors are those of Pending.Result. The call is
// reported to r's observer, if any.
func (in *Inbox) Call(r *Router, rt Route, req proto.Message) (proto.Message, error) {
	o := r.observer.Load()
	if o == nil {
		return in.call(r, rt, req)
	}
	start := time.Now()
	res, err := in.call(r, rt, req)
	o.ObserveCall(rt.Method, err, time.Since(start))
	return res, err
}

func (in *Inbox) call(r *Router, rt Route, req proto.Message) (proto.Message, error) {
	if in.pid == nil {
		in.register() // closed: calls still work, as with a future
	}
	select { // a second reply to an earlier request (a responder's bug) is not this call's
	case <-in.proc.ch:
	default:
	}
	in.sys.Root.RequestWithCustomSender(rt.Target, req, in.pid)
	d := r.Timeout(rt)
	if in.timer == nil {
		in.timer = time.NewTimer(d)
	} else {
		in.timer.Reset(d)
	}
	select {
	case res := <-in.proc.ch:
		in.timer.Stop()
		if _, ok := res.(*actor.DeadLetterResponse); ok {
			return Reply(nil, actor.ErrDeadLetter)
		}
		return Reply(res, nil)
	case <-in.timer.C:
		in.sys.ProcessRegistry.Remove(in.pid)
		in.register()
		return Reply(nil, actor.ErrTimeout)
	}
}

// inboxProcess is the registered side of an Inbox: it hands the reply to
// the waiting caller and never blocks the replying actor.
type inboxProcess struct{ ch chan any }

func (p *inboxProcess) SendUserMessage(_ *actor.PID, message any) {
	select {
	case p.ch <- actor.UnwrapEnvelopeMessage(message):
	default: // no call is waiting for a second reply
	}
}

func (p *inboxProcess) SendSystemMessage(*actor.PID, any) {}

func (p *inboxProcess) Stop(*actor.PID) {}
