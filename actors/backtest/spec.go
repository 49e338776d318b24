package backtest

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/backtest/report"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"

	// The built-in strategy kinds register themselves.
	_ "github.com/superbot/superbot/actors/strategies/grid"
	_ "github.com/superbot/superbot/actors/strategies/sma"
)

// Limits of one job, checked before anything is loaded or allocated.
const (
	// MaxSymbols is the most symbols (legs) of one job.
	MaxSymbols = 10
	// MaxPoints is the most points one sweep runs.
	MaxPoints = 100_000
	// MaxGrid is the largest grid a random sweep may draw from.
	MaxGrid = 100_000_000
	// MaxAxisValues is the most values of one swept param.
	MaxAxisValues = 10_000
	// MaxWalkForward is the most walk-forward windows.
	MaxWalkForward = 100
)

// Defaults of a backtest.run request's optional fields.
const (
	DefaultInterval   = "1m"
	DefaultAllocation = 10_000
	DefaultFee        = 0.001
	DefaultMetric     = "sharpe"
	DefaultInSample   = 0.7
)

var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)

// Spec is one validated backtest job: what backtest.run asked, with its
// defaults applied.
type Spec struct {
	Kind     string
	Params   map[string]any
	Symbols  []string
	Interval string
	// FromMs and ToMs bound the bars by open time, [FromMs, ToMs); ToMs 0:
	// to the end of the stored data.
	FromMs, ToMs                 int64
	Allocation                   float64
	MakerFee, TakerFee, Slippage float64
	// Sweep is nil for a single backtest.
	Sweep *SweepSpec
}

// SweepSpec is a validated parameter search.
type SweepSpec struct {
	Params      []engine.Param
	Metric      string
	Random      int
	Seed        uint64
	WalkForward int
	InSample    float64
}

// SpecFromRequest applies the defaults to req and validates it: every
// problem at once, each naming its field; nothing is loaded.
func SpecFromRequest(req *messages.BacktestRunRequest) (Spec, error) {
	s := Spec{
		Kind: req.GetStrategy(), Interval: req.GetInterval(), FromMs: req.GetFromMs(), ToMs: req.GetToMs(),
		Allocation: req.GetAllocation(), MakerFee: DefaultFee, TakerFee: DefaultFee, Slippage: req.GetSlippage(),
		Params: map[string]any{},
	}
	if req.GetParams() != nil {
		s.Params = req.GetParams().AsMap()
	}
	for _, sym := range req.GetSymbols() {
		s.Symbols = append(s.Symbols, strings.ToUpper(strings.TrimSpace(sym)))
	}
	if s.Interval == "" {
		s.Interval = DefaultInterval
	}
	if s.Allocation == 0 {
		s.Allocation = DefaultAllocation
	}
	if req.MakerFee != nil {
		s.MakerFee = req.GetMakerFee()
	}
	if req.TakerFee != nil {
		s.TakerFee = req.GetTakerFee()
	}
	if sw := req.GetSweep(); sw != nil {
		s.Sweep = &SweepSpec{Metric: sw.GetMetric(), Random: int(sw.GetRandom()), Seed: sw.GetSeed(),
			WalkForward: int(sw.GetWalkForward()), InSample: sw.GetInSample()}
		if s.Sweep.Metric == "" {
			s.Sweep.Metric = DefaultMetric
		}
		if s.Sweep.InSample == 0 {
			s.Sweep.InSample = DefaultInSample
		}
		for _, p := range sw.GetParams() {
			s.Sweep.Params = append(s.Sweep.Params, engine.Param{Name: p.GetName(), Values: p.GetValues()})
		}
	}
	return s, s.Validate()
}

