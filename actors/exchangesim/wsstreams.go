package exchangesim

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Market streams (Binance "Web Socket Streams"): names, payloads and update speeds.
//
// Real-time streams (@trade, @aggTrade, @bookTicker, the @depth diffs) get one event per
// price step. Streams Binance pushes on a timer (@ticker, @miniTicker, @avgPrice, the
// partial books, the !…@arr arrays) are sent on a step at most once per update speed
// (exchange clock), so a fast TickInterval does not flood them. Kline updates go out on
// every step, and the closing update (x=true) is never skipped.

// streamRE matches the stream names this exchange serves: <symbol>@<kind> (lowercase
// symbol) or one of the all-market arrays.
var streamRE = regexp.MustCompile(`^(?:([a-z0-9]+)@(trade|aggTrade|bookTicker|ticker|ticker_(?:1h|4h|1d)|miniTicker|avgPrice|kline_[0-9]+[smhdwM]|depth(?:5|10|20)?(?:@100ms|@1000ms)?)|!(?:ticker|ticker_(?:1h|4h|1d)|miniTicker)@arr)$`)

// rollingWindows are the window sizes of the rolling window statistics streams, in ms.
var rollingWindows = []struct {
	name string
	ms   int64
}{{"1h", 3600000}, {"4h", 4 * 3600000}, {"1d", 86400000}}

// Update speeds in ms.
const (
	speedSecond = 1000
	speedFast   = 100
)

// validStream reports whether name is a stream this exchange serves.
func (e *Exchange) validStream(name string) bool {
	sm := streamRE.FindStringSubmatch(name)
	if sm == nil {
		return false
	}
	if sm[1] == "" { // !ticker@arr, !ticker_<window>@arr, !miniTicker@arr
		return true
	}
	if e.markets[strings.ToUpper(sm[1])] == nil {
		return false
	}
	if iv, ok := strings.CutPrefix(sm[2], "kline_"); ok {
		return validInterval(iv)
	}
	return true
}

// publishStep sends the stream events of one price step of m: tk is the new trade, diff
// the book change and prevT the time of the previous trade. The caller holds e.mu.
func (e *Exchange) publishStep(m *market, tk tick, diff depthDiff, prevT, now int64) {
	h := e.hub
	pre := m.lower + "@"
	if h.has(pre + "trade") {
		b, _ := json.Marshal(map[string]any{"e": "trade", "E": now, "s": m.name, "t": tk.id, "p": fmt8(m.price(tk.px)),
			"q": fmt8(m.qty(tk.qty)), "T": tk.t, "m": tk.buyerMaker, "M": true})
		h.publish(pre+"trade", b)
	}
	if h.has(pre + "aggTrade") { // each synthetic trade is its own taker order: one trade per aggregate
		b, _ := json.Marshal(map[string]any{"e": "aggTrade", "E": now, "s": m.name, "a": tk.id, "p": fmt8(m.price(tk.px)),
			"q": fmt8(m.qty(tk.qty)), "f": tk.id, "l": tk.id, "T": tk.t, "m": tk.buyerMaker, "M": true})
		h.publish(pre+"aggTrade", b)
	}
	if h.has(pre + "bookTicker") {
		bt := m.bookTicker()
		b, _ := json.Marshal(map[string]any{"u": m.updateID, "s": m.name, "b": bt.BidPrice, "B": bt.BidQty, "a": bt.AskPrice, "A": bt.AskQty})
		h.publish(pre+"bookTicker", b)
	}
	e.publishDepth(m, diff, now)
	e.publishKlines(m, tk, prevT, now)
	e.publishStats(m, now)
}

