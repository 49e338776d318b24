package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/runtime/daemon"
)

// dataCommands are the market data commands (issue 11, section 1).
func dataCommands() []*command {
	return []*command{
		{name: "data download", args: []argSpec{{name: "SYMBOL"}, {name: "SYMBOL", optional: true, variadic: true}},
			flags: []string{"interval", "from", "to", "local", "config", "detach"}, method: "data.download, data.status, data.cancel",
			summary: "download klines into the local store through the connector, resuming after what is stored, with a progress bar; Ctrl-C cancels (run it again to resume)",
			run:     runDataDownload},
		{name: "data status", args: []argSpec{{name: "JOB", optional: true}}, method: "data.status",
			summary: "download jobs: state, progress, ETA, gaps", run: simple("data.status", jobParams, renderDataJobs)},
		{name: "data cancel", args: []argSpec{{name: "JOB"}}, method: "data.cancel",
			summary: "stop a download job (what it stored stays)", run: simple("data.cancel", jobParams, renderDataCancel)},
		{name: "data list", flags: []string{"local", "config"}, method: "data.list",
			summary: "the stored series: symbols, intervals, ranges, gaps, size on disk", run: runDataCall("data.list", noParams, renderDataList)},
		{name: "data import", args: []argSpec{{name: "FILE|DIR"}}, flags: []string{"local", "config"}, method: "data.import",
			summary: "import Binance public-data kline CSVs (.csv or .zip, a file or a directory)", run: runDataCall("data.import", importParams, renderDataImport)},
	}
}

func jobParams(args []string, _ flagSet) (any, error) {
	if len(args) == 0 {
		return nil, nil
	}
	return map[string]any{"job": args[0]}, nil
}

func importParams(args []string, _ flagSet) (any, error) {
	path, err := filepath.Abs(args[0])
	if err != nil {
		return nil, usagef("superbot data import: %v", err)
	}
	return map[string]any{"path": path}, nil
}

// downloadParams builds data.download's params; bad dates are usage errors.
func downloadParams(args []string, f flagSet) (map[string]any, error) {
	if !f.has("from") {
		return nil, usagef("superbot data download: --from is required (e.g. --from 2024-01-01)")
	}
	if f.bool("local") && f.bool("detach") {
		return nil, usagef("superbot data download: --detach needs the daemon; it cannot go with --local")
	}
	syms := make([]string, len(args))
	for i, a := range args {
		syms[i] = strings.ToUpper(a)
	}
	p := map[string]any{"symbols": syms, "interval": "1m"}
	if iv := f.str("interval"); iv != "" {
		p["interval"] = iv
	}
	from, err := whenMillis("from", f.str("from"))
	if err != nil {
		return nil, err
	}
	p["from_ms"] = from
	if f.has("to") {
		to, err := whenMillis("to", f.str("to"))
		if err != nil {
			return nil, err
		}
		if to <= from {
			return nil, usagef("--to %s is not after --from %s", f.str("to"), f.str("from"))
		}
		p["to_ms"] = to
	}
	return p, nil
}

// whenMillis reads --from or --to: a date (UTC midnight), a date and time
// (UTC) or an RFC 3339 time.
func whenMillis(flag, s string) (int64, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, usagef("--%s: want a date (2024-01-01), a UTC time (2024-01-01T12:00) or an RFC 3339 time, got %q", flag, s)
}

// caller calls one method, through the daemon or in process (--local).
type caller func(ctx context.Context, method string, params any) (json.RawMessage, error)

// dataCaller returns how the data commands call their methods: the daemon,
// or with --local the marketdata actor and a connector in this process
// (close stops them).
func (e *env) dataCaller() (caller, func(), error) {
	if !e.flags.bool("local") {
		if e.flags.has("config") {
			return nil, nil, usagef("--config goes with --local (the daemon has its own)")
		}
		return e.call, func() {}, nil
	}
	cfg, err := config.Load(e.flags.str("config"))
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	l, err := daemon.StartLocalData(cfg, log, e.opts.Timeout)
	if err != nil {
		return nil, nil, err
	}
	call := func(_ context.Context, method string, params any) (json.RawMessage, error) {
		e.method = method
		b, err := json.Marshal(params)
		if err != nil {
			return nil, err
		}
		return l.Call(method, b)
	}
	return call, l.Close, nil
}

// runDataCall is a data command that calls one method, with or without the
// daemon, and renders its result.
func runDataCall(method string, params paramsFunc, render renderFunc) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		p, err := params(args, e.flags)
		if err != nil {
			return err
		}
		call, done, err := e.dataCaller()
		if err != nil {
			return err
		}
		defer done()
		res, err := call(ctx, method, p)
		if err != nil {
			return err
		}
		return e.output(res, render)
	}
}

