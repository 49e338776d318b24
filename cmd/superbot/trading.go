package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// tradingCommands are the trading, journal and market stream commands
// (issue 10): each calls one method of the order actor, the strategy host
// or the connector.
func tradingCommands() []*command {
	name := []argSpec{{name: "NAME"}}
	filters := []string{"strategy", "symbol", "since", "limit"}
	return []*command{
		{name: "trading positions", flags: []string{"strategy"}, method: "trading.positions",
			summary: "each strategy's positions (quantity, average price, PnL, fees) and the account's per symbol",
			run:     simple("trading.positions", tradingFilters, renderPositions)},
		{name: "trading orders", flags: append([]string{"status"}, filters...), method: "trading.orders",
			summary: "orders from the journal, newest first (--status open|new|filled|canceled|unknown|lost|...)",
			run:     simple("trading.orders", tradingFilters, renderTradeOrders)},
		{name: "trading balance", method: "trading.balance", summary: "the account's balances and each strategy's allocation and use",
			run: simple("trading.balance", noParams, renderBalance)},
		{name: "trading fills", flags: filters, method: "trading.fills", summary: "fills from the journal, newest first",
			run: simple("trading.fills", tradingFilters, renderFills)},
		{name: "trading pnl", flags: []string{"strategy"}, method: "trading.pnl", summary: "realised and unrealised PnL and fees per strategy and for the account",
			run: simple("trading.pnl", tradingFilters, renderPnl)},
		{name: "trading strategies", method: "trading.strategies", summary: "the configured strategies and their state",
			run: simple("trading.strategies", noParams, renderStrategies)},
		{name: "trading halt", args: []argSpec{{name: "REASON", optional: true, variadic: true}}, flags: []string{"cancel-orders", "flatten"},
			method: "trading.halt", summary: "kill switch: no new orders from anyone until trading resume",
			run: simple("trading.halt", haltParams, renderGeneric)},
		{name: "trading resume", args: []argSpec{{name: "STRATEGY", optional: true}}, method: "trading.resume",
			summary: "lift a halt (of the account, or of one strategy's risk halt)",
			run:     simple("trading.resume", resumeParams, renderGeneric)},
		{name: "trading reconcile", flags: []string{"run"}, method: "trading.reconcile",
			summary: "the last reconciliation with the exchange (what it found and did, why it halted); --run starts one",
			run:     simple("trading.reconcile", reconcileParams, renderGeneric)},
		{name: "trading order place", args: []argSpec{{name: "SYMBOL"}, {name: "buy|sell"}, {name: "QUANTITY"}, {name: "PRICE", optional: true}},
			flags: []string{"strategy", "type", "tif", "client-id"}, method: "trading.order.place",
			summary: "place an order through the journal and the risk checks (a limit order with PRICE, else market; strategy \"manual\" by default)",
			run:     simple("trading.order.place", placeParams, renderPlaced)},
		{name: "trading order cancel", args: []argSpec{{name: "CLIENT-ORDER-ID"}}, method: "trading.order.cancel",
			summary: "cancel an order by its client order id",
			run:     simple("trading.order.cancel", cancelParams, renderPlaced)},
		{name: "trading order cancel-all", flags: []string{"strategy", "symbol"}, method: "trading.order.cancel_all",
			summary: "cancel the open orders of a strategy and/or symbol (neither: all)",
			run:     simple("trading.order.cancel_all", tradingFilters, renderTradeOrders)},
		{name: "trading strategy start", args: name, method: "trading.strategy.start", summary: "start a configured strategy",
			run: simple("trading.strategy.start", nameParams, renderStrategy)},
		{name: "trading strategy stop", args: name, method: "trading.strategy.stop", summary: "stop a strategy (its state is saved)",
			run: simple("trading.strategy.stop", nameParams, renderStrategy)},
		{name: "trading strategy pause", args: name, method: "trading.strategy.pause", summary: "pause a strategy: it keeps its data and state but sends no orders",
			run: simple("trading.strategy.pause", nameParams, renderStrategy)},

		{name: "journal backup", args: []argSpec{{name: "FILE"}}, method: "journal.backup",
			summary: "a consistent copy of the trading journal (SQLite, WAL included) into FILE, which must not exist",
			run:     simple("journal.backup", backupParams, renderGeneric)},

		{name: "market subscribe", args: []argSpec{{name: "SYMBOL"}, {name: "price|kline|book"}}, flags: []string{"interval"}, method: "market.subscribe",
			summary: "keep a market stream open; its data goes to the bus (price.SYMBOL.update, kline.SYMBOL.INTERVAL, book.SYMBOL.update)",
			run:     simple("market.subscribe", streamParams, renderGeneric)},
		{name: "market unsubscribe", args: []argSpec{{name: "SYMBOL"}, {name: "price|kline|book"}}, flags: []string{"interval"}, method: "market.unsubscribe",
			summary: "release a stream market subscribe opened",
			run:     simple("market.unsubscribe", streamParams, renderGeneric)},
	}
}

