package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// reportCommands are the report commands (issue 11): the weekly trading
// report and the backtest drift report, written by the daemon's reports
// actor under its reports/ directory.
func reportCommands() []*command {
	return []*command{
		{name: "report weekly", method: "report.weekly",
			summary: "write the weekly trading report (last 7 days: PnL, fees, trades, drawdown per strategy and for the account) as Markdown and HTML",
			run:     simple("report.weekly", noParams, renderWeeklyReport)},
		{name: "report drift", args: []argSpec{{name: "STRATEGY"}}, flags: []string{"days"}, method: "report.drift",
			summary: "backtest a strategy over the last days and compare it with what it did in paper/live trading (the drift report)",
			run:     simple("report.drift", driftParams, renderDriftReport)},
	}
}

// init registers the report commands' own flag.
func init() {
	commandFlags = append(commandFlags, flagDef{name: "days", arg: "N", help: "days back the drift report's backtest covers, 1 to 366 (default 1)"})
}

func driftParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"strategy": args[0]}
	if f.has("days") {
		n, err := f.int("days", 1)
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 366 {
			return nil, usagef("--days: want 1 to 366, got %d", n)
		}
		p["days"] = n
	}
	return p, nil
}

var reportBookColumns = []column{{"BOOK", "strategy"}, {"ORDERS", "orders"}, {"TRADES", "trades"}, {"BOUGHT", "buy_quote"},
	{"SOLD", "sell_quote"}, {"REALIZED", "realized_pnl"}, {"FEES", "fees"}, {"NET", "net_pnl"}, {"MAX DRAWDOWN", "max_drawdown"}}

func renderWeeklyReport(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	fprintf(w, "weekly report %s .. %s\n%s\n%s\n\n", cell(v, "from_ms"), cell(v, "to_ms"), cell(v, "markdown_path"), cell(v, "html_path"))
	if err := writeRows(w, v.get("strategies"), reportBookColumns, "no strategy traded"); err != nil {
		return err
	}
	if acc := v.get("account"); acc != nil && acc.kind == kindObject {
		fprintln(w, "\naccount:")
		return writeRows(w, &value{kind: kindArray, items: []*value{acc}}, reportBookColumns[1:], "")
	}
	return nil
}

var (
	driftSideColumns = []column{{"ORDERS", "orders"}, {"FILLS", "fills"}, {"BOUGHT", "buy_qty"}, {"SOLD", "sell_qty"},
		{"FEES BUY", "fees_buy"}, {"FEES SELL", "fees_sell"}, {"PNL", "pnl"}}
	driftOrderColumns = []column{{"TIME", "time_ms"}, {"SIDE", "side"}, {"TYPE", "type"}, {"PRICE", "price"},
		{"QTY", "quantity"}, {"STATUS", "status"}, {"ID", "client_order_id"}}
)

func renderDriftReport(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	verdict := "no drift"
	if d := v.get("drift"); d != nil && d.str == "true" {
		verdict = "DRIFT"
	}
	fprintf(w, "drift report %s %s .. %s: %s (matched orders %s, pnl gap %s)\n%s\n%s\n", cell(v, "strategy"),
		cell(v, "from_ms"), cell(v, "to_ms"), verdict, cell(v, "matched"), cell(v, "pnl_gap"), cell(v, "markdown_path"), cell(v, "html_path"))
	for _, s := range []struct{ title, key string }{{"backtest", "backtest"}, {"journal (paper/live)", "live"}} {
		fprintf(w, "\n%s:\n", s.title)
		side := v.get(s.key)
		if side == nil || side.kind != kindObject {
			fprintln(w, "nothing")
			continue
		}
		if err := writeRows(w, &value{kind: kindArray, items: []*value{side}}, driftSideColumns, ""); err != nil {
			return err
		}
	}
	for _, s := range []struct{ title, key string }{{"only in the backtest", "only_backtest"}, {"only in the journal", "only_live"}} {
		if l := v.get(s.key); l != nil && cell(v, s.key+"_count") != fmt.Sprint(len(l.items)) {
			fprintf(w, "\n%s (the first %d of %s):\n", s.title, len(l.items), cell(v, s.key+"_count"))
		} else {
			fprintf(w, "\n%s:\n", s.title)
		}
		if err := writeRows(w, v.get(s.key), driftOrderColumns, "none"); err != nil {
			return err
		}
	}
	return nil
}
