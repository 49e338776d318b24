package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Views of the results whose shape the CLI knows (proto/superbot/v1). Any
// result that does not decode falls back to renderGeneric.

// childStatus is one actor of the supervision tree (ChildStatus).
type childStatus struct {
	Name      string        `json:"name"`
	State     string        `json:"state"`
	Restarts  num           `json:"restarts"`
	LastError string        `json:"last_error"`
	Since     string        `json:"since"`
	Children  []childStatus `json:"children"`
}

// renderDaemonStatus prints daemon.status; reached, when not empty, is the
// endpoint the CLI reached (see env.reached).
func renderDaemonStatus(w io.Writer, res json.RawMessage, reached string) error {
	var st struct {
		Version      string          `json:"version"`
		PID          num             `json:"pid"`
		Node         string          `json:"node"`
		Uptime       float64         `json:"uptime_seconds"`
		ConfigSource string          `json:"config_source"`
		StartedAt    string          `json:"started_at"`
		State        string          `json:"state"`
		Tree         []childStatus   `json:"tree"`
		Details      json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(res, &st); err != nil {
		return renderGeneric(w, res)
	}
	tw := newTable(w)
	if reached != "" {
		fprintf(tw, "daemon:\t%s\n", reached)
	}
	fprintf(tw, "version:\t%s\n", orDash(st.Version))
	fprintf(tw, "pid:\t%s\n", orDash(string(st.PID)))
	fprintf(tw, "node:\t%s\n", orDash(st.Node))
	fprintf(tw, "state:\t%s\n", orDash(st.State))
	fprintf(tw, "uptime:\t%s\n", seconds(st.Uptime))
	fprintf(tw, "started:\t%s\n", shortTime(st.StartedAt))
	fprintf(tw, "config:\t%s\n", orDash(st.ConfigSource))
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(st.Tree) > 0 {
		fprintln(w)
		tw = newTable(w)
		fprintln(tw, "ACTOR\tSTATE\tRESTARTS\tSINCE\tLAST ERROR")
		writeTree(tw, st.Tree, "")
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if d, err := parseOrdered(st.Details); err == nil && d.kind == kindObject && len(d.keys) > 0 {
		fprintln(w)
		tw = newTable(w)
		fprintln(tw, "details:")
		writeObject(tw, d, "  ")
		return tw.Flush()
	}
	return nil
}

// writeTree draws the actor tree, each level indented by two spaces.
func writeTree(w io.Writer, children []childStatus, indent string) {
	for _, c := range children {
		fprintf(w, "%s%s\t%s\t%s\t%s\t%s\n", indent, c.Name, orDash(c.State), orDash(string(c.Restarts)), shortTime(c.Since), oneLine(c.LastError))
		writeTree(w, c.Children, indent+"  ")
	}
}

func renderDaemonStop(w io.Writer, res json.RawMessage) error {
	var r struct {
		Stopping bool `json:"stopping"`
	}
	if err := json.Unmarshal(res, &r); err != nil || !r.Stopping {
		return renderGeneric(w, res)
	}
	_, err := fmt.Fprintln(w, "superbotd is stopping")
	return err
}

// moduleStatus is ModuleStatus as the list shows it.
type moduleStatus struct {
	Name      string  `json:"name"`
	Type      string  `json:"type"`
	State     string  `json:"state"`
	PID       num     `json:"pid"`
	CPU       float64 `json:"cpu_percent"`
	RSS       num     `json:"rss_bytes"`
	Uptime    float64 `json:"uptime_seconds"`
	Restarts  num     `json:"restarts"`
	Health    string  `json:"health"`
	Node      string  `json:"node"`
	LastError string  `json:"last_error"`
}

func renderModuleList(w io.Writer, res json.RawMessage) error {
	var r struct {
		Modules []moduleStatus `json:"modules"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Modules) == 0 {
		_, err := fmt.Fprintln(w, "no modules configured")
		return err
	}
	tw := newTable(w)
	fprintln(tw, "NAME\tTYPE\tSTATE\tPID\tCPU\tRSS\tUPTIME\tRESTARTS\tHEALTH\tNODE\tLAST ERROR")
	for _, m := range r.Modules {
		pid, cpu, rss := string(m.PID), "-", "-"
		if pid == "0" {
			pid = "-"
		} else if pid != "" { // a process: its tree's CPU and RSS
			cpu, rss = fmt.Sprintf("%.1f%%", m.CPU), humanBytes(orZero(string(m.RSS)))
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, orDash(m.Type), orDash(m.State), orDash(pid),
			cpu, rss, seconds(m.Uptime), orDash(string(m.Restarts)), orDash(m.Health), orDash(m.Node), oneLine(m.LastError))
	}
	return tw.Flush()
}

// orZero is s, or "0" for "" (protojson leaves zero numbers out).
func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// renderModuleStatus prints the "status" of module.status, start, stop and
// restart as key: value lines, or, for "module start all" and "module stop
// all", the list of every module's result as a table (see
// renderModuleResults).
func renderModuleStatus(w io.Writer, res json.RawMessage) error {
	v, err := parseOrdered(res)
	if err == nil && v.kind == kindObject {
		if st := v.get("status"); st == nil || st.kind == kindNull {
			for _, child := range v.vals {
				if child.objectList() {
					return renderModuleResults(w, child.items)
				}
			}
		}
	}
	return renderGeneric(w, unwrap(res, "status"))
}

// renderModuleResults prints one row per module: each item is a
// ModuleStatus ({"name", "state", "pid", ...}) or a per-module result
// holding one ({"module": NAME, "status": {...}, "error": {"message"}}).
func renderModuleResults(w io.Writer, items []*value) error {
	tw := newTable(w)
	fprintln(tw, "MODULE\tSTATE\tPID\tRESULT")
	for _, it := range items {
		st := it
		if s := it.get("status"); s != nil && s.kind == kindObject {
			st = s
		}
		name := firstText(it, "module", "name")
		if name == "-" {
			name = firstText(st, "name")
		}
		result := "ok"
		if e := it.get("error"); e != nil && e.kind == kindObject && len(e.keys) > 0 {
			result = oneLine(firstText(e, "message"))
		} else if e != nil && e.kind == kindString && e.str != "" {
			result = oneLine(e.str)
		} else if le := firstText(st, "last_error"); le != "-" && firstText(st, "state") == "failed" {
			result = oneLine(le)
		}
		fprintf(tw, "%s\t%s\t%s\t%s\n", name, firstText(st, "state"), firstText(st, "pid"), result)
	}
	return tw.Flush()
}

// firstText is the table text of the first of keys that v has, else "-".
func firstText(v *value, keys ...string) string {
	for _, k := range keys {
		if c := v.get(k); c != nil && c.scalar() {
			return c.text(k)
		}
	}
	return "-"
}

// unwrap returns res's field key when res is an object with only that key.
func unwrap(res json.RawMessage, key string) json.RawMessage {
	var obj map[string]json.RawMessage
	if json.Unmarshal(res, &obj) == nil && len(obj) == 1 && obj[key] != nil {
		return obj[key]
	}
	return res
}

func renderHealth(w io.Writer, res json.RawMessage) error {
	var r struct {
		Healthy    bool `json:"healthy"`
		Components []struct {
			Name      string  `json:"name"`
			Healthy   bool    `json:"healthy"`
			LatencyMS float64 `json:"latency_ms"`
			Error     string  `json:"error"`
		} `json:"components"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	fprintf(w, "healthy: %s\n", yesNo(r.Healthy))
	if len(r.Components) == 0 {
		return nil
	}
	fprintln(w)
	tw := newTable(w)
	fprintln(tw, "COMPONENT\tHEALTHY\tLATENCY\tERROR")
	for _, c := range r.Components {
		fprintf(tw, "%s\t%s\t%.3f ms\t%s\n", c.Name, yesNo(c.Healthy), c.LatencyMS, oneLine(c.Error))
	}
	return tw.Flush()
}

// schedulerJob is SchedulerJob as the jobs table shows it.
type schedulerJob struct {
	Name       string   `json:"name"`
	Spec       string   `json:"spec"`
	Zone       string   `json:"zone"`
	Enabled    bool     `json:"enabled"`
	Paused     bool     `json:"paused"`
	Action     string   `json:"action"`
	NextRun    string   `json:"next_run_local"`
	LastResult string   `json:"last_result"`
	Runs       num      `json:"runs"`
	Failures   num      `json:"failures"`
	Skipped    num      `json:"skipped"`
	History    []jobRun `json:"history"`
}

type jobRun struct {
	ID         num     `json:"id"`
	Trigger    string  `json:"trigger"`
	Status     string  `json:"status"`
	StartedAt  string  `json:"started_at"`
	DurationMS float64 `json:"duration_ms"`
	Error      *struct {
		Message string `json:"message"`
	} `json:"error"`
}

func renderJobs(w io.Writer, res json.RawMessage) error {
	var r struct {
		Jobs []schedulerJob `json:"jobs"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Jobs) == 0 {
		_, err := fmt.Fprintln(w, "no jobs scheduled")
		return err
	}
	return writeJobs(w, r.Jobs)
}

// renderJob prints the "job" of scheduler.pause and scheduler.resume.
func renderJob(w io.Writer, res json.RawMessage) error {
	var r struct {
		Job *schedulerJob `json:"job"`
	}
	if err := json.Unmarshal(res, &r); err != nil || r.Job == nil {
		return renderGeneric(w, res)
	}
	return writeJobs(w, []schedulerJob{*r.Job})
}

func writeJobs(w io.Writer, jobs []schedulerJob) error {
	tw := newTable(w)
	fprintln(tw, "NAME\tSCHEDULE\tZONE\tSTATE\tACTION\tNEXT RUN\tLAST RESULT\tRUNS\tFAILURES\tSKIPPED")
	for _, j := range jobs {
		state := "enabled"
		switch {
		case !j.Enabled:
			state = "disabled"
		case j.Paused:
			state = "paused"
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Name, orDash(j.Spec), orDash(j.Zone), state, orDash(j.Action),
			orDash(j.NextRun), oneLine(j.LastResult), orDash(string(j.Runs)), orDash(string(j.Failures)), orDash(string(j.Skipped)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(jobs) != 1 || len(jobs[0].History) == 0 {
		return nil
	}
	fprintln(w, "\nhistory:")
	tw = newTable(w)
	fprintln(tw, "  RUN\tTRIGGER\tSTATUS\tSTARTED\tDURATION\tERROR")
	for _, h := range jobs[0].History {
		msg := ""
		if h.Error != nil {
			msg = h.Error.Message
		}
		fprintf(tw, "  %s\t%s\t%s\t%s\t%.1f ms\t%s\n", orDash(string(h.ID)), orDash(h.Trigger), orDash(h.Status), shortTime(h.StartedAt), h.DurationMS, oneLine(msg))
	}
	return tw.Flush()
}

// renderDepth prints the order book with bids and asks side by side.
func renderDepth(w io.Writer, res json.RawMessage) error {
	type level struct {
		Price    string `json:"price"`
		Quantity string `json:"quantity"`
	}
	var r struct {
		Symbol       string  `json:"symbol"`
		LastUpdateID num     `json:"last_update_id"`
		Bids         []level `json:"bids"`
		Asks         []level `json:"asks"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	fprintf(w, "%s  last update %s\n\n", r.Symbol, orDash(string(r.LastUpdateID)))
	tw := newRightTable(w)
	fprintln(tw, "BID QTY\tBID\tASK\tASK QTY\t")
	for i := 0; i < max(len(r.Bids), len(r.Asks)); i++ {
		var b, a level
		if i < len(r.Bids) {
			b = r.Bids[i]
		}
		if i < len(r.Asks) {
			a = r.Asks[i]
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t\n", b.Quantity, b.Price, a.Price, a.Quantity)
	}
	return tw.Flush()
}

func renderMethods(w io.Writer, res json.RawMessage) error {
	var r struct {
		Methods []string `json:"methods"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	_, err := fmt.Fprintln(w, strings.Join(r.Methods, "\n"))
	return err
}

// seconds renders a duration in seconds as "1h2m3s" ("-" for zero).
func seconds(s float64) string {
	if s <= 0 {
		return "-"
	}
	d := time.Duration(s * float64(time.Second))
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// oneLine keeps a table row on one line.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return orDash(s)
}
