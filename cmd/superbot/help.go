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

const connectHelp = `Connecting:
  The CLI uses the Unix socket <state-dir>/superbot.sock (state-dir: .superbot in the
  working directory) unless --addr is given. It logs in with the first token found:
  --token, $SUPERBOT_TOKEN, <state-dir>/token. When the socket is missing and a token
  is found it falls back to TCP 127.0.0.1:9999.
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
