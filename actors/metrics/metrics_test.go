package metrics_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cache"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/metrics"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// stack is a real bus, cache and modules supervisor on a fresh actor
// system, their routes on a router, as the daemon wires them.
type stack struct {
	t       testing.TB
	sys     *actor.ActorSystem
	router  *rpc.Router
	metrics *metrics.Metrics
	cache   *actor.PID
	modules *actor.PID
}

func newStack(t testing.TB, mods map[string]modules.ModuleConfig) *stack {
	return newStackWith(t, modules.Config{Modules: mods}, nil)
}

func newStackWith(t testing.TB, cfg modules.Config, reg *modules.Registry) *stack {
	t.Helper()
	sys := actortest.NewSystem(t)
	log := actortest.Logger(t)
	s := &stack{t: t, sys: sys, router: rpc.NewRouter(5 * time.Second)}
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test", log))
	s.cache = actortest.Spawn(t, sys, cache.Props(cache.DefaultConfig(), busPID, log))
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	modPID := actortest.Spawn(t, sys, modules.Props(cfg, modules.Deps{Bus: busPID, Logger: log, Node: "test", Registry: reg}))
	s.modules = modPID
	t.Cleanup(func() { // before the Spawn cleanup stops the supervisor
		if _, err := actortest.TryRequest[*modules.StopAllResult](sys, modPID, &modules.StopAll{}, 30*time.Second); err != nil {
			t.Errorf("StopAll: %v", err)
		}
	})
	s.router.MustAdd(bus.Routes(busPID)...)
	s.router.MustAdd(cache.Routes(s.cache)...)
	s.router.MustAdd(modules.Routes(modPID, nil)...)
	s.metrics = metrics.New(sys, s.router)
	return s
}

// call makes an RPC call as the edge does (an Inbox) and fails the test on
// an error.
func (s *stack) call(method string, params any) proto.Message {
	s.t.Helper()
	rt, ok := s.router.Lookup(method)
	if !ok {
		s.t.Fatalf("no route %s", method)
	}
	b, _ := json.Marshal(params)
	req, err := rpc.Decode(rt, b)
	if err != nil {
		s.t.Fatal(err)
	}
	in := rpc.NewInbox(s.sys)
	defer in.Close()
	res, err := in.Call(s.router, rt, req)
	if err != nil {
		s.t.Fatalf("%s: %v", method, err)
	}
	return res
}

// scrape is the exposition Handler serves, parsed.
type scrape map[string]*dto.MetricFamily

func scrapeHandler(t testing.TB, h http.Handler) scrape {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse the exposition: %v", err)
	}
	return fams
}

func (s *stack) scrape() scrape { return scrapeHandler(s.t, s.metrics.Handler()) }

// value is the value of the series name{labels} (a counter, gauge or
// histogram's count), and whether it exists.
func (sc scrape) value(name string, labels ...string) (float64, bool) {
	f := sc[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if labelOf(m, labels[i]) != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount()), true
		}
	}
	return 0, false
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// must is value for a series that must exist.
func (sc scrape) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	v, ok := sc.value(name, labels...)
	if !ok {
		t.Fatalf("no series %s%v", name, labels)
	}
	return v
}

func sleeper() modules.ModuleConfig {
	m := modules.DefaultModuleConfig()
	m.Type, m.Command = modules.TypeExec, []string{"sleep", "300"}
	m.StartPeriod, m.StopTimeout = 0, 5*time.Second
	m.Restart, m.Backoff = modules.RestartAlways, modules.Backoff{Initial: 0, Max: time.Second}
	return m
}