// tradingFilters builds the filters the trading list methods share from
// --strategy, --symbol, --status, --since and --limit (those the command
// accepts; the others are refused before this runs).
func tradingFilters(_ []string, f flagSet) (any, error) {
	p := map[string]any{}
	if s := f.str("strategy"); s != "" {
		p["strategy"] = s
	}
	if s := f.str("symbol"); s != "" {
		p["symbol"] = strings.ToUpper(s)
	}
	if s := f.str("status"); s != "" {
		p["status"] = strings.ToLower(s)
	}
	if f.has("since") {
		ms, err := sinceMillis(f.str("since"), time.Now())
		if err != nil {
			return nil, err
		}
		p["since_ms"] = ms
	}
	if f.has("limit") {
		n, err := f.int("limit", 0)
		if err != nil {
			return nil, err
		}
		if n < 1 || n > 10000 {
			return nil, usagef("--limit: want 1 to 10000, got %d", n)
		}
		p["limit"] = n
	}
	return p, nil
}

// sinceMillis reads --since: a duration back from now ("1h", "30m"), a
// date ("2026-12-01", UTC midnight) or an RFC 3339 time.
func sinceMillis(s string, now time.Time) (int64, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d).UnixMilli(), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, usagef("--since: want a duration back from now (1h, 30m), a date (2026-12-01) or an RFC 3339 time, got %q", s)
}

func haltParams(args []string, f flagSet) (any, error) {
	return map[string]any{"reason": strings.Join(args, " "), "cancel_orders": f.bool("cancel-orders"), "flatten": f.bool("flatten")}, nil
}

func resumeParams(args []string, _ flagSet) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return map[string]any{"strategy": args[0]}, nil
}

func reconcileParams(_ []string, f flagSet) (any, error) {
	return map[string]any{"run": f.bool("run")}, nil
}

// placeParams builds trading.order.place: SYMBOL SIDE QUANTITY [PRICE].
// Numbers are checked here and sent as the decimal strings typed.
func placeParams(args []string, f flagSet) (any, error) {
	side := strings.ToUpper(args[1])
	if side != "BUY" && side != "SELL" {
		return nil, usagef("superbot trading order place: side must be buy or sell, got %q", args[1])
	}
	if q, err := strconv.ParseFloat(args[2], 64); err != nil || q <= 0 {
		return nil, usagef("superbot trading order place: QUANTITY must be a positive number, got %q", args[2])
	}
	p := map[string]any{"symbol": strings.ToUpper(args[0]), "side": side, "quantity": args[2], "strategy": "manual", "type": "MARKET"}
	if len(args) > 3 {
		if v, err := strconv.ParseFloat(args[3], 64); err != nil || v <= 0 {
			return nil, usagef("superbot trading order place: PRICE must be a positive number, got %q", args[3])
		}
		p["price"], p["type"], p["time_in_force"] = args[3], "LIMIT", "GTC"
	}
	if s := f.str("strategy"); s != "" {
		p["strategy"] = s
	}
	if s := f.str("type"); s != "" {
		p["type"] = strings.ToUpper(s)
	}
	if p["type"] == "LIMIT" && len(args) < 4 {
		return nil, usagef("superbot trading order place: a limit order needs PRICE")
	}
	if s := f.str("tif"); s != "" {
		p["time_in_force"] = strings.ToUpper(s)
	}
	if s := f.str("client-id"); s != "" {
		p["client_order_id"] = s
	}
	return p, nil
}

func cancelParams(args []string, _ flagSet) (any, error) {
	return map[string]any{"client_order_id": args[0]}, nil
}

// backupParams sends FILE as an absolute path: the daemon's working
// directory is not the CLI's.
func backupParams(args []string, _ flagSet) (any, error) {
	path, err := filepath.Abs(args[0])
	if err != nil {
		return nil, usagef("superbot journal backup: %v", err)
	}
	return map[string]any{"path": path}, nil
}

// streamParams builds market.subscribe and market.unsubscribe params.
func streamParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"symbol": strings.ToUpper(args[0])}
	switch kind := strings.ToLower(args[1]); kind {
	case "price", "book":
		if f.has("interval") {
			return nil, usagef("--interval applies to kline streams only")
		}
		p["kind"] = "STREAM_KIND_" + strings.ToUpper(kind)
	case "kline":
		p["kind"], p["interval"] = "STREAM_KIND_KLINE", "1m"
		if iv := f.str("interval"); iv != "" {
			p["interval"] = iv
		}
	default:
		return nil, usagef("stream kind must be price, kline or book, got %q", args[1])
	}
	return p, nil
}
