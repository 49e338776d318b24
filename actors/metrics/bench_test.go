package metrics_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/metrics"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/tsc"
)

// Figures (go test -run '^$' -bench . -benchtime 200x ./actors/metrics/):
//
//   - BenchmarkScrape100Modules: one /metrics scrape (handler called
//     directly, text exposition) with 100 running thread modules, a real bus
//     and cache; the bound is 20 ms. Its floor, measured in the same
//     loop, is one module.list request to the modules supervisor.
//   - BenchmarkInboxCall: the JSON-RPC edge's hot path (an Inbox call to an
//     actor that answers at once) without and with the metrics observer.
//
// Intervals are read from the CPU's counter on a pinned goroutine
// (runtime/tsc): time.Now moves in steps of milliseconds on these VMs.

func BenchmarkScrape100Modules(b *testing.B) {
	reg := modules.NewRegistry()
	if err := reg.Register("idle", func(modules.ThreadEnv) *actor.Props {
		return actor.PropsFromFunc(func(actor.Context) {})
	}); err != nil {
		b.Fatal(err)
	}
	cfg := modules.Config{Modules: map[string]modules.ModuleConfig{}}
	for i := range 100 {
		m := modules.DefaultModuleConfig()
		m.Type, m.Module, m.StartPeriod = modules.TypeThread, "idle", 0
		name := fmt.Sprintf("m%03d", i)
		cfg.Modules[name] = m
		cfg.Autostart = append(cfg.Autostart, name)
	}
	s := newStackWith(quiet{b}, cfg, reg)
	res := actortest.Request[*modules.AutostartResult](b, s.sys, s.modules, modules.StartAutostart{})
	if len(res.Started) != 100 {
		b.Fatalf("started %d modules: %v", len(res.Started), res.Errors)
	}
	h := s.metrics.Handler()
	if n := len(scrapeHandler(b, h)["superbot_module_state"].GetMetric()); n != 800 {
		b.Fatalf("%d module state series, want 800", n)
	}
	scrapes := make([]time.Duration, 0, b.N)
	floors := make([]time.Duration, 0, b.N)
	var size int
	unpin := tsc.Pin()
	defer unpin()
	b.ResetTimer()
	for range b.N {
		t0 := tsc.Now()
		if _, err := s.sys.Root.RequestFuture(s.modules, &messages.ModuleListRequest{}, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		floors = append(floors, tsc.Since(t0))
		t1 := tsc.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		scrapes = append(scrapes, tsc.Since(t1))
		if rec.Code != http.StatusOK {
			b.Fatalf("scrape: %d", rec.Code)
		}
		size = rec.Body.Len()
	}
	b.StopTimer()
	sp := tsc.Percentiles(scrapes, 50, 95, 99)
	fp := tsc.Percentiles(floors, 50, 95)
	b.ReportMetric(ms(sp[0]), "scrape-p50-ms")
	b.ReportMetric(ms(sp[1]), "scrape-p95-ms")
	b.ReportMetric(ms(sp[2]), "scrape-p99-ms")
	b.ReportMetric(ms(fp[0]), "floor-p50-ms")
	b.ReportMetric(ms(fp[1]), "floor-p95-ms")
	b.ReportMetric(float64(sp[0])/float64(max(fp[0], 1)), "p50-ratio")
	b.ReportMetric(float64(size), "body-bytes")
}

func BenchmarkInboxCall(b *testing.B) {
	for _, observed := range []bool{false, true} {
		b.Run(fmt.Sprintf("observed=%v", observed), func(b *testing.B) {
			sys := actortest.NewSystem(quiet{b})
			pid := actortest.Spawn(b, sys, actor.PropsFromFunc(func(ctx actor.Context) {
				if _, ok := ctx.Message().(*messages.CacheStatsRequest); ok {
					ctx.Respond(&messages.CacheStatsResponse{})
				}
			}))
			router := rpc.NewRouter(5 * time.Second)
			rt := rpc.Route{Method: "cache.stats", Target: pid, New: func() proto.Message { return &messages.CacheStatsRequest{} }}
			router.MustAdd(rt)
			if observed {
				metrics.New(sys, router)
			}
			in := rpc.NewInbox(sys)
			defer in.Close()
			req := &messages.CacheStatsRequest{}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := in.Call(router, rt, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// quiet is a testing.TB whose logs go nowhere (a benchmark's actors log
// every module start).
type quiet struct{ testing.TB }

func (quiet) Log(...any)          {}
func (quiet) Logf(string, ...any) {}
func (q quiet) Helper()           { q.TB.Helper() }
