package orders

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/messages"
)

// splitSymbol returns a symbol's base and quote assets.
func splitSymbol(sym string) (base, quote string) { return ledger.SplitSymbol(sym) }

// parseDec parses a decimal string; "" is 0.
func parseDec(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, errBadDecimal
	}
	return v, nil
}

// dec parses a decimal string that was validated before; bad input is 0.
func dec(s string) float64 {
	v, _ := parseDec(s)
	return v
}

// fmtDec formats a float as a decimal string of at most 10 decimals,
// without trailing zeros (float noise such as 0.060000000000000005 goes).
func fmtDec(v float64) string { return ledger.FormatDec(v) }

// position is one strategy's book for one symbol.
type position struct {
	qty, avg    float64 // signed quantity, average entry price
	realized    float64 // realised PnL in the quote asset, before fees
	fees        float64 // fees in the quote asset
	dayKey      int64   // the UTC day (unix days) dayRealized counts for
	dayRealized float64 // realised PnL minus fees since 00:00 UTC of dayKey
	updatedMs   int64
	fills       uint64 // fills booked
}

// apply books one fill: quantities add up, a reducing fill realises PnL
// against the average entry price, a reversal opens at the fill price.
func (p *position) apply(side string, qty, price, feeQuote float64, timeMs int64) {
	var realized float64
	p.qty, p.avg, realized = ledger.Apply(p.qty, p.avg, side == "SELL", qty, price)
	p.realized += realized
	p.fees += feeQuote
	p.fills++
	day := dayOf(timeMs)
	if day != p.dayKey {
		p.dayKey, p.dayRealized = day, 0
	}
	p.dayRealized += realized - feeQuote
	if timeMs > p.updatedMs {
		p.updatedMs = timeMs
	}
}

// unrealized is the PnL of the open quantity at last.
func (p *position) unrealized(last float64) float64 {
	if last == 0 || p.qty == 0 {
		return 0
	}
	return (last - p.avg) * p.qty
}

// daily is the realised (net of fees) PnL since 00:00 UTC of the day of
// nowMs plus the open quantity's unrealised PnL.
func (p *position) daily(nowMs int64, last float64) float64 {
	d := 0.0
	if p.dayKey == dayOf(nowMs) {
		d = p.dayRealized
	}
	return d + p.unrealized(last)
}

func dayOf(ms int64) int64 { return ms / int64(24*time.Hour/time.Millisecond) }

// feeInQuote converts a fill's fee to the quote asset: a fee in the base
// asset is valued at the fill price; another asset (BNB) is not convertible
// here and counts as 0 in the book (the balance still shows it).
func feeInQuote(f *messages.TradeFill) float64 {
	fee := dec(f.GetFee())
	base, quote := splitSymbol(f.GetSymbol())
	switch f.GetFeeAsset() {
	case "", quote:
		return fee
	case base:
		return fee * dec(f.GetPrice())
	}
	return 0
}

// books holds every strategy's positions, keyed strategy then symbol.
type books struct {
	pos  map[string]map[string]*position
	last map[string]float64 // last price per symbol
}

func newBooks() *books {
	return &books{pos: map[string]map[string]*position{}, last: map[string]float64{}}
}

func (b *books) get(strategy, symbol string) *position {
	m := b.pos[strategy]
	if m == nil {
		m = map[string]*position{}
		b.pos[strategy] = m
	}
	p := m[symbol]
	if p == nil {
		p = &position{}
		m[symbol] = p
	}
	return p
}

// applyFill books f in its strategy's position and returns the position.
func (b *books) applyFill(f *messages.TradeFill) *position {
	p := b.get(f.GetStrategy(), f.GetSymbol())
	p.apply(f.GetSide(), dec(f.GetQuantity()), dec(f.GetPrice()), feeInQuote(f), f.GetTimeMs())
	if b.last[f.GetSymbol()] == 0 {
		b.last[f.GetSymbol()] = dec(f.GetPrice())
	}
	return p
}

// view renders one position.
func (b *books) view(strategy, symbol string, p *position) *messages.Position {
	last := b.last[symbol]
	return &messages.Position{Strategy: strategy, Symbol: symbol, Quantity: fmtDec(p.qty), AvgPrice: fmtDec(p.avg),
		LastPrice: fmtDec(last), RealizedPnl: fmtDec(p.realized), UnrealizedPnl: fmtDec(p.unrealized(last)),
		Fees: fmtDec(p.fees), Notional: fmtDec(math.Abs(p.qty) * last), UpdatedMs: p.updatedMs}
}

// positions lists the positions of strategy ("" : all) sorted, and the
// account's sums per symbol over all strategies.
func (b *books) positions(strategy string) (per, account []*messages.Position) {
	sums := map[string]*messages.Position{}
	for _, name := range sortedKeys(b.pos) {
		for _, sym := range sortedKeys(b.pos[name]) {
			p := b.pos[name][sym]
			v := b.view(name, sym, p)
			if strategy == "" || strategy == name {
				per = append(per, v)
			}
			s := sums[sym]
			if s == nil {
				s = &messages.Position{Symbol: sym, LastPrice: v.LastPrice}
				sums[sym] = s
			}
			s.Quantity = fmtDec(dec(s.Quantity) + p.qty)
			s.RealizedPnl = fmtDec(dec(s.RealizedPnl) + p.realized)
			s.UnrealizedPnl = fmtDec(dec(s.UnrealizedPnl) + p.unrealized(b.last[sym]))
			s.Fees = fmtDec(dec(s.Fees) + p.fees)
			s.Notional = fmtDec(math.Abs(dec(s.Quantity)) * b.last[sym])
			if p.updatedMs > s.UpdatedMs {
				s.UpdatedMs = p.updatedMs
			}
		}
	}
	for _, sym := range sortedKeys(sums) {
		account = append(account, sums[sym])
	}
	return per, account
}

// totals sums one strategy's book ("" : the account's).
type totals struct {
	realized, unrealized, fees, daily, notional float64
	fills                                       uint64
}

func (b *books) totals(strategy string, nowMs int64) totals {
	var t totals
	for name, m := range b.pos {
		if strategy != "" && name != strategy {
			continue
		}
		for sym, p := range m {
			last := b.last[sym]
			t.realized += p.realized
			t.unrealized += p.unrealized(last)
			t.fees += p.fees
			t.daily += p.daily(nowMs, last)
			t.notional += math.Abs(p.qty) * last
			t.fills += p.fills
		}
	}
	return t
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
