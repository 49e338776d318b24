package cache

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/redistest"
	"github.com/superbot/superbot/messages"
)

func redisConfig(addr string) Config {
	cfg := DefaultConfig()
	cfg.Backend = BackendRedis
	cfg.RedisAddr = addr
	cfg.RedisDB = 3
	// Generous: a killed server refuses at once, and a loaded CI machine must
	// not turn a slow PING into a false fallback.
	cfg.RedisTimeout = 2 * time.Second
	cfg.ProbeInterval = 50 * time.Millisecond
	return cfg
}

// clockSkew is how far apart two readings of the clock on this project's
// VMs can be taken to run backwards (the vCPUs' clocks disagree).
const clockSkew = 500 * time.Millisecond

func TestRedisBackend(t *testing.T) {
	srv := redistest.Start(t)
	direct := srv.Client(3)
	h := newHarness(t, redisConfig(srv.Addr()), time.Now)
	ctx := context.Background()

	h.expectValue("ticker:BTCUSDT", "", false)
	h.mustSet("ticker:BTCUSDT", "97000", ClassTicker, 0)
	h.expectValue("ticker:BTCUSDT", "97000", true)

	// It is really in Redis, prefixed, with the class's TTL.
	if v, err := direct.Get(ctx, "superbot:cache:ticker:BTCUSDT").Result(); err != nil || v != "97000" {
		t.Fatalf("redis GET = %q, %v", v, err)
	}
	// The ticker class's 5 s, less what a loaded machine takes between the
	// write and this read (the other classes: 1, 30, 60 s). Redis reads its
	// wall clock at SET and at PTTL, maybe on different vCPUs, whose clocks
	// disagree by tens of ms here: PTTL has come back as 5.006 s.
	if ttl, err := direct.PTTL(ctx, "superbot:cache:ticker:BTCUSDT").Result(); err != nil || ttl <= 2*time.Second || ttl > 5*time.Second+clockSkew {
		t.Fatalf("redis PTTL = %s, %v; want (2s, 5s+%s]", ttl, err, clockSkew)
	}
	h.mustSet("custom", "x", "", 60_000)
	if ttl, _ := direct.PTTL(ctx, "superbot:cache:custom").Result(); ttl <= 50*time.Second || ttl > time.Minute+clockSkew {
		t.Fatalf("ttl_ms: redis PTTL = %s, want (50s, 60s+%s]", ttl, clockSkew)
	}

	// A value written by someone else is read as is.
	direct.Set(ctx, "superbot:cache:external", "ext", time.Minute)
	h.expectValue("external", "ext", true)

	if r := h.del("ticker:BTCUSDT"); !r.GetDeleted() || r.GetError() != nil {
		t.Fatalf("delete = %+v", r)
	}
	if n, _ := direct.Exists(ctx, "superbot:cache:ticker:BTCUSDT").Result(); n != 0 {
		t.Fatal("key still in redis after delete")
	}

	// Bad input never reaches Redis.
	expectInvalid(t, h.set("", "x", "", 0).GetError())
	expectInvalid(t, h.set("k", "x", "nope", 0).GetError())
	expectInvalid(t, h.set("k", "x", "", -5).GetError())

	// A key of another type is a request error, not an outage.
	direct.LPush(ctx, "superbot:cache:list", "a")
	if e := h.get("list").GetError(); e.GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("get of a list = %v, want FAILED_PRECONDITION", e)
	}

	s := h.stats()
	if s.GetBackend() != BackendRedis || s.GetFallback() || s.GetEntries() != 3 || s.GetHits() != 2 || s.GetMisses() != 1 ||
		s.GetSets() != 2 || s.GetDeletes() != 1 {
		t.Fatalf("stats = %+v", s)
	}
	h.bus.ExpectNoMessage(150 * time.Millisecond) // probes succeed: no events
}

