package config

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/modules"
)

func TestWithTakesOnlyTheGivenKeys(t *testing.T) {
	live := Default()
	next := Default()
	next.Daemon.Logging.Level = "debug"
	next.Daemon.IPC.MaxConnections = 7
	next.Daemon.ShutdownTimeout = 3 * time.Second
	next.Daemon.Node = "other"
	next.Daemon.Bus.QueueSize = 9 // a section under daemon: not an own key
	delete(next.Daemon.Modules, ModuleHeartbeat)
	next.Daemon.Modules["extra"] = modules.ModuleConfig{Type: "thread"}

	got, err := live.With(next, []string{"daemon.logging", "daemon.shutdown_timeout", "daemon.modules.heartbeat", "daemon.modules.extra"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Daemon.Logging.Level != "debug" || got.Daemon.ShutdownTimeout != 3*time.Second {
		t.Errorf("applied keys not taken: %+v %s", got.Daemon.Logging, got.Daemon.ShutdownTimeout)
	}
	if got.Daemon.IPC.MaxConnections == 7 || got.Daemon.Node == "other" || got.Daemon.Bus.QueueSize == 9 {
		t.Errorf("keys not given were taken: %+v", got.Daemon)
	}
	if _, ok := got.Daemon.Modules[ModuleHeartbeat]; ok {
		t.Error("a removed module entry is still there")
	}
	if _, ok := got.Daemon.Modules["extra"]; !ok {
		t.Error("an added module entry is missing")
	}
	if _, ok := live.Daemon.Modules[ModuleHeartbeat]; !ok || live.Daemon.Logging.Level != "info" {
		t.Error("With changed its receiver")
	}
	// What was not taken still differs: the next reload sees it again.
	if d := Diff(got, next); !slices.Equal(d, []string{"daemon", "daemon.bus", "daemon.ipc"}) {
		t.Errorf("Diff after With = %q", d)
	}
	// Diff's "daemon" (own keys) takes the own keys, not the sections.
	all, err := live.With(next, Diff(live, next))
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(all, next); len(d) != 0 {
		t.Errorf("With(Diff) leaves %q", d)
	}
	if _, err := live.With(next, []string{"daemon.nope"}); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown key: %v", err)
	}
}

func TestValue(t *testing.T) {
	c := loadString(t, "[daemon.ipc]\nauth_token = \"s3cret-token-0123456789\"\n[cache]\nredis_password = \"pw-zz\"\n[connector]\napi_key = \"ak-zz\"\nsecret_key = \"sk-zz\"\n")
	tests := []struct {
		key  string
		want any
		err  string
	}{
		{key: "cache.backend", want: "memory"},
		{key: "cache.max_size_mb", want: float64(64)},
		{key: "daemon.shutdown_timeout", want: "10s"},
		{key: "cache.max_ttl", want: "1h"},
		{key: "connector.rotate_after", want: "23h"},
		{key: "connector.idle_timeout", want: "5m"},
		{key: "connector.retry.backoff", want: "100ms"},
		{key: "daemon.logging.console", want: true},
		{key: "daemon.ipc.auth_token", want: RedactedValue},
		{key: "daemon.autostart", want: []any{"exchange-sim", "heartbeat", "webui"}},
		{key: "exchange_sim.maker_commission", want: "0.001"},
		{key: "cache.backnd", err: `unknown key "cache.backnd" (cache has: backend, max_size_mb,`},
		{key: "cache.backend.x", err: `cache.backend is a value, not a table`},
		{key: "nope", err: `(top-level tables: cache, connector, daemon, exchange_sim, marketdata, trading, webui)`},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := c.Value(tt.key)
			if tt.err != "" {
				if !errors.Is(err, ErrUnknownKey) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l, ok := tt.want.([]any); ok {
				if gl, _ := got.([]any); !slices.Equal(gl, l) {
					t.Fatalf("Value = %#v, want %#v", got, tt.want)
				}
				return
			}
			if got != tt.want {
				t.Fatalf("Value = %#v, want %#v", got, tt.want)
			}
		})
	}
	t.Run("a section is a table", func(t *testing.T) {
		got, err := c.Value("cache")
		if err != nil {
			t.Fatal(err)
		}
		m, ok := got.(map[string]any)
		if !ok || m["backend"] != "memory" || m["redis_password"] != RedactedValue {
			t.Fatalf("Value(cache) = %#v", got)
		}
		if ttl, ok := m["ttl"].(map[string]any); !ok || ttl["ticker"] != "5s" {
			t.Fatalf("cache.ttl = %#v", m["ttl"])
		}
	})
	t.Run("the whole config never shows a secret", func(t *testing.T) {
		got, err := c.Value("")
		if err != nil {
			t.Fatal(err)
		}
		s := strings.ToLower(fmtAny(got))
		for _, secret := range []string{"s3cret-token", "pw-zz", "ak-zz", "sk-zz", "sim-secret-key", "sim-api-key"} {
			if strings.Contains(s, secret) {
				t.Errorf("%q shows in the whole config", secret)
			}
		}
		if !strings.Contains(s, "exchange_sim") || !strings.Contains(s, RedactedValue) {
			t.Errorf("whole config: %s", s)
		}
	})
}

func fmtAny(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	return b.String()
}

func TestDiffKeys(t *testing.T) {
	old, next := Default(), Default()
	next.Daemon.Logging.Level = "debug"
	next.Daemon.ShutdownTimeout = time.Second
	next.Daemon.Bus.QueueSize = 3
	delete(next.Daemon.Modules, ModuleHeartbeat)
	want := []string{"daemon.bus", "daemon.logging.level", "daemon.modules.heartbeat", "daemon.shutdown_timeout"}
	if got := DiffKeys(old, next); !slices.Equal(got, want) {
		t.Errorf("DiffKeys = %q, want %q", got, want)
	}
}
