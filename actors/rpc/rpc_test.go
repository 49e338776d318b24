package rpc_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var subscribe = rpc.Route{Method: "events.subscribe", New: func() proto.Message { return &messages.EventsSubscribeRequest{} }}

func TestDecode(t *testing.T) {
	cases := []struct {
		name    string
		params  string
		pattern string
		queue   uint32
		wantErr bool
	}{
		{"absent", ``, "", 0, false},
		{"null", `null`, "", 0, false},
		{"named", `{"pattern":"a.>","queue_size":5}`, "a.>", 5, false},
		{"json name", `{"pattern":"a.>","queueSize":5}`, "a.>", 5, false},
		{"positional", `["a.*", 7]`, "a.*", 7, false},
		{"positional partial", `["a.*"]`, "a.*", 0, false},
		{"too many positional", `["a", 1, 2]`, "", 0, true},
		{"unknown name", `{"pattern":"a","bogus":1}`, "", 0, true},
		{"wrong type", `{"queue_size":"many"}`, "", 0, true},
		{"scalar", `42`, "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := rpc.Decode(subscribe, json.RawMessage(c.params))
			if c.wantErr {
				if !errors.Is(err, rpc.ErrBadParams) {
					t.Fatalf("want ErrBadParams, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			req := m.(*messages.EventsSubscribeRequest)
			if req.Pattern != c.pattern || req.QueueSize != c.queue {
				t.Fatalf("decoded %v", req)
			}
		})
	}
}

func TestValueRouteTakesParamsWhole(t *testing.T) {
	rt := rpc.Route{Method: "echo", New: func() proto.Message { return &structpb.Value{} }}
	m, err := rpc.Decode(rt, json.RawMessage(`[1,"x",{"a":true}]`))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.(*structpb.Value).GetListValue().GetValues()); n != 3 {
		t.Fatalf("decoded %d values", n)
	}
}

func TestEncodeDropsTheErrorField(t *testing.T) {
	b, err := rpc.Encode(&messages.PublishResponse{Sequence: 3})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "error") || !strings.Contains(string(b), `"sequence":3`) {
		t.Fatalf("encoded %s", b)
	}
}

func TestRouterCallsActorsAndReportsErrors(t *testing.T) {
	sys := actortest.NewSystem(t)
	pid := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*messages.EventsSubscribeRequest); ok {
			if req.Pattern == "bad" {
				ctx.Respond(&messages.EventsSubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "nope")})
				return
			}
			ctx.Respond(&messages.EventsSubscribeResponse{Subscription: 9})
		}
	}))
	r := rpc.NewRouter(time.Second)
	r.MustAdd(rpc.Route{Method: "sub", Target: pid, New: func() proto.Message { return &messages.EventsSubscribeRequest{} }})
	if err := r.Add(rpc.Route{Method: "sub", Target: pid, New: func() proto.Message { return &messages.EventsSubscribeRequest{} }}); !errors.Is(err, rpc.ErrDuplicate) {
		t.Fatalf("duplicate: %v", err)
	}
	p, err := r.Call(sys.Root, "sub", json.RawMessage(`{"pattern":"ok"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Result()
	if err != nil || res.(*messages.EventsSubscribeResponse).Subscription != 9 {
		t.Fatalf("result %v %v", res, err)
	}
	p, _ = r.Call(sys.Root, "sub", json.RawMessage(`{"pattern":"bad"}`))
	var me *messages.Error
	if _, err := p.Result(); !errors.As(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("error %v", err)
	}
	if _, err := r.Call(sys.Root, "nope", nil); !errors.Is(err, rpc.ErrUnknownMethod) {
		t.Fatalf("unknown: %v", err)
	}
	if got := r.Methods(); len(got) != 1 || got[0] != "sub" {
		t.Fatalf("methods %v", got)
	}
}

// An Inbox answers calls one at a time; a call that times out does not
// leave its late reply to be taken as the next call's, and a stopped target
// answers "unavailable" at once rather than at the deadline.
func TestInboxCalls(t *testing.T) {
	sys := actortest.NewSystem(t)
	release := make(chan struct{})
	pid := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if req, ok := ctx.Message().(*messages.EventsSubscribeRequest); ok {
			if req.Pattern == "slow" {
				sender := ctx.Sender()
				go func() { // reply after the caller gave up
					<-release
					sys.Root.Send(sender, &messages.EventsSubscribeResponse{Subscription: 666})
				}()
				return
			}
			ctx.Respond(&messages.EventsSubscribeResponse{Subscription: uint64(len(req.Pattern))})
		}
	}))
	r := rpc.NewRouter(time.Second)
	rt := rpc.Route{Method: "sub", Target: pid, New: func() proto.Message { return &messages.EventsSubscribeRequest{} }}
	in := rpc.NewInbox(sys)
	defer in.Close()
	call := func(rt rpc.Route, pattern string) (uint64, error) {
		res, err := in.Call(r, rt, &messages.EventsSubscribeRequest{Pattern: pattern})
		if err != nil {
			return 0, err
		}
		return res.(*messages.EventsSubscribeResponse).Subscription, nil
	}
	for i, p := range []string{"a", "bb", "ccc"} {
		if got, err := call(rt, p); err != nil || got != uint64(i+1) {
			t.Fatalf("call %q: %d %v", p, got, err)
		}
	}
	slow := rt
	slow.Timeout = 50 * time.Millisecond
	var me *messages.Error
	if _, err := call(slow, "slow"); !errors.As(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_TIMEOUT {
		t.Fatalf("slow call: %v, want a timeout", err)
	}
	close(release) // the late reply goes to the retired process
	for i := 0; i < 20; i++ {
		if got, err := call(rt, "dddd"); err != nil || got != 4 {
			t.Fatalf("call after a timeout: %d %v (a late reply taken for this one?)", got, err)
		}
	}
	sys.Root.Stop(pid)
	actortest.Eventually(t, 5*time.Second, func() bool {
		_, err := call(rt, "x")
		return errors.As(err, &me) && me.Code == messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	}, "a call to a stopped target is unavailable")
	in.Close()
	if got, err := call(rt, "x"); !errors.As(err, &me) || me.Code != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("after Close: %d %v", got, err)
	}
	in.Close()
}
