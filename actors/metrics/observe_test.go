package metrics

import (
	"os"
	"regexp"
	"strings"
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

// Every metric the package exports is documented in README.md.
func TestReadmeListsEveryMetric(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"superbot_rpc_calls_total", "superbot_rpc_duration_seconds", "superbot_scrape_errors_total"}
	re := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for _, d := range allDescs {
		m := re.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		names = append(names, m[1])
	}
	if len(names) < 40 {
		t.Fatalf("only %d metric names found", len(names))
	}
	for _, n := range names {
		if !strings.Contains(string(b), "`"+n+"`") {
			t.Errorf("README.md does not list %s", n)
		}
	}
}
