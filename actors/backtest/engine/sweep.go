package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
)

// maxGrid bounds the points of a grid run whole (Random == 0), and
// maxWindows the walk-forward windows.
const (
	maxGrid    = 1_000_000
	maxWindows = 1000
)

// Param is one swept parameter: its values (a grid axis).
type Param struct {
	Name   string
	Values []float64
}

// WalkForward splits the bars into Windows consecutive windows; in each,
// the first InSample fraction ranks the points and the rest scores the
// best one out of sample.
//
// The windows cut the time from the first bar's open to the last bar's
// (of all legs, within the Base's FromMs/ToMs) into equal spans. With a
// walk-forward, a SweepPoint's Score is the mean of its in-sample scores
// over the windows (Trades: its in-sample fills, summed), and its
// OutOfSample is the mean of its out-of-sample scores over the windows
// where it ranked best in sample (nil where it never did).
type WalkForward struct {
	Windows  int
	InSample float64
}

// SweepConfig is a parameter search.
type SweepConfig struct {
	// Base is the backtest; each point overrides its legs' Params with the
	// swept values.
	Base   Config
	Params []Param
	// Random > 0 runs that many points drawn (with Seed) from the grid
	// instead of the whole grid.
	Random int
	Seed   uint64
	// Workers bounds the goroutines (the daemon's cpu pool); <= 0: 1.
	Workers int
	// Score ranks a result, higher is better (report.Score gives the
	// metrics by name). The workers call it concurrently; it must not keep
	// the Result (its buffers serve the next points).
	Score       func(*Result) float64
	WalkForward *WalkForward
}

// SweepPoint is one point's outcome. The Result itself is not kept.
type SweepPoint struct {
	Params map[string]float64
	Score  float64
	// Trades counts the point's fills.
	Trades int
	// OutOfSample is the walk-forward score out of sample (nil without).
	OutOfSample *float64
}

// Sweep runs every point on up to Workers goroutines and returns them
// ranked, best first (ties: grid order), deterministically whatever the
// worker count. progress, if not nil, is called after each point.
//
// A point whose params the strategy refuses (sma_cross with fast >= slow)
// is left out of the ranking; when every point is refused, the first
// one's error is returned. A score that is NaN ranks last. When ctx is
// done the workers stop after the bars in flight (a few thousand) and
// Sweep returns ctx's error.
func Sweep(ctx context.Context, sc SweepConfig, progress func(done, total int)) ([]SweepPoint, error) {
	if err := checkSweep(&sc); err != nil {
		return nil, err
	}
	points, err := gridPoints(&sc)
	if err != nil {
		return nil, err
	}
	sw := &sweeper{sc: sc, points: points, progress: progress}
	if sc.WalkForward == nil {
		sw.total = len(points)
		outs, err := sw.runAll(ctx, sc.Base)
		if err != nil {
			return nil, err
		}
		return rank(outs)
	}
	return sw.walkForward(ctx)
}

// checkSweep validates what Sweep adds to a backtest, and the Base's bars
// once (the points then run without checking them again).
func checkSweep(sc *SweepConfig) error {
	if err := checkConfig(&sc.Base); err != nil {
		return err
	}
	for i := range sc.Base.Legs {
		if err := checkBars(sc.Base.Legs[i].Bars); err != nil {
			return badConfig("leg %s: %v", sc.Base.Legs[i].Name, err)
		}
	}
	switch {
	case len(sc.Params) == 0:
		return badConfig("sweep: no params to sweep")
	case sc.Score == nil:
		return badConfig("sweep: no score")
	case sc.Random < 0:
		return badConfig("sweep: random must be >= 0, got %d", sc.Random)
	}
	seen := map[string]bool{}
	for _, p := range sc.Params {
		switch {
		case p.Name == "":
			return badConfig("sweep: a param without a name")
		case seen[p.Name]:
			return badConfig("sweep: param %s given twice", p.Name)
		case len(p.Values) == 0:
			return badConfig("sweep: param %s has no values", p.Name)
		}
		seen[p.Name] = true
		for _, v := range p.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return badConfig("sweep: param %s: %v is not a number", p.Name, v)
			}
		}
	}
	if wf := sc.WalkForward; wf != nil && (wf.Windows < 1 || wf.Windows > maxWindows || !(wf.InSample > 0 && wf.InSample < 1)) {
		return badConfig("sweep: walk-forward needs 1-%d windows and an in-sample fraction in (0, 1), got %d and %v",
			maxWindows, wf.Windows, wf.InSample)
	}
	if sc.Workers <= 0 {
		sc.Workers = 1
	}
	return nil
}

