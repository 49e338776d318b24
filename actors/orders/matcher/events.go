package matcher

import (
	"cmp"
	"math"
	"slices"
)

// OnBook replaces the symbol's order book (bids best first, asks best
// first) and fills the resting orders the new book moves through, as
// maker at their price. It returns the changed orders and their fills.
func (m *Matcher) OnBook(symbol string, bids, asks []Level, nowMs int64) ([]Update, []Fill) {
	if symbol == "" {
		return nil, nil
	}
	s := m.symbol(symbol)
	s.bidBuf = copyLevels(s.bidBuf, bids, true)
	s.askBuf = copyLevels(s.askBuf, asks, false)
	s.bids, s.asks = s.bidBuf, s.askBuf
	s.hasBook = true
	if len(s.buys) == 0 && len(s.sells) == 0 {
		return nil, nil
	}
	var out output
	m.bookThrough(s, true, nowMs, &out)
	m.bookThrough(s, false, nowMs, &out)
	return out.updates, out.fills
}

// OnTrade records a trade printed on the market and fills the resting
// orders it prints at or through, as maker at their price, for up to its
// quantity. It returns the changed orders and their fills.
func (m *Matcher) OnTrade(symbol string, price, qty float64, nowMs int64) ([]Update, []Fill) {
	if symbol == "" || !positive(price) || !positive(qty) {
		return nil, nil
	}
	s := m.symbol(symbol)
	s.last = price
	if len(s.buys) == 0 && len(s.sells) == 0 {
		return nil, nil
	}
	var out output
	m.makerFills(s, true, price, qty, nowMs, &out)
	m.makerFills(s, false, price, qty, nowMs, &out)
	return out.updates, out.fills
}

// OnBar drives the matcher with a bar (backtests): resting buys whose price
// is >= low and sells whose price is <= high fill as maker at their price,
// for up to the bar's volume per side; close becomes the last trade price.
// It returns the changed orders and their fills. See the package doc for
// the assumptions.
func (m *Matcher) OnBar(symbol string, open, high, low, close, volume float64, nowMs int64) ([]Update, []Fill) {
	if symbol == "" || !positive(open) || !positive(high) || !positive(low) || !positive(close) ||
		low > high || !(volume >= 0) || math.IsInf(volume, 1) {
		return nil, nil
	}
	s := m.symbol(symbol)
	s.last = close
	if len(s.buys) == 0 && len(s.sells) == 0 {
		return nil, nil
	}
	var out output
	m.makerFills(s, true, low, volume, nowMs, &out)
	m.makerFills(s, false, high, volume, nowMs, &out)
	return out.updates, out.fills
}

// output gathers what one market data call changed.
type output struct {
	updates []Update
	fills   []Fill
}

// bookThrough fills the resting orders of one side that the book's other
// side reaches, best first, each at its own price, and cuts what they take
// from the book.
func (m *Matcher) bookThrough(s *symbolState, buy bool, nowMs int64, out *output) {
	side := s.side(buy)
	levels := s.opposite(buy)
	closed := 0
	for _, r := range *side {
		ls := *levels
		price := r.order.Price
		if len(ls) == 0 || !within(ls[0].Price, buy, price) {
			break
		}
		got := 0.0
		for len(ls) > 0 && within(ls[0].Price, buy, price) && got < r.remaining() {
			q := min(ls[0].Qty, r.remaining()-got)
			got += q
			if q == ls[0].Qty {
				ls = ls[1:]
			} else {
				ls[0].Qty -= q
			}
		}
		*levels = ls
		m.fill(r, price, got, true, nowMs, &out.fills)
		out.updates = append(out.updates, r.update(r.status(), ""))
		if !r.done() {
			break
		}
		closed++
	}
	m.closeBest(side, closed)
}

// makerFills fills the resting orders of one side priced at or through
// the price `through` (buy: limit >= through; sell: limit <= through),
// best first, each at its own price, sharing up to capQty.
func (m *Matcher) makerFills(s *symbolState, buy bool, through, capQty float64, nowMs int64, out *output) {
	side := s.side(buy)
	closed := 0
	for _, r := range *side {
		if capQty <= 0 || !within(through, buy, r.order.Price) {
			break
		}
		q := min(r.remaining(), capQty)
		capQty -= q
		m.fill(r, r.order.Price, q, true, nowMs, &out.fills)
		out.updates = append(out.updates, r.update(r.status(), ""))
		if !r.done() {
			break
		}
		closed++
	}
	m.closeBest(side, closed)
}

// closeBest removes the n best orders of a side, all filled.
func (m *Matcher) closeBest(side *[]*resting, n int) {
	if n == 0 {
		return
	}
	for _, r := range (*side)[:n] {
		delete(m.open, r.order.ID)
	}
	*side = slices.Delete(*side, 0, n)
}

// side returns the resting orders of one side.
func (s *symbolState) side(buy bool) *[]*resting {
	if buy {
		return &s.buys
	}
	return &s.sells
}

// copyLevels copies the positive finite levels of src into buf, best
// first (bids: highest price first), sorting them if src is out of order.
func copyLevels(buf, src []Level, bids bool) []Level {
	buf = buf[:0]
	for _, l := range src {
		if positive(l.Price) && positive(l.Qty) {
			buf = append(buf, l)
		}
	}
	better := func(a, b Level) int { return cmp.Compare(a.Price, b.Price) }
	if bids {
		better = func(a, b Level) int { return cmp.Compare(b.Price, a.Price) }
	}
	if !slices.IsSortedFunc(buf, better) {
		slices.SortStableFunc(buf, better)
	}
	return buf
}
