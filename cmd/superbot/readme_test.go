package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/runtime/client"
)

// The README test runs the repository README's shell commands against a
// real superbotd built from the repository, in a temporary copy of the
// layout the README assumes (bin/, config/, examples/), and loads its
// config examples with config.Load. It fails when the README and the code
// drift apart. Two deviations, both for running beside other tests: every
// daemon's exchange simulator gets a free port (a config/*.toml overlay and
// an examples/ai/*.toml file the test adds), and the ai example's port 8000
// becomes a free port (also in the curl line).

// readmeExampleFile names the file a TOML block shows ("# examples/ai/superbot.toml").
var readmeExampleFile = regexp.MustCompile(`^# (\S+\.toml)\n`)

// exemptMethods are served methods no command calls by name, and why.
var exemptMethods = map[string]string{
	"auth.login":         "the CLI logs in by itself when it finds a token",
	"events.unsubscribe": "events tail unsubscribes when it ends",
	"journal.snapshot":   "a standby's journal follower calls it on the leader to catch up (chunks of a binary file)",
}

type fence struct {
	lang, text string
}

// fences returns the fenced code blocks of a Markdown text.
func fences(md string) []fence {
	var out []fence
	var cur *fence
	for _, line := range strings.SplitAfter(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case cur == nil && strings.HasPrefix(trimmed, "```"):
			cur = &fence{lang: strings.TrimPrefix(trimmed, "```")}
		case cur != nil && trimmed == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line
		}
	}
	return out
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestReadmeConfigExamples: every TOML block of the README loads strictly
// (together, as the README composes them), and a block that names its file
// shows that file's settings exactly.
// TestReadmeSetUpTargets: the README's two set-up commands, the contract
// with users and CI, are Makefile targets.
func TestReadmeSetUpTargets(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"run", "test"} {
		if !strings.Contains(string(readme), "make "+target) {
			t.Errorf("README does not show 'make %s'", target)
		}
		if !regexp.MustCompile(`(?m)^` + target + `:`).Match(makefile) {
			t.Errorf("Makefile has no %q target", target)
		}
	}
}

func TestReadmeConfigExamples(t *testing.T) {
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	n := 0
	for _, f := range fences(string(md)) {
		if f.lang != "toml" {
			continue
		}
		n++
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("readme-%d.toml", n)), []byte(f.text), 0o600); err != nil {
			t.Fatal(err)
		}
		if m := readmeExampleFile.FindStringSubmatch(f.text); m != nil {
			file, err := os.ReadFile(filepath.Join(root, m[1]))
			if err != nil {
				t.Errorf("README shows %s, which does not exist: %v", m[1], err)
				continue
			}
			if got, want := settings(f.text), settings(string(file)); got != want {
				t.Errorf("README's %s differs from the file:\nREADME:\n%s\nfile:\n%s", m[1], got, want)
			}
			if _, err := config.Load(filepath.Join(root, m[1])); err != nil {
				t.Errorf("config.Load(%s): %v", m[1], err)
			}
		}
	}
	if n < 2 {
		t.Fatalf("only %d TOML blocks in README.md", n)
	}
	if _, err := config.Load(dir); err != nil {
		t.Fatalf("the README's config examples do not load:\n%v", err)
	}
}

// settings drops a TOML text's leading comment lines and blank lines.
func settings(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for len(lines) > 0 && (strings.HasPrefix(lines[0], "#") || strings.TrimSpace(lines[0]) == "") {
		lines = lines[1:]
	}
	return strings.Join(lines, "\n")
}

// TestReadmeRuns runs every command line of the README's sh blocks, in
// order, against real daemons; it also checks that every method the daemon
// serves is a command.
func TestReadmeRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs superbotd")
	}
	root := repoRoot(t)
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	r := newReadmeRunner(t, root)
	hermetic(t) // after the build, which needs the real HOME (its Go caches)
	r.start(nil)
	r.checkMethodsAreCommands()
	for _, f := range fences(string(md)) {
		if f.lang != "sh" {
			continue
		}
		r.skipRest = ""
		for _, line := range strings.Split(f.text, "\n") {
			if line = strings.TrimSpace(stripComment(line)); line != "" {
				r.exec(line)
			}
		}
	}
	if r.ran < 15 {
		t.Fatalf("only %d README commands ran", r.ran)
	}
}

// stripComment cuts a shell comment: a '#' after white space, outside
// single quotes.
func stripComment(line string) string {
	inQuote := false
	for i, c := range line {
		switch {
		case c == '\'':
			inQuote = !inQuote
		case c == '#' && !inQuote && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
			return line[:i]
		}
	}
	return line
}

// readmeRunner runs README lines in dir, a copy of the layout they assume.
type readmeRunner struct {
	t        *testing.T
	dir      string
	appPort  int
	daemon   *exec.Cmd
	out      *syncBuffer
	exited   chan struct{}
	args     []string // the running daemon's arguments
	skipRest string   // why the rest of the block is skipped
	ran      int
	served   map[string]bool // the methods the daemon serves (checkMethodsAreCommands)
}

