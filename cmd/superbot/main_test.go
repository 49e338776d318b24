package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/client/clienttest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cli runs the CLI against srv (by its state directory) and returns the exit
// code, stdout and stderr.
func cli(t *testing.T, srv *clienttest.Server, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	if srv != nil {
		args = append([]string{"--state-dir", srv.Dir}, args...)
	}
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func newServer(t *testing.T) *clienttest.Server {
	t.Helper()
	hermetic(t)
	return clienttest.NewServer(t)
}

// hermetic clears the variables the CLI reads to find a daemon and points
// HOME at a fresh directory, which it returns.
func hermetic(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	for _, v := range []string{client.TokenEnv, client.DaemonTokenEnv, client.SocketEnv, client.TokenPathEnv} {
		t.Setenv(v, "")
	}
	return home
}

const daemonStatus = `{"version":"v0.3.0","pid":4242,"node":"node-a","uptime_seconds":3723.4,
 "config_source":"embedded defaults","started_at":"2026-11-26T20:00:00Z","state":"running",
 "tree":[{"name":"bus","state":"running","restarts":0,"last_error":"","since":"2026-11-26T20:00:00Z","children":[]},
  {"name":"modules","state":"running","restarts":0,"last_error":"","since":null,"children":[
   {"name":"trading","state":"restarting","restarts":2,"last_error":"exit status 1","since":null,"children":[]}]}],
 "details":{}}`

const moduleList = `{"modules":[
 {"name":"trading","type":"thread","state":"running","pid":0,"uptime_seconds":61,"restarts":1,"recent_failures":0,
  "last_exit":null,"health":"ok","resources":null,"since":null,"depends_on":[],"enabled":true,"last_error":"","node":"node-a"},
 {"name":"webui","type":"process","state":"failed","pid":0,"uptime_seconds":0,"restarts":3,"recent_failures":3,
  "last_exit":{"code":1,"signal":"","reason":"crashed","time":null},"health":"","resources":null,"since":null,
  "depends_on":["trading"],"enabled":true,"last_error":"port 8080 in use","node":"node-a"},
 {"name":"ai","type":"uvicorn","state":"running","pid":4242,"uptime_seconds":5,"restarts":0,"health":"ok",
  "cpu_percent":12.34,"rss_bytes":"73400320","node":"node-a"}]}`

func TestUsageErrorsSendNothing(t *testing.T) {
	srv := newServer(t)
	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"unknown command", []string{"bogus"}, `unknown command "bogus"`},
		{"missing subcommand", []string{"module"}, "missing subcommand: list, status, start, stop, restart"},
		{"unknown subcommand", []string{"module", "explode"}, `unknown subcommand "explode"`},
		{"missing name", []string{"module", "start"}, "missing NAME"},
		{"missing symbol", []string{"market", "ticker"}, "missing SYMBOL"},
		{"extra argument", []string{"module", "list", "extra"}, `unexpected argument "extra"`},
		{"malformed json params", []string{"rpc", "daemon.status", "{bad"}, "not valid JSON"},
		{"scalar params", []string{"rpc", "daemon.status", "42"}, "must be an object or an array"},
		{"unknown flag", []string{"module", "list", "--colour"}, "unknown flag --colour"},
		{"flag of another command", []string{"module", "list", "--force"}, "flag --force is not valid for 'superbot module list'"},
		{"param without =", []string{"module", "start", "trading", "--param", "mode"}, `--param "mode": want KEY=VALUE`},
		{"flag without value", []string{"logs", "trading", "-n"}, "flag --lines needs a value"},
		{"bad number", []string{"logs", "trading", "-n", "many"}, `--lines: want a non-negative integer, got "many"`},
		{"bad timeout", []string{"--timeout", "soon", "daemon", "status"}, "--timeout: want a positive duration"},
		{"bad payload", []string{"events", "publish", "a.b", "{x"}, "JSON-PAYLOAD is not valid JSON"},
		{"help of unknown", []string{"help", "nope"}, `unknown command "nope"`},
		{"no command", nil, "usage: superbot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := cli(t, srv, tt.args...)
			if code != exitUsage {
				t.Fatalf("exit %d, want 2 (stderr %q)", code, errs)
			}
			if !strings.Contains(errs, tt.msg) {
				t.Fatalf("stderr %q does not contain %q", errs, tt.msg)
			}
			if out != "" {
				t.Fatalf("stdout %q", out)
			}
		})
	}
	if m := srv.Methods(); len(m) != 0 {
		t.Fatalf("usage errors sent %v", m)
	}
}

