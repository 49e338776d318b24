package rpc_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// recorder is an rpc.Observer that keeps what it is told.
type recorder struct {
	mu    sync.Mutex
	calls []observed
}

type observed struct {
	method string
	code   messages.ErrorCode // UNSPECIFIED: no error
	other  bool               // an error that is not a *messages.Error
}

func (r *recorder) ObserveCall(method string, err error, d time.Duration) {
	o := observed{method: method}
	var me *messages.Error
	switch {
	case errors.As(err, &me):
		o.code = me.Code
	case err != nil:
		o.other = true
	}
	if d < 0 {
		o.other = true // a negative duration is a bug
	}
	r.mu.Lock()
	r.calls = append(r.calls, o)
	r.mu.Unlock()
}

func (r *recorder) snapshot() []observed {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]observed(nil), r.calls...)
}

// Every call sent along a route is reported once with its outcome, through
// Router.Call/Send (a future) and Inbox.Call alike; calls refused before
// sending are not, and a cleared observer hears nothing more.
func TestObserverSeesEveryCall(t *testing.T) {
	sys := actortest.NewSystem(t)
	pid := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		req, ok := ctx.Message().(*messages.EventsSubscribeRequest)
		switch {
		case !ok:
		case req.Pattern == "bad":
			ctx.Respond(&messages.EventsSubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "nope")})
		case req.Pattern == "mute": // never answers
		default:
			ctx.Respond(&messages.EventsSubscribeResponse{Subscription: 1})
		}
	}))
	r := rpc.NewRouter(5 * time.Second)
	rt := rpc.Route{Method: "sub", Target: pid, New: func() proto.Message { return &messages.EventsSubscribeRequest{} }}
	r.MustAdd(rt)
	rec := &recorder{}
	r.SetObserver(rec)

	p, err := r.Call(sys.Root, "sub", []byte(`{"pattern":"ok"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Result(); err != nil {
		t.Fatal(err)
	}
	p, _ = r.Call(sys.Root, "sub", []byte(`{"pattern":"bad"}`))
	_, _ = p.Result()
	mute := rt
	mute.Timeout = 20 * time.Millisecond
	_, _ = r.Send(sys.Root, mute, &messages.EventsSubscribeRequest{Pattern: "mute"}).Result()
	if _, err := r.Call(sys.Root, "nope", nil); !errors.Is(err, rpc.ErrUnknownMethod) {
		t.Fatal(err)
	}
	if _, err := r.Call(sys.Root, "sub", []byte(`{"bogus":1}`)); !errors.Is(err, rpc.ErrBadParams) {
		t.Fatal(err)
	}
	in := rpc.NewInbox(sys)
	defer in.Close()
	if _, err := in.Call(r, rt, &messages.EventsSubscribeRequest{Pattern: "ok"}); err != nil {
		t.Fatal(err)
	}
	_, _ = in.Call(r, mute, &messages.EventsSubscribeRequest{Pattern: "mute"})

	want := []observed{
		{method: "sub"},
		{method: "sub", code: messages.ErrorCode_ERROR_CODE_NOT_FOUND},
		{method: "sub", code: messages.ErrorCode_ERROR_CODE_TIMEOUT},
		{method: "sub"},
		{method: "sub", code: messages.ErrorCode_ERROR_CODE_TIMEOUT},
	}
	// A future's pipe runs as it completes, before Result returns, so the
	// calls are all reported by now.
	got := rec.snapshot()
	if len(got) != len(want) {
		t.Fatalf("observed %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("call %d: observed %+v, want %+v", i, got[i], want[i])
		}
	}

	_ = sys.Root.StopFuture(pid).Wait()
	var me *messages.Error
	if _, err := r.Send(sys.Root, mute, &messages.EventsSubscribeRequest{Pattern: "ok"}).Result(); !errors.As(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("a call to a stopped target: %v", err)
	}
	last := rec.snapshot()
	if o := last[len(last)-1]; o.code != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("a call to a stopped target observed as %+v, want unavailable", o)
	}
	r.SetObserver(nil)
	n := len(rec.snapshot())
	_, _ = in.Call(r, rt, &messages.EventsSubscribeRequest{Pattern: "ok"})
	_, _ = r.Send(sys.Root, rt, &messages.EventsSubscribeRequest{Pattern: "ok"}).Result()
	if m := len(rec.snapshot()); m != n {
		t.Fatalf("%d calls observed after SetObserver(nil)", m-n)
	}
}
