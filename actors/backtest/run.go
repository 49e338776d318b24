package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/messages"
)

// Names of a job's files in its results directory.
const (
	fileHTML   = "report.html"
	fileJSON   = "report.json"
	fileCSV    = "trades.csv"
	filePNG    = "equity.png"
	fileResult = "result.json"
)

// maxResultPoints is how many sweep points a result keeps, best first.
const maxResultPoints = 1000

// start runs j on a goroutine of its own holding workers cpu workers.
func (a *backtestActor) start(j *job, workers int) {
	ctx, cancel := context.WithCancel(context.Background())
	j.state, j.started, j.workers, j.cancel = messages.JobRunning, now(), workers, cancel
	a.log.Info("backtest started", "job", j.id, "workers", workers, "queued", j.started.Sub(j.created).Round(time.Millisecond).String())
	a.publish(j)
	root, self, run := a.root, a.self, a.deps.Run
	dir := filepath.Join(a.cfg.ResultsDir, j.id)
	view := a.view(j)
	spec := j.spec
	go func() { // the job's goroutine: never touches the actor's state
		defer cancel()
		progress := throttle(func(done, total int64) { root.Send(self, &jobProgress{id: view.Id, done: done, total: total}) })
		res, err := runJob(ctx, run, spec, workers, dir, view, progress)
		root.Send(self, &jobFinished{id: view.Id, res: res, err: err})
	}()
}

// throttle passes progress on when the whole percent changes, and the end.
func throttle(send Progress) Progress {
	last := int64(-1)
	return func(done, total int64) {
		if total <= 0 {
			return
		}
		pct := done * 100 / total
		if pct != last || done == total {
			last = pct
			send(done, total)
		}
	}
}

// runJob runs one job into dir and writes its result.json there. On an
// error (a cancellation too) dir is removed. Runs on the job's goroutine.
func runJob(ctx context.Context, run RunFunc, s Spec, workers int, dir string, view *messages.BacktestJob, progress Progress) (*messages.BacktestResultResponse, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("results directory: %w", err)
	}
	var done, total int64
	oc, err := run(ctx, s, workers, Outputs{
		HTML: filepath.Join(dir, fileHTML), JSON: filepath.Join(dir, fileJSON),
		CSV: filepath.Join(dir, fileCSV), PNG: filepath.Join(dir, filePNG),
	}, func(d, t int64) { done, total = d, t; progress(d, t) })
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	res, err := ResultOf(oc, s)
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	res.Job = view
	view.State, view.FinishedMs, view.Done, view.Total, view.Progress = messages.JobDone, time.Now().UnixMilli(), done, total, 1
	b, err := protojson.Marshal(res)
	if err == nil {
		_, err = writeFile(filepath.Join(dir, fileResult), func(w io.Writer) error {
			_, werr := w.Write(b)
			return werr
		})
	}
	if err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("write the result: %w", err)
	}
	return res, nil
}

// ResultOf is oc as backtest.result answers it (without the job).
func ResultOf(oc *Outcome, s Spec) (*messages.BacktestResultResponse, error) {
	res := &messages.BacktestResultResponse{Summary: oc.Summary}
	b, err := json.Marshal(oc.Metrics)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	if res.Metrics, err = structpb.NewStruct(m); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	for _, f := range oc.Files {
		res.Files = append(res.Files, &messages.BacktestFile{Kind: f.Kind, Path: f.Path, Bytes: f.Bytes})
	}
	if s.Sweep != nil {
		res.Metric = s.Sweep.Metric
	}
	for i, p := range oc.Points {
		if i == maxResultPoints {
			break
		}
		res.Points = append(res.Points, &messages.BacktestSweepPoint{Params: p.Params, Score: p.Score, Trades: int64(p.Trades), OutOfSample: p.OutOfSample})
	}
	return res, nil
}
