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
	next := auto(`"keep", "change", "new"`) + module("keep", "3600") + module("change", "3601") + module("new", "3600")
	if err := os.WriteFile(filepath.Join(dir, "conf", "superbot.toml"), []byte(next), 0o600); err != nil {
		t.Fatal(err)
	}
	res := call(t, c, "daemon.reload_config", nil)
	var changed []string
	for _, x := range res["changed"].([]any) {
		changed = append(changed, x.(string))
	}
	want := []string{"daemon", "daemon.modules.change: changed, restarted", "daemon.modules.gone: removed, stopped", "daemon.modules.new: added, started"}
	slices.Sort(changed)
	// "daemon" is daemon.autostart: the new module in it is started by the
	// modules' update; the list itself is read at the next start.
	if !slices.Equal(changed, want) || fmt.Sprint(res["problems"]) != "[daemon: takes effect after a restart]" {
		t.Fatalf("reload = %v\nwant changed %q", res, want)
	}
	waitRunning("new")
	waitRunning("change")
	list := call(t, c, "module.list", nil)
	for _, m := range list["modules"].([]any) {
		if m.(map[string]any)["name"] == "gone" {
			t.Fatalf("the removed module is listed: %v", m)
		}
	}
	call(t, c, "daemon.stop", nil)
	p.wait(10 * time.Second)
}