// publishDepth sends the diff streams (every step, so U/u stay contiguous) and the
// partial books (at their update speed).
func (e *Exchange) publishDepth(m *market, diff depthDiff, now int64) {
	h := e.hub
	pre := m.lower + "@"
	var diffJSON []byte
	for _, sfx := range []string{"depth", "depth@100ms", "depth@1000ms"} {
		if !h.has(pre + sfx) {
			continue
		}
		if diffJSON == nil {
			diffJSON, _ = json.Marshal(map[string]any{"e": "depthUpdate", "E": now, "s": m.name, "U": diff.first, "u": diff.last,
				"b": m.levelsJSON(diff.bids, len(diff.bids)), "a": m.levelsJSON(diff.asks, len(diff.asks))})
		}
		h.publish(pre+sfx, diffJSON)
	}
	for _, n := range []int{5, 10, 20} {
		for _, sfx := range []string{"", "@100ms", "@1000ms"} {
			name := pre + "depth" + strconv.Itoa(n) + sfx
			every := int64(speedSecond)
			if sfx == "@100ms" {
				every = speedFast
			}
			if h.due(name, name, now, every) {
				b, _ := json.Marshal(map[string]any{"lastUpdateId": m.updateID, "bids": m.levelsJSON(m.bids, n), "asks": m.levelsJSON(m.asks, n)})
				h.publish(name, b)
			}
		}
	}
}

// publishKlines sends the open kline of every subscribed interval, preceded by the
// closing update of the previous kline when this step opened a new one.
func (e *Exchange) publishKlines(m *market, tk tick, prevT, now int64) {
	h := e.hub
	for iv := range intervalMs {
		name := m.lower + "@kline_" + iv
		if !h.has(name) {
			continue
		}
		// (a replay's CloseBar may have sent the closing update already: closedTo)
		if prevB := bucketStart(prevT, iv); prevT > 0 && bucketStart(tk.t, iv) > prevB && bucketNext(prevB, iv) > m.closedTo {
			if ks := m.klines(iv, prevB, prevB, 1, now); len(ks) == 1 {
				ks[0].closed = true
				h.publish(name, m.klineEvent(iv, ks[0], now))
			}
		}
		b := bucketStart(tk.t, iv)
		if ks := m.klines(iv, b, b, 1, now); len(ks) == 1 {
			h.publish(name, m.klineEvent(iv, ks[0], now))
		}
	}
}

func (m *market) klineEvent(iv string, k kline, now int64) []byte {
	b, _ := json.Marshal(map[string]any{"e": "kline", "E": now, "s": m.name, "k": map[string]any{
		"t": k.open, "T": k.close, "s": m.name, "i": iv, "f": k.firstID, "L": k.lastID,
		"o": fmt8(m.price(k.o)), "c": fmt8(m.price(k.c)), "h": fmt8(m.price(k.h)), "l": fmt8(m.price(k.l)),
		"v": fmt8(m.qty(k.v)), "n": k.n, "x": k.closed, "q": fmt8(m.quoteDec(k.q)), "V": fmt8(m.qty(k.takerV)), "Q": fmt8(m.quoteDec(k.takerQ)), "B": "0",
	}})
	return b
}

// publishStats sends the 24 h ticker, mini ticker and average price streams of m, and m's
// entry of the all-market arrays (Binance puts only the symbols that changed in an array;
// here each step changes one symbol, so each array event holds that symbol).
func (e *Exchange) publishStats(m *market, now int64) {
	h := e.hub
	pre := m.lower + "@"
	var st *stats
	day := func() stats {
		if st == nil {
			s := m.stats(now-86400000, now)
			st = &s
		}
		return *st
	}
	if h.due(pre+"ticker", pre+"ticker", now, speedSecond) {
		b, _ := json.Marshal(m.tickerEvent(day(), now))
		h.publish(pre+"ticker", b)
	}
	if h.due(pre+"miniTicker", pre+"miniTicker", now, speedSecond) {
		b, _ := json.Marshal(m.miniTickerEvent(day(), now))
		h.publish(pre+"miniTicker", b)
	}
	if h.due("!ticker@arr", "!ticker@arr "+m.name, now, speedSecond) {
		b, _ := json.Marshal([]map[string]any{m.tickerEvent(day(), now)})
		h.publish("!ticker@arr", b)
	}
	if h.due("!miniTicker@arr", "!miniTicker@arr "+m.name, now, speedSecond) {
		b, _ := json.Marshal([]map[string]any{m.miniTickerEvent(day(), now)})
		h.publish("!miniTicker@arr", b)
	}
	if h.due(pre+"avgPrice", pre+"avgPrice", now, speedSecond) {
		b, _ := json.Marshal(m.avgPriceEvent(now))
		h.publish(pre+"avgPrice", b)
	}
	for _, w := range rollingWindows {
		name, arr := pre+"ticker_"+w.name, "!ticker_"+w.name+"@arr"
		one, all := h.due(name, name, now, speedSecond), h.due(arr, arr+" "+m.name, now, speedSecond)
		if !one && !all {
			continue
		}
		ev := m.windowTickerEvent(w.name, w.ms, now)
		if one {
			b, _ := json.Marshal(ev)
			h.publish(name, b)
		}
		if all {
			b, _ := json.Marshal([]map[string]any{ev})
			h.publish(arr, b)
		}
	}
}

