package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/superbot/superbot/runtime/client"
)

// argSpec is one positional argument.
type argSpec struct {
	name     string
	optional bool
	variadic bool
}

// command is one subcommand, e.g. "module start".
type command struct {
	name    string
	args    []argSpec
	flags   []string // command flags accepted besides the global ones
	method  string   // the JSON-RPC method(s) it calls, for help
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

func (c *command) accepts(flag string) bool {
	for _, g := range globalFlags {
		if g.name == flag {
			return true
		}
	}
	return slices.Contains(c.flags, flag)
}

func (c *command) checkArgs(args []string) error {
	required, max := 0, 0
	for _, a := range c.args {
		if a.variadic {
			max = -1
		} else if max >= 0 {
			max++
		}
		if !a.optional {
			required++
		}
	}
	if len(args) < required {
		return usagef("superbot %s: missing %s (usage: superbot %s)", c.name, c.args[len(args)].name, c.usage())
	}
	if max >= 0 && len(args) > max {
		return usagef("superbot %s: unexpected argument %q (usage: superbot %s)", c.name, args[max], c.usage())
	}
	return nil
}

// usage is the synopsis: "module start NAME [--param KEY=VALUE ...]".
func (c *command) usage() string {
	parts := []string{c.name}
	for _, a := range c.args {
		s := a.name
		if a.variadic {
			s += " ..."
		}
		if a.optional {
			s = "[" + s + "]"
		}
		parts = append(parts, s)
	}
	for _, name := range c.flags {
		f, _ := lookupFlag(name)
		s := "--" + f.name
		if f.short != "" {
			s = "-" + f.short
		}
		if f.arg != "" {
			s += " " + f.arg
		}
		if f.multi {
			s += " ..."
		}
		parts = append(parts, "["+s+"]")
	}
	return strings.Join(parts, " ")
}

// commands is the command table, in the order help lists it.
var commands []*command

func init() {
	commands = slices.Concat(controlCommands(), clusterCommands(), serviceCommands(), tradingCommands(), reportCommands(), backtestCommands(), dataCommands(), genericCommands())
}

// controlCommands drive the daemon, its config, modules, logs and bus.
func controlCommands() []*command {
	name := []argSpec{{name: "NAME"}}
	nameOrAll := []argSpec{{name: "NAME|all"}}
	return []*command{
		{name: "daemon status", method: "daemon.status", summary: "which daemon the CLI reached, its version, pid, uptime and actor tree",
			run: runDaemonStatus},
		{name: "daemon stop", method: "daemon.stop", flags: []string{"force"}, summary: "stop the daemon",
			run: runDaemonStop},
		{name: "daemon reload", method: "daemon.reload_config", summary: "reload the configuration (like SIGHUP)",
			run: simple("daemon.reload_config", noParams, renderGeneric)},

		{name: "config get", args: []argSpec{{name: "KEY", optional: true}}, method: "config.get",
			summary: "the config in effect at KEY (e.g. cache.backend; a section is a table; no KEY: all), secrets redacted",
			run:     simple("config.get", configKeyParams, renderConfigValue)},

		{name: "module list", method: "module.list", summary: "every configured module and its state",
			run: simple("module.list", noParams, renderModuleList)},
		{name: "module status", args: name, method: "module.status", summary: "one module's state",
			run: simple("module.status", moduleParams, renderModuleStatus)},
		{name: "module start", args: nameOrAll, flags: []string{"param"}, method: "module.start",
			summary: "start a module (and what it depends on); all: every enabled module, in dependency order",
			run:     simple("module.start", moduleStartParams, renderModuleStatus)},
		{name: "module stop", args: nameOrAll, method: "module.stop", summary: "stop a module; all: every module, dependents first",
			run: simple("module.stop", moduleParams, renderModuleStatus)},
		{name: "module restart", args: name, method: "module.restart", summary: "stop then start a module; clears its failure count",
			run: simple("module.restart", moduleParams, renderModuleStatus)},

		{name: "logs", args: []argSpec{{name: "NAME", optional: true}}, flags: []string{"follow", "lines"}, method: "logs.tail, logs.stream",
			summary: "a module's recent output lines (-f follows until Ctrl-C); with no NAME, follows every module and the daemon", run: runLogs},

		{name: "events tail", args: []argSpec{{name: "PATTERN", optional: true}}, flags: []string{"count", "queue"}, method: "events.subscribe",
			summary: "print bus events matching PATTERN (default \">\") until Ctrl-C", run: runEventsTail},
		{name: "events stats", method: "events.stats", summary: "bus counters: published, delivered, dropped per pattern",
			run: simple("events.stats", noParams, renderGeneric)},
		{name: "events redis", method: "events.redis", summary: "the Redis bus bridge: connected, patterns, exported, imported and dropped counters",
			run: simple("events.redis", noParams, renderGeneric)},
		{name: "events publish", args: []argSpec{{name: "TOPIC"}, {name: "JSON-PAYLOAD", optional: true}}, flags: []string{"source"}, method: "events.publish",
			summary: "publish an event with a JSON payload", run: simple("events.publish", publishParams, renderGeneric)},
	}
}

// serviceCommands query the core services: monitoring, scheduler, market
// data, cache and connector.
func serviceCommands() []*command {
	name := []argSpec{{name: "NAME"}}
	symbol := []argSpec{{name: "SYMBOL"}}
	return []*command{
		{name: "monitoring health", method: "monitoring.health", summary: "ping every core component",
			run: simple("monitoring.health", noParams, renderHealth)},
		{name: "monitoring resources", method: "monitoring.resources", summary: "the daemon's CPU, memory, threads, goroutines, files",
			run: simple("monitoring.resources", noParams, renderGeneric)},
		{name: "monitoring metrics", method: "monitoring.metrics", summary: "every component's counters",
			run: simple("monitoring.metrics", noParams, renderGeneric)},

		{name: "scheduler jobs", args: []argSpec{{name: "NAME", optional: true}}, method: "scheduler.jobs",
			summary: "scheduled jobs; with NAME, that job and its run history",
			run:     simple("scheduler.jobs", optionalName, renderJobs)},
		{name: "scheduler window", method: "scheduler.window", summary: "the trading window: state, hours, next open and close",
			run: simple("scheduler.window", noParams, renderGeneric)},
		{name: "scheduler run", args: name, method: "scheduler.run", summary: "run a job now",
			run: simple("scheduler.run", nameParams, renderGeneric)},
		{name: "scheduler pause", args: name, method: "scheduler.pause", summary: "stop scheduling a job",
			run: simple("scheduler.pause", nameParams, renderJob)},
		{name: "scheduler resume", args: name, method: "scheduler.resume", summary: "schedule a paused job again",
			run: simple("scheduler.resume", nameParams, renderJob)},

		{name: "market ticker", args: symbol, method: "market.ticker", summary: "24 h ticker of a symbol",
			run: simple("market.ticker", symbolParams, renderGeneric)},
		{name: "market depth", args: symbol, flags: []string{"limit"}, method: "market.depth", summary: "order book snapshot",
			run: simple("market.depth", depthParams, renderDepth)},
		{name: "market klines", args: symbol, flags: []string{"interval", "limit"}, method: "market.klines", summary: "candles, oldest first",
			run: simple("market.klines", klinesParams, renderGeneric)},

		{name: "cache stats", method: "cache.stats", summary: "cache backend, hit rate and counters",
			run: simple("cache.stats", noParams, renderGeneric)},
		{name: "connector status", method: "connector.status", summary: "exchange connector: health, weight budget, streams, pool",
			run: simple("connector.status", noParams, renderGeneric)},
	}
}

// genericCommands list and call any method, and print versions and help.
func genericCommands() []*command {
	return []*command{
		{name: "methods", method: "rpc.methods", summary: "list the daemon's JSON-RPC methods",
			run: simple("rpc.methods", noParams, renderMethods)},
		{name: "discover", args: []argSpec{{name: "METHOD", optional: true}}, method: "rpc.discover",
			summary: "the daemon's OpenRPC document: each method's params and result; --json prints it whole",
			run:     runDiscover},
		{name: "rpc", args: []argSpec{{name: "METHOD"}, {name: "JSON-PARAMS", optional: true}}, method: "any",
			summary: "call any method with raw JSON params (an object or an array); prints the JSON result", run: runRaw},
		{name: "version", method: "daemon.status", summary: "the CLI's version and, when it runs, the daemon's", run: runVersion},
		{name: "help", args: []argSpec{{name: "COMMAND", optional: true, variadic: true}}, summary: "show help for all commands or one",
			run: func(_ context.Context, e *env, args []string) error {
				if len(args) == 0 {
					return writeHelp(e.stdout, nil)
				}
				cmd, _, err := resolve(args)
				if err != nil {
					return err
				}
				return writeHelp(e.stdout, cmd)
			}},
	}
}

// groups returns the command groups ("daemon", "module", ...) and the
// single-word commands, in table order.
func groups() []string {
	var out []string
	for _, c := range commands {
		g, _, _ := strings.Cut(c.name, " ")
		if !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out
}

// subcommands lists what follows group (one or two words) in the command
// names: "trading" gives "positions", ..., "order place"; "trading order"
// gives "place", "cancel", "cancel-all".
func subcommands(group string) []string {
	var out []string
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			out = append(out, sub)
		}
	}
	return out
}

