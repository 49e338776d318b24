package edge

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
)

// orphan starts `sleep` in a shell that exits at once, so that the sleep
// is not this process's descendant; env is added to its environment.
func orphan(t *testing.T, env ...string) int {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", "sleep 60 </dev/null >/dev/null 2>&1 & echo $!")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	return pid
}

// TestModuleRule: the marker of this daemon in a peer's environment, or
// the daemon among its ancestors, makes it a module; so does a peer that
// cannot be read. Another daemon's marker, or none outside the daemon's
// tree, is the owner.
func TestModuleRule(t *testing.T) {
	r := newModuleRule("99.123")
	child := exec.Command("sleep", "60")
	child.Env = []string{"PATH=" + os.Getenv("PATH")} // no marker
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		pid  int
		want bool
	}{
		"marked, outside the tree":          {orphan(t, envDaemon+"=99.123"), true},
		"another daemon's marker":           {orphan(t, envDaemon+"=99.1234"), false},
		"unmarked, outside the tree":        {orphan(t), false},
		"unmarked, the daemon's descendant": {child.Process.Pid, true},
		"the daemon itself":                 {os.Getpid(), false},
		"unknown (pid 0)":                   {0, true},
		"gone":                              {gone.Process.Pid, true},
	} {
		if got := r.isModule(c.pid); got != c.want {
			t.Errorf("%s (pid %d): module = %v, want %v", name, c.pid, got, c.want)
		}
	}
	if newModuleRule("") != nil {
		t.Error("no marker still tells peers apart")
	}
}

// TestContainsMark: the mark is found wherever the reads split it, first
// variable included, and only whole.
func TestContainsMark(t *testing.T) {
	mark := []byte("\x00SUPERBOT_DAEMON=1.2\x00")
	pad := strings.Repeat("x", envChunk-7)
	for env, want := range map[string]bool{
		"SUPERBOT_DAEMON=1.2\x00":                      true,
		"A=b\x00SUPERBOT_DAEMON=1.2\x00C=d\x00":        true,
		"P=" + pad + "\x00SUPERBOT_DAEMON=1.2\x00":     true,
		"A=b\x00SUPERBOT_DAEMON=1.23\x00":              false,
		"A=b\x00XSUPERBOT_DAEMON=1.2\x00":              false,
		"A=SUPERBOT_DAEMON=1.2\x00":                    false,
		"P=" + pad + pad + "\x00SUPERBOT_DAEMON=1\x00": false,
	} {
		got, err := containsMark(strings.NewReader(env), mark)
		if err != nil || got != want {
			t.Errorf("%.40q: %v, %v; want %v", env, got, err, want)
		}
		got, err = containsMark(iotest.HalfReader(strings.NewReader(env)), mark)
		if err != nil || got != want {
			t.Errorf("%.40q in small reads: %v, %v; want %v", env, got, err, want)
		}
	}
}

// TestModuleLimit: modules never get the whole socket; zero modules is
// refused by Validate.
func TestModuleLimit(t *testing.T) {
	c := DefaultConfig()
	for _, x := range []struct{ conns, modules, want int }{{128, 96, 96}, {7, 96, 6}, {7, 6, 6}, {1, 96, 0}} {
		c.MaxConnections, c.MaxModuleConnections = x.conns, x.modules
		if got := c.moduleLimit(); got != x.want {
			t.Errorf("max_connections %d, max_module_connections %d: modules get %d, want %d", x.conns, x.modules, got, x.want)
		}
		if err := c.Validate(); err != nil {
			t.Errorf("max_connections %d, max_module_connections %d: %v", x.conns, x.modules, err)
		}
	}
	c.MaxModuleConnections = 0
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "max_module_connections: must be >= 1") {
		t.Errorf("max_module_connections 0: %v", err)
	}
}

// BenchmarkModuleRule is the cost an owner's connection pays on accept:
// this process's parent, read and walked up to PID 1.
func BenchmarkModuleRule(b *testing.B) {
	r := newModuleRule("99.123")
	for b.Loop() {
		if r.isModule(os.Getppid()) {
			b.Fatal("the test's parent is a module")
		}
	}
}
