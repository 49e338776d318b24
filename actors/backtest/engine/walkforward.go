package engine

import (
	"context"
	"fmt"
	"math"
)

// walkForward runs the sweep's points in sample in each window, and the
// best of each window out of sample (see WalkForward).
func (sw *sweeper) walkForward(ctx context.Context) ([]SweepPoint, error) {
	wf, base := sw.sc.WalkForward, sw.sc.Base
	start, end, err := span(&base)
	if err != nil {
		return nil, err
	}
	sw.total = wf.Windows * (len(sw.points) + 1)
	type acc struct {
		sum, oos float64
		n, oosN  int
		trades   int
		err      error
		params   map[string]float64
		grid     int
	}
	accs := make([]acc, len(sw.points))
	width := end - start
	for w := range wf.Windows {
		ws, we := start+width*int64(w)/int64(wf.Windows), start+width*int64(w+1)/int64(wf.Windows)
		split := ws + int64(float64(we-ws)*wf.InSample)
		in := base
		in.FromMs, in.ToMs = ws, split
		outs, err := sw.runAll(ctx, in)
		if err != nil {
			return nil, err
		}
		best := -1
		for i, o := range outs {
			a := &accs[i]
			a.params, a.grid = o.params, o.grid
			if o.err != nil {
				a.err = o.err
				continue
			}
			a.sum, a.n, a.trades = a.sum+o.score, a.n+1, a.trades+o.trades
			if best < 0 || better(o.score, outs[best].score) {
				best = i
			}
		}
		if best < 0 {
			return nil, fmt.Errorf("walk-forward window %d: no point ran: %w", w, outs[0].err)
		}
		oos := base
		oos.FromMs, oos.ToMs = split, we
		r, err := newTrustedRunner(configOf(oos, outs[best].params), nil)
		if err == nil {
			err = r.drive(ctx, nil)
		}
		if err != nil {
			return nil, fmt.Errorf("walk-forward window %d out of sample: %w", w, err)
		}
		accs[best].oos += sw.sc.Score(r.result())
		accs[best].oosN++
		sw.step()
	}
	outs := make([]outcome, len(accs))
	for i, a := range accs {
		outs[i] = outcome{grid: a.grid, params: a.params, err: a.err, trades: a.trades}
		if a.n > 0 {
			outs[i].score = a.sum / float64(a.n)
		}
		if a.oosN > 0 {
			v := a.oos / float64(a.oosN)
			outs[i].oos = &v
		}
	}
	return rank(outs)
}

// better reports whether score a ranks before b (NaN ranks last; ties
// keep the earlier one).
func better(a, b float64) bool {
	return !math.IsNaN(a) && (math.IsNaN(b) || a > b)
}

// span is the open times the backtest covers: from the first bar's to
// just after the last bar's, of all legs, within FromMs/ToMs.
func span(cfg *Config) (start, end int64, err error) {
	start, end = math.MaxInt64, math.MinInt64
	for i := range cfg.Legs {
		bars, err := bound(&cfg.Legs[i], cfg.FromMs, cfg.ToMs, false)
		if err != nil {
			return 0, 0, err
		}
		start, end = min(start, bars[0].OpenTimeMs), max(end, bars[len(bars)-1].OpenTimeMs+1)
	}
	return start, end, nil
}
