// Package report turns a backtest's Result into metrics and the outputs
// users read: a terminal summary, JSON, a trades CSV, one self-contained
// HTML file (equity curve, drawdown, trade markers on the price; no
// network needed) and a PNG of the equity curve.
//
// CONTRACT (fixed by the lead; the report helper implements it).
package report

import (
	"errors"
	"io"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// ErrNotImplemented is returned by the skeleton until the report lands.
var ErrNotImplemented = errors.New("report: not implemented")

// SymbolMetrics is one symbol's share.
type SymbolMetrics struct {
	Symbol        string
	PnL, Fees     float64
	Return        float64
	Trades        int
	WinRate       float64
	BuyHoldReturn float64
}

// Metrics sums up a backtest. Returns are fractions (0.12: 12 %).
type Metrics struct {
	StartMs, EndMs             int64
	InitialEquity, FinalEquity float64
	TotalReturn, AnnualReturn  float64
	Sharpe, Sortino, Calmar    float64
	MaxDrawdown                float64
	DrawdownStartMs            int64
	DrawdownTroughMs           int64
	// DrawdownRecoveryMs is 0 when the equity never got back.
	DrawdownRecoveryMs int64
	// Trades are round trips (entry to exit); WinRate, ProfitFactor and
	// Expectancy are over them.
	Trades                int
	WinRate, ProfitFactor float64
	Expectancy            float64
	// Exposure is the fraction of the time a position was held.
	Exposure      float64
	Fees          float64
	BuyHoldReturn float64
	Symbols       []SymbolMetrics
}

// Compute computes the metrics of r.
func Compute(r *engine.Result) Metrics { return Metrics{} }

// Score returns the metric named name ("sharpe", "sortino", "calmar",
// "return", "annual_return", "profit_factor", "expectancy", "win_rate",
// "max_drawdown" (less is better: negated)) as a sweep's score.
func Score(name string) (func(*engine.Result) float64, error) { return nil, ErrNotImplemented }

// WriteSummary writes the terminal summary.
func WriteSummary(w io.Writer, m Metrics) error { return ErrNotImplemented }

// WriteJSON writes the metrics, orders and fills as JSON.
func WriteJSON(w io.Writer, r *engine.Result, m Metrics) error { return ErrNotImplemented }

// WriteTradesCSV writes one line per fill, with a header.
func WriteTradesCSV(w io.Writer, r *engine.Result) error { return ErrNotImplemented }

// WriteHTML writes the self-contained HTML report.
func WriteHTML(w io.Writer, r *engine.Result, m Metrics, title string) error {
	return ErrNotImplemented
}

// WritePNG writes the equity curve as a PNG.
func WritePNG(w io.Writer, r *engine.Result) error { return ErrNotImplemented }
