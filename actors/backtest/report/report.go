// Package report turns a backtest's Result into metrics and the outputs
// users read: a terminal summary, JSON, a trades CSV, one self-contained
// HTML file (equity curve, drawdown, trade markers on the price; no
// network needed) and a PNG of the equity curve.
//
// # Conventions
//
// The equity curve starts at StartMs with InitialEquity: the sum of the
// legs' allocations at the earliest bar's open (when the legs carry bars
// that open before the first equity point; otherwise the first point).
// It then follows Result.Equity. Returns are simple returns between
// consecutive points. They are annualised with PeriodsPerYear: a year of
// 365.25 days (crypto trades every day) divided by the median spacing of
// the curve's points, so 1-minute bars give 525,960 periods a year.
// The risk-free rate is 0.
//
//   - TotalReturn = FinalEquity/InitialEquity - 1.
//   - AnnualReturn is the compound annual growth rate over EndMs-StartMs.
//   - Sharpe = mean(r)/stdev(r) * sqrt(PeriodsPerYear), stdev with n-1.
//   - Sortino = mean(r)/downside(r) * sqrt(PeriodsPerYear), downside =
//     sqrt(sum(min(r,0)^2)/n).
//   - Calmar = AnnualReturn/MaxDrawdown.
//   - MaxDrawdown is the largest fall from a running peak, as a positive
//     fraction of that peak.
//
// A ratio whose denominator is 0 (flat equity, no losing period, no
// drawdown, no losing trade) is 0, never NaN or Inf: JSON cannot carry
// them. Every float in Metrics is finite; an overflow is clamped to
// ±math.MaxFloat64.
//
// Round trips are built per leg from its fills: a trip opens when the
// leg's position leaves 0 and closes when it is flat again; a fill that
// flips the position is split (its fee pro rata) between the trip it
// closes and the one it opens. A trip still open at the end is not a
// trade. A trip's PnL is its sells' quote minus its buys' quote minus its
// fees. Buy-and-hold is each leg's LastClose/FirstClose - 1 weighted by
// allocation (equal weights when no leg has one), without fees.
//
// CONTRACT (fixed by the lead; the report helper implements it).
package report

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// ErrNotImplemented was returned by the skeleton; nothing returns it now.
// It stays because the contract fixed its name.
var ErrNotImplemented = errors.New("report: not implemented")

// ErrUnknownMetric is returned by Score for a name it does not know.
var ErrUnknownMetric = errors.New("report: unknown metric")

// errNilResult is returned by the writers given no result.
var errNilResult = errors.New("report: nil result")

// SymbolMetrics is one symbol's share.
type SymbolMetrics struct {
	Symbol string  `json:"symbol"`
	PnL    float64 `json:"pnl"`
	Fees   float64 `json:"fees"`
	// Return is PnL over the allocations of the symbol's legs (0 when
	// they have none).
	Return        float64 `json:"return"`
	Trades        int     `json:"trades"`
	WinRate       float64 `json:"win_rate"`
	BuyHoldReturn float64 `json:"buy_hold_return"`
}

// Metrics sums up a backtest. Returns are fractions (0.12: 12 %); money
// is in the quote asset. The package doc states the conventions.
type Metrics struct {
	StartMs          int64   `json:"start_ms"`
	EndMs            int64   `json:"end_ms"`
	InitialEquity    float64 `json:"initial_equity"`
	FinalEquity      float64 `json:"final_equity"`
	TotalReturn      float64 `json:"total_return"`
	AnnualReturn     float64 `json:"annual_return"`
	Sharpe           float64 `json:"sharpe"`
	Sortino          float64 `json:"sortino"`
	Calmar           float64 `json:"calmar"`
	MaxDrawdown      float64 `json:"max_drawdown"`
	DrawdownStartMs  int64   `json:"drawdown_start_ms"`
	DrawdownTroughMs int64   `json:"drawdown_trough_ms"`
	// DrawdownRecoveryMs is 0 when the equity never got back.
	DrawdownRecoveryMs int64 `json:"drawdown_recovery_ms"`
	// Trades are round trips (entry to exit); WinRate, ProfitFactor and
	// Expectancy are over them.
	Trades       int     `json:"trades"`
	WinRate      float64 `json:"win_rate"`
	ProfitFactor float64 `json:"profit_factor"`
	// Expectancy is the mean PnL of a round trip, net of fees.
	Expectancy float64 `json:"expectancy"`
	// Exposure is the fraction of the time a position was held.
	Exposure      float64         `json:"exposure"`
	Fees          float64         `json:"fees"`
	BuyHoldReturn float64         `json:"buy_hold_return"`
	Symbols       []SymbolMetrics `json:"symbols"`

	// GrossProfit and GrossLoss sum the winning and losing round trips'
	// PnL (GrossLoss is positive); ProfitFactor is their ratio.
	GrossProfit float64 `json:"gross_profit"`
	GrossLoss   float64 `json:"gross_loss"`
	// Fills counts the executions.
	Fills int `json:"fills"`
	// PeriodsPerYear is what returns were annualised with.
	PeriodsPerYear float64 `json:"periods_per_year"`
}