// resolve finds the command named by the first words and returns it with
// the remaining words. A command may have three words ("trading order
// place"): the second then names a subgroup.
func resolve(words []string) (*command, []string, error) {
	group := words[0]
	subs := subcommands(group)
	if len(subs) == 0 {
		for _, c := range commands {
			if c.name == group {
				return c, words[1:], nil
			}
		}
		return nil, nil, usagef("superbot: unknown command %q%s; run 'superbot help'", group, suggest(group, groups()))
	}
	if len(words) < 2 {
		return nil, nil, usagef("superbot %s: missing subcommand: %s", group, strings.Join(firstWords(subs), ", "))
	}
	for _, c := range commands {
		if c.name == group+" "+words[1] {
			return c, words[2:], nil
		}
	}
	if deeper := subcommands(group + " " + words[1]); len(deeper) > 0 {
		if len(words) < 3 {
			return nil, nil, usagef("superbot %s %s: missing subcommand: %s", group, words[1], strings.Join(deeper, ", "))
		}
		for _, c := range commands {
			if c.name == group+" "+words[1]+" "+words[2] {
				return c, words[3:], nil
			}
		}
		return nil, nil, usagef("superbot %s %s: unknown subcommand %q (one of: %s)", group, words[1], words[2], strings.Join(deeper, ", "))
	}
	return nil, nil, usagef("superbot %s: unknown subcommand %q (one of: %s)", group, words[1], strings.Join(firstWords(subs), ", "))
}

