package cache

import (
	"bytes"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is the injected clock: time moves only when a test says so.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness is one cache actor under test with a probe standing in for the bus.
type harness struct {
	t   *testing.T
	sys *actor.ActorSystem
	pid *actor.PID
	bus *actortest.Probe
}

func newHarness(t *testing.T, cfg Config, clock func() time.Time) *harness {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("config: %v", err)
	}
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	pid := actortest.Spawn(t, sys, newProps(cfg, bus.PID, actortest.Logger(t), clock))
	return &harness{t: t, sys: sys, pid: pid, bus: bus}
}

func (h *harness) set(key, value, class string, ttlMs int64) *messages.CacheSetResponse {
	h.t.Helper()
	return actortest.Request[*messages.CacheSetResponse](h.t, h.sys, h.pid,
		&messages.CacheSetRequest{Key: key, Value: []byte(value), TtlClass: class, TtlMs: ttlMs})
}

func (h *harness) mustSet(key, value, class string, ttlMs int64) {
	h.t.Helper()
	if r := h.set(key, value, class, ttlMs); r.GetError() != nil {
		h.t.Fatalf("set %q: %v", key, r.GetError())
	}
}

func (h *harness) get(key string) *messages.CacheGetResponse {
	h.t.Helper()
	return actortest.Request[*messages.CacheGetResponse](h.t, h.sys, h.pid, &messages.CacheGetRequest{Key: key})
}

func (h *harness) del(key string) *messages.CacheDeleteResponse {
	h.t.Helper()
	return actortest.Request[*messages.CacheDeleteResponse](h.t, h.sys, h.pid, &messages.CacheDeleteRequest{Key: key})
}

func (h *harness) stats() *messages.CacheStatsResponse {
	h.t.Helper()
	return actortest.Request[*messages.CacheStatsResponse](h.t, h.sys, h.pid, &messages.CacheStatsRequest{})
}

// expectValue fails unless key holds want ("" with found=false means a miss).
func (h *harness) expectValue(key, want string, found bool) {
	h.t.Helper()
	r := h.get(key)
	if r.GetError() != nil {
		h.t.Fatalf("get %q: %v", key, r.GetError())
	}
	if r.GetFound() != found || (found && string(r.GetValue()) != want) {
		h.t.Fatalf("get %q = (%v, %q), want (%v, %q)", key, r.GetFound(), r.GetValue(), found, want)
	}
}

func TestGetSetDelete(t *testing.T) {
	h := newHarness(t, DefaultConfig(), newFakeClock().Now)

	h.expectValue("ticker:BTCUSDT", "", false)
	h.mustSet("ticker:BTCUSDT", `{"price":"97000.10"}`, ClassTicker, 0)
	h.expectValue("ticker:BTCUSDT", `{"price":"97000.10"}`, true)

	h.mustSet("ticker:BTCUSDT", "v2", ClassTicker, 0) // overwrite
	h.expectValue("ticker:BTCUSDT", "v2", true)

	h.mustSet("empty", "", "", 0) // an empty value is a value
	h.expectValue("empty", "", true)

	if r := h.del("ticker:BTCUSDT"); r.GetError() != nil || !r.GetDeleted() {
		t.Fatalf("delete existing = %+v", r)
	}
	if r := h.del("ticker:BTCUSDT"); r.GetError() != nil || r.GetDeleted() {
		t.Fatalf("delete missing = %+v", r)
	}
	h.expectValue("ticker:BTCUSDT", "", false)
}

func TestFireAndForgetSet(t *testing.T) {
	h := newHarness(t, DefaultConfig(), newFakeClock().Now)
	h.sys.Root.Send(h.pid, Set(Key("klines", "ETHUSDT", "1m"), []byte("k"), ClassKlines))
	h.expectValue("klines:ETHUSDT:1m", "k", true) // the mailbox is ordered
}

