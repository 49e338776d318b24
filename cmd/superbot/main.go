// Command superbot is the command-line client of superbotd: every JSON-RPC
// method of the daemon is a subcommand that prints a human table by default
// and the raw JSON result with --json.
//
// Exit codes: 0 ok, 1 the daemon answered with an error, 2 usage error,
// 3 daemon not running or unreachable, 4 authentication failed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

// Exit codes.
const (
	exitOK          = 0
	exitRPCError    = 1
	exitUsage       = 2
	exitUnreachable = 3
	exitAuth        = 4
)

// defaultTimeout bounds connecting and each call (module.stop may wait for
// a module's stop timeout, so it is longer than the daemon's own deadline).
const defaultTimeout = 30 * time.Second

// lifecycleTimeout is the default for module start, stop and restart: the
// daemon gives those up to 2 minutes (dependencies, health checks,
// stop_timeout), so the CLI waits a little longer than that.
const lifecycleTimeout = 150 * time.Second

// version is the CLI's version, set at build time with
// -ldflags "-X main.version=...".
var version = ""

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is the whole CLI: it parses args, talks to the daemon, prints to
// stdout and stderr and returns the exit code. Ctrl-C (SIGINT) and SIGTERM
// end streams such as "events tail" cleanly.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runContext(ctx, args, stdout, stderr)
}

// runContext is run with a context whose cancellation ends streams.
func runContext(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &errWriter{w: stdout}
	e := &env{stdout: out, stderr: stderr}
	defer e.close()
	err := e.exec(ctx, args)
	if err == nil && out.err != nil {
		err = fmt.Errorf("write output: %w", out.err)
	}
	if err == nil {
		return exitOK
	}
	if errors.Is(err, errNoArgs) {
		writeUsage(stderr)
		return exitUsage
	}
	code, msg := e.describe(err)
	fprintln(stderr, msg)
	return code
}

// env is one invocation: its output, flags and (lazily) its connection.
type env struct {
	stdout, stderr io.Writer
	flags          flagSet
	json           bool
	opts           client.Options
	c              *client.Client
	method         string // the method being called, for error messages
}

// errNoArgs is a bare "superbot": the usage is printed, exit code 2.
var errNoArgs = errors.New("no command")

func (e *env) exec(ctx context.Context, args []string) error {
	words, flags, err := splitArgs(args)
	if err != nil {
		return err
	}
	e.flags = flags
	e.json = flags.bool("json")
	if len(words) == 0 {
		if flags.bool("help") {
			return writeHelp(e.stdout, nil)
		}
		return errNoArgs
	}
	cmd, rest, err := resolve(words)
	if err != nil {
		return err
	}
	if flags.bool("help") {
		return writeHelp(e.stdout, cmd)
	}
	for name := range flags {
		if !cmd.accepts(name) {
			return usagef("flag --%s is not valid for 'superbot %s'", name, cmd.name)
		}
	}
	if err := cmd.checkArgs(rest); err != nil {
		return err
	}
	def := defaultTimeout
	if cmd.name == "module start" || cmd.name == "module stop" || cmd.name == "module restart" {
		def = lifecycleTimeout
	}
	timeout, err := flags.duration("timeout", def)
	if err != nil {
		return err
	}
	e.opts = client.Options{
		Socket:   flags.str("socket"),
		Addr:     flags.str("addr"),
		Token:    flags.str("token"),
		StateDir: flags.str("state-dir"),
		Timeout:  timeout,
	}
	return cmd.run(ctx, e, rest)
}

// client connects on first use.
func (e *env) client(ctx context.Context) (*client.Client, error) {
	if e.c != nil {
		return e.c, nil
	}
	c, err := client.Dial(ctx, e.opts)
	if err != nil {
		return nil, err
	}
	e.c = c
	return c, nil
}

func (e *env) close() {
	if e.c != nil {
		_ = e.c.Close()
	}
}

