package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// flagDef is one flag. Every flag name is unique across commands, so the
// arguments can be split into words and flags before the command is known;
// the command then says which flags it accepts.
type flagDef struct {
	name  string // long name, without dashes
	short string // one-letter alias, or ""
	arg   string // the value's placeholder; "" for a boolean flag
	help  string
	multi bool // may be repeated
}

// globalFlags are accepted by every command, before or after its words.
var globalFlags = []flagDef{
	{name: "json", help: "print the raw JSON result (one JSON value per line for streams)"},
	{name: "socket", arg: "PATH", help: "daemon socket (default: see Finding the daemon)"},
	{name: "addr", arg: "HOST:PORT", help: "connect over TCP instead of the socket (needs a token)"},
	{name: "token", arg: "TOKEN", help: "auth token (default $SUPERBOT_TOKEN, else the daemon's token file)"},
	{name: "state-dir", arg: "DIR", help: "daemon state directory holding superbot.sock and token"},
	{name: "timeout", arg: "DURATION", help: "deadline to connect and for each call (default 30s)"},
	{name: "node", arg: "NODE", help: "clustered: the node that answers (the CLI's daemon relays the call)"},
	{name: "help", short: "h", help: "show help"},
}

// commandFlags are the flags only some commands accept.
var commandFlags = []flagDef{
	// Shared by the data and backtest commands.
	{name: "from", arg: "WHEN", help: "start: a date (2024-01-01, UTC midnight) or an RFC 3339 time (backtest run: also Unix ms)"},
	{name: "to", arg: "WHEN", help: "end, exclusive: a date or an RFC 3339 time (default: now; backtest: the end of the stored data)"},
	{name: "local", help: "run in this process, without the daemon (the same config; its own connector and candle store)"},
	{name: "config", arg: "PATH", help: "with --local: config file or directory (default: embedded defaults overlaid by ./config)"},
	{name: "detach", help: "print the job id and leave the job running in the daemon"},
	{name: "param", arg: "KEY=VALUE", multi: true, help: "module or strategy param; VALUE is sent as JSON when it parses as JSON, else as a string"},
	{name: "force", help: "stop without waiting for modules to finish"},
	{name: "follow", short: "f", help: "keep printing new lines until Ctrl-C"},
	{name: "lines", short: "n", arg: "N", help: "number of recent lines (default 100)"},
	{name: "count", arg: "N", help: "exit after N events (default: run until Ctrl-C)"},
	{name: "queue", arg: "N", help: "daemon-side queue size of the subscription (default: the bus default)"},
	{name: "source", arg: "NAME", help: "event source (default superbot-cli)"},
	{name: "limit", arg: "N", help: "number of levels, candles or rows"},
	{name: "interval", arg: "INTERVAL", help: "candle interval: 1m, 5m, 1h, 1d, ... (default 1m)"},
	{name: "strategy", arg: "NAME", help: "only this strategy's (for order place: the strategy that owns the order, default manual; for backtest run: the strategy kind)"},
	{name: "symbol", arg: "SYMBOL", help: "only this symbol's (for backtest run: SYMBOL[,SYMBOL...])"},
	{name: "status", arg: "STATUS", help: "only orders in this status: open, new, partially_filled, filled, canceled, rejected, expired, unknown, lost, ..."},
	{name: "since", arg: "WHEN", help: "only since WHEN: a duration back from now (1h), a date (2026-12-01) or an RFC 3339 time"},
	{name: "type", arg: "TYPE", help: "order type: LIMIT, MARKET, LIMIT_MAKER, ... (default LIMIT with a price, else MARKET)"},
	{name: "tif", arg: "TIF", help: "time in force of a limit order: GTC, IOC, FOK (default GTC)"},
	{name: "client-id", arg: "ID", help: "client order id ([a-zA-Z0-9-_]{1,36}); sending the same id again never places a second order"},
	{name: "run", help: "run a reconciliation now instead of showing the last one"},
	{name: "cancel-orders", help: "also cancel the open orders"},
	{name: "flatten", help: "also close the positions with market orders"},
}

func lookupFlag(name string) (flagDef, bool) {
	for _, set := range [][]flagDef{globalFlags, commandFlags} {
		for _, f := range set {
			if f.name == name || (f.short != "" && f.short == name) {
				return f, true
			}
		}
	}
	return flagDef{}, false
}

// usageError is a mistake in the command line: exit code 2, nothing sent.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// flagSet holds the parsed flags by long name; boolean flags hold "true".
type flagSet map[string][]string

func (fs flagSet) has(name string) bool { return len(fs[name]) > 0 }

func (fs flagSet) str(name string) string {
	if v := fs[name]; len(v) > 0 {
		return v[len(v)-1]
	}
	return ""
}

func (fs flagSet) bool(name string) bool { return fs.str(name) == "true" }

// int returns a non-negative integer flag, def when absent.
func (fs flagSet) int(name string, def int) (int, error) {
	s := fs.str(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, usagef("--%s: want a non-negative integer, got %q", name, s)
	}
	return n, nil
}

func (fs flagSet) duration(name string, def time.Duration) (time.Duration, error) {
	s := fs.str(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, usagef("--%s: want a positive duration such as 10s, got %q", name, s)
	}
	return d, nil
}

// splitArgs separates words from flags. Flags may come anywhere; "--" ends
// them. Forms: --name, --name=value, --name value, -x, -x value, -x=value.
func splitArgs(args []string) (words []string, flags flagSet, err error) {
	flags = flagSet{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			words = append(words, args[i+1:]...)
			break
		}
		if len(a) < 2 || a[0] != '-' {
			words = append(words, a)
			continue
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		value, hasValue := "", false
		if k, v, ok := strings.Cut(name, "="); ok {
			name, value, hasValue = k, v, true
		}
		def, ok := lookupFlag(name)
		if !ok || (len(name) == 1 && strings.HasPrefix(a, "--")) {
			return nil, nil, usagef("unknown flag %s", a)
		}
		switch {
		case def.arg == "" && hasValue:
			b, perr := strconv.ParseBool(value)
			if perr != nil {
				return nil, nil, usagef("flag --%s takes no value", def.name)
			}
			value = strconv.FormatBool(b)
		case def.arg == "":
			value = "true"
		case !hasValue:
			if i+1 >= len(args) {
				return nil, nil, usagef("flag --%s needs a value (%s)", def.name, def.arg)
			}
			i++
			value = args[i]
		}
		if !def.multi && len(flags[def.name]) > 0 && def.arg != "" {
			return nil, nil, usagef("flag --%s given twice", def.name)
		}
		flags[def.name] = append(flags[def.name], value)
	}
	return words, flags, nil
}