func TestTTLClassesExpire(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.TTL["slow"] = 10 * time.Minute
	h := newHarness(t, cfg, clock.Now)

	type entry struct {
		key, class string
		ttlMs      int64
		life       time.Duration
	}
	entries := []entry{
		{"orderbook:BTCUSDT", ClassOrderbook, 0, time.Second},
		{"ticker:BTCUSDT", ClassTicker, 0, 5 * time.Second},
		{"default", "", 0, 30 * time.Second},
		{"klines:BTCUSDT", ClassKlines, 0, 60 * time.Second},
		{"custom", "", 250, 250 * time.Millisecond},
		{"class-and-ms", ClassKlines, 2000, 2 * time.Second}, // ttl_ms wins
		{"extra-class", "slow", 0, 10 * time.Minute},
	}
	for _, e := range entries {
		h.mustSet(e.key, "v", e.class, e.ttlMs)
	}
	elapsed := time.Duration(0)
	for _, step := range []time.Duration{
		200 * time.Millisecond, 50 * time.Millisecond, 749 * time.Millisecond, time.Millisecond,
		time.Second, 3 * time.Second, time.Second, 25 * time.Second, 29 * time.Second,
		time.Second, 9 * time.Minute,
	} {
		clock.Advance(step)
		elapsed += step
		for _, e := range entries {
			t.Run(fmt.Sprintf("%s@%s", e.key, elapsed), func(t *testing.T) {
				h.t = t
				h.expectValue(e.key, "v", elapsed < e.life)
			})
		}
	}
	h.t = t
	s := h.stats()
	if s.GetExpired() != uint64(len(entries)) {
		t.Errorf("expired = %d, want %d", s.GetExpired(), len(entries))
	}
	if s.GetEntries() != 0 {
		t.Errorf("entries = %d, want 0 (expired entries are removed when read)", s.GetEntries())
	}
}

func TestBadInputChangesNothing(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxValueKB = 1
	h := newHarness(t, cfg, newFakeClock().Now)
	h.mustSet("k", "original", ClassTicker, 0)
	before := h.stats()

	long := strings.Repeat("k", MaxKeyLen+1)
	sets := []struct {
		name string
		req  *messages.CacheSetRequest
	}{
		{"empty key", &messages.CacheSetRequest{Key: "", Value: []byte("x")}},
		{"key too long", &messages.CacheSetRequest{Key: long, Value: []byte("x")}},
		{"unknown ttl class", &messages.CacheSetRequest{Key: "k", Value: []byte("x"), TtlClass: "tickers"}},
		{"negative ttl", &messages.CacheSetRequest{Key: "k", Value: []byte("x"), TtlMs: -1}},
		{"ttl above max_ttl", &messages.CacheSetRequest{Key: "k", Value: []byte("x"), TtlMs: (time.Hour + time.Millisecond).Milliseconds()}},
		{"ttl overflowing a duration", &messages.CacheSetRequest{Key: "k", Value: []byte("x"), TtlMs: 1 << 62}},
		{"value too large", &messages.CacheSetRequest{Key: "k", Value: bytes.Repeat([]byte("x"), 1025)}},
	}
	for _, tc := range sets {
		t.Run("set/"+tc.name, func(t *testing.T) {
			r := actortest.Request[*messages.CacheSetResponse](t, h.sys, h.pid, tc.req)
			expectInvalid(t, r.GetError())
		})
	}
	t.Run("unknown class lists the known ones", func(t *testing.T) {
		r := actortest.Request[*messages.CacheSetResponse](t, h.sys, h.pid, sets[2].req)
		if want := []string{"default", "klines", "orderbook", "ticker"}; fmt.Sprint(r.GetError().GetDetails()) != fmt.Sprint(want) {
			t.Errorf("details = %q, want %q", r.GetError().GetDetails(), want)
		}
	})
	t.Run("get/empty key", func(t *testing.T) {
		expectInvalid(t, actortest.Request[*messages.CacheGetResponse](t, h.sys, h.pid, &messages.CacheGetRequest{}).GetError())
	})
	t.Run("get/key too long", func(t *testing.T) {
		expectInvalid(t, actortest.Request[*messages.CacheGetResponse](t, h.sys, h.pid, Get(long)).GetError())
	})
	t.Run("delete/empty key", func(t *testing.T) {
		expectInvalid(t, actortest.Request[*messages.CacheDeleteResponse](t, h.sys, h.pid, &messages.CacheDeleteRequest{}).GetError())
	})

	h.t = t
	h.expectValue("k", "original", true)
	after := h.stats()
	if after.GetSets() != before.GetSets() || after.GetEntries() != before.GetEntries() || after.GetDeletes() != 0 {
		t.Errorf("stats changed: before %+v after %+v", before, after)
	}
}

func expectInvalid(t *testing.T, e *messages.Error) {
	t.Helper()
	if e.GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("error = %v, want INVALID_ARGUMENT", e)
	}
}

func TestStats(t *testing.T) {
	clock := newFakeClock()
	h := newHarness(t, DefaultConfig(), clock.Now)

	s := h.stats()
	if s.GetBackend() != BackendMemory || s.GetFallback() || s.GetHitRate() != 0 || s.GetEntries() != 0 {
		t.Fatalf("fresh stats = %+v", s)
	}
	h.mustSet("a", "1", ClassOrderbook, 0)
	h.mustSet("b", "2", ClassKlines, 0)
	h.mustSet("c", "3", ClassKlines, 0)
	h.expectValue("a", "1", true)
	h.expectValue("b", "2", true)
	h.expectValue("b", "2", true)
	h.expectValue("x", "", false)
	h.del("c")
	h.del("c")
	clock.Advance(2 * time.Second)
	h.expectValue("a", "", false) // expired: a miss

	s = h.stats()
	want := &messages.CacheStatsResponse{
		Backend: BackendMemory, Hits: 3, Misses: 2, HitRate: 0.6,
		Entries: 1, Sets: 3, Deletes: 1, Expired: 1,
	}
	if s.String() != want.String() {
		t.Fatalf("stats = %v\nwant    %v", s, want)
	}
}

