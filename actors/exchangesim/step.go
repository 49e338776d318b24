package exchangesim

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Step advances every symbol by one price step: one synthetic trade, a new synthetic book,
// fills of crossed resting orders, and the stream events. The automatic ticker calls it
// every TickInterval; tests call it directly for deterministic moves.
func (e *Exchange) Step() {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowMs()
	for _, s := range e.symbols {
		e.stepMarket(e.markets[s], now, nil)
	}
}

// Advance calls Step n times.
func (e *Exchange) Advance(n int) {
	for range n {
		e.Step()
	}
}

// SetPrice moves symbol to price (rounded to the tick size) as one step: resting orders
// the new price crosses fill, and stream events are sent.
func (e *Exchange) SetPrice(symbol, price string) error {
	p, err := parseDecimal(price)
	if err != nil || !p.IsPositive() {
		return fmt.Errorf("exchangesim: set price: bad price %q", price)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.markets[symbol]
	if m == nil {
		return fmt.Errorf("exchangesim: set price: unknown symbol %q", symbol)
	}
	px := p.Div(m.tickSz).Round(0).IntPart()
	e.stepMarket(m, e.nowMs(), &px)
	return nil
}

// Price returns the current price of symbol as an 8-decimal string ("" if unknown).
func (e *Exchange) Price(symbol string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := e.markets[symbol]
	if m == nil {
		return ""
	}
	return fmt8(m.price(m.px))
}

// stepMarket advances m and publishes. The caller holds e.mu.
func (e *Exchange) stepMarket(m *market, now int64, forced *int64) {
	var prevT int64
	if n := len(m.ticks); n > 0 {
		prevT = m.ticks[n-1].t
	}
	tk, diff := m.advance(now, forced)
	e.pushUser(e.triggerStops(m, tk))
	e.pushUser(e.matchResting(m, tk))
	h := e.hub
	pre := m.lower + "@"
	if h.has(pre + "trade") {
		b, _ := json.Marshal(map[string]any{"e": "trade", "E": now, "s": m.name, "t": tk.id, "p": fmt8(m.price(tk.px)),
			"q": fmt8(m.qty(tk.qty)), "T": tk.t, "m": tk.buyerMaker, "M": true})
		h.publish(pre+"trade", b)
	}
	if h.has(pre + "bookTicker") {
		bt := m.bookTicker()
		b, _ := json.Marshal(map[string]any{"u": m.updateID, "s": m.name, "b": bt.BidPrice, "B": bt.BidQty, "a": bt.AskPrice, "A": bt.AskQty})
		h.publish(pre+"bookTicker", b)
	}
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
			if h.has(name) {
				b, _ := json.Marshal(map[string]any{"lastUpdateId": m.updateID, "bids": m.levelsJSON(m.bids, n), "asks": m.levelsJSON(m.asks, n)})
				h.publish(name, b)
			}
		}
	}
	for iv := range intervalMs {
		name := pre + "kline_" + iv
		if !h.has(name) {
			continue
		}
		if prevB := bucketStart(prevT, iv); prevT > 0 && bucketStart(tk.t, iv) > prevB {
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
