package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/client/clienttest"
)

// localMS is how a table shows the Unix epoch milliseconds ms.
func localMS(ms int64) string { return time.UnixMilli(ms).Local().Format(timeLayout) }

// TestTablesAsUsersExpect: times and durations readable, no internal type
// names, 64-bit integers accepted as JSON numbers and as strings.
func TestTablesAsUsersExpect(t *testing.T) {
	const closeMS = 1796406085330
	tests := []struct {
		name    string
		method  string
		result  string
		args    []string
		want    []string // regexps the output must match
		notWant []string // substrings it must not contain
	}{
		{name: "module status durations and pid", method: "module.status", args: []string{"module", "status", "heartbeat"},
			result:  `{"status":{"name":"heartbeat","pid":0,"uptime_seconds":17.364,"since":"2026-12-04T17:41:06.571Z"}}`,
			want:    []string{`(?m)^pid:\s+-$`, `(?m)^uptime_seconds:\s+17s$`, `(?m)^since:\s+2026-12-04 \d\d:41:06\.571$`},
			notWant: []string{"17.364"}},
		{name: "epoch ms as a string", method: "market.ticker", args: []string{"market", "ticker", "BTCUSDT"},
			result:  `{"symbol":"BTCUSDT","last_price":"63292.88000000","close_time_ms":"1796406085330"}`,
			want:    []string{`(?m)^close_time_ms:\s+` + regexp.QuoteMeta(localMS(closeMS)) + `$`, `(?m)^last_price:\s+63292\.88000000$`},
			notWant: []string{"1796406085330"}},
		{name: "epoch ms as a number", method: "market.ticker", args: []string{"market", "ticker", "BTCUSDT"},
			result: `{"symbol":"BTCUSDT","close_time_ms":1796406085330}`,
			want:   []string{`(?m)^close_time_ms:\s+` + regexp.QuoteMeta(localMS(closeMS)) + `$`}},
		{name: "connector durations", method: "connector.status", args: []string{"connector", "status"},
			result: `{"health":"up","budget_used":"42","budget_window_ms":"60000","banned_until_ms":"0","clock_offset_ms":-5,"pool":{"queued":0}}`,
			want:   []string{`(?m)^budget_used:\s+42$`, `(?m)^budget_window_ms:\s+1m0s$`, `(?m)^banned_until_ms:\s+-$`, `(?m)^clock_offset_ms:\s+-5ms$`}},
		{name: "64-bit numbers as numbers", method: "connector.status", args: []string{"connector", "status"},
			result: `{"budget_used":42,"budget_window_ms":60000,"banned_until_ms":0}`,
			want:   []string{`(?m)^budget_used:\s+42$`, `(?m)^budget_window_ms:\s+1m0s$`, `(?m)^banned_until_ms:\s+-$`}},
		{name: "no type names in details", method: "daemon.status", args: []string{"daemon", "status"},
			result:  `{"version":"v1","pid":"12","details":{"scheduler":{"@type":"type.googleapis.com/superbot.v1.WindowStatusResponse","enabled":false,"state":"disabled"}}}`,
			want:    []string{`(?m)^pid:\s+12$`, `(?m)^  scheduler:$`, `(?m)^    state:\s+disabled$`},
			notWant: []string{"WindowStatusResponse", "type:"}},
		{name: "no type names in metrics", method: "monitoring.metrics", args: []string{"monitoring", "metrics"},
			result:  `{"components":{"bus":{"@type":"type.googleapis.com/superbot.v1.BusStatsResponse","published":34},"cache":{"@type":"x/superbot.v1.CacheStatsResponse","hits":"3"}}}`,
			want:    []string{`(?m)^    published:\s+34$`, `(?m)^    hits:\s+3$`},
			notWant: []string{"BusStatsResponse", "CacheStatsResponse", "type"}},
		{name: "module list with numbers", method: "module.list", args: []string{"module", "list"},
			result: `{"modules":[{"name":"a","type":"exec","state":"running","pid":77,"cpu_percent":12.5,"rss_bytes":1048576,"uptime_seconds":61,"restarts":2}]}`,
			want:   []string{`(?m)^a\s+exec\s+running\s+77\s+12\.5%\s+1\.0 MiB\s+1m1s\s+2\s`}},
		{name: "cluster members with the trading leader", method: "cluster.members", args: []string{"cluster", "members"},
			result: `{"self":"a","registered":true,"members":[{"node":"a","address":"10.0.0.1:7000","version":"v1","modules":["web"]},` +
				`{"node":"b","address":"10.0.0.2:7000","version":"v1","leads":["trading"],"modules":["web"],"running":["web"]}]}`,
			want: []string{`(?m)^\*\s+a\s+10\.0\.0\.1:7000\s+v1\s+-\s+web\s`, `(?m)^\s+b\s+10\.0\.0\.2:7000\s+v1\s+trading\s+web\*\s`, `(?m)LEADS`}},
		{name: "module list with strings", method: "module.list", args: []string{"module", "list"},
			result: `{"modules":[{"name":"a","type":"exec","state":"running","pid":"77","cpu_percent":12.5,"rss_bytes":"1048576","uptime_seconds":61,"restarts":"2"}]}`,
			want:   []string{`(?m)^a\s+exec\s+running\s+77\s+12\.5%\s+1\.0 MiB\s+1m1s\s+2\s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t)
			srv.HandleResult(tt.method, json.RawMessage(tt.result))
			code, out, errs := cli(t, srv, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			for _, re := range tt.want {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("output lacks %s:\n%s", re, out)
				}
			}
			for _, s := range tt.notWant {
				if strings.Contains(out, s) {
					t.Errorf("output contains %q:\n%s", s, out)
				}
			}
			if _, raw, _ := cli(t, srv, append(tt.args, "--json")...); raw != string(compact(json.RawMessage(tt.result)))+"\n" {
				t.Errorf("--json is not the raw result: %s", raw)
			}
		})
	}
}

// TestErrorsAsUsersExpect: known names once, problems not labelled known.
func TestErrorsAsUsersExpect(t *testing.T) {
	srv := newServer(t)
	srv.HandleError("module.status", client.CodeNotFound, `unknown module "nope" (known: exchange-sim, heartbeat)`, []string{"exchange-sim", "heartbeat"})
	srv.HandleError("module.stop", client.CodeNotFound, `unknown module "nope"`, []string{"exchange-sim", "heartbeat"})
	srv.HandleError("daemon.reload_config", client.CodeFailedPrecondition, "config has problems; the running config is kept",
		[]string{"cache.bogus: unknown key (config/bad.toml:2)", "cache.max_size_mb: must be >= 1, got -1 (config/bad.toml:3)"})
	srv.HandleError("scheduler.run", client.CodeFailedPrecondition, "job is paused", []string{"nightly: paused"})

	tests := []struct {
		args []string
		want string
	}{
		{[]string{"module", "status", "nope"},
			`superbot: module.status: unknown module "nope" (known: exchange-sim, heartbeat) (code -32004)` + "\n"},
		{[]string{"module", "stop", "nope"},
			`superbot: module.stop: unknown module "nope" (code -32004); known: exchange-sim, heartbeat` + "\n"},
		{[]string{"daemon", "reload"},
			"superbot: daemon.reload_config: config has problems; the running config is kept (code -32006):\n" +
				"  cache.bogus: unknown key (config/bad.toml:2)\n  cache.max_size_mb: must be >= 1, got -1 (config/bad.toml:3)\n"},
		{[]string{"scheduler", "run", "nightly"}, "superbot: scheduler.run: job is paused (code -32006): nightly: paused\n"},
	}
	for _, tt := range tests {
		code, _, errs := cli(t, srv, tt.args...)
		if code != exitRPCError || errs != tt.want {
			t.Errorf("%v: exit %d\nstderr %q\nwant   %q", tt.args, code, errs, tt.want)
		}
	}
}

// logsServer answers logs.tail and logs.stream with lines (LogLine JSON),
// then waits for the client to leave.
func logsServer(t *testing.T, lines ...string) *clienttest.Server {
	srv := newServer(t)
	var raw []json.RawMessage
	for _, l := range lines {
		raw = append(raw, json.RawMessage(l))
	}
	srv.HandleResult("logs.tail", map[string]any{"module": "daemon", "lines": raw})
	srv.Handle("logs.stream", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{Result: map[string]int{"subscription": 1}, After: func(c *clienttest.Conn) {
			for _, l := range raw {
				_ = c.Notify("logs.line", l)
			}
			c.CloseConn()
		}}, nil
	})
	return srv
}

const (
	daemonLine = `{"module":"daemon","stream":"daemon","line":"17:41:06.640 INF exchange simulator started component=modules","time":"2026-12-04T17:41:06.641Z"}`
	hbLine     = `{"module":"heartbeat","stream":"stdout","line":"beat 12:00:00.000 ok","time":"2026-12-04T17:41:07Z"}`
	simLine    = `{"module":"exchange-sim","stream":"stderr","line":"listening","time":"2026-12-04T17:41:08Z"}`
)

// TestLogsOneTimestamp: the daemon's own lines lose their console clock.
func TestLogsOneTimestamp(t *testing.T) {
	srv := logsServer(t, daemonLine, hbLine)
	code, out, errs := cli(t, srv, "logs", "daemon")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := regexp.MustCompile(`(?m)^2026-12-04 \d\d:41:06\.641 daemon INF exchange simulator started component=modules$`)
	if !want.MatchString(out) || strings.Contains(out, "17:41:06.640") {
		t.Fatalf("output:\n%s", out)
	}
	// A module's own text is left alone.
	if !strings.Contains(out, "stdout beat 12:00:00.000 ok\n") {
		t.Fatalf("output:\n%s", out)
	}
}

// TestLogsAllModules: "superbot logs" with no name follows every module
// and the daemon (logs.stream {}), each line prefixed with its module.
func TestLogsAllModules(t *testing.T) {
	srv := logsServer(t, daemonLine, hbLine, simLine)
	srv.HandleResult("module.list", json.RawMessage(`{"modules":[{"name":"heartbeat"},{"name":"exchange-sim"}]}`))
	code, out, errs := cli(t, srv, "logs")
	if code != exitUnreachable || !strings.Contains(errs, "connection to superbotd lost") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		`^daemon       \| 2026-12-04 \d\d:41:06\.641 daemon INF exchange simulator started`,
		`^heartbeat    \| 2026-12-04 \d\d:41:07\.000 stdout beat 12:00:00\.000 ok$`,
		`^exchange-sim \| 2026-12-04 \d\d:41:08\.000 stderr listening$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s", out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
	reqs := srv.Requests()
	if reqs[1].Method != "logs.stream" || string(reqs[1].Params) != `{}` {
		t.Fatalf("sent %s %s, want logs.stream {}", reqs[1].Method, reqs[1].Params)
	}
	// -n asks for a tail of every module's lines; --json prints the LogLines.
	code, out, _ = cli(t, srv, "logs", "-n", "5", "--json")
	if code != exitUnreachable || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, daemonLine[:20]) {
		t.Fatalf("exit %d output %q", code, out)
	}
	if reqs := srv.Requests(); string(reqs[len(reqs)-1].Params) != `{"lines":5}` {
		t.Fatalf("sent %s", reqs[len(reqs)-1].Params)
	}
}

// TestModuleStartStopAll: "all" goes to the daemon as the module name and
// each module's result is a row, whichever of the two result shapes the
// daemon sends.
func TestModuleStartStopAll(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("module.start", json.RawMessage(`{"results":[
	  {"module":"exchange-sim","status":{"name":"exchange-sim","state":"running","pid":0}},
	  {"module":"ai","status":{"name":"ai","state":"running","pid":"4242"},"error":null},
	  {"module":"trading","status":{"name":"trading","state":"stopped","pid":0},"error":{"code":-32006,"message":"dependency ai\nfailed"}}]}`))
	srv.HandleResult("module.stop", json.RawMessage(`{"modules":[
	  {"name":"trading","state":"stopped","pid":0},{"name":"ai","state":"failed","pid":0,"last_error":"exit status 1"}]}`))
	code, out, errs := cli(t, srv, "module", "start", "all")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, re := range []string{`(?m)^MODULE\s+STATE\s+PID\s+RESULT$`, `(?m)^exchange-sim\s+running\s+-\s+ok$`,
		`(?m)^ai\s+running\s+4242\s+ok$`, `(?m)^trading\s+stopped\s+-\s+dependency ai failed$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("module start all lacks %s:\n%s", re, out)
		}
	}
	code, out, errs = cli(t, srv, "module", "stop", "all")
	if code != exitOK || !regexp.MustCompile(`(?m)^trading\s+stopped\s+-\s+ok\n^ai\s+failed\s+-\s+exit status 1$`).MatchString(out) {
		t.Fatalf("module stop all: exit %d %s\n%s", code, errs, out)
	}
	var sent []string
	for _, r := range srv.Requests() {
		sent = append(sent, r.Method+" "+string(r.Params))
	}
	if strings.Join(sent, "; ") != `module.start {"module":"all"}; module.stop {"module":"all"}` {
		t.Fatalf("sent %v", sent)
	}
	if code, _, errs := cli(t, srv, "module", "start", "all", "--param", "a=1"); code != exitUsage || !strings.Contains(errs, "--param applies to one module") {
		t.Fatalf("exit %d %s", code, errs)
	}
	// One module still renders as key: value lines.
	srv.HandleResult("module.start", json.RawMessage(`{"status":{"name":"ai","state":"running","pid":9}}`))
	if _, out, _ := cli(t, srv, "module", "start", "ai"); !regexp.MustCompile(`(?m)^state:\s+running$`).MatchString(out) {
		t.Fatalf("module start ai:\n%s", out)
	}
}

// TestLogsAllModulesFromAnOlderDaemon: a daemon whose logs.stream needs a
// module (-32602) is followed through its bus topics logs.>.
func TestLogsAllModulesFromAnOlderDaemon(t *testing.T) {
	srv := newServer(t)
	srv.HandleError("logs.stream", client.CodeInvalidParams, "Invalid params", "module: a module name is required")
	srv.Handle("events.subscribe", func(*clienttest.Conn, json.RawMessage) (any, error) {
		return clienttest.Stream{Result: map[string]int{"subscription": 4}, After: func(c *clienttest.Conn) {
			for _, l := range []string{daemonLine, hbLine} {
				payload := `{"@type":"type.googleapis.com/superbot.v1.LogLine",` + l[1:]
				_ = c.Notify("events.event", json.RawMessage(`{"topic":"logs.x","source":"modules","sequence":7,"payload":`+payload+`}`))
			}
			c.CloseConn()
		}}, nil
	})
	code, out, errs := cli(t, srv, "logs")
	if code != exitUnreachable || !strings.Contains(errs, "connection to superbotd lost") {
		t.Fatalf("exit %d stderr %q", code, errs)
	}
	if !regexp.MustCompile(`^daemon \| 2026-12-04 \d\d:41:06\.641 daemon INF exchange simulator started component=modules\n` +
		`heartbeat \| 2026-12-04 \d\d:41:07\.000 stdout beat 12:00:00\.000 ok\n$`).MatchString(out) {
		t.Fatalf("output:\n%s", out)
	}
	if reqs := srv.Requests(); len(reqs) != 3 || reqs[2].Method != "events.subscribe" || string(reqs[2].Params) != `{"pattern":"logs.\u003e"}` {
		t.Fatalf("requests %+v", reqs)
	}
	_, out, _ = cli(t, srv, "logs", "--json")
	if first, _, _ := strings.Cut(out, "\n"); first != string(compact(json.RawMessage(daemonLine))) {
		t.Fatalf("--json line %s", first)
	}
}

func TestDiscover(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("rpc.discover", json.RawMessage(`{"openrpc":"1.2.6","info":{"title":"superbotd","version":"v1"},"methods":[
	  {"name":"logs.tail","params":[{"name":"module","required":true,"schema":{"type":"string"}},{"name":"lines","schema":{"type":"integer"}}],
	   "result":{"name":"LogsTailResponse","schema":{"$ref":"#/components/schemas/superbot.v1.LogsTailResponse.result"}},"errors":[{"$ref":"#/components/errors/NotFound"}]},
	  {"name":"rpc.methods","params":[],"result":{"name":"r","schema":{"type":"object","title":"RpcMethodsResponse"}}},
	  {"name":"x.list","params":[{"name":"names","required":false,"schema":{"type":"array","items":{"type":"string"}}}]}],
	  "components":{"errors":{"NotFound":{"code":-32004,"message":"not found"}}}}`))
	code, out, errs := cli(t, srv, "discover")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, re := range []string{`(?m)^METHOD\s+PARAMS\s+RESULT$`, `(?m)^logs\.tail\s+module string, lines\? integer\s+LogsTailResponse$`,
		`(?m)^rpc\.methods\s+-\s+object$`, `(?m)^x\.list\s+names\? \[\]string\s+-$`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("discover lacks %s:\n%s", re, out)
		}
	}
	code, out, _ = cli(t, srv, "discover", "logs.tail")
	if code != exitOK || !regexp.MustCompile(`(?m)^error:\s+-32004 not found$`).MatchString(out) {
		t.Fatalf("discover logs.tail: exit %d\n%s", code, out)
	}
	if code, _, errs := cli(t, srv, "discover", "nope"); code != exitUsage || !strings.Contains(errs, `no method "nope"`) {
		t.Fatalf("exit %d %s", code, errs)
	}
}

// TestKeysAfterATable: a key after a nested table lines up with the keys,
// not with the table's columns.
func TestKeysAfterATable(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("events.stats", json.RawMessage(`{"published":34,"topics":[{"topic":"module.exchange-sim.starting","published":1}],"rejected":0}`))
	code, out, errs := cli(t, srv, "events", "stats")
	if code != exitOK || !strings.Contains(out, "\nrejected:  0\n") {
		t.Fatalf("exit %d %s\n%s", code, errs, out)
	}
}

func TestEnumValues(t *testing.T) {
	tests := []struct{ key, in, want string }{
		{"kind", "STREAM_KIND_PRICE", "price"},
		{"outcome", "ORDER_OUTCOME_ACCEPTED", "accepted"},
		{"code", "ERROR_CODE_NOT_FOUND", "not_found"},
		{"kind", "STREAM_KIND_UNSPECIFIED", "-"},
		{"kind", "KIND_BOOK", "book"},
		{"state", "RUNNING", "RUNNING"},          // not an enum of this key
		{"symbol", "BTC_USDT", "BTC_USDT"},       // neither
		{"kind", "MYKIND_PRICE", "MYKIND_PRICE"}, // the key is a whole word of the name
	}
	for _, tt := range tests {
		if got := formatScalar(tt.key, &value{kind: kindString, str: tt.in}); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.key, tt.in, got, tt.want)
		}
	}
}
