package cache

import (
	"strings"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Routes returns the cache's RPC methods, answered by cachePID:
// cache.stats (CacheStatsRequest → CacheStatsResponse).
func Routes(cachePID *actor.PID) []rpc.Route {
	return []rpc.Route{{
		Method: "cache.stats",
		Doc:    "cache counters: hits, misses, hit rate, entries, evictions, backend and fallback",
		New:    func() proto.Message { return &messages.CacheStatsRequest{} },
		Target: cachePID,
	}}
}

// Key joins parts with ':' into a cache key, e.g. Key("ticker", "BTCUSDT")
// is "ticker:BTCUSDT" (the seed's key shape).
func Key(parts ...string) string { return strings.Join(parts, ":") }

// Set builds a write of value under key with the TTL of class.
func Set(key string, value []byte, class string) *messages.CacheSetRequest {
	return &messages.CacheSetRequest{Key: key, Value: value, TtlClass: class}
}

// Get builds a read of key.
func Get(key string) *messages.CacheGetRequest { return &messages.CacheGetRequest{Key: key} }