func TestRedisFallbackAndRestore(t *testing.T) {
	srv := redistest.Start(t)
	direct := srv.Client(3)
	h := newHarness(t, redisConfig(srv.Addr()), time.Now)
	ctx := context.Background()

	h.mustSet("ticker:BTCUSDT", "from-redis", ClassKlines, 0)
	if n, _ := direct.Exists(ctx, "superbot:cache:ticker:BTCUSDT").Result(); n != 1 {
		t.Fatal("write did not reach redis")
	}

	srv.Kill()
	ev := expectEvent(t, h, TopicFallback)
	if !ev.GetFallback() || ev.GetBackend() != BackendRedis || ev.GetReason() == "" {
		t.Fatalf("fallback event = %+v", ev)
	}
	if s := h.stats(); !s.GetFallback() || s.GetBackend() != BackendRedis {
		t.Fatalf("stats during fallback = %+v", s)
	}
	// Memory serves: writes and reads work, and nothing from Redis is seen.
	h.expectValue("ticker:BTCUSDT", "", false)
	h.mustSet("ticker:BTCUSDT", "from-memory", ClassKlines, 0)
	h.expectValue("ticker:BTCUSDT", "from-memory", true)
	if s := h.stats(); s.GetEntries() != 1 {
		t.Fatalf("memory entries = %d, want 1", s.GetEntries())
	}

	srv.Start() // same port, empty (no persistence)
	ev = expectEvent(t, h, TopicRestored)
	if ev.GetFallback() || ev.GetBackend() != BackendRedis {
		t.Fatalf("restored event = %+v", ev)
	}
	if s := h.stats(); s.GetFallback() {
		t.Fatalf("stats after restore = %+v", s)
	}
	// Redis serves again: the memory copy is gone, new writes land in Redis.
	h.expectValue("ticker:BTCUSDT", "", false)
	h.mustSet("ticker:BTCUSDT", "redis-again", ClassKlines, 0)
	direct = srv.Client(3)
	if v, err := direct.Get(ctx, "superbot:cache:ticker:BTCUSDT").Result(); err != nil || v != "redis-again" {
		t.Fatalf("redis GET after restore = %q, %v", v, err)
	}
	h.expectValue("ticker:BTCUSDT", "redis-again", true)
}

// TestRedisRequestFailureFallsBack: a request that meets a dead Redis is
// served from memory at once, before any probe notices.
func TestRedisRequestFailureFallsBack(t *testing.T) {
	srv := redistest.Start(t)
	cfg := redisConfig(srv.Addr())
	cfg.ProbeInterval = time.Hour // only the first probe runs
	h := newHarness(t, cfg, time.Now)
	h.mustSet("k", "v", "", 0)

	srv.Kill()
	if r := h.set("k", "mem", "", 0); r.GetError() != nil {
		t.Fatalf("set while redis is down = %v", r.GetError())
	}
	expectEvent(t, h, TopicFallback)
	h.expectValue("k", "mem", true)
}

func TestRedisDownAtStart(t *testing.T) {
	redistest.Require(t)
	h := newHarness(t, redisConfig("127.0.0.1:"+strconv.Itoa(redistest.FreePort(t))), time.Now)
	expectEvent(t, h, TopicFallback)
	h.mustSet("k", "v", ClassTicker, 0)
	h.expectValue("k", "v", true)
	if s := h.stats(); !s.GetFallback() || s.GetEntries() != 1 {
		t.Fatalf("stats = %+v", s)
	}
}

// expectEvent waits for the bus event on topic and returns its payload.
func expectEvent(t *testing.T, h *harness, topic string) *messages.CacheBackendChanged {
	t.Helper()
	ev := actortest.ExpectMatch(t, h.bus, 10*time.Second, func(e *messages.Event) bool { return e.GetTopic() == topic })
	if ev.GetSource() != Kind {
		t.Errorf("event source = %q", ev.GetSource())
	}
	var p messages.CacheBackendChanged
	if err := ev.GetPayload().UnmarshalTo(&p); err != nil {
		t.Fatalf("payload: %v", err)
	}
	return &p
}

// TestRestartReleasesRedis: a restart stops the old instance's workers and
// prober (goleak checks none is left) and the new one serves Redis.
func TestRestartReleasesRedis(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, redisConfig(srv.Addr()), time.Now)
	h.mustSet("k", "v", ClassKlines, 0)
	for range 3 {
		restart(t, h)
	}
	if s := h.stats(); s.GetSets() != 0 || s.GetEntries() != 1 || s.GetFallback() {
		t.Fatalf("stats after restart = %+v, want fresh counters and the Redis entry", s)
	}
	h.expectValue("k", "v", true)
	h.bus.ExpectNoMessage(100 * time.Millisecond)
}
