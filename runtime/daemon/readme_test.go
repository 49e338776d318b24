package daemon_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestREADMECommands keeps the README honest: its two set-up commands are
// Makefile targets, and every `bin/superbot ...` example it shows runs
// against a real daemon and exits 0 (streams that run until Ctrl-C are
// skipped; `daemon stop` runs last and must stop the daemon).
func TestREADMECommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"run", "test"} {
		if !strings.Contains(string(readme), "make "+target) {
			t.Fatalf("README does not show 'make %s'", target)
		}
		if !regexp.MustCompile(`(?m)^` + target + `:`).Match(makefile) {
			t.Fatalf("Makefile has no %q target", target)
		}
	}
	var examples []string
	stop := false
	for _, line := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		for _, l := range strings.Split(line[1], "\n") {
			cmd, _, _ := strings.Cut(l, "#")
			cmd = strings.TrimSpace(cmd)
			switch {
			case !strings.HasPrefix(cmd, "bin/superbot "):
			case strings.Contains(cmd, "events tail") || strings.Contains(cmd, "logs -f"):
			case strings.HasSuffix(cmd, "daemon stop"):
				stop = true
			default:
				examples = append(examples, cmd)
			}
		}
	}
	if len(examples) < 3 || !stop {
		t.Fatalf("found %d CLI examples in the README (stop shown: %v); the parser is broken", len(examples), stop)
	}

	cli := filepath.Join(filepath.Dir(binary), "superbot")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/superbot/superbot/cmd/superbot").CombinedOutput(); err != nil {
		t.Fatalf("build superbot: %v\n%s", err, out)
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cli, filepath.Join(dir, "bin", "superbot")); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, "")
	c := p.client()
	// A user runs the examples after `make run` is up, a moment later: wait
	// until the connector has reached the simulated exchange.
	deadline := time.Now().Add(15 * time.Second)
	for {
		var st struct {
			Health string `json:"health"`
		}
		if err := c.Call(context.Background(), "connector.status", nil, &st); err == nil && st.Health == "up" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the connector never reached the simulated exchange")
		}
		time.Sleep(20 * time.Millisecond)
	}
	run := func(cmdline string) {
		t.Helper()
		cmd := exec.Command("sh", "-c", cmdline)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("README example %q: %v\n%s", cmdline, err, out)
		}
	}
	for _, e := range examples {
		run(e)
	}
	run("bin/superbot daemon stop")
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("daemon exit code %d after 'daemon stop'", code)
	}
}
