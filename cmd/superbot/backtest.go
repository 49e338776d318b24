package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/superbot/superbot/actors/backtest"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/daemon"
)

// backtestFlags are the backtest commands' own flags, added to
// commandFlags (--from, --to, --local, --config and --detach are there,
// shared with the data commands).
var backtestFlags = []flagDef{
	{name: "sweep", arg: "NAME=LO:HI[:STEP]|NAME=A,B,C", multi: true, help: "sweep a strategy param over a range (step default 1) or a list"},
	{name: "metric", arg: "NAME", help: "sweep ranking: sharpe (default), sortino, calmar, return, annual_return, profit_factor, expectancy, win_rate, max_drawdown"},
	{name: "random", arg: "N", help: "sweep N points drawn from the grid instead of the whole grid"},
	{name: "walk-forward", arg: "N", help: "sweep in N walk-forward windows (in-sample ranks, out-of-sample scores)"},
	{name: "allocation", arg: "QUOTE", help: "each symbol's capital in the quote asset (default 10000)"},
	{name: "maker-fee", arg: "FRACTION", help: "maker fee (default 0.001)"},
	{name: "taker-fee", arg: "FRACTION", help: "taker fee (default 0.001)"},
	{name: "slippage", arg: "FRACTION", help: "what a market order pays beyond the last price (default 0)"},
	{name: "html", arg: "FILE", help: "write the HTML report (equity, drawdown, trades on the price) to FILE"},
	{name: "json-out", arg: "FILE", help: "write the JSON report (metrics, orders, fills) to FILE (--json prints the result instead)"},
	{name: "csv", arg: "FILE", help: "write the trades CSV to FILE"},
	{name: "png", arg: "FILE", help: "write the equity curve PNG to FILE"},
	{name: "data-dir", arg: "DIR", help: "with --local: the candle store (default: the config's, .superbot/data)"},
}

func init() { commandFlags = append(commandFlags, backtestFlags...) }

// backtestPoll is how often a waiting backtest run asks for its job.
const backtestPoll = 200 * time.Millisecond

// backtestCommands are the backtest.* commands (issue 11, section 4).
func backtestCommands() []*command {
	id := []argSpec{{name: "JOB"}}
	return []*command{
		{name: "backtest run", flags: []string{"strategy", "symbol", "interval", "from", "to", "param", "sweep", "metric", "random",
			"walk-forward", "allocation", "maker-fee", "taker-fee", "slippage", "html", "json-out", "csv", "png", "local", "config", "data-dir", "detach"},
			method: "backtest.run, backtest.status, backtest.result", run: runBacktest,
			summary: "backtest a strategy kind on stored bars (--symbol A,B), or sweep its params; a progress bar, then the summary; --local without the daemon"},
		{name: "backtest list", method: "backtest.list", summary: "backtest jobs: running, queued and recent ones",
			run: simple("backtest.list", noParams, renderBacktestList)},
		{name: "backtest status", args: id, method: "backtest.status", summary: "a backtest job's state, progress and ETA",
			run: simple("backtest.status", idParams, renderBacktestStatus)},
		{name: "backtest result", args: id, method: "backtest.result", summary: "a finished backtest's summary, report files (and a sweep's best points)",
			run: simple("backtest.result", idParams, renderBacktestResult)},
		{name: "backtest cancel", args: id, method: "backtest.cancel", summary: "cancel a queued or running backtest",
			run: simple("backtest.cancel", idParams, renderBacktestStatus)},
	}
}

func idParams(args []string, _ flagSet) (any, error) { return map[string]any{"id": args[0]}, nil }

// backtestOutputs are the report files the command line asks for.
func backtestOutputs(f flagSet) (backtest.Outputs, error) {
	out := backtest.Outputs{HTML: f.str("html"), JSON: f.str("json-out"), CSV: f.str("csv"), PNG: f.str("png")}
	for _, p := range []*string{&out.HTML, &out.JSON, &out.CSV, &out.PNG} {
		if *p == "" {
			continue
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return out, usagef("%s: %v", *p, err)
		}
		if fi, err := os.Stat(filepath.Dir(abs)); err != nil || !fi.IsDir() {
			return out, usagef("%s: its directory does not exist", *p)
		}
		*p = abs
	}
	return out, nil
}

