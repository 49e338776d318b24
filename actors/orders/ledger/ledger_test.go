package ledger

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestApply(t *testing.T) {
	type step struct {
		sell                      bool
		qty, price                float64
		wantPos, wantAvg, wantPnL float64
	}
	steps := []step{
		{false, 1, 100, 1, 100, 0},    // open long
		{false, 1, 110, 2, 105, 0},    // add: avg (100+110)/2
		{true, 0.5, 115, 1.5, 105, 5}, // reduce: (115-105)*0.5
		{true, 2.5, 95, -1, 95, 15},   // reverse: (95-105)*1.5 = -15 realised... see below
		{false, 1, 90, 0, 0, 5},       // close the short: (95-90)*1
		{true, 2, 50, -2, 50, 0},      // open short
		{true, 2, 60, -4, 55, 0},      // add short
		{false, 4, 40, 0, 0, 60},      // cover: (55-40)*4
	}
	steps[3].wantPnL = -15
	pos, avg := 0.0, 0.0
	for i, s := range steps {
		var pnl float64
		pos, avg, pnl = Apply(pos, avg, s.sell, s.qty, s.price)
		if pos != s.wantPos || avg != s.wantAvg || pnl != s.wantPnL {
			t.Fatalf("step %d: got pos %v avg %v pnl %v, want %v %v %v", i, pos, avg, pnl, s.wantPos, s.wantAvg, s.wantPnL)
		}
	}
}

func TestApplyDustIsFlat(t *testing.T) {
	pos, avg, _ := Apply(0.3, 100, true, 0.1, 100)
	pos, avg, _ = Apply(pos, avg, true, 0.2, 100) // 0.3-0.1-0.2 is 2.8e-17 in floats
	if pos != 0 || avg != 0 {
		t.Fatalf("pos %v avg %v, want flat", pos, avg)
	}
}

func TestFormatAndRound(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{0.060000000000000005, "0.06"}, {-0.00000000001, "0"}, {0, "0"}, {12, "12"}, {1.23456789012345, "1.2345678901"}, {-2.5, "-2.5"}} {
		if got := FormatDec(c.v); got != c.want {
			t.Errorf("FormatDec(%v) = %q, want %q", c.v, got, c.want)
		}
		want, _ := strconv.ParseFloat(c.want, 64)
		if got := Round(c.v); got != want || (want == 0 && math.Signbit(got)) {
			t.Errorf("Round(%v) = %v, want %v", c.v, got, want)
		}
	}
}

// TestRoundFastPathIsExact compares Round with the string round trip the
// daemon does, over many prices, quantities and fees of many magnitudes.
func TestRoundFastPathIsExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	check := func(v float64) {
		if got, want := Round(v), roundSlow(v); got != want {
			t.Fatalf("Round(%v) = %v, want %v", v, got, want)
		}
	}
	for range 100_000 {
		mag := math.Pow(10, float64(rng.IntN(18)-10))
		v := rng.Float64() * mag
		if rng.IntN(2) == 0 {
			v = -v
		}
		check(v)
		check(math.Round(v*1e8) / 1e8)           // 8 decimals, like exchange amounts
		check(float64(rng.IntN(1000)) + 0.5e-10) // next to a half
		check(40_000.12 * (1 + 0.0005) * 0.00123)
		check(float64(rng.IntN(1<<30)) / 2048) // exact ties at the 11th decimal
		check(-float64(rng.IntN(1<<30)) / 4096)
		check(40_000 * math.Exp(rng.NormFloat64()*0.1) * 1.0005)
	}
	for _, v := range []float64{0, math.Copysign(0, -1), 0.5e-10, -0.5e-10, 1.5e-10, 2.5e-10, 1e20, math.MaxFloat64, 5e-324} {
		check(v)
	}
}

// roundSlow is Round through strings only, for tests.
func roundSlow(v float64) float64 {
	r, err := strconv.ParseFloat(FormatDec(v), 64)
	if err != nil {
		return 0
	}
	return r
}
