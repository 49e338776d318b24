package cache

import (
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

func TestDefaultConfigIsValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{"ticker": 5 * time.Second, "orderbook": time.Second, "klines": time.Minute, "default": 30 * time.Second}
	for k, v := range want {
		if cfg.TTL[k] != v {
			t.Errorf("ttl.%s = %s, want %s", k, cfg.TTL[k], v)
		}
	}
	if cfg.Backend != "memory" || cfg.MaxSizeMB != 64 || cfg.RedisAddr != "127.0.0.1:6379" || cfg.ProbeInterval != 2*time.Second {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := Config{
		Backend:       "memcached",
		MaxSizeMB:     0,
		MaxValueKB:    0,
		TTL:           map[string]time.Duration{"ticker": 0, "klines": -time.Second, "huge": 2 * time.Hour, "bad name": time.Second},
		MaxTTL:        time.Hour,
		SweepInterval: 0,
		RedisAddr:     "localhost",
		RedisDB:       -1,
		RedisTimeout:  0,
		RedisWorkers:  0,
		RedisQueue:    0,
		ProbeInterval: -time.Second,
	}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("want errors")
	}
	for _, want := range []string{
		`backend: must be "memory" or "redis", got "memcached"`,
		"max_size_mb: must be >= 1, got 0",
		"max_value_kb: must be >= 1, got 0",
		"ttl.default: required",
		"ttl.ticker: must be > 0, got 0s",
		"ttl.klines: must be > 0, got -1s",
		"ttl.huge: must be <= max_ttl (1h0m0s), got 2h0m0s",
		"ttl.bad name: class names are",
		"sweep_interval: must be > 0",
		`redis_addr: must be host:port, got "localhost"`,
		"redis_db: must be >= 0, got -1",
		"redis_timeout: must be > 0",
		"redis_workers: must be in 1..1024, got 0",
		"redis_queue: must be >= 1, got 0",
		"probe_interval: must be > 0, got -1s",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}

	big := DefaultConfig()
	big.MaxValueKB = 64*32 + 1
	if err := big.Validate(); err == nil || !strings.Contains(err.Error(), "max_value_kb: must be <= max_size_mb*32 (2048), got 2049") {
		t.Errorf("max_value_kb above half a shard: %v", err)
	}
}

// TestTOMLSection decodes the [cache] section the way the daemon writes it.
func TestTOMLSection(t *testing.T) {
	const doc = `
backend = "redis"
max_size_mb = 128
redis_addr = "10.0.0.5:6380"
redis_password = "s3cret"
redis_db = 2
probe_interval = "500ms"

[ttl]
ticker = "3s"
funding = "8h"
`
	cfg := DefaultConfig()
	cfg.MaxTTL = 24 * time.Hour
	md, err := toml.Decode(doc, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if u := md.Undecoded(); len(u) > 0 {
		t.Fatalf("undecoded keys %v", u)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Backend != BackendRedis || cfg.MaxSizeMB != 128 || cfg.RedisDB != 2 || cfg.ProbeInterval != 500*time.Millisecond ||
		cfg.TTL["ticker"] != 3*time.Second || cfg.TTL["funding"] != 8*time.Hour || cfg.TTL["klines"] != time.Minute {
		t.Fatalf("decoded %+v", cfg)
	}
}

func TestPropsDoesNotShareTheTTLMap(t *testing.T) {
	cfg := DefaultConfig()
	c := cfg.clone()
	cfg.TTL["ticker"] = time.Hour
	if c.TTL["ticker"] != 5*time.Second {
		t.Fatal("clone shares the TTL map")
	}
}