func TestDaemonNotRunning(t *testing.T) {
	home := hermetic(t)
	dir := t.TempDir()
	var out, errb bytes.Buffer
	code := run([]string{"--state-dir", dir, "daemon", "status"}, &out, &errb)
	want := "superbotd is not running (no socket at " + filepath.Join(dir, "superbot.sock") + "); start it with 'make run' or 'superbotd'\n"
	if code != exitUnreachable || errb.String() != want || out.Len() != 0 {
		t.Fatalf("exit %d\nstderr %q\nwant   %q", code, errb.String(), want)
	}
	// With no .superbot/ above the working directory the hint names the
	// default ~/.superbot and where the search began.
	wd := t.TempDir()
	noStateDirAbove(t, wd)
	t.Chdir(wd)
	errb.Reset()
	want = "superbotd is not running (no socket at " + filepath.Join(home, ".superbot", "superbot.sock") + "; no .superbot/ in " + wd +
		" or above); start it with 'make run' or 'superbotd'\n"
	if code := run([]string{"module", "list"}, &out, &errb); code != exitUnreachable || errb.String() != want {
		t.Fatalf("exit %d stderr %q\nwant %q", code, errb.String(), want)
	}
}

// noStateDirAbove skips when a .superbot directory exists above dir.
func noStateDirAbove(t *testing.T, dir string) {
	t.Helper()
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, client.DefaultStateDir)); err == nil {
			t.Skipf("%s/.superbot exists above the test's directory", d)
		}
		if filepath.Dir(d) == d {
			return
		}
	}
}

// TestFindsTheDaemon runs the CLI without --state-dir from a subdirectory
// of a project whose .superbot/ is the daemon's, then with $SUPERBOT_SOCKET
// from elsewhere; daemon status names the socket it reached and how.
func TestFindsTheDaemon(t *testing.T) {
	srv := newServer(t)
	srv.RequireToken("tok-found")
	srv.HandleResult("daemon.status", json.RawMessage(daemonStatus))
	if err := os.WriteFile(filepath.Join(srv.Dir, "token"), []byte("tok-found"), 0o600); err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	noStateDirAbove(t, root)
	if err := os.Symlink(srv.Dir, filepath.Join(root, ".superbot")); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "strategies", "grid")
	if err := os.MkdirAll(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	code, out, errs := cli(t, nil, "daemon", "status")
	sock := filepath.Join(root, ".superbot", "superbot.sock")
	if code != exitOK || !strings.Contains(out, "daemon:   unix "+sock+" (nearest .superbot/ above the working directory)\n") ||
		!regexp.MustCompile(`(?m)^pid:\s+4242$`).MatchString(out) {
		t.Fatalf("exit %d stderr %q\n%s", code, errs, out)
	}

	t.Chdir(t.TempDir())
	t.Setenv(client.SocketEnv, srv.Socket)
	code, out, errs = cli(t, nil, "daemon", "status")
	if code != exitOK || !strings.Contains(out, "daemon:   unix "+srv.Socket+" ($SUPERBOT_SOCKET)\n") {
		t.Fatalf("exit %d stderr %q\n%s", code, errs, out)
	}
	if code, out, _ := cli(t, nil, "--json", "daemon", "status"); code != exitOK || !json.Valid([]byte(out)) {
		t.Fatalf("--json: exit %d %q", code, out)
	}
}