// firstWords lists the distinct first words of subcommands ("order" once
// for "order place" and "order cancel").
func firstWords(subs []string) []string {
	var out []string
	for _, s := range subs {
		w, _, _ := strings.Cut(s, " ")
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	return out
}

// suggest returns " (did you mean X?)" for a close name, else "".
func suggest(word string, names []string) string {
	for _, n := range names {
		if strings.HasPrefix(n, word) || strings.HasPrefix(word, n) || (len(word) > 2 && strings.Contains(n, word)) {
			return fmt.Sprintf(" (did you mean %q?)", n)
		}
	}
	return ""
}

// paramsFunc builds a method's params from the words and flags; a usage
// error stops the command before anything is sent.
type paramsFunc func(args []string, f flagSet) (any, error)

// renderFunc prints a result for humans.
type renderFunc func(w io.Writer, res json.RawMessage) error

// simple is a command that calls one method and renders its result.
func simple(method string, params paramsFunc, render renderFunc) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		p, err := params(args, e.flags)
		if err != nil {
			return err
		}
		res, err := e.call(ctx, method, p)
		if err != nil {
			return err
		}
		return e.output(res, render)
	}
}

func noParams([]string, flagSet) (any, error) { return nil, nil }

func configKeyParams(args []string, _ flagSet) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return map[string]any{"key": args[0]}, nil
}

// renderConfigValue prints config.get's value alone: a scalar as is, a
// table as key: value lines.
func renderConfigValue(w io.Writer, res json.RawMessage) error {
	var r struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(res, &r); err != nil || len(r.Value) == 0 {
		return renderGeneric(w, res)
	}
	return renderGeneric(w, r.Value)
}

func moduleParams(args []string, _ flagSet) (any, error) {
	return map[string]any{"module": args[0]}, nil
}

func nameParams(args []string, _ flagSet) (any, error) {
	return map[string]any{"name": args[0]}, nil
}

func optionalName(args []string, _ flagSet) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return map[string]any{"name": args[0]}, nil
}

func symbolParams(args []string, _ flagSet) (any, error) {
	return map[string]any{"symbol": strings.ToUpper(args[0])}, nil
}

func depthParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"symbol": strings.ToUpper(args[0])}
	if f.has("limit") {
		n, err := f.int("limit", 0)
		if err != nil {
			return nil, err
		}
		p["limit"] = n
	}
	return p, nil
}

func klinesParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"symbol": strings.ToUpper(args[0]), "interval": "1m"}
	if iv := f.str("interval"); iv != "" {
		p["interval"] = iv
	}
	if f.has("limit") {
		n, err := f.int("limit", 0)
		if err != nil {
			return nil, err
		}
		p["limit"] = n
	}
	return p, nil
}

// allModules is the module name that module.start and module.stop read as
// every module.
const allModules = "all"

