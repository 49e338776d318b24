package daemon_test

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

const unitPath = "../../packaging/superbotd.service"

// parseUnit reads a systemd unit: section -> key -> values (a key may
// repeat).
func parseUnit(t *testing.T, path string) map[string]map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = line[1 : len(line)-1]
			out[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not a key=value line in a section: %q", path, n, line)
			}
			out[section][k] = append(out[section][k], v)
		}
	}
	return out
}

// TestSystemdUnit checks packaging/superbotd.service: the keys the daemon
// relies on, systemd-analyze verify (where systemd is installed; CI
// installs it), and that the example config passes superbotd -t.
func TestSystemdUnit(t *testing.T) {
	unit := parseUnit(t, unitPath)
	svc := unit["Service"]
	for key, want := range map[string]string{
		"Type": "notify", "ExecReload": "/bin/kill -HUP $MAINPID", "Restart": "on-failure",
		"NoNewPrivileges": "yes", "ProtectSystem": "strict", "PrivateTmp": "yes", "ProtectHome": "yes",
		"KillMode": "mixed", "StateDirectory": "superbot", "LogsDirectory": "superbot",
		"ExecStart": "/usr/local/bin/superbotd -c /etc/superbot",
	} {
		if got := svc[key]; len(got) != 1 || got[0] != want {
			t.Errorf("[Service] %s = %q, want %q", key, got, want)
		}
	}
	rw := strings.Fields(strings.Join(svc["ReadWritePaths"], " "))
	for _, dir := range []string{"/var/lib/superbot", "/var/log/superbot"} {
		if !slices.Contains(rw, dir) {
			t.Errorf("ReadWritePaths %q lacks %s", rw, dir)
		}
	}
	if stop, err := time.ParseDuration(strings.Join(svc["TimeoutStopSec"], "")); err != nil || stop < 13*time.Second {
		t.Errorf("TimeoutStopSec %q: want >= shutdown_timeout (10s) + 3s", svc["TimeoutStopSec"])
	}
	if got := unit["Install"]["WantedBy"]; !slices.Equal(got, []string{"multi-user.target"}) {
		t.Errorf("[Install] WantedBy = %q", got)
	}

	t.Run("example config", func(t *testing.T) {
		out, err := exec.Command(binary, "-t", "-c", "../../packaging/superbot.toml").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "config OK") {
			t.Fatalf("superbotd -t packaging/superbot.toml: %v\n%s", err, out)
		}
	})

	t.Run("systemd-analyze verify", func(t *testing.T) {
		analyze, err := exec.LookPath("systemd-analyze")
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal("systemd-analyze is missing (apt-get install -y systemd)")
			}
			t.Skip("systemd-analyze not installed (apt-get install -y systemd): only the unit's keys were checked")
		}
		// The unit names the installed binary; verify checks that
		// commands exist, so point them at the one this test built.
		body, err := os.ReadFile(unitPath)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "superbotd.service")
		if err := os.WriteFile(path, bytes.ReplaceAll(body, []byte("/usr/local/bin/superbotd"), []byte(binary)), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 { // unknown keys are only warnings
			t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
		}
	})
}

// TestSdNotify: a real superbotd started with NOTIFY_SOCKET (as systemd
// starts a Type=notify service) sends READY=1 once it is ready (a reload
// then works), RELOADING=1 and READY=1 around each reload (SIGHUP and
// daemon.reload_config), and STOPPING=1 when it stops, in that order and
// nothing else.
func TestSdNotify(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	next := func(want string) {
		t.Helper()
		buf := make([]byte, 4096)
		if err := conn.SetReadDeadline(time.Now().Add(15 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("waiting for %q: %v", want, err)
		}
		if got := string(buf[:n]); !regexp.MustCompile(`^` + want + `$`).MatchString(got) {
			t.Fatalf("sd_notify message %q, want %q", got, want)
		}
	}
	p := startDaemonEnv(t, dir, "", []string{"NOTIFY_SOCKET=" + sock})
	next(`READY=1\nSTATUS=ready`)
	c := p.client()
	if err := c.Call(context.Background(), "daemon.reload_config", nil, nil); err != nil {
		t.Fatalf("reload right after READY=1: %v", err)
	}
	next(`RELOADING=1\nMONOTONIC_USEC=\d+`)
	next(`READY=1`)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	next(`RELOADING=1\nMONOTONIC_USEC=\d+`)
	next(`READY=1`)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	next(`STOPPING=1`)
	if code := p.wait(15 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	if err := conn.SetReadDeadline(time.Now()); err != nil {
		t.Fatal(err)
	}
	if n, _, err := conn.ReadFrom(make([]byte, 4096)); err == nil {
		t.Fatalf("a message after STOPPING=1 (%d bytes)", n)
	}
}
