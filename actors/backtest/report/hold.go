package report

import (
	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// holding values buy-and-hold over time, for the charts: each leg's
// weight (its allocation; the initial equity shared equally when no leg
// has one) times its last close so far over its first close, plus the
// weight of legs whose first bar has not closed yet. Times must be asked
// in ascending order.
type holding struct {
	legs    []engine.LegResult
	next    []int // per leg, the first bar not closed yet
	weights []float64
}

// newHolding is the buy-and-hold of r's legs worth initial at the start,
// or nil when no leg has bars to value it with.
func newHolding(legs []engine.LegResult, initial float64) *holding {
	h := &holding{legs: legs, next: make([]int, len(legs)), weights: make([]float64, len(legs))}
	var alloc float64
	bars := false
	for i, l := range legs {
		h.weights[i] = max(l.Allocation, 0)
		alloc += h.weights[i]
		bars = bars || len(l.Bars) > 0
	}
	if !bars {
		return nil
	}
	if alloc == 0 {
		for i := range h.weights {
			h.weights[i] = initial / float64(len(legs))
		}
	}
	return h
}

// closeTime is when b closed (its open time when it has no close time).
func closeTime(b *strategy.Bar) int64 {
	if b.CloseTimeMs > 0 {
		return b.CloseTimeMs
	}
	return b.OpenTimeMs
}

// at is the holding's value at t.
func (h *holding) at(t int64) float64 {
	var v float64
	for i := range h.legs {
		l := &h.legs[i]
		k := h.next[i]
		for k < len(l.Bars) && closeTime(&l.Bars[k]) <= t {
			k++
		}
		h.next[i] = k
		first := l.FirstClose
		if first <= 0 && len(l.Bars) > 0 {
			first = l.Bars[0].Close
		}
		if k == 0 || first <= 0 {
			v += h.weights[i]
			continue
		}
		v += h.weights[i] * l.Bars[k-1].Close / first
	}
	return v
}
