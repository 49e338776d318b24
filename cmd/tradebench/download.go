package main

import (
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The download figure's simulator limit: small enough that a year of 1m
// klines (526 pages of weight 2) spans about ten windows, so the budget,
// not the simulator's speed, bounds the download.
const (
	dlWeightLimit  = 120
	dlWeightWindow = 3 * time.Second
	dlDays         = 365
)

// downloadFigure: superbot data download of one year of 1-minute klines
// (526 pages of 1000) from the simulator through a real daemon's
// connector: no 429 answered, and the share of the weight budget used in
// every complete window while it runs (the connector keeps
// connector.weight_headroom, 5 %, unused: 95 % is the ceiling).
func downloadFigure(w io.Writer, bin, dir string) error {
	cfg := exchangesim.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = 0
	cfg.Backfill = 10 * time.Minute
	cfg.WeightLimit, cfg.WeightWindow = dlWeightLimit, dlWeightWindow
	ex, err := exchangesim.New(cfg)
	if err == nil {
		err = ex.Start()
	}
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	d, c, _, err := openDaemon(bin, filepath.Join(dir, "daemon"), daemonConfig(ex, "paper", ""), time.Minute)
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { _ = c.Close() }()

	from := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, -dlDays-1)
	to := from.AddDate(0, 0, dlDays)
	var started messages.DataDownloadResponse
	if err := rpcCall(c, "data.download", map[string]any{"symbols": []string{"BTCUSDT"}, "interval": "1m",
		"from_ms": from.UnixMilli(), "to_ms": to.UnixMilli()}, &started); err != nil {
		return err
	}
	begin := time.Now()
	job, st, used, err := followDownload(c, started.GetJob(), begin)
	if err != nil {
		return err
	}
	took := time.Since(begin)
	first, last := dlWindow(begin), dlWindow(begin.Add(took))
	var sum, n int64
	minUse := int64(-1)
	for wi := first + 1; wi < last; wi++ {
		sum += used[wi]
		n++
		if minUse < 0 || used[wi] < minUse {
			minUse = used[wi]
		}
	}
	s := job.GetSymbols()[0]
	limit := st.GetBudgetLimit()
	fmt.Fprintf(w, "download: %d days of 1m BTCUSDT klines from the simulator through superbotd: state %s, %d pages, %d bars, %d gaps, in %s\n",
		dlDays, job.GetState(), s.GetPages(), s.GetBars(), len(s.GetGaps()), took.Round(time.Millisecond))
	if n == 0 || limit <= 0 {
		return fmt.Errorf("no complete weight window during the download (limit %d)", limit)
	}
	mean := float64(sum) / float64(n) / float64(limit) * 100
	fmt.Fprintf(w, "download: weight budget used in the %d complete windows of %s: mean %.1f %%, min %.1f %% of the limit %d (the connector keeps %d unused: ceiling %.1f %%)\n",
		n, dlWeightWindow, mean, float64(minUse)/float64(limit)*100, limit, limit-st.GetBudgetUsable(), float64(st.GetBudgetUsable())/float64(limit)*100)
	fmt.Fprintf(w, "download: 429 answers from the simulator: %d; connector rate-limited answers: %d\n", ex.RateLimitAnswers(), st.GetRateLimited())
	switch {
	case job.GetState() != "done" || s.GetBars() != dlDays*1440 || len(s.GetGaps()) != 0:
		return fmt.Errorf("the download did not complete: %v", job)
	case ex.RateLimitAnswers() != 0:
		return fmt.Errorf("%d 429 answers", ex.RateLimitAnswers())
	case mean < 90:
		return fmt.Errorf("weight budget used %.1f %% < 90 %%", mean)
	}
	return nil
}

// dlWindow is the connector's weight window holding t (it rolls 100 ms
// after the exchange's).
func dlWindow(t time.Time) int64 { return (t.UnixMilli() - 100) / dlWeightWindow.Milliseconds() }

// followDownload polls connector.status (the most weight used in each
// window) and data.status until the job ends.
func followDownload(c *client.Client, id string, begin time.Time) (*messages.DataJob, *messages.ConnectorStatusResponse, map[int64]int64, error) {
	used := map[int64]int64{}
	st := &messages.ConnectorStatusResponse{}
	for polls := 0; ; polls++ {
		now := time.Now()
		if err := rpcCall(c, "connector.status", nil, st); err != nil {
			return nil, nil, nil, err
		}
		if wi := dlWindow(now); dlWindow(time.Now()) == wi { // the answer is of that window
			used[wi] = max(used[wi], st.GetBudgetUsed())
		}
		if polls%10 == 0 {
			var js messages.DataStatusResponse
			if err := rpcCall(c, "data.status", map[string]any{"job": id}, &js); err != nil {
				return nil, nil, nil, err
			}
			if job := js.GetJobs()[0]; job.GetState() != "queued" && job.GetState() != "running" {
				return job, st, used, nil
			}
		}
		if time.Since(begin) > 10*time.Minute {
			return nil, nil, nil, fmt.Errorf("download %s did not end within 10 minutes", id)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
