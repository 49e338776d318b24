package matcher

// BarTrades is the intrabar path assumed for a bar: the trades the
// backtester feeds the matcher (OnTrade) for each bar, and the trades the
// simulator prints when it replays the bar, so that paper trading on a
// replay and a backtest on the same bars see the same market.
//
// ASSUMPTION: a bar that closes at or above its open went open -> low ->
// high -> close; one that closes below went open -> high -> low -> close
// (the shorter way round is not known from a bar). Each of the four trades
// carries a quarter of the bar's volume. A resting order therefore fills
// when the path touches its price, as maker at its own price, for up to
// the quantity of the trades that reach it.
func BarTrades(open, high, low, close, volume float64) [4]Level {
	q := volume / 4
	first, second := low, high
	if close < open {
		first, second = high, low
	}
	return [4]Level{{open, q}, {first, q}, {second, q}, {close, q}}
}
