package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "superbotd-test")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "superbotd")
	args := []string{"build", "-tags", "grpcnotrace", "-o", binary, "github.com/superbot/superbot/cmd/superbotd"} // as `make build`
	if cgo, _ := exec.Command("go", "env", "CGO_ENABLED").Output(); strings.TrimSpace(string(cgo)) == "1" {
		args = append(args[:1], append([]string{"-race"}, args[1:]...)...) // -race needs cgo (a C compiler)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build superbotd: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output safely.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testPorts gives a test daemon's web UI a free port.
const testPorts = "[webui]\nlisten = \"127.0.0.1:0\"\n"

// setsWebUIListen matches a config that sets webui.listen.
var setsWebUIListen = regexp.MustCompile(`(?s)\[webui\][^\[]*\blisten\s*=`)

type proc struct {
	t    *testing.T
	dir  string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan error
}

// startDaemon runs superbotd in dir with the given extra config (the file
// dir/conf/superbot.toml, which tests may rewrite; the simulated exchange
// takes a free port, its default).
func startDaemon(t *testing.T, dir, extra string) *proc {
	t.Helper()
	return startDaemonEnv(t, dir, extra, nil)
}

// startDaemonEnv is startDaemon with env added to the daemon's environment.
func startDaemonEnv(t *testing.T, dir, extra string, env []string) *proc {
	t.Helper()
	conf := writeConf(t, dir, extra)
	// The web UI on a free port, never 8080 (tests run in parallel, and
	// `make run` may hold it), unless extra sets webui.listen (a key may be
	// set in one file of the directory only).
	if !setsWebUIListen.MatchString(extra) {
		if err := os.WriteFile(filepath.Join(conf, "00-test-ports.toml"), []byte(testPorts), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(binary, "-c", conf)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	return launch(t, dir, cmd, "daemon")
}

// writeConf writes extra as dir/conf/superbot.toml and returns dir/conf.
func writeConf(t *testing.T, dir, extra string) string {
	t.Helper()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(conf, "superbot.toml"), []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	return conf
}

// launch starts cmd (a daemon) in dir, collecting its output; the test's
// cleanup kills it, fails on a data race it reported, and logs its output
// (as name) when the test failed.
func launch(t *testing.T, dir string, cmd *exec.Cmd, name string) *proc {
	t.Helper()
	p := &proc{t: t, dir: dir, out: &lockedBuffer{}, done: make(chan error, 1), cmd: cmd}
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("the %s (built with -race) reported a data race", name)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	return p
}

func (p *proc) client() *client.Client {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(p.dir, ".superbot"), Timeout: 5 * time.Second})
		if err == nil {
			p.t.Cleanup(func() { _ = c.Close() })
			return c
		}
		select {
		case err := <-p.done:
			p.t.Fatalf("daemon exited before answering: %v\n%s", err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("daemon not reachable: %v\n%s", err, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitReady waits until the daemon has logged system.ready.
func (p *proc) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.out.String(), "system.ready published") {
		if time.Now().After(deadline) {
			p.t.Fatalf("the daemon is not ready:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			p.t.Fatal(err)
		}
		return 0
	case <-time.After(timeout):
		p.t.Fatalf("daemon still running after %s\n%s", timeout, p.out.String())
		return -1
	}
}

func call(t *testing.T, c *client.Client, method string, params any) map[string]any {
	t.Helper()
	var res map[string]any
	if err := c.Call(context.Background(), method, params, &res); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	return res
}

func TestDaemonLifecycle(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, "")
	c := p.client()

	st := call(t, c, "daemon.status", nil)
	if st["version"] == "" || int(st["pid"].(float64)) != p.cmd.Process.Pid || st["config_source"] == "" {
		t.Fatalf("status = %v", st)
	}
	// The socket answers from startup step 6: the watchdog (7) and the
	// scheduler (8) join the tree a little later.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		names := map[string]string{}
		for _, ch := range st["tree"].([]any) {
			m := ch.(map[string]any)
			names[m["name"].(string)] = m["state"].(string)
		}
		missing := ""
		for _, want := range []string{"bus", "cache", "connector", "modules", "edge", "watchdog", "scheduler"} {
			if names[want] != "running" {
				missing = want
			}
		}
		if missing == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not running in the tree: %v", missing, names)
		}
		st = call(t, c, "daemon.status", nil)
	}
	// The scheduler reports its window once it runs; the socket answers
	// from startup step 6, before the scheduler (step 8) has started.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		details := call(t, c, "daemon.status", nil)["details"].(map[string]any)
		if _, ok := details["scheduler"]; ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no scheduler window in the status details: %v", details)
		}
	}
	// A module's state in daemon.status follows module.stop/start at once:
	// the modules supervisor reports before it answers.
	for _, step := range []struct{ method, want string }{{"module.stop", "stopped"}, {"module.start", "running"}} {
		call(t, c, step.method, map[string]any{"module": "heartbeat"})
		if got := nestedState(call(t, c, "daemon.status", nil), "modules", "heartbeat"); got != step.want {
			t.Fatalf("after %s heartbeat is %q in daemon.status, want %q", step.method, got, step.want)
		}
	}
	if h := call(t, c, "monitoring.health", nil); h["healthy"] != true {
		t.Fatalf("health = %v", h)
	}
	res := call(t, c, "monitoring.resources", nil)["daemon"].(map[string]any)
	heap, _ := res["go_heap_bytes"].(float64)
	total, _ := res["go_runtime_bytes"].(float64)
	if res["rss_bytes"] == "0" || res["goroutines"].(float64) < 1 || heap == 0 || total < heap {
		t.Fatalf("resources = %v", res)
	}

	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]any{"pattern": "demo.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	call(t, c, "events.publish", map[string]any{"topic": "demo.hello", "payload": map[string]any{"n": 1}})
	select {
	case n := <-sub.C():
		var ev struct {
			Topic   string         `json:"topic"`
			Payload map[string]any `json:"payload"`
		}
		if err := json.Unmarshal(n.Params, &ev); err != nil || ev.Topic != "demo.hello" {
			t.Fatalf("event %s: %v", n.Params, err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
	var rpcErr *client.Error
	if err := c.Call(context.Background(), "events.publish", map[string]any{"topic": "demo.*"}, nil); err == nil || !asRPC(err, &rpcErr) || rpcErr.Code != -32602 {
		t.Fatalf("publish to a pattern: %v", err)
	}

	// a second daemon on the same state dir refuses to start
	second := exec.Command(binary, "-c", filepath.Join(dir, "conf"))
	second.Dir = dir
	out, err := second.CombinedOutput()
	if code := exitCode(err); code != 1 || !strings.Contains(string(out), fmt.Sprintf("already running (pid %d)", p.cmd.Process.Pid)) {
		t.Fatalf("second daemon: exit %d, output %s", code, out)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	for _, f := range []string{".superbot/daemon.pid", ".superbot/superbot.sock"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !os.IsNotExist(err) {
			t.Fatalf("%s left behind: %v", f, err)
		}
	}
	log, err := os.ReadFile(filepath.Join(dir, "logs", "daemon.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"startup step 1: check already running", "startup step 10: system.ready published", "shutdown step 4: stop all modules", "shutdown step 11: system.shutdown"} {
		if !strings.Contains(string(log), want) {
			t.Fatalf("daemon.log lacks %q:\n%s", want, log)
		}
	}
}

func asRPC(err error, target **client.Error) bool {
	return errors.As(err, target)
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestStalePIDFileIsReplaced(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, ".superbot"), 0o700); err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".superbot", "daemon.pid"), []byte(fmt.Sprint(dead.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startDaemon(t, dir, "")
	c := p.client()
	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]any{"pattern": "system.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	call(t, c, "daemon.stop", nil)
	// system.shutdown goes out on the bus before the bus closes. The socket
	// accepts before startup step 10, so system.ready may arrive first.
	timeout := time.After(5 * time.Second)
	for shutdown := false; !shutdown; {
		select {
		case n := <-sub.C():
			params := string(n.Params)
			if strings.Contains(params, `"topic":"system.ready"`) {
				continue
			}
			if !strings.Contains(params, `"topic":"system.shutdown"`) || !strings.Contains(params, "daemon.stop") {
				t.Fatalf("event %s", n.Params)
			}
			shutdown = true
		case <-timeout:
			t.Fatal("no system.shutdown event")
		}
	}
	if code := p.wait(10 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
}

func TestBadConfigExitsWithEveryProblem(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.toml")
	body := "[daemon]\nshutdown_timeout = 10\nnodee = \"x\"\n[daemon.ipc]\nmax_connections = \"many\"\n[daemon.supervisor]\nwithin = \"soon\"\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-c", cfg}, {"-t", "-c", cfg}} {
		cmd := exec.Command(binary, args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if exitCode(err) != 1 {
			t.Fatalf("%v: exit %d\n%s", args, exitCode(err), out)
		}
		for _, key := range []string{"daemon.shutdown_timeout", "daemon.nodee", "daemon.ipc.max_connections", "daemon.supervisor.within"} {
			if !strings.Contains(string(out), key) {
				t.Fatalf("%v: output does not name %s:\n%s", args, key, out)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, ".superbot")); !os.IsNotExist(err) {
		t.Fatal("a bad config still created the state dir")
	}
	good := exec.Command(binary, "-t")
	good.Dir = dir
	if out, err := good.CombinedOutput(); err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("-t on defaults: %v %s", err, out)
	}
}

func TestReloadKeepsRunningOnABadConfig(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, "[daemon.logging]\nlevel = \"info\"\n")
	c := p.client()
	p.waitReady() // before, a reload is refused (TestReloadDuringStartup)
	cfg := filepath.Join(dir, "conf", "superbot.toml")
	if err := os.WriteFile(cfg, []byte("[daemon.logging]\nlevel = \"loud\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var rpcErr *client.Error
	err := c.Call(context.Background(), "daemon.reload_config", nil, nil)
	if !asRPC(err, &rpcErr) || rpcErr.Code != -32006 || !strings.Contains(string(rpcErr.Data), "daemon.logging.level") {
		t.Fatalf("reload with a bad config: %v", err)
	}
	if st := call(t, c, "daemon.status", nil); st["state"] != "running" {
		t.Fatalf("status after a bad reload: %v", st)
	}
	if !strings.Contains(p.out.String(), "config reload rejected") {
		t.Fatalf("no warning logged:\n%s", p.out.String())
	}
	if err := os.WriteFile(cfg, []byte("[daemon.logging]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := call(t, c, "daemon.reload_config", nil)
	if res["applied"] != true || !strings.Contains(fmt.Sprint(res["changed"]), "daemon.logging") {
		t.Fatalf("reload = %v", res)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(p.out.String(), "sighup: reloading config") {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP not handled")
		}
		time.Sleep(10 * time.Millisecond)
	}
	call(t, c, "daemon.stop", nil)
	p.wait(10 * time.Second)
}

// nestedState finds child under parent in a daemon.status tree.
func nestedState(st map[string]any, parent, child string) string {
	for _, p := range st["tree"].([]any) {
		pm := p.(map[string]any)
		if pm["name"] != parent {
			continue
		}
		for _, ch := range pm["children"].([]any) {
			if cm := ch.(map[string]any); cm["name"] == child {
				return cm["state"].(string)
			}
		}
	}
	return ""
}

// TestCheckReportsModulesAndEnvironment: `superbotd -t` names a thread
// module that is not registered, every dependency cycle, and environment
// overrides that cannot apply.
func TestCheckReportsModulesAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.toml")
	body := "[daemon.modules.beat]\ntype = \"thread\"\nmodule = \"heartbeet\"\n" +
		"[daemon.modules.a]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"b\", \"c\"]\n" +
		"[daemon.modules.b]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"a\"]\n" +
		"[daemon.modules.c]\ntype = \"exec\"\ncommand = [\"true\"]\ndepends_on = [\"a\"]\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary, "-t", "-c", cfg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SUPERBOT_DAEMON_STATE_DIR=/tmp/elsewhere", "SUPERBOT_CONNECTOR_SECRET_KEY=")
	out, err := cmd.CombinedOutput()
	if exitCode(err) != 1 {
		t.Fatalf("exit %d\n%s", exitCode(err), out)
	}
	for _, want := range []string{
		`daemon.modules.beat.module: no thread module is registered as "heartbeet"`,
		"dependency cycle: a -> b -> a",
		"dependency cycle: a -> c -> a",
		"daemon.state_dir: cannot be set from the environment",
		"connector.secret_key: set but empty",
		"config: 5 problems",
	} {
		if !strings.Contains(string(out), want) {
			t.Fatalf("-t output lacks %q:\n%s", want, out)
		}
	}
}