// Values follow events: published events, cache lookups, a module's crash
// restart, and the RPC calls that caused them.
func TestScrapeFollowsEvents(t *testing.T) {
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep(1) on this machine")
	}
	s := newStack(t, map[string]modules.ModuleConfig{"sleeper": sleeper()})
	before := s.scrape()
	if _, ok := before.value("superbot_bus_published_total", "family", "demo"); ok {
		t.Fatal("a demo family before anything was published")
	}
	hits0 := before.must(t, "superbot_cache_hits_total")
	miss0 := before.must(t, "superbot_cache_misses_total")
	if v := before.must(t, "superbot_module_state", "module", "sleeper", "state", "stopped"); v != 1 {
		t.Fatalf("sleeper stopped = %v before its start", v)
	}
	if before.must(t, "go_goroutines") <= 0 || before.must(t, "process_resident_memory_bytes") <= 0 {
		t.Fatal("the Go and process collectors are missing")
	}
	calls0, _ := before.value("superbot_rpc_calls_total", "method", "events.publish", "code", "ok")

	const n = 7
	for i := range n {
		s.call("events.publish", map[string]any{"topic": fmt.Sprintf("demo.t%d", i%3), "payload": i})
	}
	_ = actortest.Request[*messages.CacheSetResponse](t, s.sys, s.cache, cache.Set("k", []byte("v"), "ticker"))
	_ = actortest.Request[*messages.CacheGetResponse](t, s.sys, s.cache, cache.Get("k"))
	_ = actortest.Request[*messages.CacheGetResponse](t, s.sys, s.cache, cache.Get("absent"))
	st := s.call("module.start", map[string]string{"module": "sleeper"}).(*messages.ModuleStartResponse).GetStatus()
	if st.GetPid() <= 0 {
		t.Fatalf("sleeper started without a pid: %v", st)
	}

	after := s.scrape()
	if v := after.must(t, "superbot_bus_published_total", "family", "demo"); v != n {
		t.Fatalf("published{family=demo} = %v, want %d", v, n)
	}
	if d := after.must(t, "superbot_cache_hits_total") - hits0; d != 1 {
		t.Fatalf("cache hits +%v, want +1", d)
	}
	if d := after.must(t, "superbot_cache_misses_total") - miss0; d != 1 {
		t.Fatalf("cache misses +%v, want +1", d)
	}
	if d := after.must(t, "superbot_rpc_calls_total", "method", "events.publish", "code", "ok") - calls0; d != n {
		t.Fatalf("rpc calls{events.publish,ok} +%v, want +%d", d, n)
	}
	if v := after.must(t, "superbot_rpc_duration_seconds", "method", "events.publish"); v != n {
		t.Fatalf("rpc duration{events.publish} count %v, want %d", v, n)
	}
	if v := after.must(t, "superbot_rpc_calls_total", "method", "module.start", "code", "ok"); v != 1 {
		t.Fatalf("rpc calls{module.start,ok} = %v, want 1", v)
	}
	if v := after.must(t, "superbot_module_state", "module", "sleeper", "state", "running"); v != 1 {
		t.Fatalf("sleeper running = %v after its start", v)
	}
	if v := after.must(t, "superbot_module_resident_memory_bytes", "module", "sleeper"); v <= 0 {
		t.Logf("sleeper rss %v (not sampled yet)", v)
	}
	r0 := after.must(t, "superbot_module_restarts_total", "module", "sleeper")

	if err := syscall.Kill(int(st.GetPid()), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var last scrape
	actortest.Eventually(t, 20*time.Second, func() bool {
		last = s.scrape()
		r, _ := last.value("superbot_module_restarts_total", "module", "sleeper")
		up, _ := last.value("superbot_module_state", "module", "sleeper", "state", "running")
		return r == r0+1 && up == 1
	}, "restarts_total +1 and running again after a SIGKILL")
	for _, c := range []string{"modules", "bus", "cache"} {
		if v := last.must(t, "superbot_scrape_errors_total", "component", c); v != 0 {
			t.Fatalf("scrape errors{%s} = %v", c, v)
		}
	}
}

// A component that never answers costs the scrape its timeout, not more:
// the others' series are there, its own are absent, and the error counter
// says which.
func TestScrapeBoundedWhenAComponentHangs(t *testing.T) {
	sys := actortest.NewSystem(t)
	hung := actortest.Spawn(t, sys, actor.PropsFromFunc(func(actor.Context) {})) // never answers
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test", actortest.Logger(t)))
	router := rpc.NewRouter(time.Minute)
	router.MustAdd(bus.Routes(busPID)...)
	router.MustAdd(rpc.Route{Method: "cache.stats", Target: hung, New: func() proto.Message { return &messages.CacheStatsRequest{} }})
	m := metrics.New(sys, router)
	const bound = 300 * time.Millisecond
	m.SetScrapeTimeout(bound)
	for i := 1; i <= 2; i++ {
		start := time.Now()
		sc := scrapeHandler(t, m.Handler())
		took := time.Since(start) // one goroutine's two readings (coarse: no lower bound checked)
		if took > bound+10*time.Second {
			t.Fatalf("scrape %d took %v with a hung component, bound %v", i, took, bound)
		}
		if v := sc.must(t, "superbot_scrape_errors_total", "component", "cache"); v != float64(i) {
			t.Fatalf("scrape %d: errors{cache} = %v, want %d", i, v, i)
		}
		if v := sc.must(t, "superbot_scrape_errors_total", "component", "bus"); v != 0 {
			t.Fatalf("scrape %d: errors{bus} = %v", i, v)
		}
		if _, ok := sc.value("superbot_cache_hits_total"); ok {
			t.Fatalf("scrape %d: cache series from a component that did not answer", i)
		}
		sc.must(t, "superbot_bus_subscriptions")
	}
}

// Calls along a route the router does not list count under method
// "other": no caller mints label values.
func TestUnknownMethodsShareOneLabel(t *testing.T) {
	sys := actortest.NewSystem(t)
	echo := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.CacheStatsRequest); ok {
			ctx.Respond(&messages.CacheStatsResponse{})
		}
	}))
	router := rpc.NewRouter(5 * time.Second)
	m := metrics.New(sys, router)
	in := rpc.NewInbox(sys)
	defer in.Close()
	for i := range 50 {
		rt := rpc.Route{Method: fmt.Sprintf("made.up.%d", i), Target: echo, New: func() proto.Message { return &messages.CacheStatsRequest{} }}
		if _, err := in.Call(router, rt, rt.New()); err != nil {
			t.Fatal(err)
		}
		if _, err := router.Send(sys.Root, rt, rt.New()).Result(); err != nil {
			t.Fatal(err)
		}
	}
	sc := scrapeHandler(t, m.Handler())
	if v := sc.must(t, "superbot_rpc_calls_total", "method", "other", "code", "ok"); v != 100 {
		t.Fatalf("calls{other,ok} = %v, want 100", v)
	}
	if n := len(sc["superbot_rpc_calls_total"].GetMetric()); n != 1 {
		t.Fatalf("%d series of superbot_rpc_calls_total, want 1", n)
	}
}