// runBacktest is "superbot backtest run": with the daemon it queues the
// job, follows it with a progress bar (Ctrl-C cancels it) and prints its
// summary; with --local it runs here.
func runBacktest(ctx context.Context, e *env, _ []string) error {
	params, err := backtestParams(e.flags)
	if err != nil {
		return err
	}
	out, err := backtestOutputs(e.flags)
	if err != nil {
		return err
	}
	if e.flags.bool("local") {
		return runBacktestLocal(ctx, e, params, out)
	}
	for _, k := range []string{"data-dir", "config"} {
		if e.flags.has(k) {
			return usagef("--%s goes with --local (the daemon reads its own store)", k)
		}
	}
	res, err := e.call(ctx, "backtest.run", params)
	if err != nil {
		return err
	}
	var run struct{ Job backtestJob }
	if err := json.Unmarshal(res, &run); err != nil {
		return fmt.Errorf("backtest.run: %w", err)
	}
	if e.flags.bool("detach") {
		return e.output(res, renderBacktestStatus)
	}
	if err := followBacktest(ctx, e, run.Job.ID); err != nil {
		return err
	}
	res, err = e.call(ctx, "backtest.result", map[string]any{"id": run.Job.ID})
	if err != nil {
		return err
	}
	if err := copyReports(res, out); err != nil {
		return err
	}
	return e.output(res, renderBacktestResult)
}

// followBacktest polls the job until it ends, drawing its progress on
// stderr. An interrupt cancels the job.
func followBacktest(ctx context.Context, e *env, id string) error {
	bar := newBar(e.stderr, "backtest "+id)
	defer func() { _ = bar.Finish() }()
	tick := time.NewTicker(backtestPoll)
	defer tick.Stop()
	for {
		res, err := e.call(ctx, "backtest.status", map[string]any{"id": id})
		if err != nil {
			return err
		}
		var st struct{ Job backtestJob }
		if err := json.Unmarshal(res, &st); err != nil {
			return fmt.Errorf("backtest.status: %w", err)
		}
		if st.Job.Total > 0 {
			bar.ChangeMax64(st.Job.Total)
			_ = bar.Set64(st.Job.Done)
		}
		switch st.Job.State {
		case messages.JobDone:
			return nil
		case messages.JobFailed:
			return fmt.Errorf("backtest %s failed: %s", id, st.Job.Error)
		case messages.JobCanceled:
			return fmt.Errorf("backtest %s was canceled", id)
		}
		select {
		case <-ctx.Done():
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_, _ = e.call(cctx, "backtest.cancel", map[string]any{"id": id})
			return fmt.Errorf("interrupted: backtest %s canceled", id)
		case <-tick.C:
		}
	}
}

// newBar is a job's progress bar on w, drawn only when w is a terminal
// (like the download's: a pipe or a file gets the summary only).
func newBar(w io.Writer, what string) *progressbar.ProgressBar {
	if !showProgress(w) {
		w = io.Discard
	}
	// A known length (set to the job's once known), not -1: progressbar's
	// unknown-length spinner renders from a goroutine of its own that races
	// with the caller's updates (the race detector reports it).
	return progressbar.NewOptions64(1, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(), progressbar.OptionSetWidth(30))
}

// runBacktestLocal runs the backtest in this process: the same request,
// validation and Execute as the daemon's job.
func runBacktestLocal(ctx context.Context, e *env, params map[string]any, out backtest.Outputs) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	req := &messages.BacktestRunRequest{}
	if err := protojson.Unmarshal(b, req); err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	spec, err := backtest.SpecFromRequest(req)
	if err != nil {
		return usagef("superbot backtest run: %v", err)
	}
	dir := e.flags.str("data-dir")
	if dir == "" {
		cfg, err := config.Load(e.flags.str("config"))
		if err != nil {
			return err
		}
		dir = daemon.DataDir(cfg)
	}
	st, err := store.Open(dir)
	if err != nil {
		return fmt.Errorf("candle store %s: %w", dir, err)
	}
	bar := newBar(e.stderr, "backtest")
	oc, err := backtest.Execute(ctx, st, spec, runtime.NumCPU(), out, func(done, total int64) {
		bar.ChangeMax64(total)
		_ = bar.Set64(done)
	})
	_ = bar.Finish()
	if err != nil {
		return err
	}
	res, err := backtest.ResultOf(oc, spec)
	if err != nil {
		return err
	}
	res.Job = &messages.BacktestJob{State: messages.JobDone, Strategy: spec.Kind, Symbols: spec.Symbols, Interval: spec.Interval,
		FromMs: spec.FromMs, ToMs: spec.ToMs, Sweep: spec.Sweep != nil, Progress: 1}
	raw, err := messages.AppendJSON(nil, res)
	if err != nil {
		return err
	}
	return e.output(raw, renderBacktestResult)
}

