package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"time"

	"github.com/superbot/superbot/runtime/client"
)

// runLogs is "superbot logs [-f] [-n N] [NAME]": with NAME logs.tail, or
// with -f logs.stream (the recent lines, then live ones until Ctrl-C).
// Without NAME it follows every module and the daemon, interleaved, each
// line prefixed with its module's name (logs.stream {}).
func runLogs(ctx context.Context, e *env, args []string) error {
	n, err := e.flags.int("lines", 100)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		params := map[string]any{}
		if e.flags.has("lines") {
			params["lines"] = n
		}
		lw := &logWriter{prefix: true, width: e.moduleNameWidth(ctx)}
		err := e.stream(ctx, "logs.stream", params, "logs.line", 0, nil, lw.write)
		if client.CodeOf(err) == client.CodeInvalidParams {
			// A daemon whose logs.stream needs a module: its bus carries
			// every line on logs.NAME.
			return e.stream(ctx, "events.subscribe", map[string]any{"pattern": "logs.>"}, "events.event", 0, eventPayload, lw.write)
		}
		return err
	}
	params := map[string]any{"module": args[0], "lines": n}
	if !e.flags.bool("follow") {
		res, err := e.call(ctx, "logs.tail", params)
		if err != nil {
			return err
		}
		return e.output(res, renderLogLines)
	}
	lw := &logWriter{}
	return e.stream(ctx, "logs.stream", params, "logs.line", 0, nil, lw.write)
}

// moduleNameWidth is the length of the longest module name module.list
// knows, "daemon" included, so that prefixed lines line up from the first;
// 0 if module.list fails.
func (e *env) moduleNameWidth(ctx context.Context) int {
	res, err := e.call(ctx, "module.list", nil)
	var r struct {
		Modules []struct {
			Name string `json:"name"`
		} `json:"modules"`
	}
	if err != nil || json.Unmarshal(res, &r) != nil {
		return 0
	}
	width := len("daemon")
	for _, m := range r.Modules {
		width = max(width, len(m.Name))
	}
	return width
}

// runEventsTail is "superbot events tail [PATTERN]": one line per event
// until Ctrl-C (or --count events).
func runEventsTail(ctx context.Context, e *env, args []string) error {
	params := map[string]any{"pattern": ">"}
	if len(args) > 0 {
		params["pattern"] = args[0]
	}
	if e.flags.has("queue") {
		q, err := e.flags.int("queue", 0)
		if err != nil {
			return err
		}
		params["queue_size"] = q
	}
	count, err := e.flags.int("count", 0)
	if err != nil {
		return err
	}
	return e.stream(ctx, "events.subscribe", params, "events.event", count, nil, writeEvent)
}

// stream subscribes and prints each notification's params (raw with
// --json), or what extract takes from them when extract is not nil, until
// ctx ends, count notifications were printed (count > 0), or the
// connection ends (an error: exit 3).
func (e *env) stream(ctx context.Context, method string, params any, notification string, count int,
	extract func(json.RawMessage) json.RawMessage, print func(io.Writer, json.RawMessage) error) error {
	e.method = method
	c, err := e.client(ctx)
	if err != nil {
		return err
	}
	sub, err := c.Subscribe(ctx, method, params, notification)
	if err != nil {
		return err
	}
	defer func() {
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = sub.Unsubscribe(uctx)
	}()
	seen := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case n, ok := <-sub.C():
			if !ok {
				if err := sub.Err(); err != nil {
					return err
				}
				return nil
			}
			p := n.Params
			if extract != nil {
				p = extract(p)
			}
			if e.json {
				_, err = fmt.Fprintf(e.stdout, "%s\n", compact(p))
			} else {
				err = print(e.stdout, p)
			}
			if err != nil {
				return err
			}
			if seen++; count > 0 && seen >= count {
				return nil
			}
		}
	}
}

// event is the bus envelope as protojson renders it.
type event struct {
	Topic    string          `json:"topic"`
	Source   string          `json:"source"`
	Time     string          `json:"time"`
	Node     string          `json:"node"`
	Sequence num             `json:"sequence"`
	Payload  json.RawMessage `json:"payload"`
}

// writeEvent prints "TIME  TOPIC  SOURCE  #SEQ  {payload}".
func writeEvent(w io.Writer, params json.RawMessage) error {
	var ev event
	if err := json.Unmarshal(params, &ev); err != nil {
		_, err := fmt.Fprintf(w, "%s\n", compact(params))
		return err
	}
	src := ev.Source
	if ev.Node != "" {
		src += "@" + ev.Node
	}
	_, err := fmt.Fprintf(w, "%s  %s  %s  #%s  %s\n", shortTime(ev.Time), ev.Topic, orDash(src), orDash(string(ev.Sequence)), payloadString(ev.Payload))
	return err
}

// eventPayload returns a bus event's payload without its "@type".
func eventPayload(params json.RawMessage) json.RawMessage {
	v, err := parseOrdered(params)
	if err != nil || v.kind != kindObject {
		return params
	}
	p := v.get("payload")
	if p == nil || p.kind != kindObject {
		return params
	}
	return json.RawMessage(anyBody(p).compact())
}

// payloadString renders an Any as its fields, without its "@type" (an
// internal message name; the topic says what the event is).
func payloadString(raw json.RawMessage) string {
	v, err := parseOrdered(raw)
	switch {
	case err != nil || v.kind == kindNull:
		return "-"
	case v.kind != kindObject:
		return v.compact()
	}
	v = anyBody(v)
	if t := v.get("value"); t != nil && len(v.keys) == 1 { // well-known types: {"@type":..., "value": ...}
		return t.compact()
	}
	return v.compact()
}

// logLine is one line of a module's output.
type logLine struct {
	Module string `json:"module"`
	Stream string `json:"stream"`
	Line   string `json:"line"`
	Time   string `json:"time"`
}

// consoleTime is the clock time that starts each line of the daemon's
// console log format ("15:04:05.000 INF ..."): the line's own time is
// shown already.
var consoleTime = regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} `)

// logWriter prints log lines: "TIME STREAM LINE", or with prefix
// "MODULE | TIME STREAM LINE", module names padded to the longest seen.
type logWriter struct {
	prefix bool
	width  int
}

func (lw *logWriter) write(w io.Writer, raw json.RawMessage) error {
	var l logLine
	if err := json.Unmarshal(raw, &l); err != nil {
		_, err := fmt.Fprintf(w, "%s\n", compact(raw))
		return err
	}
	line := l.Line
	if l.Stream == "daemon" || l.Module == "daemon" {
		line = consoleTime.ReplaceAllString(line, "")
	}
	if lw.prefix {
		lw.width = max(lw.width, len(l.Module))
		fprintf(w, "%-*s | ", lw.width, orDash(l.Module))
	}
	_, err := fmt.Fprintf(w, "%s %-6s %s\n", shortTime(l.Time), l.Stream, line)
	return err
}

// writeLogLine prints one module's line: "TIME STREAM LINE".
func writeLogLine(w io.Writer, raw json.RawMessage) error {
	return (&logWriter{}).write(w, raw)
}

func renderLogLines(w io.Writer, res json.RawMessage) error {
	var r struct {
		Lines []json.RawMessage `json:"lines"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	for _, l := range r.Lines {
		if err := writeLogLine(w, l); err != nil {
			return err
		}
	}
	return nil
}

// timeLayout is how tables show times, in local time.
const timeLayout = "2006-01-02 15:04:05.000"

// shortTime renders an RFC 3339 time in timeLayout in local time; other
// strings are returned as they are.
func shortTime(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return orDash(s)
	}
	return t.Local().Format(timeLayout)
}