// Validate reports every problem of s at once.
func (s Spec) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch n := len(s.Symbols); {
	case n == 0:
		add("symbols: at least one symbol is required")
	case n > MaxSymbols:
		add("symbols: at most %d, got %d", MaxSymbols, n)
	}
	for i, sym := range s.Symbols {
		if !symbolRE.MatchString(sym) {
			add("symbols: %q must match %s (e.g. BTCUSDT)", sym, symbolRE)
		} else if slices.Index(s.Symbols, sym) < i {
			add("symbols: %s given twice", sym)
		}
	}
	if _, err := store.IntervalMs(s.Interval); err != nil {
		add("interval: %v", err)
	}
	switch {
	case s.FromMs <= 0:
		add("from_ms: a start time is required (Unix ms > 0), got %d", s.FromMs)
	case s.ToMs < 0 || (s.ToMs != 0 && s.ToMs <= s.FromMs):
		add("to_ms: must be after from_ms (%d), got %d", s.FromMs, s.ToMs)
	}
	if !(s.Allocation > 0) || math.IsInf(s.Allocation, 0) {
		add("allocation: must be a positive number, got %g", s.Allocation)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"maker_fee", s.MakerFee}, {"taker_fee", s.TakerFee}, {"slippage", s.Slippage}} {
		if !(f.v >= 0 && f.v <= 0.1) {
			add("%s: must be a fraction in [0, 0.1], got %g", f.name, f.v)
		}
	}
	errs = append(errs, s.strategyProblem())
	if s.Sweep != nil {
		errs = append(errs, s.Sweep.problems()...)
	}
	return errors.Join(errs...)
}

// strategyProblem builds the strategy once with the params of the first
// point (the swept params at their first values), so an unknown kind or a
// bad param is refused before the job queues.
func (s Spec) strategyProblem() error {
	if s.Kind == "" {
		return fmt.Errorf("strategy: a strategy kind is required (known: %s)", strings.Join(strategy.Kinds(), ", "))
	}
	params := s.PointParams(nil)
	if s.Sweep != nil {
		first := map[string]float64{}
		for _, p := range s.Sweep.Params {
			if len(p.Values) > 0 {
				first[p.Name] = p.Values[0]
			}
		}
		params = s.PointParams(first)
	}
	if _, err := strategy.New(s.Kind, params); err != nil {
		if errors.Is(err, strategy.ErrUnknownKind) {
			return fmt.Errorf("strategy: %w", err)
		}
		return fmt.Errorf("params.%w", err)
	}
	return nil
}

// PointParams returns the strategy's params with point's values over them.
func (s Spec) PointParams(point map[string]float64) map[string]any {
	out := make(map[string]any, len(s.Params)+len(point))
	for k, v := range s.Params {
		out[k] = v
	}
	for k, v := range point {
		out[k] = v
	}
	return out
}

func (w *SweepSpec) problems() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(w.Params) == 0 {
		add("sweep.params: at least one swept param is required")
	}
	grid := 1
	for i, p := range w.Params {
		switch {
		case p.Name == "":
			add("sweep.params[%d]: a name is required", i)
		case slices.IndexFunc(w.Params, func(q engine.Param) bool { return q.Name == p.Name }) < i:
			add("sweep.params.%s: given twice", p.Name)
		}
		if len(p.Values) == 0 || len(p.Values) > MaxAxisValues {
			add("sweep.params.%s: want 1 to %d values, got %d", p.Name, MaxAxisValues, len(p.Values))
			continue
		}
		for _, v := range p.Values {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				add("sweep.params.%s: values must be finite, got %g", p.Name, v)
				break
			}
		}
		if grid <= MaxGrid {
			grid *= len(p.Values) // at most MaxGrid * MaxAxisValues: no overflow
		}
	}
	switch {
	case w.Random < 0 || w.Random > MaxPoints:
		add("sweep.random: want 0 to %d points, got %d", MaxPoints, w.Random)
	case grid > MaxGrid:
		add("sweep.params: the grid has more than %d points", MaxGrid)
	case w.Random == 0 && grid > MaxPoints:
		add("sweep.params: the grid has %d points, more than %d: narrow it or draw --random N of them", grid, MaxPoints)
	}
	if _, err := report.Score(w.Metric); err != nil {
		add("sweep.metric: %v", err)
	}
	if w.WalkForward < 0 || w.WalkForward > MaxWalkForward {
		add("sweep.walk_forward: want 0 to %d windows, got %d", MaxWalkForward, w.WalkForward)
	}
	if !(w.InSample > 0 && w.InSample < 1) {
		add("sweep.in_sample: must be a fraction in (0, 1), got %g", w.InSample)
	}
	return errs
}

// Points is how many points the sweep runs (0 for a single backtest).
func (s Spec) Points() int {
	if s.Sweep == nil {
		return 0
	}
	if s.Sweep.Random > 0 {
		return s.Sweep.Random
	}
	n := 1
	for _, p := range s.Sweep.Params {
		n *= len(p.Values)
	}
	return n
}
