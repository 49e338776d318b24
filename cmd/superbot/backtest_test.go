package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const btJob = `{"id":"bt1-1","state":"done","strategy":"sma_cross","symbols":["BTCUSDT"],"interval":"1m","from_ms":1704067200000,
 "to_ms":1704240000000,"sweep":false,"done":2880,"total":2880,"progress":1,"eta_ms":0,"created_ms":1704067200000,"started_ms":0,
 "finished_ms":0,"workers":0,"error":"","queue_position":0}`

// TestBacktestParamsSent: backtest run builds backtest.run's params from
// the flags (dates, params, sweeps), follows the job and fetches its
// result; the other commands send the job id.
func TestBacktestParamsSent(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("backtest.run", json.RawMessage(`{"job":`+btJob+`}`))
	srv.HandleResult("backtest.status", json.RawMessage(`{"job":`+btJob+`}`))
	srv.HandleResult("backtest.result", json.RawMessage(`{"job":`+btJob+`,"summary":"total return  12.00 %\n","files":[]}`))
	srv.HandleResult("backtest.cancel", json.RawMessage(`{"job":`+btJob+`}`))
	srv.HandleResult("backtest.list", json.RawMessage(`{"jobs":[`+btJob+`]}`))
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	to := time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC).UnixMilli()
	tests := []struct {
		args    []string
		methods []string
		params  string // of the first request
	}{
		{[]string{"backtest", "run", "--strategy", "sma_cross", "--symbol", "btcusdt", "--from", "2024-01-01", "--to", "2024-01-03",
			"--param", "fast=5", "--param", "slow=20"}, []string{"backtest.run", "backtest.status", "backtest.result"},
			`{"from_ms":` + itoa64(from) + `,"interval":"1m","params":{"fast":5,"slow":20},"strategy":"sma_cross","symbols":["BTCUSDT"],"to_ms":` + itoa64(to) + `}`},
		{[]string{"backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT,ETHUSDT", "--interval", "15m", "--from", "1704067200000",
			"--sweep", "fast=5:20:5", "--sweep", "slow=20,30,40", "--metric", "sortino", "--random", "3", "--walk-forward", "4",
			"--allocation", "500", "--taker-fee", "0.0005", "--slippage", "0.0001", "--detach"}, []string{"backtest.run"},
			`{"allocation":500,"from_ms":1704067200000,"interval":"15m","params":{},"slippage":0.0001,"strategy":"sma_cross",` +
				`"sweep":{"metric":"sortino","params":[{"name":"fast","values":[5,10,15,20]},{"name":"slow","values":[20,30,40]}],"random":3,"walk_forward":4},` +
				`"symbols":["BTCUSDT","ETHUSDT"],"taker_fee":0.0005}`},
		{[]string{"backtest", "status", "bt1-1"}, []string{"backtest.status"}, `{"id":"bt1-1"}`},
		{[]string{"backtest", "result", "bt1-1"}, []string{"backtest.result"}, `{"id":"bt1-1"}`},
		{[]string{"backtest", "cancel", "bt1-1"}, []string{"backtest.cancel"}, `{"id":"bt1-1"}`},
		{[]string{"backtest", "list"}, []string{"backtest.list"}, ``},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			before := len(srv.Requests())
			if code, _, errs := cli(t, srv, tt.args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			reqs := srv.Requests()[before:]
			var methods []string
			for _, r := range reqs {
				methods = append(methods, r.Method)
			}
			if strings.Join(methods, " ") != strings.Join(tt.methods, " ") {
				t.Fatalf("called %v, want %v", methods, tt.methods)
			}
			if string(reqs[0].Params) != tt.params {
				t.Fatalf("sent %s\nwant %s", reqs[0].Params, tt.params)
			}
		})
	}
}

// TestBacktestUsageErrors: bad backtest command lines send nothing.
func TestBacktestUsageErrors(t *testing.T) {
	srv := newServer(t)
	base := []string{"backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--from", "2024-01-01"}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"backtest", "run", "--symbol", "BTCUSDT", "--from", "2024-01-01"}, "--strategy KIND is required"},
		{[]string{"backtest", "run", "--strategy", "sma_cross", "--from", "2024-01-01"}, "--symbol SYMBOL[,SYMBOL...] is required"},
		{[]string{"backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT"}, "--from WHEN is required"},
		{append(base, "--to", "yesterday"), `--to: want a date (2024-01-01), an RFC 3339 time or Unix ms, got "yesterday"`},
		{append(base, "--param", "fast"), `--param "fast": want NAME=VALUE`},
		{append(base, "--sweep", "fast=20:5"), `--sweep fast: want LO <= HI and STEP > 0, got "20:5"`},
		{append(base, "--sweep", "fast=1:10:0"), "STEP > 0"},
		{append(base, "--sweep", "fast=a,b"), `--sweep fast: "a" is not a number`},
		{append(base, "--sweep", "fast=1:1000000"), "more than 10000"},
		{append(base, "--sweep", "fast=1:3", "--param", "fast=2"), "--sweep fast: also given with --param"},
		{append(base, "--metric", "sharpe"), "--metric applies to a sweep"},
		{append(base, "--allocation", "lots"), `--allocation: want a number, got "lots"`},
		{append(base, "--data-dir", "x"), "--data-dir goes with --local"},
		{append(base, "--config", "x"), "--config goes with --local"},
		{append(base, "--html", "/nonexistent/dir/r.html"), "its directory does not exist"},
		{[]string{"backtest", "run", "--strategy", "nope", "--symbol", "BTCUSDT", "--from", "2024-01-01", "--local"}, `strategy: unknown strategy kind "nope" (known: grid, sma_cross)`},
		{append(base, "--local", "--to", "2023-01-01"), "to_ms: must be after from_ms"},
		{[]string{"backtest", "status"}, "missing JOB"},
		{[]string{"backtest", "run", "--json", "r.json"}, "unexpected argument"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errs := cli(t, srv, tt.args...)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, exitUsage, tt.want)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// TestBacktestViews: the human views of the backtest results.
