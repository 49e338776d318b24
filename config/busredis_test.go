package config

import (
	"strings"
	"testing"
	"time"
)

// TestBusRedisConfig: [daemon.bus] redis = {...} (an inline table over
// the defaults' table) turns the bridge on; its URL and password are
// secrets: config.get shows "<redacted>", the environment can set them.
func TestBusRedisConfig(t *testing.T) {
	t.Setenv("SUPERBOT_DAEMON_BUS_REDIS_PASSWORD", "env-pw-77")
	c := loadString(t, "[daemon.bus]\nredis = { url = \"redis://:url-pw-55@127.0.0.1:6379/2\", export = [\"price.>\"], import = [\"signals.>\"] }\n")
	r := c.Daemon.Bus.Redis
	if !r.Enabled() || r.ChannelPrefix != "superbot." || r.QueueSize != 4096 || r.Timeout != 2*time.Second || r.Import[0] != "signals.>" {
		t.Fatalf("redis = %+v", r)
	}
	opt, err := r.Options()
	if err != nil || opt.Password != "env-pw-77" || opt.DB != 2 {
		t.Fatalf("options: %v %v", opt, err)
	}
	for _, key := range []string{"daemon.bus.redis.url", "daemon.bus.redis.password"} {
		if v, err := c.Get(key); err != nil || v != RedactedValue {
			t.Fatalf("Get(%s) = %v, %v", key, v, err)
		}
	}
	if v, err := c.Get("daemon.bus.redis.export"); err != nil || len(v.([]string)) != 1 {
		t.Fatalf("Get(export) = %v, %v", v, err)
	}
	if d := Default().Daemon.Bus.Redis; d.Enabled() {
		t.Fatal("the bridge is on by default")
	}
}

// TestBusRedisProblems: every problem at once, under its key, and the URL
// (it may hold a password) never quoted.
func TestBusRedisProblems(t *testing.T) {
	_, err := loadText(t, "[daemon.bus.redis]\nurl = \"http://:pw-xyz-31@h\"\nimport = [\"system.>\", \"a..b\"]\n"+
		"export = [\"*.x.>\"]\nchannel_prefix = \"a*\"\nqueue_size = 0\nmax_message_bytes = 10\ntimeout = \"0s\"\nreconnect_max = \"1ms\"\n")
	if err == nil {
		t.Fatal("no problems")
	}
	msg := err.Error()
	for _, want := range []string{
		"daemon.bus.redis.url: not a redis://", "daemon.bus.redis.import[0]: \"system\" topics are published by the daemon only",
		"daemon.bus.redis.import[1]: pattern", "daemon.bus.redis.channel_prefix:", "daemon.bus.redis.queue_size:",
		"daemon.bus.redis.max_message_bytes:", "daemon.bus.redis.timeout:", "daemon.bus.redis.reconnect_max:",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("no %q in:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "pw-xyz") || strings.Contains(msg, "export") {
		t.Errorf("problems:\n%s", msg)
	}
}