func TestExitCodes(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("daemon.status", json.RawMessage(daemonStatus))
	srv.HandleError("module.start", client.CodeNotFound, `module "tradng" is not configured`, []string{"trading", "webui"})
	srv.HandleError("scheduler.run", client.CodeInvalidParams, "Invalid params", "name: required")
	srv.Handle("daemon.stop", func(c *clienttest.Conn, _ json.RawMessage) (any, error) {
		c.CloseConn() // dies before answering
		return nil, nil
	})

	code, _, errs := cli(t, srv, "module", "start", "tradng")
	if code != exitRPCError || errs != `superbot: module.start: module "tradng" is not configured (code -32004); known: trading, webui`+"\n" {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	code, _, errs = cli(t, srv, "scheduler", "run", "x")
	if code != exitRPCError || !strings.Contains(errs, "Invalid params (code -32602): name: required") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	srv.Handle("module.stop", func(c *clienttest.Conn, _ json.RawMessage) (any, error) {
		c.CloseConn() // dies before answering
		return nil, nil
	})
	code, _, errs = cli(t, srv, "module", "stop", "trading")
	if code != exitUnreachable || !strings.Contains(errs, "module.stop: connection to superbotd lost") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	// daemon.stop that loses the connection before the answer: stopping.
	code, out, errs := cli(t, srv, "daemon", "stop")
	if code != exitOK || out != "superbotd is stopping\n" {
		t.Fatalf("daemon stop: exit %d stdout %q stderr %q", code, out, errs)
	}
	if code, out, _ = cli(t, srv, "daemon", "status"); code != exitOK || out == "" {
		t.Fatalf("exit %d", code)
	}
}

func TestAuth(t *testing.T) {
	srv := newServer(t)
	srv.RequireToken("tok-123")
	srv.HandleResult("cache.stats", map[string]any{"backend": "memory", "hits": "10"})

	code, _, errs := cli(t, srv, "cache", "stats")
	if code != exitAuth || !strings.Contains(errs, "authentication failed: the daemon requires a token") {
		t.Fatalf("no token: exit %d stderr %q", code, errs)
	}
	code, _, errs = cli(t, srv, "--token", "wrong", "cache", "stats")
	if code != exitAuth || !strings.Contains(errs, "the token given with --token was refused") {
		t.Fatalf("wrong token: exit %d stderr %q", code, errs)
	}
	if err := os.WriteFile(filepath.Join(srv.Dir, "token"), []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, srv, "cache", "stats")
	if code != exitOK || !strings.Contains(out, "memory") {
		t.Fatalf("token file: exit %d stdout %q stderr %q", code, out, errs)
	}
	if m := srv.Methods(); m[len(m)-2] != "auth.login" {
		t.Fatalf("methods %v", m)
	}
	t.Setenv(client.TokenEnv, "bad-env")
	code, _, errs = cli(t, srv, "cache", "stats")
	if code != exitAuth || !strings.Contains(errs, "the token from env SUPERBOT_TOKEN was refused") {
		t.Fatalf("env token: exit %d stderr %q", code, errs)
	}
}

func TestDaemonStatusTable(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("daemon.status", json.RawMessage(daemonStatus))
	code, out, errs := cli(t, srv, "daemon", "status")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, re := range []string{
		`(?m)^version:\s+v0\.3\.0$`, `(?m)^pid:\s+4242$`, `(?m)^node:\s+node-a$`, `(?m)^uptime:\s+1h2m3s$`,
		`(?m)^ACTOR\s+STATE\s+RESTARTS\s+SINCE\s+LAST ERROR$`,
		`(?m)^bus\s+running\s+0\s`,
		`(?m)^modules\s+running\s+0\s`,
		`(?m)^  trading\s+restarting\s+2\s+-\s+exit status 1$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}
}

func TestModuleTables(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("module.list", json.RawMessage(moduleList))
	srv.HandleResult("module.status", json.RawMessage(`{"status":{"name":"webui","type":"process","state":"failed","pid":0,
	 "last_exit":{"code":1,"signal":"","reason":"crashed","time":null},"resources":{"pid":0,"rss_bytes":"10485760"},"depends_on":["trading","cache"]}}`))
	code, out, errs := cli(t, srv, "module", "list")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, re := range []string{
		`(?m)^NAME\s+TYPE\s+STATE\s+PID\s+CPU\s+RSS\s+UPTIME\s+RESTARTS\s+HEALTH\s+NODE\s+LAST ERROR$`,
		`(?m)^trading\s+thread\s+running\s+-\s+-\s+-\s+1m1s\s+1\s+ok\s+node-a\s+-$`,
		`(?m)^webui\s+process\s+failed\s+-\s+-\s+-\s+-\s+3\s+-\s+node-a\s+port 8080 in use$`,
		`(?m)^ai\s+uvicorn\s+running\s+4242\s+12\.3%\s+70\.0 MiB\s+5s\s+0\s+ok\s+node-a\s+-$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("module list lacks %s:\n%s", re, out)
		}
	}
	code, out, _ = cli(t, srv, "module", "status", "webui")
	for _, re := range []string{`(?m)^name:\s+webui$`, `(?m)^last_exit:$`, `(?m)^  reason:\s+crashed$`,
		`(?m)^  rss_bytes:\s+10\.0 MiB$`, `(?m)^depends_on:\s+trading, cache$`} {
		if code != exitOK || !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("module status lacks %s:\n%s", re, out)
		}
	}
	var p struct{ Module string }
	reqs := srv.Requests()
	if err := json.Unmarshal(reqs[len(reqs)-1].Params, &p); err != nil || p.Module != "webui" {
		t.Fatalf("module.status params %s", reqs[len(reqs)-1].Params)
	}
}

