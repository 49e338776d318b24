// Package engine is the backtester's synchronous driver: it runs the same
// strategy code (actors/strategies/strategy) and the same paper matcher
// (actors/orders/matcher) as paper trading, over stored bars, in time order
// across symbols, deterministically.
//
// CONTRACT (fixed by the lead; the engine helper implements it): the
// backtest actor, the report package, the CLI and the parity test code
// against these types and signatures.
//
// Per bar of a leg, in time order (ties: legs in the order given):
//  1. the bar's intrabar path (matcher.BarTrades: open, low/high, high/low,
//     close) goes to the matcher as four trades: resting orders fill as
//     maker at their price; the last trade price becomes the close;
//  2. the strategy sees OnOrder/OnFill for what changed, then OnBar with
//     the closed bar (never before its close: no look-ahead by
//     construction);
//  3. its actions run at once: a MARKET order fills at the close
//     (the last trade price) plus Slippage, as taker; a LIMIT order that
//     crosses the close fills as taker, else rests; the strategy sees their
//     updates and fills before the next bar (and may act on them again, a
//     bounded number of times per bar).
//
// Orders are checked against the symbol's filters (tick, lot step, minimum
// notional) and against the leg's allocation like the order actor does:
// a refused order is REJECTED with the reason, as in paper trading.
package engine

import (
	"context"
	"errors"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// ErrNotImplemented is returned by the skeleton until the engine lands.
var ErrNotImplemented = errors.New("engine: not implemented")

// Leg is one strategy on one symbol, with its own book in the shared
// account.
type Leg struct {
	// Name names the strategy's book ("btc_trend").
	Name   string
	Kind   string
	Params map[string]any
	Symbol string
	// Interval is the bars' interval ("1m"); informative.
	Interval string
	// Allocation is the most quote asset the strategy may use.
	Allocation float64
	// Bars are the closed bars of the leg's interval, ascending by open
	// time. The engine does not modify them; a Result keeps the slice.
	Bars []strategy.Bar
}

// Filters are a symbol's exchange filters; zero disables one.
type Filters struct {
	TickSize, StepSize, MinNotional float64
}

// Config is one backtest.
type Config struct {
	Legs []Leg
	// MakerFee and TakerFee are fractions of the quote amount (0.001).
	MakerFee, TakerFee float64
	// Slippage is what a MARKET order pays beyond the last trade price, a
	// fraction (0.0005: 5 bp).
	Slippage float64
	// Filters by symbol; a symbol missing has none.
	Filters map[string]Filters
	// FromMs and ToMs bound the bars used (open time in [FromMs, ToMs));
	// 0: unbounded.
	FromMs, ToMs int64
}

// Order is one order a strategy placed, as it ended.
type Order struct {
	Leg    int
	Ref    uint64
	ID     string
	Symbol string
	// Side "BUY"/"SELL"; Type "MARKET"/"LIMIT"; Status as the matcher's
	// (FILLED, CANCELED, EXPIRED, REJECTED, NEW for one still open at the
	// end).
	Side, Type, Status string
	Price, Qty         float64
	Executed, Quote    float64
	Reason             string
	TimeMs             int64
}

// Fill is one execution.
type Fill struct {
	Leg     int
	OrderID string
	Symbol  string
	Side    string
	Price   float64
	Qty     float64
	// Fee is in the quote asset.
	Fee    float64
	Maker  bool
	TimeMs int64
}

// Point is the account's equity (quote asset: allocations' cash plus
// positions at the last close) at a time.
type Point struct {
	TimeMs int64
	Equity float64
}

// LegResult is where one leg ended.
type LegResult struct {
	Name, Symbol string
	Allocation   float64
	// Bars are the bars the leg was run on (the Config's slice, bounded).
	Bars                  []strategy.Bar
	Position, AvgPrice    float64
	RealizedPnL, Fees     float64
	FirstClose, LastClose float64
}

// Result is what a backtest produced.
type Result struct {
	Legs   []LegResult
	Orders []Order
	Fills  []Fill
	// Equity has one point per distinct bar close time, ascending.
	Equity []Point
	// Bars is how many bars were driven (all legs).
	Bars int64
}

// Run drives cfg to the end, or until ctx is done (then it returns ctx's
// error). progress, if not nil, is called now and then (at most every
// 1/1000 of the work) with the bars done and the total. A bad config (an
// unknown strategy kind, bad params, no bars, bars out of order) is an
// error before anything runs.
func Run(ctx context.Context, cfg Config, progress func(done, total int64)) (*Result, error) {
	return nil, ErrNotImplemented
}
