package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// finalEquity scores a result by its last equity point.
func finalEquity(r *Result) float64 { return r.Equity[len(r.Equity)-1].Equity }

func sweepConfig(n int) SweepConfig {
	base := smaConfig(n)
	return SweepConfig{
		Base:   base,
		Params: []Param{{Name: "fast", Values: []float64{3, 5, 8}}, {Name: "slow", Values: []float64{10, 20}}},
		Score:  finalEquity,
	}
}

func TestSweepRanksEveryPointWhateverTheWorkers(t *testing.T) {
	var first []SweepPoint
	for _, workers := range []int{1, 2, 4} {
		sc := sweepConfig(5000)
		sc.Workers = workers
		var mu sync.Mutex
		var calls []int
		got, err := Sweep(context.Background(), sc, func(done, total int) {
			mu.Lock()
			defer mu.Unlock()
			if total != 6 {
				t.Errorf("total %d", total)
			}
			calls = append(calls, done)
		})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(calls, []int{1, 2, 3, 4, 5, 6}) {
			t.Fatalf("workers %d: progress %v", workers, calls)
		}
		if first == nil {
			first = got
			continue
		}
		if !reflect.DeepEqual(got, first) {
			t.Fatalf("workers %d ranked %v, workers 1 %v", workers, got, first)
		}
	}
	if len(first) != 6 {
		t.Fatalf("%d points", len(first))
	}
	// Each score is the score of a plain Run with those params, and the
	// ranking is by score.
	for i, p := range first {
		cfg := smaConfig(5000)
		cfg.Legs[0].Params = map[string]any{"fast": p.Params["fast"], "slow": p.Params["slow"]}
		res, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if finalEquity(res) != p.Score || len(res.Fills) != p.Trades || p.OutOfSample != nil {
			t.Fatalf("point %v: score %v trades %d, a Run gives %v and %d", p.Params, p.Score, p.Trades, finalEquity(res), len(res.Fills))
		}
		if i > 0 && p.Score > first[i-1].Score {
			t.Fatalf("not ranked: %v", first)
		}
	}
}