// backtestParams builds backtest.run's params from the flags; every
// mistake is a usage error and nothing is sent.
func backtestParams(f flagSet) (map[string]any, error) {
	p := map[string]any{"strategy": f.str("strategy"), "interval": cmpOr(f.str("interval"), backtest.DefaultInterval)}
	if p["strategy"] == "" {
		return nil, usagef("superbot backtest run: --strategy KIND is required")
	}
	var symbols []string
	for _, s := range strings.Split(f.str("symbol"), ",") {
		if s = strings.ToUpper(strings.TrimSpace(s)); s != "" {
			symbols = append(symbols, s)
		}
	}
	if len(symbols) == 0 {
		return nil, usagef("superbot backtest run: --symbol SYMBOL[,SYMBOL...] is required")
	}
	p["symbols"] = symbols
	if !f.has("from") {
		return nil, usagef("superbot backtest run: --from WHEN is required (e.g. 2024-01-01)")
	}
	for _, k := range []string{"from", "to"} {
		if f.has(k) {
			ms, err := backtestMillis(f.str(k))
			if err != nil {
				return nil, usagef("--%s: %v", k, err)
			}
			p[k+"_ms"] = ms
		}
	}
	for _, k := range []string{"allocation", "maker-fee", "taker-fee", "slippage"} {
		if f.has(k) {
			v, err := strconv.ParseFloat(f.str(k), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, usagef("--%s: want a number, got %q", k, f.str(k))
			}
			p[strings.ReplaceAll(k, "-", "_")] = v
		}
	}
	params := map[string]any{}
	for _, kv := range f["param"] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--param %q: want NAME=VALUE", kv)
		}
		if _, dup := params[k]; dup {
			return nil, usagef("--param %s given twice", k)
		}
		params[k] = paramValue(v)
	}
	p["params"] = params
	sweep, err := sweepParams(f, params)
	if err != nil {
		return nil, err
	}
	if sweep != nil {
		p["sweep"] = sweep
	}
	return p, nil
}

// paramValue reads a --param value: a number, true/false, else a string.
func paramValue(v string) any {
	if n, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) {
		return n
	}
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v
}

// sweepParams builds the sweep from --sweep, --metric, --random and
// --walk-forward (nil without --sweep).
func sweepParams(f flagSet, fixed map[string]any) (map[string]any, error) {
	if !f.has("sweep") {
		for _, k := range []string{"metric", "random", "walk-forward"} {
			if f.has(k) {
				return nil, usagef("--%s applies to a sweep: add --sweep NAME=LO:HI[:STEP]", k)
			}
		}
		return nil, nil
	}
	var axes []map[string]any
	for _, s := range f["sweep"] {
		name, values, err := sweepAxis(s)
		if err != nil {
			return nil, err
		}
		if _, ok := fixed[name]; ok {
			return nil, usagef("--sweep %s: also given with --param", name)
		}
		if slices.ContainsFunc(axes, func(a map[string]any) bool { return a["name"] == name }) {
			return nil, usagef("--sweep %s given twice", name)
		}
		axes = append(axes, map[string]any{"name": name, "values": values})
	}
	sw := map[string]any{"params": axes, "metric": cmpOr(f.str("metric"), backtest.DefaultMetric)}
	for _, k := range []string{"random", "walk-forward"} {
		n, err := f.int(k, 0)
		if err != nil {
			return nil, err
		}
		sw[strings.ReplaceAll(k, "-", "_")] = n
	}
	return sw, nil
}

