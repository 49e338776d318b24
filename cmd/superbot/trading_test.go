package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestTradingParamsSent: each trading command sends its method with the
// params the proto messages name.
func TestTradingParamsSent(t *testing.T) {
	srv := newServer(t)
	for _, m := range []string{"trading.positions", "trading.orders", "trading.fills", "trading.pnl", "trading.halt", "trading.resume",
		"trading.reconcile", "trading.order.place", "trading.order.cancel", "trading.order.cancel_all", "trading.strategy.start",
		"trading.strategy.stop", "trading.strategy.pause", "journal.backup", "market.subscribe", "market.unsubscribe", "trading.balance", "trading.strategies"} {
		srv.HandleResult(m, map[string]any{})
	}
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	abs, err := filepath.Abs("j.db")
	if err != nil {
		t.Fatal(err)
	}
	backup, _ := json.Marshal(map[string]string{"path": abs})
	tests := []struct {
		args   []string
		method string
		params string
	}{
		{[]string{"trading", "positions"}, "trading.positions", `{}`},
		{[]string{"trading", "positions", "--strategy", "btc_trend"}, "trading.positions", `{"strategy":"btc_trend"}`},
		{[]string{"trading", "orders", "--strategy", "a", "--symbol", "btcusdt", "--status", "OPEN", "--since", "2026-12-01", "--limit", "5"},
			"trading.orders", `{"limit":5,"since_ms":` + itoa64(since) + `,"status":"open","strategy":"a","symbol":"BTCUSDT"}`},
		{[]string{"trading", "fills", "--symbol", "ETHUSDT"}, "trading.fills", `{"symbol":"ETHUSDT"}`},
		{[]string{"trading", "pnl"}, "trading.pnl", `{}`},
		{[]string{"trading", "balance"}, "trading.balance", ``},
		{[]string{"trading", "strategies"}, "trading.strategies", ``},
		{[]string{"trading", "halt", "fat", "finger", "--cancel-orders"}, "trading.halt", `{"cancel_orders":true,"flatten":false,"reason":"fat finger"}`},
		{[]string{"trading", "resume"}, "trading.resume", ``},
		{[]string{"trading", "resume", "btc_trend"}, "trading.resume", `{"strategy":"btc_trend"}`},
		{[]string{"trading", "reconcile", "--run"}, "trading.reconcile", `{"run":true}`},
		{[]string{"trading", "order", "place", "btcusdt", "buy", "0.001"}, "trading.order.place",
			`{"quantity":"0.001","side":"BUY","strategy":"manual","symbol":"BTCUSDT","type":"MARKET"}`},
		{[]string{"trading", "order", "place", "BTCUSDT", "sell", "0.5", "70000", "--strategy", "s1", "--tif", "ioc", "--client-id", "my-1"}, "trading.order.place",
			`{"client_order_id":"my-1","price":"70000","quantity":"0.5","side":"SELL","strategy":"s1","symbol":"BTCUSDT","time_in_force":"IOC","type":"LIMIT"}`},
		{[]string{"trading", "order", "cancel", "sb-manual-7"}, "trading.order.cancel", `{"client_order_id":"sb-manual-7"}`},
		{[]string{"trading", "order", "cancel-all", "--symbol", "BTCUSDT"}, "trading.order.cancel_all", `{"symbol":"BTCUSDT"}`},
		{[]string{"trading", "strategy", "start", "btc_trend"}, "trading.strategy.start", `{"name":"btc_trend"}`},
		{[]string{"trading", "strategy", "stop", "btc_trend"}, "trading.strategy.stop", `{"name":"btc_trend"}`},
		{[]string{"trading", "strategy", "pause", "btc_trend"}, "trading.strategy.pause", `{"name":"btc_trend"}`},
		{[]string{"journal", "backup", "j.db"}, "journal.backup", string(backup)},
		{[]string{"market", "subscribe", "btcusdt", "kline", "--interval", "5m"}, "market.subscribe", `{"interval":"5m","kind":"STREAM_KIND_KLINE","symbol":"BTCUSDT"}`},
		{[]string{"market", "unsubscribe", "BTCUSDT", "price"}, "market.unsubscribe", `{"kind":"STREAM_KIND_PRICE","symbol":"BTCUSDT"}`},
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

func itoa64(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestTradingUsageErrors: bad trading command lines send nothing.
func TestTradingUsageErrors(t *testing.T) {
	srv := newServer(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"trading", "order"}, "missing subcommand: place, cancel, cancel-all"},
		{[]string{"trading", "order", "plase"}, `unknown subcommand "plase" (one of: place, cancel, cancel-all)`},
		{[]string{"trading", "strategy", "start"}, "missing NAME"},
		{[]string{"trading", "order", "place", "BTCUSDT", "hold", "1"}, "side must be buy or sell"},
		{[]string{"trading", "order", "place", "BTCUSDT", "buy", "0"}, "QUANTITY must be a positive number"},
		{[]string{"trading", "order", "place", "BTCUSDT", "buy", "1", "--type", "limit"}, "a limit order needs PRICE"},
		{[]string{"trading", "orders", "--since", "yesterday"}, "--since: want a duration"},
		{[]string{"trading", "orders", "--limit", "0"}, "--limit: want 1 to 10000"},
		{[]string{"trading", "balance", "--strategy", "a"}, "--strategy"},
		{[]string{"market", "subscribe", "BTCUSDT", "depth"}, "stream kind must be price, kline or book"},
		{[]string{"market", "subscribe", "BTCUSDT", "price", "--interval", "1m"}, "--interval applies to kline streams only"},
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

// TestTradingViews: the human tables of the trading results.
func TestTradingViews(t *testing.T) {
	srv := newServer(t)
	created := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC).UnixMilli()
	order := `{"client_order_id":"sb-btc_trend-1","strategy":"btc_trend","symbol":"BTCUSDT","side":"BUY","type":"LIMIT","quantity":"0.01",
	  "price":"60000","time_in_force":"GTC","status":"TRADE_ORDER_STATUS_PARTIALLY_FILLED","exchange_order_id":7,"executed_qty":"0.004",
	  "cumulative_quote_qty":"240","avg_price":"60000","created_ms":` + itoa64(created) + `,"updated_ms":0,"reason":"","mode":"paper","not_found":0}`
	srv.HandleResult("trading.orders", json.RawMessage(`{"orders":[`+order+`]}`))
	srv.HandleResult("trading.order.place", json.RawMessage(`{"order":`+order+`}`))
	srv.HandleResult("trading.fills", json.RawMessage(`{"fills":[]}`))
	srv.HandleResult("trading.positions", json.RawMessage(`{"positions":[{"strategy":"btc_trend","symbol":"BTCUSDT","quantity":"0.004","avg_price":"60000",
	  "last_price":"61000","realized_pnl":"0","unrealized_pnl":"4","fees":"0.24","notional":"244","updated_ms":0}],
	  "account":[{"strategy":"","symbol":"BTCUSDT","quantity":"0.004","avg_price":"60000","last_price":"61000","realized_pnl":"0","unrealized_pnl":"4","fees":"0.24","notional":"244","updated_ms":0}]}`))
	book := `{"strategy":"btc_trend","allocation":"1000","quote_asset":"USDT","used":"244","available":"756","realized_pnl":"0","unrealized_pnl":"4",
	  "fees":"0.24","daily_pnl":"3.76","open_orders":1,"halted":""}`
	srv.HandleResult("trading.balance", json.RawMessage(`{"mode":"paper","balances":[{"asset":"USDT","free":"9760","locked":"0"}],"strategies":[`+book+`],"updated_ms":`+itoa64(created)+`}`))
	srv.HandleResult("trading.pnl", json.RawMessage(`{"strategies":[`+book+`],"account":{"strategy":"","allocation":"","quote_asset":"USDT","used":"244",
	  "available":"","realized_pnl":"0","unrealized_pnl":"4","fees":"0.24","daily_pnl":"3.76","open_orders":1,"halted":""}}`))
	srv.HandleResult("trading.strategies", json.RawMessage(`{"strategies":[{"name":"btc_trend","kind":"sma_cross","symbol":"BTCUSDT","interval":"1m",
	  "state":"running","allocation":"1000 USDT","halted_reason":"","bars":120,"orders":3,"state_saved_ms":0}]}`))
	when := time.UnixMilli(created).Local().Format(timeLayout)
	tests := []struct {
		args []string
		res  []string
	}{
		{[]string{"trading", "orders"}, []string{`(?m)^TIME\s+CLIENT ORDER ID\s+STRATEGY\s+SYMBOL\s+SIDE\s+TYPE\s+QTY\s+PRICE\s+FILLED\s+AVG\s+STATUS\s+REASON$`,
			`(?m)^` + regexp.QuoteMeta(when) + `\s+sb-btc_trend-1\s+btc_trend\s+BTCUSDT\s+BUY\s+LIMIT\s+0\.01\s+60000\s+0\.004\s+60000\s+partially_filled\s+-$`}},
		{[]string{"trading", "order", "place", "BTCUSDT", "buy", "0.01", "60000"}, []string{`(?m)^.*sb-btc_trend-1.*partially_filled\s+-$`}},
		{[]string{"trading", "fills"}, []string{`(?m)^no fills$`}},
		{[]string{"trading", "positions"}, []string{`(?m)^btc_trend\s+BTCUSDT\s+0\.004\s+60000\s+61000\s+244\s+4\s+0\s+0\.24$`, `(?m)^account:$`, `(?m)^BTCUSDT\s+0\.004\s+60000`}},
		{[]string{"trading", "balance"}, []string{`(?m)^mode: paper   as of ` + regexp.QuoteMeta(when) + `$`, `(?m)^USDT\s+9760\s+0$`, `(?m)^strategies:$`,
			`(?m)^btc_trend\s+1000\s+USDT\s+244\s+756\s+0\s+4\s+0\.24\s+3\.76\s+1\s+-$`}},
		{[]string{"trading", "pnl"}, []string{`(?m)^btc_trend\s+1000`, `(?m)^\(account\)\s+-\s+USDT\s+244\s+-\s+0\s+4\s+0\.24\s+3\.76\s+1\s+-$`}},
		{[]string{"trading", "strategies"}, []string{`(?m)^NAME\s+KIND\s+SYMBOL\s+INTERVAL\s+STATE`, `(?m)^btc_trend\s+sma_cross\s+BTCUSDT\s+1m\s+running\s+1000 USDT\s+120\s+3\s+-\s+-$`}},
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