// Compute computes the metrics of r. A nil r gives zero metrics.
func Compute(r *engine.Result) Metrics {
	if r == nil {
		return Metrics{}
	}
	var m Metrics
	c := curveOf(r)
	m.equityMetrics(c)
	trips, exposed := roundTrips(r, m.EndMs)
	m.tradeMetrics(r, trips)
	m.Exposure = exposure(exposed, m.StartMs, m.EndMs)
	m.BuyHoldReturn = buyHold(r.Legs)
	m.Symbols = symbolMetrics(r, trips)
	m.sanitize()
	return m
}

// scores are the metrics a sweep may rank by, larger is better.
var scores = map[string]func(Metrics) float64{
	"sharpe":        func(m Metrics) float64 { return m.Sharpe },
	"sortino":       func(m Metrics) float64 { return m.Sortino },
	"calmar":        func(m Metrics) float64 { return m.Calmar },
	"return":        func(m Metrics) float64 { return m.TotalReturn },
	"annual_return": func(m Metrics) float64 { return m.AnnualReturn },
	"profit_factor": func(m Metrics) float64 { return m.ProfitFactor },
	"expectancy":    func(m Metrics) float64 { return m.Expectancy },
	"win_rate":      func(m Metrics) float64 { return m.WinRate },
	"max_drawdown":  func(m Metrics) float64 { return -m.MaxDrawdown },
}

// ScoreNames lists the names Score knows, sorted.
func ScoreNames() []string {
	names := make([]string, 0, len(scores))
	for n := range scores {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Score returns the metric named name ("sharpe", "sortino", "calmar",
// "return", "annual_return", "profit_factor", "expectancy", "win_rate",
// "max_drawdown" (less is better: negated)) as a sweep's score. The
// function computes the result's metrics; it is safe for concurrent use.
func Score(name string) (func(*engine.Result) float64, error) {
	pick, ok := scores[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (known: %s)", ErrUnknownMetric, name, strings.Join(ScoreNames(), ", "))
	}
	return func(r *engine.Result) float64 { return pick(Compute(r)) }, nil
}

// finite maps NaN to 0 and ±Inf to ±math.MaxFloat64.
func finite(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	case math.IsInf(v, -1):
		return -math.MaxFloat64
	}
	return v
}

// sanitize makes every float of m finite.
func (m *Metrics) sanitize() {
	for _, p := range []*float64{
		&m.InitialEquity, &m.FinalEquity, &m.TotalReturn, &m.AnnualReturn,
		&m.Sharpe, &m.Sortino, &m.Calmar, &m.MaxDrawdown, &m.WinRate,
		&m.ProfitFactor, &m.Expectancy, &m.Exposure, &m.Fees, &m.BuyHoldReturn,
		&m.GrossProfit, &m.GrossLoss, &m.PeriodsPerYear,
	} {
		*p = finite(*p)
	}
	for i := range m.Symbols {
		s := &m.Symbols[i]
		for _, p := range []*float64{&s.PnL, &s.Fees, &s.Return, &s.WinRate, &s.BuyHoldReturn} {
			*p = finite(*p)
		}
	}
}
