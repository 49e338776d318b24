package report

import (
	"slices"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// tradeMetrics fills the metrics over round trips and fills.
func (m *Metrics) tradeMetrics(r *engine.Result, trips []RoundTrip) {
	m.Fills = len(r.Fills)
	for _, f := range r.Fills {
		m.Fees += f.Fee
	}
	m.Trades = len(trips)
	if m.Trades == 0 {
		return
	}
	wins := 0
	var sum float64
	for _, t := range trips {
		sum += t.PnL
		switch {
		case t.PnL > 0:
			wins++
			m.GrossProfit += t.PnL
		case t.PnL < 0:
			m.GrossLoss -= t.PnL
		}
	}
	m.WinRate = float64(wins) / float64(m.Trades)
	m.Expectancy = sum / float64(m.Trades)
	if m.GrossLoss > 0 {
		m.ProfitFactor = m.GrossProfit / m.GrossLoss
	}
}

// exposure is the fraction of [start, end] covered by the union of spans.
func exposure(spans []interval, start, end int64) float64 {
	if end <= start || len(spans) == 0 {
		return 0
	}
	slices.SortFunc(spans, func(a, b interval) int {
		switch {
		case a.from < b.from:
			return -1
		case a.from > b.from:
			return 1
		}
		return 0
	})
	var covered int64
	curFrom, curTo := int64(0), int64(0)
	have := false
	for _, s := range spans {
		from, to := max(s.from, start), min(s.to, end)
		if to <= from {
			continue
		}
		switch {
		case !have:
			curFrom, curTo, have = from, to, true
		case from <= curTo:
			curTo = max(curTo, to)
		default:
			covered += curTo - curFrom
			curFrom, curTo = from, to
		}
	}
	if have {
		covered += curTo - curFrom
	}
	return float64(covered) / float64(end-start)
}

// legReturn is a leg's buy-and-hold return, 0 without a first close.
func legReturn(l engine.LegResult) float64 {
	if l.FirstClose <= 0 {
		return 0
	}
	return l.LastClose/l.FirstClose - 1
}

// buyHold is the legs' buy-and-hold return weighted by allocation (equal
// weights when no leg has one).
func buyHold(legs []engine.LegResult) float64 {
	var sum, weights float64
	for _, l := range legs {
		if l.Allocation > 0 {
			sum += l.Allocation * legReturn(l)
			weights += l.Allocation
		}
	}
	if weights > 0 {
		return sum / weights
	}
	for _, l := range legs {
		sum += legReturn(l)
	}
	if len(legs) == 0 {
		return 0
	}
	return sum / float64(len(legs))
}

// symbolAcc sums one symbol's share.
type symbolAcc struct {
	cash, qty, fees, alloc float64
	lastFill, lastClose    float64
	firstLeg               *engine.LegResult
	trades, wins           int
}

// symbolMetrics is the per-symbol breakdown, sorted by symbol. A
// symbol's PnL marks what it still holds at its leg's LastClose (at its
// last fill's price when no leg has one), net of fees.
func symbolMetrics(r *engine.Result, trips []RoundTrip) []SymbolMetrics {
	accs := map[string]*symbolAcc{}
	get := func(sym string) *symbolAcc {
		a := accs[sym]
		if a == nil {
			a = &symbolAcc{}
			accs[sym] = a
		}
		return a
	}
	for i := range r.Legs {
		l := &r.Legs[i]
		a := get(l.Symbol)
		a.alloc += l.Allocation
		if a.firstLeg == nil && l.FirstClose > 0 {
			a.firstLeg = l
		}
		if l.LastClose > 0 {
			a.lastClose = l.LastClose
		}
	}
	for _, f := range r.Fills {
		a := get(f.Symbol)
		signed := f.Qty
		if f.Side == "SELL" {
			signed = -f.Qty
		}
		a.qty += signed
		a.cash -= signed * f.Price
		a.fees += f.Fee
		a.lastFill = f.Price
	}
	for _, t := range trips {
		a := get(t.Symbol)
		a.trades++
		if t.PnL > 0 {
			a.wins++
		}
	}
	out := make([]SymbolMetrics, 0, len(accs))
	for sym, a := range accs {
		mark := a.lastClose
		if mark <= 0 {
			mark = a.lastFill
		}
		s := SymbolMetrics{Symbol: sym, Fees: a.fees, Trades: a.trades}
		s.PnL = a.cash + a.qty*mark - a.fees
		if a.alloc > 0 {
			s.Return = s.PnL / a.alloc
		}
		if a.trades > 0 {
			s.WinRate = float64(a.wins) / float64(a.trades)
		}
		if a.firstLeg != nil {
			s.BuyHoldReturn = legReturn(*a.firstLeg)
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b SymbolMetrics) int {
		switch {
		case a.Symbol < b.Symbol:
			return -1
		case a.Symbol > b.Symbol:
			return 1
		}
		return 0
	})
	return out
}
