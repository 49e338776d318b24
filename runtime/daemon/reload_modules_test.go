package daemon_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestReloadAppliesModules: a reload adds, removes and changes modules at
// once (like supervisorctl update), and its answer says what happened to
// each; nothing is left pending until a restart.
func TestReloadAppliesModules(t *testing.T) {
	dir := t.TempDir()
	module := func(name, arg string) string {
		return fmt.Sprintf("[daemon.modules.%s]\ntype = \"exec\"\ncommand = [\"/bin/sleep\", %q]\nstart_seconds = \"0s\"\n", name, arg)
	}
	auto := func(names string) string {
		return fmt.Sprintf("[daemon]\nautostart = [\"exchange-sim\", \"heartbeat\", %s]\n", names)
	}
	p := startDaemon(t, dir, auto(`"keep", "change", "gone"`)+module("keep", "3600")+module("change", "3600")+module("gone", "3600"))
	c := p.client()
	waitRunning := func(name string) {
		deadline := time.Now().Add(15 * time.Second)
		for {
			st := call(t, c, "module.status", map[string]any{"module": name})
			if s, _ := st["status"].(map[string]any); s["state"] == "running" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not running: %v", name, st)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for _, n := range []string{"keep", "change", "gone"} {
		waitRunning(n)
	}
	p.waitReady() // before, a reload is refused
	next := auto(`"keep", "change", "new"`) + module("keep", "3600") + module("change", "3601") + module("new", "3600")
	if err := os.WriteFile(filepath.Join(dir, "conf", "superbot.toml"), []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	res := call(t, c, "daemon.reload_config", nil)
	list := func(key string) []string {
		var out []string
		for _, x := range res[key].([]any) {
			out = append(out, x.(string))
		}
		slices.Sort(out)
		return out
	}
	// daemon.autostart goes with the modules' update: it decides which new
	// modules start.
	keys := []string{"daemon.autostart", "daemon.modules.change", "daemon.modules.gone", "daemon.modules.new"}
	actions := []string{"daemon.modules.change: changed, restarted", "daemon.modules.gone: removed, stopped", "daemon.modules.new: added, started"}
	if res["applied"] != true || !slices.Equal(list("changed"), keys) || !slices.Equal(list("in_effect"), keys) ||
		!slices.Equal(list("actions"), actions) || len(list("not_applied")) != 0 {
		t.Fatalf("reload = %v\nwant changed and in effect %q, actions %q", res, keys, actions)
	}
	waitRunning("new")
	waitRunning("change")
	mods := call(t, c, "module.list", nil)
	for _, m := range mods["modules"].([]any) {
		if m.(map[string]any)["name"] == "gone" {
			t.Fatalf("the removed module is listed: %v", m)
		}
	}
	call(t, c, "daemon.stop", nil)
	p.wait(10 * time.Second)
}
