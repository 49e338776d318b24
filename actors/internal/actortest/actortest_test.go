package actortest

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestProbeRecordsAndReplies(t *testing.T) {
	sys := NewSystem(t)
	p := NewReplyingProbe(t, sys, func(msg any) any {
		if s, ok := msg.(string); ok {
			return s + "!"
		}
		return nil
	})
	if got := Request[string](t, sys, p.PID, "hi"); got != "hi!" {
		t.Fatalf("reply = %q", got)
	}
	if got := Expect[string](t, p, DefaultTimeout); got != "hi" {
		t.Fatalf("recorded %q", got)
	}
	sys.Root.Send(p.PID, 42)
	if got := Expect[int](t, p, DefaultTimeout); got != 42 {
		t.Fatalf("recorded %d", got)
	}
	p.ExpectNoMessage(20 * time.Millisecond)
}

func TestTryRequestTypeMismatch(t *testing.T) {
	sys := NewSystem(t)
	pid := Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(string); ok {
			ctx.Respond(1)
		}
	}))
	if _, err := TryRequest[string](sys, pid, "x", time.Second); err == nil {
		t.Fatal("want a type error")
	}
}