func TestEvictionsAtMaxSize(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxSizeMB = 1
	cfg.MaxValueKB = 8
	h := newHarness(t, cfg, newFakeClock().Now)

	value := strings.Repeat("v", 4096)
	const n = 1000 // ~4 MB into a 1 MB cache
	for i := range n {
		h.mustSet(fmt.Sprintf("k%04d", i), value, ClassKlines, 0)
	}
	s := h.stats()
	if s.GetEvictions() == 0 || s.GetEntries()+s.GetEvictions() != n {
		t.Fatalf("entries %d + evictions %d, want %d with evictions > 0", s.GetEntries(), s.GetEvictions(), n)
	}
	if s.GetEntries() > 256 {
		t.Fatalf("entries = %d: 1 MB holds at most 256 values of 4 KB", s.GetEntries())
	}
	h.expectValue(fmt.Sprintf("k%04d", n-1), value, true) // the newest survive (FIFO)
}

func TestSweepRemovesExpiredEntries(t *testing.T) {
	clock := newFakeClock()
	cfg := DefaultConfig()
	cfg.SweepInterval = 5 * time.Millisecond
	h := newHarness(t, cfg, clock.Now)

	const n = 3*sweepBatch + 10 // several ticks
	for i := range n {
		h.sys.Root.Send(h.pid, Set(fmt.Sprintf("ob:%d", i), []byte("x"), ClassOrderbook))
	}
	h.mustSet("kl", "keep", ClassKlines, 0)
	if s := h.stats(); s.GetEntries() != n+1 {
		t.Fatalf("entries = %d, want %d", s.GetEntries(), n+1)
	}
	clock.Advance(2 * time.Second)
	actortest.Eventually(t, 5*time.Second, func() bool {
		return h.stats().GetEntries() == 1
	}, "the sweep removes every expired entry")
	s := h.stats()
	if s.GetExpired() != n || s.GetHits()+s.GetMisses() != 0 {
		t.Fatalf("stats = %+v, want expired %d and no reads counted", s, n)
	}
	h.expectValue("kl", "keep", true)
}

func TestPing(t *testing.T) {
	h := newHarness(t, DefaultConfig(), time.Now)
	if r := actortest.Request[*messages.PingResponse](t, h.sys, h.pid, &messages.PingRequest{}); r.GetName() != "cache" {
		t.Fatalf("ping = %q", r.GetName())
	}
}

func TestRouteCacheStats(t *testing.T) {
	h := newHarness(t, DefaultConfig(), time.Now)
	h.mustSet("k", "v", "", 0)
	r := rpc.NewRouter(5 * time.Second)
	r.MustAdd(Routes(h.pid)...)
	p, err := r.Call(h.sys.Root, "cache.stats", nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Result()
	if err != nil {
		t.Fatal(err)
	}
	out, err := rpc.Encode(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"backend":"memory"`, `"entries":1`, `"sets":1`, `"fallback":false`, `"hit_rate":0`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("cache.stats = %s, missing %s", out, want)
		}
	}
}

func TestHelpers(t *testing.T) {
	if got := Key("ticker", "BTCUSDT"); got != "ticker:BTCUSDT" {
		t.Errorf("Key = %q", got)
	}
	if got := Classes(DefaultConfig()); fmt.Sprint(got) != "[default klines orderbook ticker]" {
		t.Errorf("Classes = %q", got)
	}
}

func TestRestartStartsEmpty(t *testing.T) {
	h := newHarness(t, DefaultConfig(), newFakeClock().Now)
	h.mustSet("k", "v", ClassKlines, 0)
	restart(t, h)
	h.expectValue("k", "", false)
	if s := h.stats(); s.GetSets() != 0 || s.GetMisses() != 1 || s.GetEntries() != 0 {
		t.Fatalf("stats after restart = %+v", s)
	}
}

// restart makes the supervisor's restart happen to the cache: the old
// instance gets Restarting, a new one Started.
func restart(t *testing.T, h *harness) {
	t.Helper()
	proc, ok := h.sys.ProcessRegistry.Get(h.pid)
	if !ok {
		t.Fatal("cache process not found")
	}
	proc.SendSystemMessage(h.pid, &actor.Restart{})
}