// gridPoints lists the points to run, in grid order (the first param
// varies slowest): the whole grid, or Random of them drawn with Seed.
func gridPoints(sc *SweepConfig) ([]int, error) {
	size := 1
	for _, p := range sc.Params {
		if size > math.MaxInt32/len(p.Values) {
			size = math.MaxInt32
			break
		}
		size *= len(p.Values)
	}
	n := size
	if sc.Random > 0 && sc.Random < size {
		n = sc.Random
	}
	if n > maxGrid {
		return nil, badConfig("sweep: %d points is more than %d; draw some with random", n, maxGrid)
	}
	if n == size {
		out := make([]int, size)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	// Floyd's sampling: n distinct indices of size, in O(n).
	rng := rand.New(rand.NewPCG(sc.Seed, 0x5eed))
	chosen := make(map[int]bool, n)
	for j := size - n; j < size; j++ {
		t := rng.IntN(j + 1)
		if chosen[t] {
			t = j
		}
		chosen[t] = true
	}
	out := make([]int, 0, n)
	for i := range chosen {
		out = append(out, i)
	}
	slices.Sort(out)
	return out, nil
}

// sweeper runs the points of one sweep.
type sweeper struct {
	sc       SweepConfig
	points   []int // grid indices, ascending
	progress func(done, total int)
	mu       sync.Mutex
	done     int
	total    int
	// buffers holds the slices of the Results scored (*buffers) for the
	// next points.
	buffers sync.Pool
}

// outcome is one point's run: its score, fills, or why it was refused.
type outcome struct {
	grid   int
	params map[string]float64
	score  float64
	trades int
	oos    *float64
	err    error
}

// paramsOf returns the values of grid point g.
func (sw *sweeper) paramsOf(g int) map[string]float64 {
	out := make(map[string]float64, len(sw.sc.Params))
	for i := len(sw.sc.Params) - 1; i >= 0; i-- {
		p := sw.sc.Params[i]
		out[p.Name] = p.Values[g%len(p.Values)]
		g /= len(p.Values)
	}
	return out
}

// configOf is base with every leg's params overridden by point's.
func configOf(base Config, point map[string]float64) Config {
	cfg := base
	cfg.Legs = slices.Clone(base.Legs)
	for i := range cfg.Legs {
		ps := make(map[string]any, len(cfg.Legs[i].Params)+len(point))
		for k, v := range cfg.Legs[i].Params {
			ps[k] = v
		}
		for k, v := range point {
			ps[k] = v
		}
		cfg.Legs[i].Params = ps
	}
	return cfg
}

// runAll runs every point on base, on up to Workers goroutines, and
// returns the outcomes in grid order.
func (sw *sweeper) runAll(ctx context.Context, base Config) ([]outcome, error) {
	outs := make([]outcome, len(sw.points))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(sw.sc.Workers, len(sw.points)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(sw.points) {
					return
				}
				outs[i] = sw.runPoint(ctx, base, sw.points[i])
				if ctx.Err() == nil { // a point cut short is not done
					sw.step()
				}
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for _, o := range outs {
		if o.err != nil && !errors.Is(o.err, ErrBadConfig) {
			return nil, o.err
		}
	}
	return outs, nil
}

// runPoint runs one grid point on base.
func (sw *sweeper) runPoint(ctx context.Context, base Config, g int) outcome {
	params := sw.paramsOf(g)
	reuse, _ := sw.buffers.Get().(*buffers)
	r, err := newTrustedRunner(configOf(base, params), reuse)
	if err == nil {
		err = r.drive(ctx, nil)
	}
	if err != nil {
		return outcome{grid: g, params: params, err: err}
	}
	res := r.result()
	out := outcome{grid: g, params: params, score: sw.sc.Score(res), trades: len(res.Fills)}
	sw.buffers.Put(buffersOf(r)) // the Result is not kept: its slices serve the next point
	return out
}

// step counts a point done and reports it.
func (sw *sweeper) step() {
	sw.mu.Lock()
	defer sw.mu.Unlock()
	sw.done++
	if sw.progress != nil {
		sw.progress(sw.done, sw.total)
	}
}

// rank orders the outcomes best first (ties: grid order; NaN last),
// leaving out refused points.
func rank(outs []outcome) ([]SweepPoint, error) {
	var out []SweepPoint
	var grids []int
	var firstErr error
	for _, o := range outs {
		if o.err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("point %v: %w", o.params, o.err)
			}
			continue
		}
		out = append(out, SweepPoint{Params: o.params, Score: o.score, Trades: o.trades, OutOfSample: o.oos})
		grids = append(grids, o.grid)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	key := func(v float64) float64 {
		if math.IsNaN(v) {
			return math.Inf(-1)
		}
		return v
	}
	sort.SliceStable(idx, func(a, b int) bool {
		sa, sb := key(out[idx[a]].Score), key(out[idx[b]].Score)
		if sa != sb {
			return sa > sb
		}
		return grids[idx[a]] < grids[idx[b]]
	})
	ranked := make([]SweepPoint, len(out))
	for i, j := range idx {
		ranked[i] = out[j]
	}
	return ranked, nil
}
