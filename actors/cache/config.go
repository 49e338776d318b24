package cache

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"time"
)

// Backends a Config may name.
const (
	// BackendMemory keeps entries in an in-process bigcache.
	BackendMemory = "memory"
	// BackendRedis keeps entries in Redis and falls back to memory while
	// Redis is unreachable.
	BackendRedis = "redis"
)

// TTL classes of the default configuration. Callers name a class in
// CacheSetRequest.TtlClass; ClassDefault applies when neither a class nor
// ttl_ms is given.
const (
	ClassTicker    = "ticker"
	ClassOrderbook = "orderbook"
	ClassKlines    = "klines"
	ClassDefault   = "default"
)

// memoryShards is the number of bigcache shards. The actor is the only
// writer, so shards buy no concurrency here; few shards keep each one big
// enough for large values (an order book) within max_size_mb.
const memoryShards = 16

// Config is the cache configuration ([cache]).
type Config struct {
	// Backend is where entries live: "memory" (bigcache in the daemon) or
	// "redis" (falls back to memory while Redis is down). Default "memory".
	Backend string `toml:"backend"`
	// MaxSizeMB caps the memory backend, in megabytes; past it the oldest
	// entries are evicted (counted in stats). Default 64.
	MaxSizeMB int `toml:"max_size_mb"`
	// MaxValueKB is the largest value accepted, in kilobytes; at most
	// max_size_mb*32 (half a shard). Default 1024.
	MaxValueKB int `toml:"max_value_kb"`
	// TTL maps a TTL class to its lifetime. Defaults: ticker "5s",
	// orderbook "1s", klines "60s", default "30s" (used when a write names
	// no class).
	TTL map[string]time.Duration `toml:"ttl"`
	// MaxTTL is the longest lifetime a class or a request's ttl_ms may ask
	// for. Default "1h".
	MaxTTL time.Duration `toml:"max_ttl"`
	// SweepInterval is how often the memory backend reclaims expired
	// entries (a bounded batch per tick). Default "1s".
	SweepInterval time.Duration `toml:"sweep_interval"`

	// RedisAddr is the Redis server, host:port. Default "127.0.0.1:6379".
	RedisAddr string `toml:"redis_addr"`
	// RedisPassword authenticates to Redis (secret; prefer the environment,
	// SUPERBOT_CACHE_REDIS_PASSWORD). Default "".
	RedisPassword string `toml:"redis_password" secret:"true"`
	// RedisDB is the Redis database number; give the cache a database of
	// its own (stats count its keys). Default 0.
	RedisDB int `toml:"redis_db"`
	// RedisPrefix is prepended to every key stored in Redis.
	// Default "superbot:cache:".
	RedisPrefix string `toml:"redis_prefix"`
	// RedisTimeout bounds one Redis command, dial included. Default "500ms".
	RedisTimeout time.Duration `toml:"redis_timeout"`
	// RedisWorkers is how many goroutines talk to Redis (each key always
	// uses the same one, so a key's operations stay in order). Default 8.
	RedisWorkers int `toml:"redis_workers"`
	// RedisQueue is each worker's queue length, in requests; a request that
	// finds it full is answered UNAVAILABLE. Default 1024.
	RedisQueue int `toml:"redis_queue"`
	// ProbeInterval is how often Redis is pinged (off the actor) to notice it
	// going down while idle and coming back. Default "2s".
	ProbeInterval time.Duration `toml:"probe_interval"`
}

// DefaultConfig returns the cache defaults: memory backend, 64 MB, the
// seed's TTLs (ticker 5 s, order book 1 s, klines 60 s).
func DefaultConfig() Config {
	return Config{
		Backend:    BackendMemory,
		MaxSizeMB:  64,
		MaxValueKB: 1024,
		TTL: map[string]time.Duration{
			ClassTicker:    5 * time.Second,
			ClassOrderbook: 1 * time.Second,
			ClassKlines:    60 * time.Second,
			ClassDefault:   30 * time.Second,
		},
		MaxTTL:        time.Hour,
		SweepInterval: time.Second,
		RedisAddr:     "127.0.0.1:6379",
		RedisPrefix:   "superbot:cache:",
		RedisTimeout:  500 * time.Millisecond,
		RedisWorkers:  8,
		RedisQueue:    1024,
		ProbeInterval: 2 * time.Second,
	}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}
	if c.Backend != BackendMemory && c.Backend != BackendRedis {
		add("backend", "must be %q or %q, got %q", BackendMemory, BackendRedis, c.Backend)
	}
	if c.MaxSizeMB < 1 {
		add("max_size_mb", "must be >= 1, got %d", c.MaxSizeMB)
	}
	if c.MaxValueKB < 1 {
		add("max_value_kb", "must be >= 1, got %d", c.MaxValueKB)
	} else if c.MaxSizeMB >= 1 && c.MaxValueKB > c.maxValueLimitKB() {
		add("max_value_kb", "must be <= max_size_mb*32 (%d), got %d", c.maxValueLimitKB(), c.MaxValueKB)
	}
	if c.MaxTTL <= 0 {
		add("max_ttl", "must be > 0, got %s", c.MaxTTL)
	}
	if _, ok := c.TTL[ClassDefault]; !ok {
		add("ttl."+ClassDefault, "required (the TTL of writes that name no class)")
	}
	for _, class := range sortedClasses(c.TTL) {
		d := c.TTL[class]
		switch {
		case !validClass(class):
			add("ttl."+class, "class names are letters, digits, '_' and '-'")
		case d <= 0:
			add("ttl."+class, "must be > 0, got %s", d)
		case c.MaxTTL > 0 && d > c.MaxTTL:
			add("ttl."+class, "must be <= max_ttl (%s), got %s", c.MaxTTL, d)
		}
	}
	if c.SweepInterval <= 0 {
		add("sweep_interval", "must be > 0, got %s", c.SweepInterval)
	}
	if host, port, err := net.SplitHostPort(c.RedisAddr); err != nil || host == "" || !validPort(port) {
		add("redis_addr", "must be host:port, got %q", c.RedisAddr)
	}
	if c.RedisDB < 0 {
		add("redis_db", "must be >= 0, got %d", c.RedisDB)
	}
	if c.RedisTimeout <= 0 {
		add("redis_timeout", "must be > 0, got %s", c.RedisTimeout)
	}
	if c.RedisWorkers < 1 || c.RedisWorkers > 1024 {
		add("redis_workers", "must be in 1..1024, got %d", c.RedisWorkers)
	}
	if c.RedisQueue < 1 {
		add("redis_queue", "must be >= 1, got %d", c.RedisQueue)
	}
	if c.ProbeInterval <= 0 {
		add("probe_interval", "must be > 0, got %s", c.ProbeInterval)
	}
	return errors.Join(errs...)
}

// maxValueLimitKB is the largest max_value_kb that fits half a shard.
func (c Config) maxValueLimitKB() int { return c.MaxSizeMB * 1024 / (2 * memoryShards) }

// clone returns c with its own TTL map, so the actor never shares a map
// with the caller (a reload builds a new Config).
func (c Config) clone() Config {
	ttl := make(map[string]time.Duration, len(c.TTL))
	for k, v := range c.TTL {
		ttl[k] = v
	}
	c.TTL = ttl
	return c
}

// longestTTL is the longest lifetime any entry may have.
func (c Config) longestTTL() time.Duration {
	longest := c.MaxTTL
	for _, d := range c.TTL {
		longest = max(longest, d)
	}
	return longest
}

func sortedClasses(m map[string]time.Duration) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func validClass(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

func validPort(s string) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n > 0 && n < 65536
}
