package daemon_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// startUnixRedis runs redis-server on a unix socket in dir only (no TCP
// port), with a password; killed when the test ends. Skipped without
// redis-server, failed under CI=true.
func startUnixRedis(t *testing.T, dir, password string) *redis.Client {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server); the Redis bridge test needs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	sock := filepath.Join(dir, "redis.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--unixsocketperm", "700",
		"--save", "", "--appendonly", "no", "--requirepass", password, "--loglevel", "warning")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, Password: password, DisableIdentity: true, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer on its socket")
		}
		time.Sleep(20 * time.Millisecond) // polling an external process, not synchronising goroutines
	}
	return c
}

// TestBusRedisBridge: [daemon.bus] redis = {...} runs the bridge in
// superbotd: bus events reach a Redis subscriber, a Redis PUBLISH reaches
// the bus, events.redis reports it, and the password (in the URL) shows
// neither in config.get nor in the daemon's log.
func TestBusRedisBridge(t *testing.T) {
	const password = "pw-bridge-4f1e"
	dir := t.TempDir()
	rc := startUnixRedis(t, dir, password)
	ps := rc.PSubscribe(context.Background(), "sb:*")
	defer ps.Close()
	if _, err := ps.ReceiveTimeout(context.Background(), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, "[daemon.bus]\nredis = { url = \"unix://:"+password+"@"+filepath.Join(dir, "redis.sock")+"?db=0\", "+
		"export = [\"price.>\", \"system.>\"], import = [\"signals.>\"], channel_prefix = \"sb:\" }\n")
	c := p.client()
	p.waitReady()

	deadline := time.Now().Add(15 * time.Second)
	var st map[string]any
	for st = call(t, c, "events.redis", nil); st["connected"] != true; st = call(t, c, "events.redis", nil) {
		if time.Now().After(deadline) {
			t.Fatalf("events.redis = %v", st)
		}
		time.Sleep(20 * time.Millisecond) // polling the daemon over RPC
	}
	if st["enabled"] != true || strings.Contains(fmtJSON(st), password) || !strings.Contains(st["url"].(string), "xxxxx") {
		t.Fatalf("events.redis = %v", st)
	}

	call(t, c, "events.publish", map[string]any{"topic": "price.BTCUSDT.update", "source": "test", "payload": map[string]any{"price": 1.5}})
	for {
		m, err := ps.ReceiveMessage(timeout(t, 10*time.Second))
		if err != nil {
			t.Fatalf("no price event on redis: %v", err)
		}
		if m.Channel != "sb:price.BTCUSDT.update" {
			continue // system.ready may or may not have been exported before the bridge connected
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(m.Payload), &ev); err != nil || ev["source"] != "test" || ev["data"].(map[string]any)["price"] != 1.5 {
			t.Fatalf("exported %s (%v)", m.Payload, err)
		}
		break
	}

	if err := rc.Publish(context.Background(), "sb:signals.BTCUSDT", `{"data":{"side":"BUY"},"source":"ext"}`).Err(); err != nil {
		t.Fatal(err)
	}
	for deadline = time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stats := call(t, c, "events.stats", nil)
		if strings.Contains(fmtJSON(stats["topics"]), `"signals.BTCUSDT"`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the imported event is not on the bus: %v", stats)
		}
	}

	if v := call(t, c, "config.get", map[string]any{"key": "daemon.bus.redis.url"})["value"]; v != "<redacted>" {
		t.Fatalf("config.get daemon.bus.redis.url = %v", v)
	}
	if all := fmtJSON(call(t, c, "config.get", nil)); strings.Contains(all, password) {
		t.Fatal("the password shows in config.get")
	}
	if strings.Contains(p.out.String(), password) {
		t.Fatal("the password shows in the daemon's log")
	}
}

func timeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// TestBusRedisReload: a reload that changes [daemon.bus.redis] alone
// restarts the bridge with it; one that also changes the bus's own keys
// applies nothing of [daemon.bus] and says why.
func TestBusRedisReload(t *testing.T) {
	dir := t.TempDir()
	startUnixRedis(t, dir, "pw-reload-9")
	p := startDaemon(t, dir, "")
	c := p.client()
	p.waitReady()
	if st := call(t, c, "events.redis", nil); st["enabled"] != false {
		t.Fatalf("events.redis before = %v", st)
	}
	bridge := "[daemon.bus]\nredis = { url = \"unix://:pw-reload-9@" + filepath.Join(dir, "redis.sock") + "?db=0\", import = [\"signals.>\"] }\n"
	conf := filepath.Join(dir, "conf", "superbot.toml")
	if err := os.WriteFile(conf, []byte(bridge), 0o600); err != nil {
		t.Fatal(err)
	}
	if res := call(t, c, "daemon.reload_config", nil); res["applied"] != true {
		t.Fatalf("reload = %v", res)
	}
	deadline := time.Now().Add(15 * time.Second)
	for st := call(t, c, "events.redis", nil); st["connected"] != true; st = call(t, c, "events.redis", nil) {
		if time.Now().After(deadline) {
			t.Fatalf("events.redis after reload = %v", st)
		}
		time.Sleep(20 * time.Millisecond) // polling the daemon over RPC
	}

	if err := os.WriteFile(conf, []byte(bridge+"queue_size = 2048\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := call(t, c, "daemon.reload_config", nil)
	if res["applied"] == true || !strings.Contains(fmtJSON(res["not_applied"]), "daemon.bus: takes effect after a restart") {
		t.Fatalf("reload = %v", res)
	}
	if v := call(t, c, "config.get", map[string]any{"key": "daemon.bus.queue_size"})["value"]; v != float64(1024) {
		t.Fatalf("daemon.bus.queue_size in effect = %v", v)
	}
}