// sweepAxis reads NAME=LO:HI[:STEP] (inclusive, step default 1) or
// NAME=A,B,C.
func sweepAxis(s string) (string, []float64, error) {
	name, spec, ok := strings.Cut(s, "=")
	if !ok || name == "" || spec == "" {
		return "", nil, usagef("--sweep %q: want NAME=LO:HI[:STEP] or NAME=A,B,C", s)
	}
	num := func(x string) (float64, error) {
		v, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, usagef("--sweep %s: %q is not a number", name, x)
		}
		return v, nil
	}
	if !strings.Contains(spec, ":") {
		var out []float64
		for _, x := range strings.Split(spec, ",") {
			v, err := num(x)
			if err != nil {
				return "", nil, err
			}
			out = append(out, v)
		}
		return name, out, nil
	}
	parts := strings.Split(spec, ":")
	if len(parts) > 3 {
		return "", nil, usagef("--sweep %s: want LO:HI[:STEP], got %q", name, spec)
	}
	lo, err := num(parts[0])
	if err != nil {
		return "", nil, err
	}
	hi, err := num(parts[1])
	if err != nil {
		return "", nil, err
	}
	step := 1.0
	if len(parts) == 3 {
		if step, err = num(parts[2]); err != nil {
			return "", nil, err
		}
	}
	if step <= 0 || hi < lo {
		return "", nil, usagef("--sweep %s: want LO <= HI and STEP > 0, got %q", name, spec)
	}
	n := math.Floor((hi-lo)/step+1e-9) + 1
	if n > backtest.MaxAxisValues {
		return "", nil, usagef("--sweep %s: %s has %.0f values, more than %d", name, spec, n, backtest.MaxAxisValues)
	}
	out := make([]float64, 0, int(n))
	for i := range int(n) {
		out = append(out, lo+float64(i)*step)
	}
	return name, out, nil
}

// backtestMillis reads a date (UTC midnight), an RFC 3339 time or Unix ms.
func backtestMillis(s string) (int64, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 0 {
		return ms, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UnixMilli(), nil
		}
	}
	return 0, fmt.Errorf("want a date (2024-01-01), an RFC 3339 time or Unix ms, got %q", s)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// copyReports copies the report files the daemon wrote to the paths the
// command line names, each whole or not at all.
func copyReports(res json.RawMessage, out backtest.Outputs) error {
	var r struct{ Files []backtestFile }
	if err := json.Unmarshal(res, &r); err != nil {
		return fmt.Errorf("backtest.result: %w", err)
	}
	want := map[string]string{"html": out.HTML, "json": out.JSON, "csv": out.CSV, "png": out.PNG}
	for _, f := range r.Files {
		dst := want[f.Kind]
		if dst == "" {
			continue
		}
		if err := copyFile(f.Path, dst); err != nil {
			return fmt.Errorf("%s report: %w", f.Kind, err)
		}
		delete(want, f.Kind)
	}
	for kind, dst := range want {
		if dst != "" {
			return fmt.Errorf("the daemon wrote no %s report for %s", kind, dst)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer func() { _ = in.Close() }()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, in)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
	}
	return err
}

// backtestJob is messages.BacktestJob as JSON.
type backtestJob struct {
	ID         string   `json:"id"`
	State      string   `json:"state"`
	Strategy   string   `json:"strategy"`
	Symbols    []string `json:"symbols"`
	Interval   string   `json:"interval"`
	FromMs     int64    `json:"from_ms"`
	ToMs       int64    `json:"to_ms"`
	Sweep      bool     `json:"sweep"`
	Done       int64    `json:"done"`
	Total      int64    `json:"total"`
	Progress   float64  `json:"progress"`
	EtaMs      int64    `json:"eta_ms"`
	CreatedMs  int64    `json:"created_ms"`
	FinishedMs int64    `json:"finished_ms"`
	Workers    int      `json:"workers"`
	Error      string   `json:"error"`
	Queue      int      `json:"queue_position"`
}

type backtestFile struct {
	Kind  string `json:"kind"`
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}
