// Package ledger is the position math one strategy's book uses, shared by
// the order actor (actors/orders, paper and live) and the backtester
// (actors/backtest/engine), so that both book a fill the same way to the
// last bit. It is pure: no state, no I/O.
package ledger

import (
	"math"
	"strconv"
	"strings"
)

// Apply books one fill of qty (> 0) at price on a position of signed
// quantity pos (negative: short) and average entry price avg: quantities
// add up, a reducing fill realises PnL against the average entry price, a
// reversal opens the rest at the fill price. It returns the new quantity
// and average price, and the PnL the fill realised (before fees).
func Apply(pos, avg float64, sell bool, qty, price float64) (newPos, newAvg, realized float64) {
	signed := qty
	if sell {
		signed = -qty
	}
	switch {
	case pos == 0 || (pos > 0) == (signed > 0): // open or add
		avg = (math.Abs(pos)*avg + qty*price) / (math.Abs(pos) + qty)
		pos += signed
	default: // reduce, maybe reverse
		closing := math.Min(qty, math.Abs(pos))
		if pos > 0 {
			realized = (price - avg) * closing
		} else {
			realized = (avg - price) * closing
		}
		pos += signed
		switch {
		case math.Abs(pos) < 1e-12:
			pos, avg = 0, 0
		case qty > closing: // reversed: the rest opened at price
			avg = price
		}
	}
	return pos, avg, realized
}

// FormatDec formats v as a decimal string of at most 10 decimals, without
// trailing zeros (float noise such as 0.060000000000000005 goes): how the
// order actor writes every amount to the journal and the bus.
func FormatDec(v float64) string {
	s := strconv.FormatFloat(v, 'f', 10, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}

// Round is v as it reads back from FormatDec: what a strategy in the
// daemon sees of an amount that went through the journal or the bus.
func Round(v float64) float64 {
	// Fast path: v*1e10 = x + e exactly (FMA gives the product's rounding
	// error), so the exact product's nearest integer, FormatDec's 10
	// decimals, is known without strings unless it is a tie (FormatFloat
	// rounds those to even: left to it). That integer divided by 1e10 is
	// the float ParseFloat gives for the decimal (both correctly rounded).
	x := v * 1e10
	if math.Abs(x) < 1<<52 {
		e := math.FMA(v, 1e10, -x)
		r := math.Round(x)
		switch d := (x - r) + e; {
		case d > 0.5:
			r++
		case d < -0.5:
			r--
		case d == 0.5 || d == -0.5:
			r = math.NaN()
		}
		if r == 0 {
			return 0
		}
		if !math.IsNaN(r) {
			return r / 1e10
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	var buf [64]byte
	b := strconv.AppendFloat(buf[:0], v, 'f', 10, 64)
	r, err := strconv.ParseFloat(string(b), 64)
	if err != nil || r == 0 {
		return 0
	}
	return r
}

// quoteAssets are the quote assets a symbol's name may end with, longest
// first so that "FDUSD" wins over "USD".
var quoteAssets = []string{"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC", "ETH", "BNB", "EUR", "TRY", "USD"}

// SplitSymbol returns a symbol's base and quote assets ("BTCUSDT" -> BTC,
// USDT). An unknown quote gives ("SYMBOL", "").
func SplitSymbol(sym string) (base, quote string) {
	for _, q := range quoteAssets {
		if strings.HasSuffix(sym, q) && len(sym) > len(q) {
			return sym[:len(sym)-len(q)], q
		}
	}
	return sym, ""
}
