package matcher

import (
	"fmt"
	"slices"
)

// dust is the fraction of an order's quantity below which what is left
// counts as nothing, so float rounding never leaves an order open for 1e-17.
const dust = 1e-9

// resting is an order the matcher holds: while it rests, and while Submit
// matches it.
type resting struct {
	order    Order
	buy      bool
	executed float64
	quote    float64
	seq      uint64 // time priority
}

func (r *resting) remaining() float64 { return r.order.Qty - r.executed }

func (r *resting) done() bool { return r.remaining() <= r.order.Qty*dust }

// status is NEW, PARTIALLY_FILLED or FILLED by what r has executed.
func (r *resting) status() string {
	switch {
	case r.done():
		return StatusFilled
	case r.executed > 0:
		return StatusPartiallyFilled
	}
	return StatusNew
}

func (r *resting) update(status, reason string) Update {
	return Update{OrderID: r.order.ID, Status: status, Executed: r.executed, Quote: r.quote, Reason: reason}
}

// symbolState is what the matcher knows of one symbol.
type symbolState struct {
	name string
	// bids and asks are the current book, best first, views into bidBuf
	// and askBuf; what the matcher's fills take is cut from their front.
	bids, asks     []Level
	bidBuf, askBuf []Level
	hasBook        bool
	last           float64 // the last trade price; 0: none
	// buys (highest price first) and sells (lowest first) rest in
	// price-time priority.
	buys, sells []*resting
}

// symbol returns the state of a symbol, creating it on first use.
func (m *Matcher) symbol(name string) *symbolState {
	s := m.lookup(name)
	if s == nil {
		s = &symbolState{name: name}
		m.symbols[name] = s
		m.cached = s
	}
	return s
}

// lookup returns the state of a symbol, nil when the matcher knows nothing
// of it.
func (m *Matcher) lookup(name string) *symbolState {
	if c := m.cached; c != nil && c.name == name {
		return c
	}
	s := m.symbols[name]
	if s != nil {
		m.cached = s
	}
	return s
}

// submitMarket fills a MARKET order as taker within the slippage cap.
func (m *Matcher) submitMarket(s *symbolState, o Order, nowMs int64) (Update, []Fill) {
	r := &resting{order: o, buy: o.Side == SideBuy} // never rests: stays on the stack
	var fills []Fill
	switch {
	case s == nil:
		return r.update(StatusRejected, fmt.Sprintf("no market data for %s", o.Symbol)), nil
	case s.hasBook:
		levels := s.opposite(r.buy)
		if len(*levels) > 0 {
			best := (*levels)[0].Price
			bound := best * (1 - m.cfg.SlippageCap)
			if r.buy {
				bound = best * (1 + m.cfg.SlippageCap)
			}
			m.take(r, levels, bound, nowMs, &fills)
		}
	case s.last > 0:
		price := s.last * (1 - m.cfg.Slippage)
		if r.buy {
			price = s.last * (1 + m.cfg.Slippage)
		}
		m.fill(r, price, r.remaining(), false, nowMs, &fills)
	default:
		return r.update(StatusRejected, fmt.Sprintf("no market data for %s", s.name)), nil
	}
	if r.done() {
		return r.update(StatusFilled, ""), fills
	}
	return r.update(StatusExpired, ReasonSlippage), fills
}

// submitLimit matches a LIMIT or LIMIT_MAKER order on arrival and rests,
// expires or kills what is left.
func (m *Matcher) submitLimit(s *symbolState, r *resting, nowMs int64) (Update, []Fill) {
	limit := r.order.Price
	crosses := s.crosses(r.buy, limit)
	if r.order.Type == TypeLimitMaker {
		if crosses {
			return r.update(StatusRejected, ReasonWouldTake), nil
		}
		m.rest(s, r)
		return r.update(StatusNew, ""), nil
	}
	tif := r.order.TimeInForce
	var fills []Fill
	if crosses {
		if s.hasBook {
			levels := s.opposite(r.buy)
			if tif == FOK && available(*levels, r.buy, limit) < r.order.Qty*(1-dust) {
				return r.update(StatusExpired, ReasonFOK), nil
			}
			m.take(r, levels, limit, nowMs, &fills)
		} else {
			m.fill(r, s.last, r.remaining(), false, nowMs, &fills)
		}
	}
	switch {
	case r.done():
		return r.update(StatusFilled, ""), fills
	case tif == IOC:
		return r.update(StatusExpired, ReasonIOC), fills
	case tif == FOK:
		return r.update(StatusExpired, ReasonFOK), fills
	}
	m.rest(s, r)
	return r.update(r.status(), ""), fills
}

// opposite returns the book side a taker on the given side takes from.
func (s *symbolState) opposite(buy bool) *[]Level {
	if buy {
		return &s.asks
	}
	return &s.bids
}

// crosses reports whether a limit order at price would take liquidity now:
// from the book when one is known, else from the last trade price.
func (s *symbolState) crosses(buy bool, price float64) bool {
	if s.hasBook {
		levels := *s.opposite(buy)
		return len(levels) > 0 && within(levels[0].Price, buy, price)
	}
	return s.last > 0 && within(s.last, buy, price)
}

// within reports whether a level at price p is no worse than bound for a
// taker (buy: p <= bound; sell: p >= bound).
func within(p float64, buy bool, bound float64) bool {
	if buy {
		return p <= bound
	}
	return p >= bound
}

// available sums the quantity of the levels within bound.
func available(levels []Level, buy bool, bound float64) float64 {
	sum := 0.0
	for _, l := range levels {
		if !within(l.Price, buy, bound) {
			break
		}
		sum += l.Qty
	}
	return sum
}

// take fills r as taker from the best level on, each fill at the level's
// price, while levels are within bound and r has quantity left, and cuts
// what it takes from the book.
func (m *Matcher) take(r *resting, levels *[]Level, bound float64, nowMs int64, fills *[]Fill) {
	ls := *levels
	for len(ls) > 0 && !r.done() && within(ls[0].Price, r.buy, bound) {
		q := min(ls[0].Qty, r.remaining())
		m.fill(r, ls[0].Price, q, false, nowMs, fills)
		if q == ls[0].Qty {
			ls = ls[1:]
		} else {
			ls[0].Qty -= q
		}
	}
	*levels = ls
}

// rest adds r to its symbol's resting orders, after those with a better or
// equal price.
func (m *Matcher) rest(s *symbolState, r *resting) {
	m.seq++
	r.seq = m.seq
	m.open[r.order.ID] = r
	side, p := s.side(r.buy), r.order.Price
	i, _ := slices.BinarySearchFunc(*side, r, func(e, _ *resting) int {
		if within(p, r.buy, e.order.Price) {
			return -1 // e's price is better or equal: r goes after it
		}
		return 1
	})
	*side = slices.Insert(*side, i, r)
}

// fill executes qty of r at price and records the fill.
func (m *Matcher) fill(r *resting, price, qty float64, maker bool, nowMs int64, fills *[]Fill) {
	rate := m.cfg.TakerFee
	if maker {
		rate = m.cfg.MakerFee
	}
	quote := price * qty
	m.tradeID++
	r.executed += qty
	r.quote += quote
	if r.done() {
		r.executed = r.order.Qty
	}
	*fills = append(*fills, Fill{
		OrderID: r.order.ID, Symbol: r.order.Symbol, Side: r.order.Side,
		Price: price, Qty: qty, Quote: quote, Fee: quote * rate,
		Maker: maker, TradeID: m.tradeID, TimeMs: nowMs,
	})
}