// dataJob is a DataJob as JSON-RPC shows it.
type dataJob struct {
	Job        string  `json:"job"`
	State      string  `json:"state"`
	Interval   string  `json:"interval"`
	Percent    float64 `json:"percent"`
	EtaMs      int64   `json:"eta_ms"`
	StartedMs  int64   `json:"started_ms"`
	FinishedMs int64   `json:"finished_ms"`
	Error      string  `json:"error"`
	Symbols    []struct {
		Symbol  string    `json:"symbol"`
		FromMs  int64     `json:"from_ms"`
		ToMs    int64     `json:"to_ms"`
		Resumed bool      `json:"resumed"`
		Bars    int64     `json:"bars"`
		Added   int64     `json:"added"`
		Gaps    []dataGap `json:"gaps"`
	} `json:"symbols"`
}

type dataGap struct {
	FromMs int64 `json:"from_ms"`
	ToMs   int64 `json:"to_ms"`
}

func (j *dataJob) final() bool {
	return j.State == "done" || j.State == "failed" || j.State == "canceled"
}

// showProgress reports whether w is a terminal: the progress bar is drawn
// there, never into pipes and logs. Tests replace it.
var showProgress = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// pollEvery is how often a download in the foreground asks for its job.
const pollEvery = 200 * time.Millisecond

// runDataDownload starts a download and follows it to the end with a
// progress bar on stderr (when it is a terminal, without --json; not with
// --detach); Ctrl-C cancels it.
func runDataDownload(ctx context.Context, e *env, args []string) error {
	p, err := downloadParams(args, e.flags)
	if err != nil {
		return err
	}
	call, done, err := e.dataCaller()
	if err != nil {
		return err
	}
	defer done()
	res, err := call(ctx, "data.download", p)
	if err != nil {
		return err
	}
	var started struct{ Job string }
	if err := json.Unmarshal(res, &started); err != nil || started.Job == "" {
		return fmt.Errorf("data.download: unexpected answer %s", res)
	}
	if e.flags.bool("detach") {
		if e.json {
			return e.output(res, nil)
		}
		fprintf(e.stdout, "download job %s started; follow it with: superbot data status %s\n", started.Job, started.Job)
		return nil
	}
	raw, job, err := follow(ctx, e, call, started.Job)
	if err != nil {
		return err
	}
	if e.json {
		if err := e.output(raw, nil); err != nil {
			return err
		}
	} else {
		writeDownload(e.stdout, job)
	}
	switch job.State {
	case "failed":
		return fmt.Errorf("download %s failed: %s", job.Job, job.Error)
	case "canceled":
		return fmt.Errorf("download %s canceled; run the same command again to resume", job.Job)
	}
	return nil
}

// follow polls the job until it ends, drawing the progress bar. When ctx
// ends (Ctrl-C) it cancels the job and waits for it to stop.
func follow(ctx context.Context, e *env, call caller, id string) (json.RawMessage, *dataJob, error) {
	var bar *progressbar.ProgressBar
	if !e.json && showProgress(e.stderr) {
		bar = progressbar.NewOptions64(1000, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("download "+id),
			progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(), progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(100*time.Millisecond), progressbar.OptionOnCompletion(func() { fprintln(e.stderr) }))
	}
	bg := context.WithoutCancel(ctx)
	canceled := false
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	var deadline time.Time
	for {
		raw, err := call(bg, "data.status", map[string]any{"job": id})
		if err != nil {
			return nil, nil, err
		}
		var st struct {
			Jobs []json.RawMessage `json:"jobs"`
		}
		if err := json.Unmarshal(raw, &st); err != nil || len(st.Jobs) != 1 {
			return nil, nil, fmt.Errorf("data.status: unexpected answer %s", raw)
		}
		var job dataJob
		if err := json.Unmarshal(st.Jobs[0], &job); err != nil {
			return nil, nil, fmt.Errorf("data.status: %w", err)
		}
		if bar != nil {
			_ = bar.Set64(int64(job.Percent * 10))
		}
		if job.final() {
			if bar != nil && job.State != "done" {
				fprintln(e.stderr)
			}
			return st.Jobs[0], &job, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return nil, nil, errors.New("the canceled download did not stop within 30s")
		}
		select {
		case <-ctx.Done():
			if !canceled {
				canceled, deadline = true, time.Now().Add(30*time.Second)
				if _, err := call(bg, "data.cancel", map[string]any{"job": id}); err != nil {
					return nil, nil, err
				}
			}
			<-tick.C
		case <-tick.C:
		}
	}
}