func TestSweepLeavesOutRefusedPoints(t *testing.T) {
	sc := sweepConfig(2000)
	sc.Params = []Param{{Name: "fast", Values: []float64{5, 30}}, {Name: "slow", Values: []float64{10, 20}}}
	got, err := Sweep(context.Background(), sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Params["fast"] != 5 || got[1].Params["fast"] != 5 {
		t.Fatalf("points %v", got)
	}
	sc.Params = []Param{{Name: "fast", Values: []float64{30}}, {Name: "slow", Values: []float64{10, 20}}}
	if _, err := Sweep(context.Background(), sc, nil); !errors.Is(err, ErrBadConfig) || !strings.Contains(err.Error(), "slow: must be > fast") {
		t.Fatalf("every point refused: %v", err)
	}
}

func TestSweepRandomDrawsDistinctGridPoints(t *testing.T) {
	draw := func(seed uint64) []SweepPoint {
		sc := sweepConfig(2000)
		sc.Params = []Param{{Name: "fast", Values: []float64{2, 3, 4, 5, 6, 7, 8, 9}}, {Name: "slow", Values: []float64{10, 12, 14, 16, 18, 20}}}
		sc.Random, sc.Seed, sc.Workers = 10, seed, 2
		got, err := Sweep(context.Background(), sc, nil)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	a, b := draw(1), draw(1)
	if !reflect.DeepEqual(a, b) || len(a) != 10 {
		t.Fatalf("same seed, different draws (%d points)", len(a))
	}
	seen := map[[2]float64]bool{}
	for _, p := range a {
		k := [2]float64{p.Params["fast"], p.Params["slow"]}
		if seen[k] {
			t.Fatalf("point %v drawn twice", k)
		}
		seen[k] = true
	}
	if reflect.DeepEqual(a, draw(2)) {
		t.Fatal("another seed drew the same points")
	}
}

func TestSweepWalkForward(t *testing.T) {
	sc := sweepConfig(6000)
	sc.WalkForward = &WalkForward{Windows: 1, InSample: 0.75}
	got, err := Sweep(context.Background(), sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One window: bars [0, 4500) in sample, [4500, 6000) out of sample.
	// The best point in sample is ranked first and is the only one scored
	// out of sample.
	run := func(from, to int64, fast, slow float64) float64 {
		cfg := smaConfig(6000)
		cfg.FromMs, cfg.ToMs = from, to
		cfg.Legs[0].Params = map[string]any{"fast": fast, "slow": slow}
		res, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return finalEquity(res)
	}
	split := t0 + 4500*minute
	best := got[0]
	if best.OutOfSample == nil || best.Score != run(t0, split, best.Params["fast"], best.Params["slow"]) {
		t.Fatalf("best %+v", best)
	}
	if want := run(split, t0+6000*minute-minute+1, best.Params["fast"], best.Params["slow"]); *best.OutOfSample != want {
		t.Fatalf("out of sample %v, want %v", *best.OutOfSample, want)
	}
	for _, p := range got[1:] {
		if p.OutOfSample != nil || p.Score > best.Score {
			t.Fatalf("point %+v", p)
		}
	}
	// Three windows: three out-of-sample scores, on the windows' winners.
	sc.WalkForward = &WalkForward{Windows: 3, InSample: 0.5}
	var last int
	got, err = Sweep(context.Background(), sc, func(done, total int) { last = total })
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range got {
		if p.OutOfSample != nil {
			n++
		}
	}
	if n < 1 || n > 3 || last != 3*(6+1) {
		t.Fatalf("%d points scored out of sample, progress total %d", n, last)
	}
}

// canceler cancels its params' context at its 1000th bar.
type canceler struct {
	strategy.Base
	cancel func()
	bars   int
}

func (c *canceler) OnBar(*strategy.Context, *strategy.Bar) {
	if c.bars++; c.bars == 1000 {
		c.cancel()
	}
}
func (c *canceler) Save() ([]byte, error) { return nil, nil }
func (c *canceler) Restore([]byte) error  { return nil }

var registerCanceler sync.Once

// TestSweepStopsOnCancel: a context canceled in the middle of the first
// points stops them within a few thousand bars: no point of 100,000 bars
// completes.
func TestSweepStopsOnCancel(t *testing.T) {
	registerCanceler.Do(func() {
		strategy.Register("test_engine_canceler", func(p map[string]any) (strategy.Strategy, error) {
			cancel, _ := p["cancel"].(context.CancelFunc)
			return &canceler{cancel: cancel}, nil
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := sweepConfig(100_000)
	sc.Base.Legs[0].Kind, sc.Base.Legs[0].Params = "test_engine_canceler", map[string]any{"cancel": cancel}
	sc.Params = []Param{{Name: "x", Values: []float64{1, 2, 3, 4, 5, 6}}}
	sc.Workers = 2
	var done atomic.Int32
	_, err := Sweep(ctx, sc, func(int, int) { done.Add(1) })
	if !errors.Is(err, context.Canceled) || done.Load() != 0 {
		t.Fatalf("got %v after %d points", err, done.Load())
	}
}

func TestSweepRefusesBadConfigs(t *testing.T) {
	cases := map[string]func(*SweepConfig){
		"no params":    func(sc *SweepConfig) { sc.Params = nil },
		"no score":     func(sc *SweepConfig) { sc.Score = nil },
		"twice":        func(sc *SweepConfig) { sc.Params = append(sc.Params, sc.Params[0]) },
		"no values":    func(sc *SweepConfig) { sc.Params[0].Values = nil },
		"no name":      func(sc *SweepConfig) { sc.Params[0].Name = "" },
		"walk forward": func(sc *SweepConfig) { sc.WalkForward = &WalkForward{Windows: 2, InSample: 1} },
		"bad base":     func(sc *SweepConfig) { sc.Base.TakerFee = -1 },
		"too big": func(sc *SweepConfig) {
			v := make([]float64, 2000)
			sc.Params = []Param{{Name: "fast", Values: v}, {Name: "slow", Values: v}}
		},
	}
	for name, mod := range cases {
		sc := sweepConfig(100)
		mod(&sc)
		if _, err := Sweep(context.Background(), sc, nil); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSweepWalkForwardTwoWindows recomputes a two-window walk-forward
// with plain Runs: each point's Score is the mean of its two in-sample
// scores, and each window's best in sample carries its out-of-sample
// score (the mean, if it won both).
func TestSweepWalkForwardTwoWindows(t *testing.T) {
	sc := sweepConfig(4000)
	sc.WalkForward = &WalkForward{Windows: 2, InSample: 0.6}
	got, err := Sweep(context.Background(), sc, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(from, to int64, p map[string]float64) float64 {
		cfg := smaConfig(4000)
		cfg.FromMs, cfg.ToMs = from, to
		cfg.Legs[0].Params = map[string]any{"fast": p["fast"], "slow": p["slow"]}
		res, err := Run(context.Background(), cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		return finalEquity(res)
	}
	start, end := t0, t0+3999*minute+1
	type key [2]float64
	sum, oos, oosN := map[key]float64{}, map[key]float64{}, map[key]int{}
	for w := range int64(2) {
		ws, we := start+(end-start)*w/2, start+(end-start)*(w+1)/2
		split := ws + int64(float64(we-ws)*0.6)
		var best map[string]float64
		bestScore := 0.0
		for _, f := range []float64{3, 5, 8} {
			for _, s := range []float64{10, 20} {
				p := map[string]float64{"fast": f, "slow": s}
				v := run(ws, split, p)
				sum[key{f, s}] += v
				if best == nil || v > bestScore {
					best, bestScore = p, v
				}
			}
		}
		k := key{best["fast"], best["slow"]}
		oos[k] += run(split, we, best)
		oosN[k]++
	}
	for _, p := range got {
		k := key{p.Params["fast"], p.Params["slow"]}
		if p.Score != sum[k]/2 {
			t.Fatalf("point %v: score %v, want %v", k, p.Score, sum[k]/2)
		}
		switch {
		case oosN[k] == 0 && p.OutOfSample != nil:
			t.Fatalf("point %v never won, has an out-of-sample score", k)
		case oosN[k] > 0 && (p.OutOfSample == nil || *p.OutOfSample != oos[k]/float64(oosN[k])):
			t.Fatalf("point %v: out of sample %v, want %v", k, p.OutOfSample, oos[k]/float64(oosN[k]))
		}
	}
}
