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
//
// # As the daemon does it
//
// The engine plays both the order actor and the strategy host of paper
// trading, synchronously, and keeps their two views apart as they are in
// the daemon:
//
//   - the order actor's book books each fill with ledger.Apply, from the
//     fill's price, quantity and fee as the journal holds them (10
//     decimals, ledger.Round); its allocation check counts the long
//     position at the last trade price and the open buy orders at their
//     price, and refuses "risk check allocation: ..." as the order actor
//     does; the filters refuse "exchange: Filter failure: NAME (-1013)" as
//     the exchange does through the connector;
//   - the strategy sees Context.Position as the host keeps it: quantity,
//     average price, realised PnL and fees as the last fill event carried
//     them (rounded to 10 decimals), Available = Allocation - |quantity| *
//     average price - the open buy orders' remaining quantity at their
//     price (a market order's: the last close), never below 0;
//   - per order, the strategy sees OnOrder with the order's new state, then
//     OnFill for each of its fills (Position includes the fill in OnFill,
//     not yet in OnOrder: the order event comes first on the bus); an
//     update that changes neither the status nor the filled quantity is
//     not handed on, and nothing after the final one;
//   - a MARKET order that fills on arrival shows FILLED (no NEW); a resting
//     LIMIT order shows NEW, then PARTIALLY_FILLED/FILLED as the path's
//     trades reach it (each trade carries a quarter of the bar's volume);
//   - client order ids are NAME_REF (the leg's name, the strategy's ref).
//
// Each leg has its own matcher (its own symbol state), so two legs on one
// symbol never fill from the same trades twice. A strategy that asks for
// ticks (strategy.FeedTicks) gets the path's four trades as OnTick, each
// after the matcher saw it; book updates are not modelled. Timers fire at
// their due time between bars (before the first bar closing after it),
// with NowMs the due time. The path's four trades are timed at the bar's
// open, a third and two thirds of the way, and its close (fills carry
// those times). Of the order actor's checks, the engine applies the
// allocation, Config.Risk's limits and, when Config.Balances is set, the
// paper balance; not the order rate (wall-clock seconds). The filters are
// the exchange's: the daemon's paper mode does not check them, so a
// comparison with paper trading gives the engine none (or a strategy that
// keeps to them). At most 1000 orders are placed per leg and bar: past it
// an order is REJECTED and its update is not handed on (a strategy that
// places again on each rejection would loop forever).
package engine

import (
	"context"
	"errors"

	"github.com/superbot/superbot/actors/strategies/strategy"

	// The strategy kinds the daemon ships, registered as the daemon does.
	_ "github.com/superbot/superbot/actors/strategies/grid"
	_ "github.com/superbot/superbot/actors/strategies/sma"
)

// ErrNotImplemented is returned by the skeleton until the engine lands.
//
// Deprecated: the engine has landed; nothing returns it any more.
var ErrNotImplemented = errors.New("engine: not implemented")

// ErrBadConfig wraps every error Run and Sweep return for a bad config.
var ErrBadConfig = errors.New("backtest: bad config")

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
	// Balances, when not nil, are the paper account's starting balances
	// by asset (the daemon's [trading.paper] balances, {"USDT": 10000}),
	// shared by the legs: an order the account cannot pay for is REJECTED
	// as the order actor's paper mode refuses it ("insufficient paper
	// balance: ..."): a buy needs its quote amount at its price (a market
	// order's: the last trade price plus Slippage) plus the taker fee
	// free, a sell its
	// base quantity; open orders lock what they may still use. nil: no
	// balance is checked (an allocation then bounds the capital in use,
	// which losses do not shrink: cash may go below 0).
	Balances map[string]float64
	// Risk are the order actor's per-order limits to apply; zero values
	// disable them (the default).
	Risk RiskLimits
}

// RiskLimits are the daemon's [trading.risk] limits the engine can apply
// (not the order rate, which counts wall-clock seconds). A refused order
// is REJECTED "risk check LIMIT: ..." as the order actor words it.
type RiskLimits struct {
	// MaxOrderNotional caps one order's price * quantity (a market
	// order's at the last trade price).
	MaxOrderNotional float64
	// MaxPositionNotional caps the position an order would grow, valued
	// at the order's price.
	MaxPositionNotional float64
	// MaxOpenOrders caps the strategy's open orders.
	MaxOpenOrders int
	// PriceBand refuses a limit price further than this fraction from the
	// last trade price.
	PriceBand float64
}

// Order is one order a strategy placed, as it ended. Orders refused before
// the matcher are here too, REJECTED with the reason; the daemon's journal
// holds only those the exchange refused (the filters): its order actor
// answers a refusal by its own checks (validation, risk, allocation, paper
// balance) without journaling the order.
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
	r, err := newRunner(cfg)
	if err != nil {
		return nil, err
	}
	if err := r.drive(ctx, progress); err != nil {
		return nil, err
	}
	return r.result(), nil
}