func TestJSONOutputIsTheResult(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("daemon.status", json.RawMessage(daemonStatus))
	srv.HandleResult("module.list", json.RawMessage(moduleList))
	srv.HandleResult("cache.stats", json.RawMessage(`{"backend":"memory","fallback":false,"hits":"5","hit_rate":0.5}`))
	srv.HandleResult("x.y", json.RawMessage(`[1,2]`))
	for _, args := range [][]string{
		{"--json", "daemon", "status"},
		{"module", "list", "--json"},
		{"cache", "stats", "--json"},
		{"rpc", "x.y", "--json"},
		{"rpc", "cache.stats"}, // rpc prints indented JSON even without --json
	} {
		code, out, errs := cli(t, srv, args...)
		if code != exitOK || !json.Valid([]byte(out)) {
			t.Fatalf("%v: exit %d, stdout not JSON: %q %s", args, code, out, errs)
		}
	}
	_, out, _ := cli(t, srv, "--json", "cache", "stats")
	if out != `{"backend":"memory","fallback":false,"hits":"5","hit_rate":0.5}`+"\n" {
		t.Fatalf("--json changed the result: %q", out)
	}
}

func TestParamsSent(t *testing.T) {
	srv := newServer(t)
	for _, m := range []string{"module.start", "logs.tail", "market.klines", "market.depth", "scheduler.jobs", "daemon.stop", "x.raw", "events.publish"} {
		srv.HandleResult(m, map[string]any{})
	}
	tests := []struct {
		args   []string
		method string
		params string
	}{
		{[]string{"module", "start", "trading", "--param", "mode=paper", "--param", "port=8080", "--param", `args=["--x"]`, "--param", "debug=true"},
			"module.start", `{"module":"trading","params":{"args":["--x"],"debug":true,"mode":"paper","port":8080}}`},
		{[]string{"module", "start", "trading"}, "module.start", `{"module":"trading"}`},
		{[]string{"logs", "-n", "5", "trading"}, "logs.tail", `{"lines":5,"module":"trading"}`},
		{[]string{"logs", "trading"}, "logs.tail", `{"lines":100,"module":"trading"}`},
		{[]string{"market", "klines", "btcusdt", "--interval=1h", "--limit", "3"}, "market.klines", `{"interval":"1h","limit":3,"symbol":"BTCUSDT"}`},
		{[]string{"market", "depth", "ETHUSDT"}, "market.depth", `{"symbol":"ETHUSDT"}`},
		{[]string{"scheduler", "jobs"}, "scheduler.jobs", ``},
		{[]string{"scheduler", "jobs", "backtest"}, "scheduler.jobs", `{"name":"backtest"}`},
		{[]string{"daemon", "stop", "--force"}, "daemon.stop", `{"force":true}`},
		{[]string{"rpc", "x.raw", `["a", 1]`}, "x.raw", `["a",1]`},
		{[]string{"events", "publish", "alert.test", `{"n":1}`}, "events.publish", `{"payload":{"n":1},"source":"superbot-cli","topic":"alert.test"}`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if code, _, errs := cli(t, srv, tt.args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != tt.method || string(last.Params) != tt.params {
				t.Fatalf("sent %s %s, want %s %s", last.Method, last.Params, tt.method, tt.params)
			}
		})
	}
}

