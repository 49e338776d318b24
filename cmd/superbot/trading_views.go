package main

import (
	"encoding/json"
	"io"
	"strings"
	"time"
)

// Views of the trading results (proto/superbot/v1/trading.proto). Prices
// and quantities are decimal strings, shown as sent; times are Unix ms.

// column is one column of a trading table: its heading and the field it
// shows.
type column struct {
	head, key string
}

var (
	orderColumns = []column{{"TIME", "created_ms"}, {"CLIENT ORDER ID", "client_order_id"}, {"STRATEGY", "strategy"},
		{"SYMBOL", "symbol"}, {"SIDE", "side"}, {"TYPE", "type"}, {"QTY", "quantity"}, {"PRICE", "price"},
		{"FILLED", "executed_qty"}, {"AVG", "avg_price"}, {"STATUS", "status"}, {"REASON", "reason"}}
	fillColumns = []column{{"TIME", "time_ms"}, {"CLIENT ORDER ID", "client_order_id"}, {"STRATEGY", "strategy"},
		{"SYMBOL", "symbol"}, {"SIDE", "side"}, {"PRICE", "price"}, {"QTY", "quantity"}, {"FEE", "fee"},
		{"FEE ASSET", "fee_asset"}, {"MAKER", "maker"}}
	positionColumns = []column{{"STRATEGY", "strategy"}, {"SYMBOL", "symbol"}, {"QTY", "quantity"}, {"AVG PRICE", "avg_price"},
		{"LAST", "last_price"}, {"NOTIONAL", "notional"}, {"UNREALIZED", "unrealized_pnl"}, {"REALIZED", "realized_pnl"}, {"FEES", "fees"}}
	bookColumns = []column{{"STRATEGY", "strategy"}, {"ALLOCATION", "allocation"}, {"ASSET", "quote_asset"}, {"USED", "used"},
		{"AVAILABLE", "available"}, {"REALIZED", "realized_pnl"}, {"UNREALIZED", "unrealized_pnl"}, {"FEES", "fees"},
		{"DAILY PNL", "daily_pnl"}, {"OPEN", "open_orders"}, {"HALTED", "halted"}}
	balanceColumns  = []column{{"ASSET", "asset"}, {"FREE", "free"}, {"LOCKED", "locked"}}
	strategyColumns = []column{{"NAME", "name"}, {"KIND", "kind"}, {"SYMBOL", "symbol"}, {"INTERVAL", "interval"},
		{"STATE", "state"}, {"ALLOCATION", "allocation"}, {"BARS", "bars"}, {"ORDERS", "orders"},
		{"STATE SAVED", "state_saved_ms"}, {"HALTED", "halted_reason"}}
)

// cell renders one field of a trading row.
func cell(row *value, key string) string {
	v := row.get(key)
	if v == nil {
		return "-"
	}
	switch {
	case strings.HasSuffix(key, "_ms") && v.kind == kindNumber:
		return unixMillis(v.str)
	case key == "status" && v.kind == kindString:
		return strings.ToLower(strings.TrimPrefix(v.str, "TRADE_ORDER_STATUS_"))
	case v.kind == kindString:
		return orDash(oneLine(v.str))
	}
	return v.text(key)
}

// unixMillis shows Unix milliseconds as a local time ("-" for 0).
func unixMillis(s string) string {
	var ms int64
	if err := json.Unmarshal([]byte(s), &ms); err != nil || ms <= 0 {
		return "-"
	}
	return time.UnixMilli(ms).Local().Format(timeLayout)
}

// writeRows prints rows under cols, or none when there are none.
func writeRows(w io.Writer, rows *value, cols []column, none string) error {
	if rows == nil || len(rows.items) == 0 {
		fprintln(w, none)
		return nil
	}
	tw := newTable(w)
	heads := make([]string, len(cols))
	for i, c := range cols {
		heads[i] = c.head
	}
	fprintln(tw, strings.Join(heads, "\t"))
	for _, r := range rows.items {
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = cell(r, c.key)
		}
		fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

// parseObject parses a result that must be an object; false falls back to
// renderGeneric.
func parseObject(res json.RawMessage) (*value, bool) {
	v, err := parseOrdered(res)
	if err != nil || v.kind != kindObject {
		return nil, false
	}
	return v, true
}

func renderTradeOrders(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	return writeRows(w, v.get("orders"), orderColumns, "no orders")
}

func renderFills(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	return writeRows(w, v.get("fills"), fillColumns, "no fills")
}

func renderPositions(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	if err := writeRows(w, v.get("positions"), positionColumns, "no positions"); err != nil {
		return err
	}
	if acc := v.get("account"); acc != nil && len(acc.items) > 0 {
		fprintln(w, "\naccount:")
		return writeRows(w, acc, positionColumns[1:], "")
	}
	return nil
}

func renderBalance(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	fprintf(w, "mode: %s   as of %s\n\n", cell(v, "mode"), cell(v, "updated_ms"))
	if err := writeRows(w, v.get("balances"), balanceColumns, "no balances"); err != nil {
		return err
	}
	if books := v.get("strategies"); books != nil && len(books.items) > 0 {
		fprintln(w, "\nstrategies:")
		return writeRows(w, books, bookColumns, "")
	}
	return nil
}

func renderPnl(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	rows := &value{kind: kindArray}
	if s := v.get("strategies"); s != nil {
		rows.items = append(rows.items, s.items...)
	}
	if acc := v.get("account"); acc != nil && acc.kind == kindObject {
		total := acc.without("strategy")
		total.keys = append([]string{"strategy"}, total.keys...)
		total.vals = append([]*value{{kind: kindString, str: "(account)"}}, total.vals...)
		rows.items = append(rows.items, total)
	}
	return writeRows(w, rows, bookColumns, "no strategies")
}

func renderStrategies(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok {
		return renderGeneric(w, res)
	}
	return writeRows(w, v.get("strategies"), strategyColumns, "no strategies configured ([trading.strategies.NAME])")
}

// renderStrategy prints the strategy a start, stop or pause answers with.
func renderStrategy(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok || v.get("strategy") == nil {
		return renderGeneric(w, res)
	}
	return writeRows(w, &value{kind: kindArray, items: []*value{v.get("strategy")}}, strategyColumns, "")
}

// renderPlaced prints the order a place or cancel answers with.
func renderPlaced(w io.Writer, res json.RawMessage) error {
	v, ok := parseObject(res)
	if !ok || v.get("order") == nil {
		return renderGeneric(w, res)
	}
	return writeRows(w, &value{kind: kindArray, items: []*value{v.get("order")}}, orderColumns, "")
}
