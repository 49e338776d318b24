package modules

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// refusingThread cannot run: it tells its module so, as a thread module
// whose port is taken does (exchange-sim).
type refusingThread struct{ started *atomic.Int32 }

func (a *refusingThread) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*actor.Started); ok {
		a.started.Add(1)
		ctx.Request(ctx.Parent(), &ThreadFailed{Reason: "listen 127.0.0.1:1: address already in use"})
	}
}

// TestThreadFailedFailsTheModuleOnce: a thread module that sends
// ThreadFailed leaves its module failed with the reason, at once and
// without restarts (a panic instead is a crash, restarted).
func TestThreadFailedFailsTheModuleOnce(t *testing.T) {
	reg := NewRegistry()
	var started atomic.Int32
	if err := reg.Register("refuser", func(ThreadEnv) *actor.Props {
		return actor.PropsFromProducer(func() actor.Actor { return &refusingThread{started: &started} })
	}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Modules: map[string]ModuleConfig{"refuser": {Type: TypeThread}}}
	h := newHarnessWith(t, cfg, reg)
	h.start("refuser")
	st := h.waitState("refuser", StateFailed, 5*time.Second)
	if st.LastError != "listen 127.0.0.1:1: address already in use" || st.Restarts != 0 {
		t.Fatalf("status = %v", st)
	}
	// Still failed, and started once, after the status round trips above.
	if st := h.status("refuser"); st.State != StateFailed || started.Load() != 1 {
		t.Fatalf("state %s, thread started %d times", st.State, started.Load())
	}
}