func TestBacktestViews(t *testing.T) {
	srv := newServer(t)
	dir := t.TempDir()
	html := filepath.Join(dir, "daemon-report.html")
	if err := os.WriteFile(html, []byte("<html>report</html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	queued := strings.Replace(strings.Replace(btJob, `"state":"done"`, `"state":"queued"`, 1), `"queue_position":0`, `"queue_position":2`, 1)
	srv.HandleResult("backtest.list", json.RawMessage(`{"jobs":[`+queued+`]}`))
	srv.HandleResult("backtest.status", json.RawMessage(`{"job":`+btJob+`}`))
	srv.HandleResult("backtest.result", json.RawMessage(`{"job":`+btJob+`,"summary":"total return  12.00 %\n","metric":"sharpe",
	  "files":[{"kind":"html","path":"`+html+`","bytes":19}],
	  "points":[{"params":{"fast":5,"slow":20},"score":1.5,"trades":7,"out_of_sample":0.5},{"params":{"fast":10,"slow":20},"score":0.25,"trades":3}]}`))
	srv.HandleResult("backtest.run", json.RawMessage(`{"job":`+btJob+`}`))
	copied := filepath.Join(dir, "mine.html")
	tests := []struct {
		args []string
		res  []string
	}{
		{[]string{"backtest", "list"}, []string{`(?m)^JOB\s+STATE\s+STRATEGY\s+SYMBOLS\s+INTERVAL\s+FROM\s+TO\s+PROGRESS\s+ETA\s+CREATED$`,
			`(?m)^bt1-1\s+queued \(#2\)\s+sma_cross\s+BTCUSDT\s+1m\s+2024-01-01\s+2024-01-03\s+100%\s+-\s+`}},
		{[]string{"backtest", "status", "bt1-1"}, []string{`(?m)^state:\s+done$`, `(?m)^backtest:\s+sma_cross on BTCUSDT 1m, 2024-01-01 to 2024-01-03$`,
			`(?m)^progress:\s+100% \(2880/2880\)$`}},
		{[]string{"backtest", "result", "bt1-1"}, []string{`(?m)^sweep: 2 points ranked by sharpe`, `(?m)^RANK\s+FAST\s+SLOW\s+SCORE\s+TRADES\s+OUT OF SAMPLE$`,
			`(?m)^1\s+5\s+20\s+1\.5\s+7\s+0\.5$`, `(?m)^2\s+10\s+20\s+0\.25\s+3\s+-$`, `(?m)^total return  12\.00 %$`, `(?m)^  html .*daemon-report\.html`}},
		{[]string{"backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--from", "2024-01-01", "--html", copied},
			[]string{`(?m)^backtest bt1-1: sma_cross on BTCUSDT 1m$`, `(?m)^total return  12\.00 %$`}},
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
	if b, err := os.ReadFile(copied); err != nil || string(b) != "<html>report</html>" {
		t.Fatalf("--html copy: %q %v", b, err)
	}
}

// TestBacktestRunFailure: a job that fails is an error with its reason.
func TestBacktestRunFailure(t *testing.T) {
	srv := newServer(t)
	failed := strings.Replace(strings.Replace(btJob, `"state":"done"`, `"state":"failed"`, 1), `"error":""`, `"error":"load BTCUSDT 1m: no bars"`, 1)
	srv.HandleResult("backtest.run", json.RawMessage(`{"job":`+btJob+`}`))
	srv.HandleResult("backtest.status", json.RawMessage(`{"job":`+failed+`}`))
	code, _, errs := cli(t, srv, "backtest", "run", "--strategy", "sma_cross", "--symbol", "BTCUSDT", "--from", "2024-01-01")
	if code != exitRPCError || !strings.Contains(errs, "backtest bt1-1 failed: load BTCUSDT 1m: no bars") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}
