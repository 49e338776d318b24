package daemon

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/messages"
)

// testPorts gives a test daemon's web UI a free port, never 8080 (tests run
// in parallel, and `make run` may hold it).
const testPorts = "[webui]\nlisten = \"127.0.0.1:0\"\n"

// withTestPorts adds testPorts to conf unless conf sets webui.listen.
func withTestPorts(conf string) string {
	switch {
	case regexp.MustCompile(`(?s)\[webui\][^\[]*\blisten\s*=`).MatchString(conf):
		return conf
	case strings.Contains(conf, "[webui]\n"):
		return strings.Replace(conf, "[webui]\n", testPorts, 1)
	}
	return conf + "\n" + testPorts
}

// newTestDaemon writes conf (plus state and log dirs in a temp dir) and
// builds a daemon on it; it is shut down when the test ends.
func newTestDaemon(t *testing.T, conf string) (*Daemon, func(conf string)) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "superbot.toml")
	base := "[daemon]\nstate_dir = \"" + filepath.Join(dir, "state") + "\"\nlog_dir = \"" + filepath.Join(dir, "logs") + "\"\n"
	write := func(conf string) {
		t.Helper()
		conf = withTestPorts(conf)
		if err := os.WriteFile(path, []byte(base+conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(conf)
	d, err := New(Options{ConfigPath: path, Stderr: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown("test over", false) })
	return d, write
}

// listenNotify points NOTIFY_SOCKET at a socket of the test's and returns
// what arrives there (read at once, so that senders never block).
func listenNotify(t *testing.T) <-chan string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("NOTIFY_SOCKET", sock)
	out := make(chan string, 100000)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			select {
			case out <- string(buf[:n]):
			default: // far more than a test sends: drop
			}
		}
	}()
	t.Cleanup(func() {
		_ = conn.Close()
		<-done
	})
	return out
}

const withJob = "[daemon.schedule.jobs.ping]\ncron = \"0 2 * * *\"\naction = \"daemon.status\"\n"

// TestReloadDuringStartup: a reload before the daemon is ready is refused
// with a clear error and changes nothing (it used to read d.pids while
// Start wrote it, and to call the scheduler through a nil PID); once ready,
// the same reload applies.
func TestReloadDuringStartup(t *testing.T) {
	notify := listenNotify(t)
	d, write := newTestDaemon(t, "")
	write(withJob) // the scheduler's section changed: reload would apply it

	res := d.Reload()
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), "starting") || res.Applied {
		t.Fatalf("reload before start = %v", res)
	}

	started := make(chan error, 1)
	go func() { started <- d.Start() }()
	refused := 0
	for running := true; running; {
		select {
		case err := <-started:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		r := d.Reload() // concurrently with Start: the race detector watches
		switch {
		case r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_UNAVAILABLE:
			refused++
		case r.GetError() != nil:
			t.Fatalf("reload during start: %v", r)
		}
	}
	// A refused reload tells systemd nothing (READY=1 before the start is
	// done would end systemd's wait too early): Start's READY=1 comes first.
	select {
	case first := <-notify:
		if first != "READY=1\nSTATUS=ready" {
			t.Fatalf("first sd_notify message %q, want Start's READY=1", first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no sd_notify message")
	}
	if refused == 0 {
		t.Log("no reload overlapped the startup (fast start); the check before Start still held")
	}
	res = d.Reload()
	if res.GetError() != nil {
		t.Fatalf("reload once ready: %v", res)
	}
	if _, ok := d.Config().Daemon.Schedule.Jobs["ping"]; !ok {
		t.Fatalf("the job is not in effect after a reload: %v", res)
	}
}

// TestReloadSaysWhatWasApplied: a change that needs a restart is not
// reported as applied, stays out of the config in effect, and the next
// reload reports it again (it used to say "applied" and then "changed: []").
func TestReloadSaysWhatWasApplied(t *testing.T) {
	d, write := newTestDaemon(t, "")
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	write("[daemon.logging]\nlevel = \"debug\"\n[daemon.ipc]\nmax_connections = 7\n")
	res := d.Reload()
	if res.GetError() != nil || res.Applied {
		t.Fatalf("reload = %v, want not fully applied", res)
	}
	if !slices.Equal(res.InEffect, []string{"daemon.logging.level"}) || !slices.Equal(res.NotApplied, []string{"daemon.ipc: takes effect after a restart"}) {
		t.Fatalf("in effect %q, not applied %q", res.InEffect, res.NotApplied)
	}
	if live := d.Config(); live.Daemon.Logging.Level != "debug" || live.Daemon.IPC.MaxConnections == 7 {
		t.Fatalf("config in effect: level %q, max_connections %d", live.Daemon.Logging.Level, live.Daemon.IPC.MaxConnections)
	}
	again := d.Reload()
	if !slices.Equal(again.Changed, []string{"daemon.ipc"}) || again.Applied || len(again.NotApplied) != 1 {
		t.Fatalf("second reload = %v, want daemon.ipc still pending", again)
	}
}

// TestReloadRefusesTradingChanges: a [trading] change is listed, key by
// key, as waiting for the next start, and the config in effect keeps the
// old values.
func TestReloadRefusesTradingChanges(t *testing.T) {
	const strategy = "[trading.strategies.a]\nkind = \"sma_cross\"\nsymbol = \"BTCUSDT\"\ninterval = \"1m\"\nallocation = \"100 USDT\"\n"
	d, write := newTestDaemon(t, strategy)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	write("[trading]\nmode = \"live\"\n" + strings.Replace(strategy, "100 USDT", "200 USDT", 1))
	res := d.Reload()
	why := ": takes effect at the next daemon start (the order actor and the strategies keep the config they started with)"
	if res.GetError() != nil || res.Applied || !slices.Equal(res.NotApplied, []string{"trading.mode" + why, "trading.strategies.a" + why}) {
		t.Fatalf("reload = %v", res)
	}
	if live := d.Config().Trading; live.Mode != "paper" || live.Strategies["a"].Allocation != "100 USDT" {
		t.Fatalf("config in effect changed: %+v", live)
	}
}
