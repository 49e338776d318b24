package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

const exitCodesHelp = `Exit codes:
  0  ok
  1  the daemon answered with an error (or the result could not be shown)
  2  usage error: unknown command or flag, missing argument, malformed JSON; nothing was sent
  3  superbotd is not running or unreachable (no socket, connection refused or lost, no answer in time)
  4  authentication failed (no token, or the token was refused)
`

const connectHelp = `Finding the daemon (first match wins):
  1. --socket PATH
  2. --state-dir DIR: DIR/superbot.sock
  3. $SUPERBOT_SOCKET (superbotd sets it for its modules)
  4. the nearest .superbot/ in the working directory or above it, up to /
  5. ~/.superbot/ (a daemon started from the home directory)
  With --addr HOST:PORT the CLI uses TCP instead. The token: --token, $SUPERBOT_TOKEN,
  $SUPERBOT_DAEMON_IPC_AUTH_TOKEN, then the token file: $SUPERBOT_TOKEN_PATH (unless
  --socket or --state-dir is given), else "token" in the directory found above. When
  the socket is missing and a token is found it falls back to TCP 127.0.0.1:9999.
  'superbot daemon status' says which daemon it reached.
`

// writeUsage prints the short usage shown on a bare "superbot".
func writeUsage(w io.Writer) {
	fprintln(w, "usage: superbot [--json] [--socket PATH | --addr HOST:PORT] [--token TOKEN] COMMAND [ARGS]")
	fprintln(w, "commands: "+strings.Join(groups(), ", "))
}

// writeHelp prints the help of one command, or of all when cmd is nil.
func writeHelp(w io.Writer, cmd *command) error {
	if cmd != nil {
		fprintf(w, "usage: superbot %s\n\n%s.\n", cmd.usage(), capitalize(cmd.summary))
		if cmd.method != "" {
			fprintf(w, "JSON-RPC method: %s\n", cmd.method)
		}
		if len(cmd.flags) > 0 {
			fprintln(w, "\nFlags:")
			writeFlags(w, cmd.flags)
		}
		fprintln(w, "\nGlobal flags:")
		writeFlags(w, globalNames())
		fprintln(w)
		_, err := fmt.Fprint(w, exitCodesHelp)
		return err
	}
	fprintln(w, "superbot controls superbotd, the SuperBot daemon, over JSON-RPC 2.0.")
	fprintln(w)
	writeUsage(w)
	fprintln(w, "\nCommands:")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range commands {
		fprintf(tw, "  %s\t%s\n", c.usage(), c.summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fprintln(w, "\nGlobal flags (before or after the command):")
	writeFlags(w, globalNames())
	fprintln(w)
	fprint(w, connectHelp)
	fprintln(w)
	fprint(w, exitCodesHelp)
	_, err := fmt.Fprintln(w, "\nRun 'superbot help COMMAND' for one command, e.g. 'superbot help module start'.")
	return err
}

func globalNames() []string {
	out := make([]string, len(globalFlags))
	for i, f := range globalFlags {
		out[i] = f.name
	}
	return out
}

func writeFlags(w io.Writer, names []string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, n := range names {
		f, _ := lookupFlag(n)
		s := "--" + f.name
		if f.short != "" {
			s = "-" + f.short + ", " + s
		}
		if f.arg != "" {
			s += " " + f.arg
		}
		fprintf(tw, "  %s\t%s\n", s, f.help)
	}
	_ = tw.Flush()
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