func TestGenericAndOtherViews(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("cache.stats", json.RawMessage(`{"backend":"memory","fallback":false,"hits":"7","misses":"3","hit_rate":0.7000001,"entries":"2"}`))
	srv.HandleResult("connector.status", json.RawMessage(`{"health":"up","endpoint":"http://127.0.0.1:1","budget_used":"12",
	  "streams":[{"symbol":"BTCUSDT","kind":"STREAM_KIND_PRICE","topic":"price.BTCUSDT.update","connected":true}],
	  "pool":{"max_connections":10,"open_connections":1}}`))
	srv.HandleResult("monitoring.health", json.RawMessage(`{"healthy":false,"components":[
	  {"name":"bus","healthy":true,"latency_ms":0.25,"error":""},{"name":"cache","healthy":false,"latency_ms":0,"error":"timeout"}]}`))
	srv.HandleResult("scheduler.jobs", json.RawMessage(`{"jobs":[{"name":"daily_backtest","spec":"0 2 * * *","zone":"Europe/Istanbul",
	  "enabled":true,"paused":false,"action":"module.start","next_run_local":"2026-11-27T02:00:00+03:00","last_result":"ok","runs":"4","failures":"0","skipped":"0",
	  "history":[{"job":"daily_backtest","id":"4","trigger":"manual","status":"ok","started_at":"2026-11-26T10:00:00Z","duration_ms":12.5,"error":null}]}]}`))
	srv.HandleResult("market.depth", json.RawMessage(`{"symbol":"BTCUSDT","last_update_id":"99","bids":[{"price":"100.5","quantity":"2"}],"asks":[{"price":"101","quantity":"1.25"},{"price":"102","quantity":"3"}]}`))
	srv.HandleResult("rpc.methods", json.RawMessage(`{"methods":["cache.stats","daemon.status"]}`))
	srv.HandleResult("logs.tail", json.RawMessage(`{"module":"trading","lines":[{"module":"trading","stream":"stderr","line":"boom","time":"2026-11-26T10:00:00Z"}]}`))

	tests := []struct {
		args []string
		res  []string
	}{
		{[]string{"cache", "stats"}, []string{`(?m)^backend:\s+memory$`, `(?m)^hits:\s+7$`, `(?m)^hit_rate:\s+0\.7$`}},
		{[]string{"connector", "status"}, []string{`(?m)^health:\s+up$`, `(?m)^streams:$`, `(?m)^  SYMBOL\s+KIND\s+TOPIC\s+CONNECTED$`,
			`(?m)^  BTCUSDT\s+price\s+price\.BTCUSDT\.update\s+true$`, `(?m)^pool:$`, `(?m)^  max_connections:\s+10$`}},
		{[]string{"monitoring", "health"}, []string{`(?m)^healthy: no$`, `(?m)^bus\s+yes\s+0\.250 ms\s+-$`, `(?m)^cache\s+no\s+0\.000 ms\s+timeout$`}},
		{[]string{"scheduler", "jobs", "daily_backtest"}, []string{`(?m)^NAME\s+SCHEDULE\s+ZONE\s+STATE`, `(?m)^daily_backtest\s+0 2 \* \* \*\s+Europe/Istanbul\s+enabled\s+module\.start\s+2026-11-27T02:00:00\+03:00\s+ok\s+4\s+0\s+0$`,
			`(?m)^  4\s+manual\s+ok\s+.*12\.5 ms\s+-$`}},
		{[]string{"market", "depth", "BTCUSDT"}, []string{`(?m)^BTCUSDT  last update 99$`, `(?m)^\s+2\s+100\.5\s+101\s+1\.25$`, `(?m)^\s+102\s+3$`}},
		{[]string{"methods"}, []string{`(?m)^cache\.stats\ndaemon\.status$`}},
		{[]string{"logs", "trading"}, []string{`(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.000 stderr boom$`}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := cli(t, srv, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, re := range tt.res {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("output lacks %s:\n%s", re, out)
				}
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("daemon.status", json.RawMessage(daemonStatus))
	code, out, _ := cli(t, nil, "help")
	if code != exitOK || !strings.Contains(out, "Exit codes:") || !strings.Contains(out, "module start NAME|all [--param KEY=VALUE ...]") {
		t.Fatalf("help: exit %d\n%s", code, out)
	}
	for _, c := range commands {
		if !strings.Contains(out, c.usage()) {
			t.Errorf("help lacks %q", c.usage())
		}
	}
	for _, args := range [][]string{{"help", "module", "start"}, {"module", "start", "--help"}, {"module", "start", "-h"}} {
		code, out, _ := cli(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "usage: superbot module start NAME|all") || !strings.Contains(out, "JSON-RPC method: module.start") {
			t.Fatalf("%v: exit %d\n%s", args, code, out)
		}
	}
	code, out, _ = cli(t, srv, "version")
	if code != exitOK || !regexp.MustCompile(`(?m)^superbotd\s+v0\.3\.0 \(node node-a, pid 4242\)$`).MatchString(out) {
		t.Fatalf("version: exit %d\n%s", code, out)
	}
}

// TestReadmeCommands keeps README.md honest: every "superbot ..." line in
// it parses as a valid command line.
func TestReadmeCommands(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if !strings.HasPrefix(line, "superbot ") {
			continue
		}
		n++
		args := shellWords(strings.TrimSpace(strings.TrimPrefix(line, "superbot ")))
		words, flags, err := splitArgs(args)
		if err != nil {
			t.Errorf("%s: %v", line, err)
			continue
		}
		cmd, rest, err := resolve(words)
		if err == nil {
			err = cmd.checkArgs(rest)
		}
		for name := range flags {
			if err == nil && !cmd.accepts(name) {
				err = usagef("flag --%s not accepted", name)
			}
		}
		if err != nil {
			t.Errorf("%s: %v", line, err)
		}
	}
	if n < 10 {
		t.Fatalf("only %d commands found in README.md", n)
	}
}

// shellWords splits a line on spaces, honouring single quotes.
func shellWords(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			inQuote, has = !inQuote, true
		case r == ' ' && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

// FuzzRender feeds arbitrary results to every view: none may panic.
func FuzzRender(f *testing.F) {
	for _, seed := range []string{daemonStatus, moduleList, `{}`, `[]`, `null`, `"x"`, `{"a":[{"b":{"c":1}}]}`,
		`{"jobs":[{"name":"j","history":[{"id":"1"}]}]}`, `{"bids":[{"price":"1"}]}`, `{"status":null}`,
		`{"topic":"a","payload":{"@type":"t/x.Y","value":1}}`, `{"lines":[{"line":"x","time":"2026-01-01T00:00:00Z"}]}`} {
		f.Add([]byte(seed))
	}
	status := func(w io.Writer, res json.RawMessage) error { return renderDaemonStatus(w, res, "unix /s") }
	discover := func(w io.Writer, res json.RawMessage) error { return renderDiscover(w, res, "a") }
	views := []renderFunc{renderGeneric, status, renderDaemonStop, renderModuleList, renderModuleStatus,
		renderHealth, renderJobs, renderJob, renderDepth, renderMethods, renderLogLines, writeEvent, writeLogLine, discover}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		for _, v := range views {
			_ = v(io.Discard, raw)
		}
	})
}