// writeDownload prints what a download did, per symbol, and its gaps.
func writeDownload(w io.Writer, j *dataJob) {
	took := ""
	if j.FinishedMs > 0 && j.StartedMs > 0 {
		took = " in " + (time.Duration(j.FinishedMs-j.StartedMs) * time.Millisecond).String()
	}
	fprintf(w, "download %s %s%s\n", j.Job, j.State, took)
	tw := newTable(w)
	fprintln(tw, "SYMBOL\tINTERVAL\tFROM\tTO\tBARS\tADDED\tGAPS\tRESUMED")
	var gaps []string
	for _, s := range j.Symbols {
		fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%v\n", s.Symbol, j.Interval, fmtMs(s.FromMs), fmtMs(s.ToMs), s.Bars, s.Added, len(s.Gaps), s.Resumed)
		for _, g := range s.Gaps {
			gaps = append(gaps, fmt.Sprintf("  %s %s .. %s", s.Symbol, fmtMs(g.FromMs), fmtMs(g.ToMs)))
		}
	}
	_ = tw.Flush()
	if len(gaps) > 0 {
		fprintf(w, "missing klines (the exchange returned none), open times [from, to):\n")
		for i, g := range gaps {
			if i == 20 {
				fprintf(w, "  ... and %d more (superbot data status %s --json)\n", len(gaps)-20, j.Job)
				break
			}
			fprintln(w, g)
		}
	}
}

func fmtMs(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}

func renderDataJobs(w io.Writer, res json.RawMessage) error {
	var r struct{ Jobs []dataJob }
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Jobs) == 0 {
		fprintln(w, "no download jobs")
		return nil
	}
	tw := newTable(w)
	fprintln(tw, "JOB\tSTATE\tINTERVAL\tSYMBOLS\tPROGRESS\tETA\tBARS\tGAPS\tERROR")
	for _, j := range r.Jobs {
		var syms []string
		var bars, gaps int64
		for _, s := range j.Symbols {
			syms = append(syms, s.Symbol)
			bars += s.Bars
			gaps += int64(len(s.Gaps))
		}
		eta := "-"
		if j.EtaMs >= 0 && j.State == "running" {
			eta = (time.Duration(j.EtaMs) * time.Millisecond).Round(time.Second).String()
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%.1f%%\t%s\t%d\t%d\t%s\n", j.Job, j.State, j.Interval, strings.Join(syms, ","), j.Percent, eta, bars, gaps, j.Error)
	}
	return tw.Flush()
}

func renderDataCancel(w io.Writer, res json.RawMessage) error {
	var r struct{ Job dataJob }
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	fprintf(w, "download %s %s (%.1f%% done; the same download again resumes)\n", r.Job.Job, r.Job.State, r.Job.Percent)
	return nil
}

func renderDataList(w io.Writer, res json.RawMessage) error {
	var r struct {
		Dir    string `json:"dir"`
		Series []struct {
			Symbol   string    `json:"symbol"`
			Interval string    `json:"interval"`
			FromMs   int64     `json:"from_ms"`
			ToMs     int64     `json:"to_ms"`
			Bars     int64     `json:"bars"`
			Gaps     []dataGap `json:"gaps"`
			Bytes    int64     `json:"bytes"`
		} `json:"series"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Series) == 0 {
		fprintf(w, "no candles stored in %s\n", r.Dir)
		return nil
	}
	fprintf(w, "data directory: %s\n", r.Dir)
	tw := newTable(w)
	fprintln(tw, "SYMBOL\tINTERVAL\tFROM\tTO\tBARS\tGAPS\tMISSING\tSIZE")
	for _, s := range r.Series {
		missing := time.Duration(0)
		for _, g := range s.Gaps {
			missing += time.Duration(g.ToMs-g.FromMs) * time.Millisecond
		}
		fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.Symbol, s.Interval, fmtMs(s.FromMs), fmtMs(s.ToMs+1), s.Bars, len(s.Gaps), missing, humanBytes(fmt.Sprint(s.Bytes)))
	}
	return tw.Flush()
}

func renderDataImport(w io.Writer, res json.RawMessage) error {
	var r struct {
		Imported []struct {
			Symbol     string `json:"symbol"`
			Interval   string `json:"interval"`
			Files      int64  `json:"files"`
			Added      int64  `json:"added"`
			Duplicates int64  `json:"duplicates"`
		} `json:"imported"`
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Imported) == 0 {
		fprintln(w, "nothing imported")
		return nil
	}
	tw := newTable(w)
	fprintln(tw, "SYMBOL\tINTERVAL\tFILES\tADDED\tDUPLICATES")
	for _, s := range r.Imported {
		fprintf(tw, "%s\t%s\t%d\t%d\t%d\n", s.Symbol, s.Interval, s.Files, s.Added, s.Duplicates)
	}
	return tw.Flush()
}
