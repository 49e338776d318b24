package cache

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/allegro/bigcache/v3"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/redistest"
	"github.com/superbot/superbot/messages"
)

// Benchmarks: go test -run '^$' -bench . -benchmem ./actors/cache/
//
// Each reports get/s. The "through the actor" figures include the protoactor
// round trip; the direct ones are bigcache (and our stamped store) alone.

const benchKeys = 10_000

var benchValue = []byte(`{"symbol":"BTCUSDT","price":"97000.10","bid":"97000.00","ask":"97000.20","ts":1764194400000}`)

func benchKey(i int) string { return fmt.Sprintf("ticker:SYM%05d", i%benchKeys) }

// benchCache spawns a memory cache holding benchKeys tickers.
func benchCache(b *testing.B) (*actor.ActorSystem, *actor.PID, []*messages.CacheGetRequest) {
	return benchCacheWith(b, DefaultConfig())
}

// benchCacheWith spawns a cache with cfg holding benchKeys tickers.
func benchCacheWith(b *testing.B, cfg Config) (*actor.ActorSystem, *actor.PID, []*messages.CacheGetRequest) {
	b.Helper()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
	pid := sys.Root.Spawn(newProps(cfg, nil, actortest.Discard(), time.Now))
	b.Cleanup(func() { _ = sys.Root.StopFuture(pid).Wait(); sys.Shutdown() })
	reqs := make([]*messages.CacheGetRequest, benchKeys)
	for i := range benchKeys {
		res, err := sys.Root.RequestFuture(pid, Set(benchKey(i), benchValue, ClassKlines), time.Second).Result()
		if err != nil || res.(*messages.CacheSetResponse).GetError() != nil {
			b.Fatalf("fill: %v %v", err, res)
		}
		reqs[i] = Get(benchKey(i))
	}
	return sys, pid, reqs
}

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "get/s")
}

// BenchmarkActorGetFutures: many concurrent callers, each a RequestFuture
// round trip (what an RPC or a non-actor caller does).
func BenchmarkActorGetFutures(b *testing.B) {
	sys, pid, reqs := benchCache(b)
	var next atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1)
			res, err := sys.Root.RequestFuture(pid, reqs[i%benchKeys], time.Second).Result()
			if err != nil || !res.(*messages.CacheGetResponse).GetFound() {
				b.Errorf("get: %v %v", err, res)
				return
			}
		}
	})
	reportRate(b)
}

// BenchmarkActorGetActors: requester actors (as the connector would be),
// each keeping a window of requests outstanding with ctx.Request and
// counting responses: actor-to-actor throughput, no futures.
func BenchmarkActorGetActors(b *testing.B) {
	for _, tc := range []struct{ requesters, window int }{{1, 1}, {4, 64}} {
		b.Run(fmt.Sprintf("requesters=%d/window=%d", tc.requesters, tc.window), func(b *testing.B) {
			sys, pid, reqs := benchCache(b)
			runRequesters(b, sys, pid, reqs, tc.requesters, tc.window)
		})
	}
}

// BenchmarkRedisGetActors is BenchmarkActorGetActors against the Redis
// backend and a real redis-server (skipped without one).
func BenchmarkRedisGetActors(b *testing.B) {
	srv := redistest.Start(b)
	cfg := DefaultConfig()
	cfg.Backend, cfg.RedisAddr, cfg.RedisDB = BackendRedis, srv.Addr(), 3
	sys, pid, reqs := benchCacheWith(b, cfg)
	b.Run("requesters=4/window=64", func(b *testing.B) {
		runRequesters(b, sys, pid, reqs, 4, 64)
	})
}

// runRequesters spawns requester actors that keep window gets outstanding
// each until b.N gets are answered, and reports get/s.
func runRequesters(b *testing.B, sys *actor.ActorSystem, pid *actor.PID, reqs []*messages.CacheGetRequest, requesters, window int) {
	per := b.N/requesters + 1
	done := make(chan struct{}, requesters)
	b.ReportAllocs()
	b.ResetTimer()
	for r := range requesters {
		sent, got := 0, 0
		next := func(ctx actor.Context) {
			ctx.Request(pid, reqs[(r*per+sent)%benchKeys])
			sent++
		}
		rp := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case *actor.Started:
				for sent < window && sent < per {
					next(ctx)
				}
			case *messages.CacheGetResponse:
				if !m.GetFound() || m.GetError() != nil {
					b.Errorf("get: %v", m)
				}
				if got++; got == per {
					done <- struct{}{}
				} else if sent < per {
					next(ctx)
				}
			}
		}))
		defer func() { _ = sys.Root.StopFuture(rp).Wait() }()
	}
	for range requesters {
		<-done
	}
	b.StopTimer()
	b.ReportMetric(float64(per*requesters)/b.Elapsed().Seconds(), "get/s")
}

// BenchmarkBigcacheGet: bigcache alone, same data, for comparison.
func BenchmarkBigcacheGet(b *testing.B) {
	bc, err := bigcache.New(context.Background(), bigcache.Config{
		Shards: memoryShards, LifeWindow: time.Hour, MaxEntriesInWindow: memoryShards * 1024,
		MaxEntrySize: 64, HardMaxCacheSize: 64,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer bc.Close()
	for i := range benchKeys {
		_ = bc.Set(benchKey(i), benchValue)
	}
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = benchKey(i)
	}
	b.Run("sequential", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, err := bc.Get(keys[i%benchKeys]); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
	b.Run("parallel", func(b *testing.B) {
		var next atomic.Int64
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := bc.Get(keys[next.Add(1)%benchKeys]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		reportRate(b)
	})
}

// BenchmarkMemStoreGet: the actor's store (bigcache plus the expiry stamp
// check) without the actor.
func BenchmarkMemStoreGet(b *testing.B) {
	m, err := newMemStore(DefaultConfig(), time.Now)
	if err != nil {
		b.Fatal(err)
	}
	defer m.close()
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = benchKey(i)
		_ = m.set(keys[i], benchValue, time.Hour)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, ok := m.get(keys[i%benchKeys]); !ok {
			b.Fatal("miss")
		}
	}
	reportRate(b)
}