func newReadmeRunner(t *testing.T, root string) *readmeRunner {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin", "superbotd")
	// As "make build" builds it (its compiled packages are then cached): the
	// daemon's races are other packages' tests' business.
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", bin, "./cmd/superbotd")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build superbotd: %v\n%s", err, out)
	}
	r := &readmeRunner{t: t, dir: dir, appPort: freePort(t)}
	sim := func() string {
		return fmt.Sprintf("[exchange_sim]\nlisten = \"127.0.0.1:%d\"\n[webui]\nlisten = \"127.0.0.1:0\"\n", freePort(t))
	}
	writeFile(t, filepath.Join(dir, "config", "00-readme-test.toml"), sim())
	copyTree(t, filepath.Join(root, "examples"), filepath.Join(dir, "examples"))
	copyTree(t, filepath.Join(root, "clients"), filepath.Join(dir, "clients")) // the examples import the Python client
	ai := filepath.Join(dir, "examples", "ai", "superbot.toml")
	b, err := os.ReadFile(ai)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, ai, strings.Replace(string(b), "port = 8000", "port = "+strconv.Itoa(r.appPort), 1))
	writeFile(t, filepath.Join(dir, "examples", "ai", "00-readme-test.toml"), sim())
	t.Chdir(dir)
	t.Cleanup(r.kill)
	return r
}

func (r *readmeRunner) exec(line string) {
	t := r.t
	if r.skipRest != "" {
		t.Logf("skipped %q: %s", line, r.skipRest)
		return
	}
	r.ran++
	words := shellWords(line)
	switch {
	case line == "make run":
		if r.daemon == nil || len(r.args) > 0 {
			r.stop()
			r.start(nil)
		}
	case words[0] == "make":
		r.ran-- // other targets build and test: not run here
	case words[0] == "bin/superbotd" && slices.Contains(words, "-t"):
		cmd := exec.Command("bin/superbotd", words[1:]...)
		cmd.Env = daemonEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
	case words[0] == "bin/superbotd":
		r.stop()
		if slices.Contains(words, "examples/ai/") && !r.pythonHas("python3-uvicorn python3-fastapi", "uvicorn", "fastapi") {
			return
		}
		r.start(words[1:])
	case words[0] == "bin/superbot":
		r.cli(line, words[1:])
	case words[0] == "curl":
		r.curl(line, words[len(words)-1])
	case words[0] == "/usr/bin/python3":
		r.ensureDaemon()
		cmd := exec.Command(words[0], words[1:]...)
		cmd.Env = daemonEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", line, err, out)
		}
	case words[0] == "echo" && strings.Contains(line, "| socat - UNIX-CONNECT:"):
		r.socat(line)
	default:
		t.Errorf("README line %q: the README test does not know this command; run it in readmeRunner.exec", line)
	}
}

// cli runs a superbot command line in process. Streams (events tail, logs
// without a name or with -f) run for 2 s, then end as Ctrl-C ends them.
func (r *readmeRunner) cli(line string, args []string) {
	t := r.t
	r.ensureDaemon()
	words, flags, err := splitArgs(args)
	if err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	cmd, rest, err := resolve(words)
	if err != nil {
		t.Errorf("%s: %v", line, err)
		return
	}
	stream := (cmd.name == "events tail" && !flags.has("count")) || (cmd.name == "logs" && (len(rest) == 0 || flags.bool("follow")))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	if stream {
		cancel()
		ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	}
	defer cancel()
	var out, errb bytes.Buffer
	code := runContext(ctx, args, &out, &errb)
	if code != exitOK || errb.Len() > 0 || (!stream && out.Len() == 0) {
		t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", line, code, out.String(), errb.String())
	}
	if cmd.name == "daemon stop" {
		r.waitExit()
	}
}

func (r *readmeRunner) curl(line, url string) {
	r.ensureDaemon()
	url = strings.Replace(url, ":8000", ":"+strconv.Itoa(r.appPort), 1)
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}} // no idle connection outlives the test
	resp, err := hc.Get(url)
	if err != nil {
		r.t.Errorf("%s: %v", line, err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		r.t.Errorf("%s: %s\n%s", line, resp.Status, body)
		return
	}
	if strings.HasSuffix(url, "/daemon") { // the app called back into this daemon
		var got struct {
			DaemonPID int `json:"daemon_pid"`
		}
		if err := json.Unmarshal(body, &got); err != nil || got.DaemonPID != r.daemon.Process.Pid {
			r.t.Errorf("%s: %s, want daemon_pid %d", line, body, r.daemon.Process.Pid)
		}
	}
}

// socat runs the line with socat when it is installed; else it checks the
// request is valid JSON and the socket path is the daemon's.
func (r *readmeRunner) socat(line string) {
	r.ensureDaemon()
	if _, err := exec.LookPath("socat"); err == nil {
		out, err := exec.Command("/bin/sh", "-c", line).CombinedOutput()
		if err != nil || !strings.Contains(string(out), `"result"`) {
			r.t.Errorf("%s: %v\n%s", line, err, out)
		}
		return
	}
	m := regexp.MustCompile(`^echo '(.*)' \| socat - UNIX-CONNECT:(\S+)$`).FindStringSubmatch(line)
	if m == nil || !json.Valid([]byte(m[1])) || m[2] != filepath.Join(client.DefaultStateDir, client.SocketName) {
		r.t.Errorf("%s: not a JSON request to the daemon's socket", line)
	}
	r.t.Logf("socat is not installed: %q checked, not run", line)
}