// call calls method and returns the raw result.
func (e *env) call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	e.method = method
	if node := e.flags.str("node"); node != "" {
		var err error
		if params, err = withNode(params, node); err != nil {
			return nil, err
		}
	}
	c, err := e.client(ctx)
	if err != nil {
		return nil, err
	}
	var res json.RawMessage
	if err := c.Call(ctx, method, params, &res); err != nil {
		return nil, err
	}
	return res, nil
}

// output prints res raw with --json, else with render.
func (e *env) output(res json.RawMessage, render func(io.Writer, json.RawMessage) error) error {
	if e.json || render == nil {
		_, err := fmt.Fprintf(e.stdout, "%s\n", compact(res))
		return err
	}
	return render(e.stdout, res)
}

// describe maps an error to its exit code and its one-line message.
func (e *env) describe(err error) (int, string) {
	var ue *usageError
	var nr *client.NotRunningError
	var rpcErr *client.Error
	var dialErr *client.DialError
	where := ""
	if e.method != "" {
		where = e.method + ": "
	}
	switch {
	case errors.Is(err, errNoArgs):
		return exitUsage, "superbot: a command is required"
	case errors.As(err, &ue):
		return exitUsage, ue.msg
	case errors.As(err, &nr):
		return exitUnreachable, fmt.Sprintf("%s; start it with 'make run' or 'superbotd'", nr)
	case errors.Is(err, client.ErrUnauthorized):
		var hint string
		switch _, src := e.opts.ResolveToken(); src {
		case "":
			hint = "the daemon requires a token: pass --token, set " + client.TokenEnv + " or make " + tokenPath(e.opts) + " readable"
		case "option":
			hint = "the token given with --token was refused"
		default:
			hint = "the token from " + src + " was refused"
		}
		return exitAuth, "superbot: " + where + "authentication failed: " + hint
	case errors.As(err, &rpcErr):
		return exitRPCError, "superbot: " + where + rpcErrorText(rpcErr)
	case errors.Is(err, client.ErrConnectionLost), errors.Is(err, context.DeadlineExceeded):
		return exitUnreachable, "superbot: " + where + err.Error()
	case errors.As(err, &dialErr):
		return exitUnreachable, "superbot: " + err.Error()
	}
	return exitRPCError, "superbot: " + where + err.Error()
}

// rpcErrorText formats an error answer as "message (code N)", then what its
// data holds: the known names of a not-found error once ("; known: a, b",
// left out when the message already names them all), a list of problems
// (such as a refused reload's) one per indented line, a string or other
// JSON after ": ".
func rpcErrorText(e *client.Error) string {
	s := fmt.Sprintf("%s (code %d)", e.Message, e.Code)
	names := e.DataNames()
	switch {
	case len(names) > 0 && e.Code == client.CodeNotFound:
		if !containsAll(e.Message, names) {
			s += "; known: " + strings.Join(names, ", ")
		}
	case len(names) == 1:
		s += ": " + names[0]
	case len(names) > 1:
		s += ":\n  " + strings.Join(names, "\n  ")
	default:
		d := strings.TrimSpace(string(e.Data))
		if d == "" || d == "null" {
			break
		}
		var str string
		if json.Unmarshal(e.Data, &str) == nil {
			d = str
		}
		s += ": " + d
	}
	return s
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func tokenPath(o client.Options) string { return o.Locate().TokenFile }

// reached describes the daemon the connection reached: "unix
// /abs/.superbot/superbot.sock (nearest .superbot/ above the working
// directory)" or "tcp 127.0.0.1:9999 (--addr)".
func (e *env) reached() string {
	if e.c == nil {
		return "-"
	}
	network, address := e.c.Endpoint()
	how := "--addr"
	switch {
	case network == "unix":
		how = e.opts.Locate().Source
		if abs, err := filepath.Abs(address); err == nil {
			address = abs
		}
	case e.opts.Addr == "":
		how = "TCP fallback: no socket at " + e.opts.SocketPath()
	}
	return network + " " + address + " (" + how + ")"
}

// cliVersion is the build's version: -X main.version, else the module
// version, else "dev".
func cliVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
