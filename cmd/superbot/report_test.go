package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

// TestReportCommands: report weekly and report drift send their methods
// and params, refuse bad days without sending, and print their tables.
func TestReportCommands(t *testing.T) {
	srv := newServer(t)
	book := `"orders":4,"trades":3,"realized_pnl":"10","fees":"0.35","net_pnl":"9.65","max_drawdown":"10.1","buy_quote":"120","sell_quote":"230"`
	srv.HandleResult("report.weekly", json.RawMessage(`{"html_path":"/r/weekly.html","markdown_path":"/r/weekly.md","from_ms":1,"to_ms":2,
	  "strategies":[{"strategy":"alpha",`+book+`}],"account":{"strategy":"",`+book+`}}`))
	srv.HandleResult("report.drift", json.RawMessage(`{"html_path":"/r/d.html","markdown_path":"/r/d.md","strategy":"trend","from_ms":1,"to_ms":2,
	  "backtest":{"orders":3,"fills":3,"pnl":"14.69","fees_buy":"0.2","fees_sell":"0.11","buy_qty":"2","sell_qty":"1"},
	  "live":{"orders":3,"fills":3,"pnl":"14.1995","fees_buy":"0.3005","fees_sell":"0","buy_qty":"3","sell_qty":"0"},
	  "matched":2,"only_backtest":[{"time_ms":1,"side":"SELL","type":"MARKET","price":"110","quantity":"1","status":"FILLED","client_order_id":"bt-1"}],
	  "only_live":[],"only_backtest_count":120,"only_live_count":0,"pnl_gap":"-0.4905","drift":true}`))
	for _, tt := range []struct {
		args   []string
		method string
		params string
		out    []string
	}{
		{[]string{"report", "weekly"}, "report.weekly", ``, []string{`(?m)^/r/weekly\.md$`, `(?m)^BOOK\s+ORDERS\s+TRADES`,
			`(?m)^alpha\s+4\s+3\s+120\s+230\s+10\s+0\.35\s+9\.65\s+10\.1$`, `(?m)^account:$`}},
		{[]string{"report", "drift", "trend"}, "report.drift", `{"strategy":"trend"}`, []string{`DRIFT \(matched orders 2, pnl gap -0\.4905\)`,
			`(?m)^3\s+3\s+2\s+1\s+0\.2\s+0\.11\s+14\.69$`, `(?m)^only in the backtest \(the first 1 of 120\):$`, `SELL\s+MARKET\s+110\s+1\s+filled\s+bt-1`, `(?m)^only in the journal:\nnone$`}},
		{[]string{"report", "drift", "trend", "--days", "7"}, "report.drift", `{"days":7,"strategy":"trend"}`, nil},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := cli(t, srv, tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != tt.method || string(last.Params) != tt.params {
				t.Fatalf("sent %s %s, want %s %s", last.Method, last.Params, tt.method, tt.params)
			}
			for _, re := range tt.out {
				if !regexp.MustCompile(re).MatchString(out) {
					t.Errorf("output lacks %s:\n%s", re, out)
				}
			}
		})
	}
	n := len(srv.Requests())
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "drift"}, "missing STRATEGY"},
		{[]string{"report", "drift", "trend", "--days", "0"}, "--days: want 1 to 366, got 0"},
		{[]string{"report", "drift", "trend", "--days", "x"}, "--days: want a non-negative integer"},
		{[]string{"report", "weekly", "--days", "2"}, "--days"},
	} {
		code, _, errs := cli(t, srv, tt.args...)
		if code != exitUsage || !strings.Contains(errs, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, errs, exitUsage, tt.want)
		}
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("%d requests sent by bad command lines", got-n)
	}
}
