package backtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/backtest/report"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/orders/ledger"
)

// Outputs names the report files Execute writes; an empty name is not
// written.
type Outputs struct {
	HTML, JSON, CSV, PNG string
}

// File is one report file written.
type File struct {
	// Kind is html, json, csv or png.
	Kind  string
	Path  string
	Bytes int64
}

// Outcome is what a job produced. For a sweep, Result, Metrics, Summary
// and Files are those of its best point, run again in full.
type Outcome struct {
	Result  *engine.Result
	Metrics report.Metrics
	Summary string
	// Points are a sweep's points, best first (nil for a single backtest).
	Points []engine.SweepPoint
	// BestParams are the params of the reported backtest.
	BestParams map[string]any
	Files      []File
}

// Progress is told the work done and the total now and then: bars for a
// single backtest, points for a sweep.
type Progress func(done, total int64)

// Execute runs s to the end (or until ctx is done) on up to workers
// goroutines: it loads the bars from st, runs the engine (a sweep ranks its
// points, then its best point runs again in full for the report), and
// writes the report files out names. Blocking: call it off any actor's
// goroutine. Each file is written to a temporary name and renamed, so a
// file is whole or absent; on an error none of out is left behind.
func Execute(ctx context.Context, st *store.Store, s Spec, workers int, out Outputs, progress Progress) (*Outcome, error) {
	if progress == nil {
		progress = func(int64, int64) {}
	}
	base, err := loadConfig(st, s)
	if err != nil {
		return nil, err
	}
	oc := &Outcome{BestParams: s.PointParams(nil)}
	if s.Sweep != nil {
		if oc.Points, err = sweep(ctx, base, s, workers, progress); err != nil {
			return nil, err
		}
		if len(oc.Points) > 0 {
			oc.BestParams = s.PointParams(oc.Points[0].Params)
		}
		for i := range base.Legs {
			base.Legs[i].Params = oc.BestParams
		}
		progress = func(int64, int64) {} // the points were the progress
	}
	if oc.Result, err = engine.Run(ctx, base, func(done, total int64) { progress(done, total) }); err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	oc.Metrics = report.Compute(oc.Result)
	var sum bytes.Buffer
	if err := report.WriteSummary(&sum, oc.Metrics); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	oc.Summary = sum.String()
	if oc.Files, err = writeOutputs(oc, out); err != nil {
		return nil, err
	}
	return oc, nil
}

// loadConfig loads every leg's bars and builds the engine's config. The
// account holds each leg's allocation in its quote asset and nothing else,
// and its balances are checked as paper trading checks them: a strategy
// cannot spend cash it no longer has, so losses and fees shrink what it
// can buy and the equity never goes below zero.
func loadConfig(st *store.Store, s Spec) (engine.Config, error) {
	cfg := engine.Config{MakerFee: s.MakerFee, TakerFee: s.TakerFee, Slippage: s.Slippage, FromMs: s.FromMs, ToMs: s.ToMs,
		Balances: map[string]float64{}}
	for _, sym := range s.Symbols {
		_, quote := ledger.SplitSymbol(sym)
		cfg.Balances[quote] += s.Allocation
		bars, err := st.Load(sym, s.Interval, s.FromMs, s.ToMs)
		if err != nil {
			return engine.Config{}, fmt.Errorf("load %s %s: %w", sym, s.Interval, err)
		}
		if len(bars) == 0 {
			return engine.Config{}, fmt.Errorf("load %s %s: no bars stored in the range asked (superbot data download or import first)", sym, s.Interval)
		}
		cfg.Legs = append(cfg.Legs, engine.Leg{
			Name: s.Kind + "_" + strings.ToLower(sym), Kind: s.Kind, Params: s.PointParams(nil),
			Symbol: sym, Interval: s.Interval, Allocation: s.Allocation, Bars: bars,
		})
	}
	return cfg, nil
}

func sweep(ctx context.Context, base engine.Config, s Spec, workers int, progress Progress) ([]engine.SweepPoint, error) {
	score, err := report.Score(s.Sweep.Metric)
	if err != nil {
		return nil, fmt.Errorf("sweep.metric: %w", err)
	}
	sc := engine.SweepConfig{
		Base: base, Params: s.Sweep.Params, Random: s.Sweep.Random, Seed: s.Sweep.Seed, Workers: workers,
		Score: score,
	}
	if s.Sweep.WalkForward > 0 {
		sc.WalkForward = &engine.WalkForward{Windows: s.Sweep.WalkForward, InSample: s.Sweep.InSample}
	}
	points, err := engine.Sweep(ctx, sc, func(done, total int) { progress(int64(done), int64(total)) })
	if err != nil {
		return nil, fmt.Errorf("sweep: %w", err)
	}
	return points, nil
}

// writeOutputs writes the report files out names, each whole or not at
// all; on an error the ones written are removed.
func writeOutputs(oc *Outcome, out Outputs) ([]File, error) {
	title := "backtest"
	if len(oc.Result.Legs) > 0 {
		title = oc.Result.Legs[0].Name
	}
	writers := []struct {
		kind, path string
		write      func(io.Writer) error
	}{
		{"html", out.HTML, func(w io.Writer) error { return report.WriteHTML(w, oc.Result, oc.Metrics, title) }},
		{"json", out.JSON, func(w io.Writer) error { return report.WriteJSON(w, oc.Result, oc.Metrics) }},
		{"csv", out.CSV, func(w io.Writer) error { return report.WriteTradesCSV(w, oc.Result) }},
		{"png", out.PNG, func(w io.Writer) error { return report.WritePNG(w, oc.Result) }},
	}
	var files []File
	for _, wr := range writers {
		if wr.path == "" {
			continue
		}
		n, err := writeFile(wr.path, wr.write)
		if err != nil {
			for _, f := range files {
				_ = os.Remove(f.Path)
			}
			return nil, fmt.Errorf("write %s report: %w", wr.kind, err)
		}
		abs, _ := filepath.Abs(wr.path)
		files = append(files, File{Kind: wr.kind, Path: abs, Bytes: n})
	}
	return files, nil
}

// writeFile writes path through a temporary file in its directory and a
// rename: path is whole or untouched.
func writeFile(path string, write func(io.Writer) error) (int64, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return 0, err
	}
	cw := &countWriter{w: tmp}
	err = write(cw)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return 0, err
	}
	return cw.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// errCanceled reports whether err is a job's cancellation.
func errCanceled(err error) bool {
	return errors.Is(err, context.Canceled)
}