// moduleStartParams builds {"module": NAME, "params": {...}} from --param
// KEY=VALUE flags. A VALUE that parses as JSON (8080, true, ["a"]) is sent
// as that JSON, anything else as a string.
func moduleStartParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"module": args[0]}
	if !f.has("param") {
		return p, nil
	}
	if args[0] == allModules {
		return nil, usagef("superbot module start all: --param applies to one module, not to all")
	}
	params := map[string]json.RawMessage{}
	for _, kv := range f["param"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--param %q: want KEY=VALUE", kv)
		}
		if _, dup := params[k]; dup {
			return nil, usagef("--param %s given twice", k)
		}
		if json.Valid([]byte(v)) && strings.TrimSpace(v) != "" {
			params[k] = json.RawMessage(v)
		} else {
			b, _ := json.Marshal(v)
			params[k] = b
		}
	}
	p["params"] = params
	return p, nil
}

// publishParams builds events.publish params; the payload must be JSON.
func publishParams(args []string, f flagSet) (any, error) {
	p := map[string]any{"topic": args[0], "source": "superbot-cli"}
	if s := f.str("source"); s != "" {
		p["source"] = s
	}
	if len(args) > 1 {
		if !json.Valid([]byte(args[1])) {
			return nil, usagef("superbot events publish: JSON-PAYLOAD is not valid JSON: %s", args[1])
		}
		p["payload"] = json.RawMessage(args[1])
	}
	return p, nil
}

// runDaemonStop is "superbot daemon stop": a daemon that closes the
// connection before its answer arrives is stopping too.
func runDaemonStop(ctx context.Context, e *env, _ []string) error {
	res, err := e.call(ctx, "daemon.stop", map[string]bool{"force": e.flags.bool("force")})
	if errors.Is(err, client.ErrConnectionLost) {
		res, err = json.RawMessage(`{"stopping":true}`), nil
	}
	if err != nil {
		return err
	}
	return e.output(res, renderDaemonStop)
}

// runDaemonStatus is "superbot daemon status": the table starts with the
// socket (or address) the CLI reached and how it found it.
func runDaemonStatus(ctx context.Context, e *env, _ []string) error {
	res, err := e.call(ctx, "daemon.status", nil)
	if err != nil {
		return err
	}
	if e.json {
		return e.output(res, nil)
	}
	return renderDaemonStatus(e.stdout, res, e.reached())
}

// runDiscover is "superbot discover [METHOD]": rpc.discover as a table of
// methods and their params, or one method's params, result and errors.
func runDiscover(ctx context.Context, e *env, args []string) error {
	res, err := e.call(ctx, "rpc.discover", nil)
	if err != nil {
		return err
	}
	if e.json {
		return e.output(res, nil)
	}
	method := ""
	if len(args) > 0 {
		method = args[0]
	}
	return renderDiscover(e.stdout, res, method)
}

// runRaw is "superbot rpc METHOD [JSON-PARAMS]".
func runRaw(ctx context.Context, e *env, args []string) error {
	var params any
	if len(args) > 1 {
		raw := strings.TrimSpace(args[1])
		if !json.Valid([]byte(raw)) {
			return usagef("superbot rpc: JSON-PARAMS is not valid JSON: %s", args[1])
		}
		if raw[0] != '{' && raw[0] != '[' {
			return usagef("superbot rpc: JSON-PARAMS must be an object or an array, got %s", raw)
		}
		params = json.RawMessage(raw)
	}
	res, err := e.call(ctx, args[0], params)
	if err != nil {
		return err
	}
	if e.json {
		return e.output(res, nil)
	}
	_, err = fmt.Fprintln(e.stdout, indentJSON(res))
	return err
}

// runVersion prints the CLI's version and the daemon's when it answers.
func runVersion(ctx context.Context, e *env, _ []string) error {
	var st struct {
		Version string `json:"version"`
		Node    string `json:"node"`
		PID     int    `json:"pid"`
	}
	res, derr := e.call(ctx, "daemon.status", nil)
	if derr == nil {
		_ = json.Unmarshal(res, &st)
	}
	if e.json {
		out := map[string]any{"cli": cliVersion()}
		if derr == nil {
			out["daemon"] = st.Version
		}
		b, _ := json.Marshal(out)
		_, err := fmt.Fprintf(e.stdout, "%s\n", b)
		return err
	}
	fprintf(e.stdout, "superbot   %s\n", cliVersion())
	if derr != nil {
		_, msg := e.describe(derr)
		fprintf(e.stdout, "superbotd  unknown (%s)\n", strings.TrimPrefix(msg, "superbot: "))
		return nil
	}
	_, err := fmt.Fprintf(e.stdout, "superbotd  %s (node %s, pid %d)\n", st.Version, st.Node, st.PID)
	return err
}
