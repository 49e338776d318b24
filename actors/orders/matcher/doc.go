// Package matcher is the paper matcher: simulated fills on market data, for
// the orders actor in paper mode and for the backtester. It is a pure,
// deterministic library: no goroutines, no clock (every call takes the time
// as nowMs and only copies it into fills), no I/O. A Matcher is not safe for
// concurrent use; its owner (one actor, or one backtest loop) serialises
// calls. Prices and quantities are float64; formatting them is the caller's
// business.
//
// # Fill model
//
// The matcher keeps, per symbol, the last order book given to OnBook, the
// last trade price (OnTrade's price, or OnBar's close) and the orders resting
// on the symbol in price-time priority. The semantics follow Binance spot.
//
// Orders arriving (Submit):
//
//   - MARKET walks the current book level by level as taker, each fill at the
//     level's price, but no further than SlippageCap (a fraction) from the
//     best price: a buy takes asks priced <= best*(1+SlippageCap), a sell
//     takes bids priced >= best*(1-SlippageCap). What is left beyond the cap,
//     or beyond the book's depth, expires: status EXPIRED, partially filled.
//     A book whose side is empty fills nothing (EXPIRED). With no book ever
//     given for the symbol, the whole quantity fills at the last trade price
//     (the price is taken as a level of unlimited depth, so the cap bounds
//     nothing and no slippage is modelled). With neither, the order is
//     REJECTED "no market data for SYMBOL".
//   - LIMIT that crosses the current book (a buy priced >= the best ask, a
//     sell <= the best bid) fills as taker on the levels within its price,
//     each at the level's price. The remainder rests (GTC, the default when
//     TimeInForce is ""), expires (IOC), or, for FOK, the order fills only if
//     the levels within its price hold its whole quantity and otherwise
//     expires with nothing filled. With no book, an order priced through the
//     last trade price fills entirely at that price, as taker.
//   - LIMIT_MAKER that would cross is REJECTED; otherwise it rests.
//
// Resting orders fill as maker, always at their own limit price:
//
//   - OnTrade: when a trade prints at or through the price (buy: trade price
//     <= limit; sell: >= limit), for up to the trade's quantity, shared by the
//     resting orders in price-time priority (partial fills).
//   - OnBook: when the new book moves through the price (buy: best ask <=
//     limit; sell: best bid >= limit), for up to the quantity of the levels
//     priced at or through the limit.
//   - OnBar (backtests, bars only): a resting buy fills when the bar's low is
//     <= its price, a sell when the bar's high is >= its price. That covers
//     "the price lies within [low, high]" and also a bar that gapped through
//     the order (its whole range beyond the price), where a resting order
//     would have filled at its price as well. ASSUMPTION: touching the price
//     is enough (no queue position is modelled), and the bar's volume caps
//     the quantity filled on each side, shared in price-time priority; a bar
//     with volume 0 printed no trade and fills nothing. OnBar's close becomes
//     the last trade price.
//
// The matcher's own fills consume the quantity they take from the stored
// book, so two orders never take the same liquidity from one book; the next
// OnBook replaces the book whole. The real market never sees paper orders:
// if the next book (or trade) still shows the liquidity a paper order took,
// it may fill again. Paper orders never match each other. No exchange
// filters (tick size, lot size, minimum notional) are applied: the caller
// checks them.
//
// # Fees
//
// A fill pays MakerFee or TakerFee (fractions) of its quote amount
// (price * quantity). For simplicity the fee asset is always the quote
// asset (USDT for BTCUSDT), whatever the side; Binance charges a buyer in the
// base asset unless BNB pays.
//
// # Identifiers
//
// Order ids are the caller's (the client order id); an id may not be reused
// while its order is open. Every fill gets a trade id, increasing by one per
// fill across all symbols of one Matcher; after a restart, ResumeTradeIDs
// continues from the last recorded one so ids stay unique.
//
// # Input
//
// Bad orders (empty id, unknown side, type or time in force, a quantity or
// price that is not a positive finite number) are REJECTED with a reason;
// nothing panics. Book levels that are not positive and finite are dropped,
// and a side given out of order is sorted. Trades and bars that are not
// positive and finite (or whose low is above their high) change nothing.
package matcher
