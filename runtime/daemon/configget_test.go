package daemon_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/superbot/superbot/runtime/client"
)

// TestConfigGet: config.get reads the config in effect (what a reload
// applied, not what it could not), a section is a table, no key is the
// whole config, secrets never show, an unknown key is -32004 naming the
// keys there; `superbot config get KEY` prints the value.
func TestConfigGet(t *testing.T) {
	const secrets = "[cache]\nredis_password = \"pw-zz-secret\"\n" +
		"[connector]\napi_key = \"ak-zz-secret\"\nsecret_key = \"sk-zz-secret\"\n"
	dir := t.TempDir()
	const token = "[daemon.ipc]\nauth_token = \"tok-zz-0123456789abcdef\"\n"
	p := startDaemon(t, dir, secrets+token)
	c := p.client()
	p.waitReady()

	get := func(key string) any {
		t.Helper()
		params := map[string]any{}
		if key != "" {
			params["key"] = key
		}
		return call(t, c, "config.get", params)["value"]
	}
	if v := get("cache.backend"); v != "memory" {
		t.Fatalf("cache.backend = %v", v)
	}
	if v := get("daemon.shutdown_timeout"); v != "10s" {
		t.Fatalf("daemon.shutdown_timeout = %v", v)
	}
	cache, ok := get("cache").(map[string]any)
	if !ok || cache["backend"] != "memory" || cache["redis_password"] != "<redacted>" {
		t.Fatalf("cache = %v", cache)
	}
	all := fmtJSON(get(""))
	for _, s := range []string{"tok-zz", "pw-zz", "ak-zz", "sk-zz", "sim-secret-key"} {
		if strings.Contains(all, s) {
			t.Fatalf("a secret (%s) shows in the whole config: %s", s, all)
		}
	}
	if !strings.Contains(all, `"exchange_sim"`) {
		t.Fatalf("whole config: %s", all)
	}

	var rpcErr *client.Error
	err := c.Call(context.Background(), "config.get", map[string]any{"key": "cache.backnd"}, nil)
	if !asRPC(err, &rpcErr) || rpcErr.Code != -32004 || !strings.Contains(rpcErr.Message, "cache has: backend") {
		t.Fatalf("unknown key: %v", err)
	}

	// The config in effect: the level is applied by a reload, max_connections is not.
	conf := filepath.Join(dir, "conf", "superbot.toml")
	if err := os.WriteFile(conf, []byte(secrets+token+"max_connections = 7\n[daemon.logging]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(context.Background(), "daemon.reload_config", nil, nil); err != nil {
		t.Fatal(err)
	}
	if v := get("daemon.logging.level"); v != "debug" {
		t.Fatalf("daemon.logging.level after reload = %v", v)
	}
	if v := get("daemon.ipc.max_connections"); v != float64(128) {
		t.Fatalf("daemon.ipc.max_connections after reload = %v, want the value in effect (128)", v)
	}

	cli := filepath.Join(filepath.Dir(binary), "superbot-configget")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/superbot/superbot/cmd/superbot").CombinedOutput(); err != nil {
		t.Fatalf("build superbot: %v\n%s", err, out)
	}
	for key, want := range map[string]string{"cache.backend": "memory\n", "daemon.ipc.auth_token": "<redacted>\n"} {
		cmd := exec.Command(cli, "config", "get", key)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != want {
			t.Fatalf("superbot config get %s: %v %q, want %q", key, err, out, want)
		}
	}
	cmd := exec.Command(cli, "config", "get", "cache")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "redis_password") || strings.Contains(string(out), "pw-zz") {
		t.Fatalf("superbot config get cache: %v\n%s", err, out)
	}
}
