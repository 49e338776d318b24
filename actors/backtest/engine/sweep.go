package engine

import "context"

// Param is one swept parameter: its values (a grid axis).
type Param struct {
	Name   string
	Values []float64
}

// WalkForward splits the bars into Windows consecutive windows; in each,
// the first InSample fraction ranks the points and the rest scores the
// best one out of sample.
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
	// metrics by name).
	Score       func(*Result) float64
	WalkForward *WalkForward
}

// SweepPoint is one point's outcome. The Result itself is not kept.
type SweepPoint struct {
	Params map[string]float64
	Score  float64
	Trades int
	// OutOfSample is the walk-forward score out of sample (nil without).
	OutOfSample *float64
}

// Sweep runs every point on up to Workers goroutines and returns them
// ranked, best first (ties: grid order), deterministically whatever the
// worker count. progress, if not nil, is called after each point.
func Sweep(ctx context.Context, sc SweepConfig, progress func(done, total int)) ([]SweepPoint, error) {
	return nil, ErrNotImplemented
}