// pythonHas reports whether /usr/bin/python3 imports modules; if not, the
// rest of the block is skipped (a failure under CI=true).
func (r *readmeRunner) pythonHas(debs string, modules ...string) bool {
	if exec.Command("/usr/bin/python3", "-c", "import "+strings.Join(modules, ", ")).Run() == nil {
		return true
	}
	msg := "/usr/bin/python3 cannot import " + strings.Join(modules, ", ") + ": apt-get install -y " + debs
	if os.Getenv("CI") == "true" {
		r.t.Fatal(msg)
	}
	r.skipRest = msg
	r.t.Log(msg)
	return false
}

func (r *readmeRunner) ensureDaemon() {
	if r.daemon == nil {
		r.start(nil) // the README started it with "make run" in an earlier block
	}
}

// start runs bin/superbotd with args and waits until it runs (and, with the
// ai example, until the ai module is healthy).
func (r *readmeRunner) start(args []string) {
	t := r.t
	cmd := exec.Command(filepath.Join(r.dir, "bin", "superbotd"), args...)
	cmd.Dir = r.dir
	cmd.Env = daemonEnv()
	r.out = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.daemon, r.args, r.exited = cmd, args, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.exited)
	want := func(st string) bool { return strings.Contains(st, `"state":"running"`) }
	r.poll("daemon.status", nil, want)
	if slices.Contains(args, "examples/ai/") {
		r.poll("module.status", map[string]string{"module": "ai"}, func(st string) bool {
			return want(st) && strings.Contains(st, `"health":"ok"`)
		})
	}
}

// poll calls method until ok accepts its result.
func (r *readmeRunner) poll(method string, params any, ok func(string) bool) {
	t := r.t
	deadline := time.Now().Add(90 * time.Second)
	last := ""
	for {
		select {
		case <-r.exited:
			t.Fatalf("superbotd %v exited:\n%s", r.args, r.out.String())
		default:
		}
		c, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(r.dir, ".superbot"), Timeout: 5 * time.Second})
		if err == nil {
			var res json.RawMessage
			err = c.Call(context.Background(), method, params, &res)
			_ = c.Close()
			if err == nil && ok(string(res)) {
				return
			}
			last = string(res)
		}
		if time.Now().After(deadline) {
			t.Fatalf("superbotd %v: %s not ready: %v %s\n%s", r.args, method, err, last, r.out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a real process; nothing to synchronise with
	}
}

// stop stops the running daemon with "superbot daemon stop".
func (r *readmeRunner) stop() {
	if r.daemon == nil {
		return
	}
	var out, errb bytes.Buffer
	if code := runContext(context.Background(), []string{"daemon", "stop"}, &out, &errb); code != exitOK {
		r.t.Errorf("daemon stop: exit %d %s", code, errb.String())
	}
	r.waitExit()
}

func (r *readmeRunner) waitExit() {
	if r.daemon == nil {
		return
	}
	select {
	case <-r.exited:
	case <-time.After(60 * time.Second):
		r.t.Errorf("superbotd %v did not exit after daemon stop:\n%s", r.args, r.out.String())
		r.kill()
	}
	r.daemon = nil
}

// kill ends a daemon a failed test left running: SIGTERM, then SIGKILL.
func (r *readmeRunner) kill() {
	if r.daemon == nil {
		return
	}
	_ = r.daemon.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.daemon.Process.Kill()
		<-r.exited
	}
	r.daemon = nil
}

// checkMethodsAreCommands: every method the daemon serves is called by a
// command (or is in exemptMethods).
func (r *readmeRunner) checkMethodsAreCommands() {
	var out, errb bytes.Buffer
	if code := runContext(context.Background(), []string{"--json", "methods"}, &out, &errb); code != exitOK {
		r.t.Fatalf("methods: exit %d %s", code, errb.String())
	}
	var res struct{ Methods []string }
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Methods) < 10 {
		r.t.Fatalf("rpc.methods: %v %s", err, out.String())
	}
	r.served = map[string]bool{}
	for _, m := range res.Methods {
		r.served[m] = true
	}
	covered := map[string]bool{}
	for _, c := range commands {
		for _, m := range strings.Split(c.method, ", ") {
			covered[m] = true
		}
	}
	for _, m := range res.Methods {
		if !covered[m] && exemptMethods[m] == "" {
			r.t.Errorf("the daemon serves %s, which no superbot command calls: add one to commands.go", m)
		}
	}
}

// daemonEnv is the environment without SuperBot's variables (the test's
// hermetic empty values would be read as settings).
func daemonEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SUPERBOT_") {
			env = append(env, kv)
		}
	}
	return env
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under src to dst (no caches).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(path, "__pycache__") {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		writeFile(t, filepath.Join(dst, rel), string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
