package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// modulePIDs returns the pids module.list reports, by module name.
func modulePIDs(t *testing.T, p *proc) map[string]int {
	t.Helper()
	var res struct {
		Modules []struct {
			Name  string `json:"name"`
			State string `json:"state"`
			Pid   int    `json:"pid"`
		} `json:"modules"`
	}
	c := p.client()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := c.Call(context.Background(), "module.list", nil, &res); err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, m := range res.Modules {
			if m.State == "running" && m.Pid > 0 {
				out[m.Name] = m.Pid
			}
		}
		if len(out) == 2 {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("modules not running: %+v", res.Modules)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// killAllWith is a test cleanup: no process of a failed test lingers.
func killAllWith(t *testing.T, marker string) {
	t.Cleanup(func() {
		for _, pid := range processesWith(marker) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// processesWith lists live processes whose environment holds marker.
func processesWith(marker string) []int {
	var out []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !bytes.Contains(env, []byte(marker)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join(d, "stat")); err == nil && bytes.Contains(st, []byte(") Z ")) {
			continue // a zombie is dead; its parent just has not reaped it
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		out = append(out, pid)
	}
	return out
}

// TestSIGKILLLeavesNoModuleBehind: SIGKILL a real superbotd running two
// modules; no module process may survive it, and a new daemon on the same
// state dir runs exactly one copy of each.
func TestSIGKILLLeavesNoModuleBehind(t *testing.T) {
	dir := t.TempDir()
	marker := fmt.Sprintf("SUPERBOT_TEST_MARKER=%d-%d", os.Getpid(), time.Now().UnixNano())
	_, value, _ := bytes.Cut([]byte(marker), []byte("="))
	killAllWith(t, marker)
	cfg := fmt.Sprintf(`[daemon]
autostart = ["one", "two"]
[daemon.modules.one]
type = "exec"
command = ["sleep", "300"]
start_seconds = "0s"
env = { SUPERBOT_TEST_MARKER = %q }
[daemon.modules.two]
type = "exec"
command = ["sleep", "300"]
start_seconds = "0s"
env = { SUPERBOT_TEST_MARKER = %q }
`, value, value)
	first := startDaemon(t, dir, cfg)
	before := modulePIDs(t, first)
	if got := processesWith(marker); len(got) != 2 {
		t.Fatalf("%d module processes before the kill, want 2: %v", len(got), got)
	}
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(5 * time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for len(processesWith(marker)) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("module processes outlived a SIGKILLed daemon: %v", processesWith(marker))
		}
		time.Sleep(10 * time.Millisecond)
	}

	second := startDaemon(t, dir, cfg)
	after := modulePIDs(t, second)
	for name, pid := range after {
		if pid == before[name] {
			t.Fatalf("module %s kept pid %d across daemons", name, pid)
		}
	}
	if got := processesWith(marker); len(got) != 2 {
		t.Fatalf("%d module processes after the restart, want exactly 2: %v", len(got), got)
	}
	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	if code := second.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if got := processesWith(marker); len(got) != 0 {
		t.Fatalf("module processes left after a graceful stop: %v", got)
	}
}

// TestShutdownKeepsItsDeadline: a module that ignores SIGTERM and has a long
// stop_timeout cannot hold the daemon past daemon.shutdown_timeout, and is
// not left running.
func TestShutdownKeepsItsDeadline(t *testing.T) {
	dir := t.TempDir()
	marker := fmt.Sprintf("SUPERBOT_TEST_MARKER=deadline-%d-%d", os.Getpid(), time.Now().UnixNano())
	_, value, _ := bytes.Cut([]byte(marker), []byte("="))
	killAllWith(t, marker)
	cfg := fmt.Sprintf(`[daemon]
shutdown_timeout = "1s"
autostart = ["stubborn"]
[daemon.modules.stubborn]
type = "exec"
command = ["sh", "-c", "trap '' TERM; while :; do sleep 1; done"]
start_seconds = "0s"
stop_timeout = "60s"
env = { SUPERBOT_TEST_MARKER = %q }
`, value)
	p := startDaemon(t, dir, cfg)
	c := p.client()
	deadline := time.Now().Add(10 * time.Second)
	for len(processesWith(marker)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the module never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := c.Call(context.Background(), "daemon.stop", nil, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// Exit code 0: the shutdown finished before the daemon's own hard stop
	// (shutdown_timeout + 3 s), else it exits 1.
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	// About 2 s here: the 1 s shutdown_timeout, then the race runtime's 1 s
	// sleep at exit (atexit_sleep_ms). Both are timers, which fire hundreds
	// of ms late on these VMs: the bound is 10 s, still far from the
	// module's 60 s stop_timeout.
	took := time.Since(start)
	t.Logf("shutdown took %s with shutdown_timeout 1s", took)
	if took > 10*time.Second {
		t.Fatalf("shutdown took %s with shutdown_timeout 1s", took)
	}
	for deadline := time.Now().Add(3 * time.Second); len(processesWith(marker)) > 0; {
		if time.Now().After(deadline) {
			t.Fatalf("module processes left after shutdown: %v", processesWith(marker))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNewDaemonKillsAKilledDaemonsModuleGroup: the parent-death signal
// reaches a module's own process only; children it forked (uvicorn
// workers) live on when a daemon is SIGKILLed and its module guard is
// gone too (killed first here). The next daemon kills that process group
// before starting the module again.
func TestNewDaemonKillsAKilledDaemonsModuleGroup(t *testing.T) {
	dir := t.TempDir()
	marker := fmt.Sprintf("SUPERBOT_TEST_MARKER=group-%d-%d", os.Getpid(), time.Now().UnixNano())
	_, value, _ := bytes.Cut([]byte(marker), []byte("="))
	killAllWith(t, marker)
	cfg := fmt.Sprintf(`[daemon]
autostart = ["workers"]
[daemon.modules.workers]
type = "exec"
command = ["sh", "-c", "sleep 300 & sleep 300 & wait"]
start_seconds = "0s"
env = { SUPERBOT_TEST_MARKER = %q }
`, value)
	waitFor := func(n int) []int {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if got := processesWith(marker); len(got) == n {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("want %d module processes, have %v", n, processesWith(marker))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	first := startDaemon(t, dir, cfg)
	first.client()
	old := waitFor(3) // sh and its two sleeps
	// The module's pid file is what the next daemon goes by once the guard
	// is gone too; it is written just after the start (a daemon and its
	// guard SIGKILLed within those milliseconds leave the group unknown).
	until(t, 10*time.Second, "the module's pid file", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, ".superbot", "workers.pid"))
		return err == nil && len(bytes.TrimSpace(b)) > 0
	})
	killGuardOf(t, first.cmd.Process.Pid)
	_ = first.cmd.Process.Signal(syscall.SIGKILL)
	first.wait(5 * time.Second)
	left := waitFor(2) // sh died with the daemon; its children did not
	// Let the dead leader be reaped (a zombie still shows its start time,
	// which would pass for a live survivor).
	leader := 0
	for _, o := range old {
		if o != left[0] && o != left[1] {
			leader = o
		}
	}
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", leader)); os.IsNotExist(err) {
			break
		}
	}

	second := startDaemon(t, dir, cfg)
	second.client()
	now := waitFor(3) // the old group is gone, a fresh one runs
	for _, o := range old {
		for _, n := range now {
			if o == n {
				t.Fatalf("process %d of the killed daemon's module is still running", o)
			}
		}
	}
	_ = second.cmd.Process.Signal(syscall.SIGTERM)
	second.wait(15 * time.Second)
	waitFor(0)
}

// killGuardOf SIGKILLs the module guard of the daemon pid (its child named
// superbot-module-guard) and waits until it is gone.
func killGuardOf(t *testing.T, daemon int) {
	t.Helper()
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, _ := os.ReadFile(filepath.Join(d, "cmdline"))
		st, _ := os.ReadFile(filepath.Join(d, "stat"))
		i := bytes.LastIndexByte(st, ')')
		if !bytes.HasPrefix(cmdline, []byte("superbot-module-guard\x00")) || i < 0 {
			continue
		}
		if f := strings.Fields(string(st[i+1:])); len(f) > 1 && f[1] == strconv.Itoa(daemon) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
				if b, err := os.ReadFile(filepath.Join(d, "stat")); err != nil || bytes.Contains(b, []byte(") Z ")) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("module guard %d still alive", pid)
				}
			}
		}
	}
	t.Fatalf("no module guard of daemon %d", daemon)
}