// windowTickerEvent is the <symbol>@ticker_<window> payload (event <window>Ticker): the
// window opens on a minute, so it may be up to 59999 ms wider than its size.
func (m *market) windowTickerEvent(window string, size, now int64) map[string]any {
	s := m.stats(bucketStart(now-size, "1m"), now)
	last, open := m.price(s.last), m.price(s.open)
	chg := last.Sub(open)
	pct := decimal.Zero
	if s.open > 0 {
		pct = chg.Div(open).Mul(decimal.NewFromInt(100))
	}
	wavg := last
	if s.vol > 0 {
		wavg = s.quoteVol.Div(m.qty(s.vol))
	}
	return map[string]any{
		"e": window + "Ticker", "E": now, "s": m.name, "p": fmt8(chg), "P": pct.StringFixed(3),
		"o": fmt8(open), "h": fmt8(m.price(s.high)), "l": fmt8(m.price(s.low)), "c": fmt8(last), "w": fmt8(wavg),
		"v": fmt8(m.qty(s.vol)), "q": fmt8(s.quoteVol), "O": s.openTime, "C": s.closeTime,
		"F": s.firstID, "L": s.lastID, "n": s.count,
	}
}

// tickerEvent is the <symbol>@ticker payload (event 24hrTicker) for the window of s.
func (m *market) tickerEvent(s stats, now int64) map[string]any {
	last, open := m.price(s.last), m.price(s.open)
	chg := last.Sub(open)
	pct := decimal.Zero
	if s.open > 0 {
		pct = chg.Div(open).Mul(decimal.NewFromInt(100))
	}
	wavg := last
	if s.vol > 0 {
		wavg = s.quoteVol.Div(m.qty(s.vol))
	}
	bt := m.bookTicker()
	return map[string]any{
		"e": "24hrTicker", "E": now, "s": m.name, "p": fmt8(chg), "P": pct.StringFixed(3), "w": fmt8(wavg),
		"x": fmt8(m.price(s.prevClose)), "c": fmt8(last), "Q": fmt8(m.qty(s.lastQty)),
		"b": bt.BidPrice, "B": bt.BidQty, "a": bt.AskPrice, "A": bt.AskQty,
		"o": fmt8(open), "h": fmt8(m.price(s.high)), "l": fmt8(m.price(s.low)),
		"v": fmt8(m.qty(s.vol)), "q": fmt8(s.quoteVol), "O": s.openTime, "C": s.closeTime,
		"F": s.firstID, "L": s.lastID, "n": s.count,
	}
}

// miniTickerEvent is the <symbol>@miniTicker payload (event 24hrMiniTicker).
func (m *market) miniTickerEvent(s stats, now int64) map[string]any {
	return map[string]any{
		"e": "24hrMiniTicker", "E": now, "s": m.name, "c": fmt8(m.price(s.last)), "o": fmt8(m.price(s.open)),
		"h": fmt8(m.price(s.high)), "l": fmt8(m.price(s.low)), "v": fmt8(m.qty(s.vol)), "q": fmt8(s.quoteVol),
	}
}

// avgPriceEvent is the <symbol>@avgPrice payload: the 5-minute volume-weighted average
// price, as GET /api/v3/avgPrice computes it.
func (m *market) avgPriceEvent(now int64) map[string]any {
	s := m.stats(now-5*60000, now)
	avg := m.price(m.px)
	if s.vol > 0 {
		avg = s.quoteVol.Div(m.qty(s.vol))
	}
	var lastT int64
	if n := len(m.ticks); n > 0 {
		lastT = m.ticks[n-1].t
	}
	return map[string]any{"e": "avgPrice", "E": now, "s": m.name, "i": "5m", "w": fmt8(avg), "T": lastT}
}
