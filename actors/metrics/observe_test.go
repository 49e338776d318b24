package metrics

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// BenchmarkObserveCall is what the observer adds to a call on the edge's
// path: two clock readings and the counter and histogram updates.
func BenchmarkObserveCall(b *testing.B) {
	router := rpc.NewRouter(time.Second)
	router.MustAdd(rpc.Route{Method: "cache.stats", Target: actor.NewPID("nonhost", "x"), New: func() proto.Message { return &messages.CacheStatsRequest{} }})
	o := newRPCObserver(router)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		o.ObserveCall("cache.stats", nil, time.Since(start))
	}
}

func TestCodeOf(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"ok", nil, "ok"},
		{"coded", messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "x"), "not_found"},
		{"timeout", messages.Errorf(messages.ErrorCode_ERROR_CODE_TIMEOUT, "x"), "timeout"},
		{"unknown code", messages.Errorf(messages.ErrorCode(99), "x"), "error"},
		{"plain", errPlain{}, "error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := codeOf(c.err); got != c.want {
				t.Fatalf("codeOf = %q, want %q", got, c.want)
			}
		})
	}
}

type errPlain struct{}

func (errPlain) Error() string { return "plain" }
