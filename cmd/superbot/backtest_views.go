package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/superbot/superbot/messages"
)

// Views of the backtest results (proto/superbot/v1/backtest.proto).

// renderBacktestList prints one line per job, newest first.
func renderBacktestList(w io.Writer, res json.RawMessage) error {
	var r struct{ Jobs []backtestJob }
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if len(r.Jobs) == 0 {
		fprintln(w, "no backtest jobs")
		return nil
	}
	tw := newTable(w)
	fprintln(tw, "JOB\tSTATE\tSTRATEGY\tSYMBOLS\tINTERVAL\tFROM\tTO\tPROGRESS\tETA\tCREATED")
	for _, j := range r.Jobs {
		fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, jobState(j), j.Strategy, strings.Join(j.Symbols, ","), j.Interval,
			day(j.FromMs), day(j.ToMs), percent(j.Progress), eta(j.EtaMs), unixMillis(fmt.Sprint(j.CreatedMs)))
	}
	return tw.Flush()
}

// renderBacktestStatus prints one job as key: value lines.
func renderBacktestStatus(w io.Writer, res json.RawMessage) error {
	var r struct{ Job *backtestJob }
	if err := json.Unmarshal(res, &r); err != nil || r.Job == nil {
		return renderGeneric(w, res)
	}
	j := r.Job
	tw := newTable(w)
	fprintf(tw, "job:\t%s\n", j.ID)
	fprintf(tw, "state:\t%s\n", jobState(*j))
	kind := "backtest"
	if j.Sweep {
		kind = "sweep"
	}
	fprintf(tw, "%s:\t%s on %s %s, %s to %s\n", kind, j.Strategy, strings.Join(j.Symbols, ","), j.Interval, day(j.FromMs), day(j.ToMs))
	fprintf(tw, "progress:\t%s (%d/%d)\n", percent(j.Progress), j.Done, j.Total)
	if j.EtaMs > 0 {
		fprintf(tw, "eta:\t%s\n", eta(j.EtaMs))
	}
	if j.Workers > 0 {
		fprintf(tw, "workers:\t%d\n", j.Workers)
	}
	if j.Error != "" {
		fprintf(tw, "error:\t%s\n", oneLine(j.Error))
	}
	return tw.Flush()
}

// renderBacktestResult prints the summary, a sweep's best points and the
// report files.
func renderBacktestResult(w io.Writer, res json.RawMessage) error {
	var r struct {
		Job     *backtestJob
		Summary string
		Metric  string
		Files   []backtestFile
		Points  []struct {
			Params      map[string]float64 `json:"params"`
			Score       float64            `json:"score"`
			Trades      int64              `json:"trades"`
			OutOfSample *float64           `json:"out_of_sample"`
		}
	}
	if err := json.Unmarshal(res, &r); err != nil {
		return renderGeneric(w, res)
	}
	if r.Job != nil && r.Job.ID != "" {
		fprintf(w, "backtest %s: %s on %s %s\n\n", r.Job.ID, r.Job.Strategy, strings.Join(r.Job.Symbols, ","), r.Job.Interval)
	}
	if len(r.Points) > 0 {
		fprintf(w, "sweep: %d points ranked by %s (best first; the summary is the best one's)\n", len(r.Points), r.Metric)
		var names []string
		for k := range r.Points[0].Params {
			names = append(names, k)
		}
		slices.Sort(names)
		tw := newTable(w)
		fprintf(tw, "RANK\t%s\tSCORE\tTRADES\tOUT OF SAMPLE\n", strings.ToUpper(strings.Join(names, "\t")))
		for i, p := range r.Points[:min(10, len(r.Points))] {
			fprintf(tw, "%d\t", i+1)
			for _, n := range names {
				fprintf(tw, "%g\t", p.Params[n])
			}
			oos := "-"
			if p.OutOfSample != nil {
				oos = fmt.Sprintf("%.4g", *p.OutOfSample)
			}
			fprintf(tw, "%.4g\t%d\t%s\n", p.Score, p.Trades, oos)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fprintln(w)
	}
	fprint(w, r.Summary)
	if len(r.Files) > 0 {
		fprintln(w, "\nreports:")
		for _, f := range r.Files {
			fprintf(w, "  %-4s %s (%s)\n", f.Kind, f.Path, humanBytes(fmt.Sprint(f.Bytes)))
		}
	}
	return nil
}

func jobState(j backtestJob) string {
	if j.State == messages.JobQueued && j.Queue > 0 {
		return fmt.Sprintf("queued (#%d)", j.Queue)
	}
	return j.State
}

func day(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	t := time.UnixMilli(ms).UTC()
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04Z")
}

func percent(f float64) string { return fmt.Sprintf("%.0f%%", 100*f) }

func eta(ms int64) string {
	if ms <= 0 {
		return "-"
	}
	return (time.Duration(ms) * time.Millisecond).Round(time.Second).String()
}
