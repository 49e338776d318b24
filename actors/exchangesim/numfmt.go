package exchangesim

import (
	"math/bits"
	"strconv"

	"github.com/shopspring/decimal"
)

// Fast 8-decimal rendering of the integer units the market keeps (ticks, steps, tick×step
// sums): decimal's StringFixed costs most of a klines page otherwise. Each falls back to
// fmt8 when the fast path does not apply (the result is the same).

// unit is a decimal unit size as coef×10^exp, usable by the fast path when ok.
type unit struct {
	coef int64
	exp  int32
	ok   bool
}

func newUnit(d decimal.Decimal) unit {
	c, e := d.Coefficient(), d.Exponent()
	if !c.IsInt64() || c.Sign() <= 0 || e > 0 || e < -8 {
		return unit{}
	}
	return unit{coef: c.Int64(), exp: e, ok: true}
}

// appendFixed8 appends v×10^exp (v >= 0, -8 <= exp <= 0) with exactly 8 decimals.
func appendFixed8(b []byte, v uint64, exp int32) []byte {
	var tmp [24]byte
	s := strconv.AppendUint(tmp[:0], v, 10)
	shift := int(-exp)
	if len(s) <= shift {
		b = append(b, '0')
	} else {
		b = append(b, s[:len(s)-shift]...)
	}
	b = append(b, '.')
	for i := shift; i > len(s); i-- {
		b = append(b, '0')
	}
	b = append(b, s[max(0, len(s)-shift):]...)
	for i := shift; i < 8; i++ {
		b = append(b, '0')
	}
	return b
}

// appendUnits appends n units (n >= 0) of u with 8 decimals.
func appendUnits(b []byte, n int64, u unit, slow func(int64) decimal.Decimal) []byte {
	if u.ok && n >= 0 {
		if hi, lo := bits.Mul64(uint64(n), uint64(u.coef)); hi == 0 && lo < 1<<63 {
			return appendFixed8(b, lo, u.exp)
		}
	}
	return append(b, fmt8(slow(n))...)
}

// appendQuote appends a tick×step sum as a quote amount with 8 decimals.
func (m *market) appendQuote(b []byte, q u128) []byte {
	tu, su := newUnitCached(m)
	if tu.ok && su.ok && q.hi == 0 && tu.exp+su.exp >= -8 {
		hi, lo := bits.Mul64(q.lo, uint64(tu.coef*su.coef))
		if hi == 0 && lo < 1<<63 && tu.coef <= 1<<20 && su.coef <= 1<<20 {
			return appendFixed8(b, lo, tu.exp+su.exp)
		}
	}
	return append(b, fmt8(m.quoteDec(q))...)
}

func newUnitCached(m *market) (unit, unit) {
	if !m.unitsSet {
		m.tickU, m.stepU, m.unitsSet = newUnit(m.tickSz), newUnit(m.step), true
	}
	return m.tickU, m.stepU
}

func (m *market) appendPx(b []byte, px int64) []byte {
	tu, _ := newUnitCached(m)
	return appendUnits(b, px, tu, m.price)
}

func (m *market) appendQty(b []byte, q int64) []byte {
	_, su := newUnitCached(m)
	return appendUnits(b, q, su, m.qty)
}

// appendKlineRow appends one kline as Binance's 12-element array (decimals as strings).
func (m *market) appendKlineRow(b []byte, k kline) []byte {
	str := func(b []byte, f func([]byte) []byte) []byte { return append(f(append(b, '"')), '"', ',') }
	b = append(strconv.AppendInt(append(b, '['), k.open, 10), ',')
	for _, px := range [4]int64{k.o, k.h, k.l, k.c} {
		b = str(b, func(b []byte) []byte { return m.appendPx(b, px) })
	}
	b = str(b, func(b []byte) []byte { return m.appendQty(b, k.v) })
	b = append(strconv.AppendInt(b, k.close, 10), ',')
	b = str(b, func(b []byte) []byte { return m.appendQuote(b, k.q) })
	b = append(strconv.AppendInt(b, k.n, 10), ',')
	b = str(b, func(b []byte) []byte { return m.appendQty(b, k.takerV) })
	b = str(b, func(b []byte) []byte { return m.appendQuote(b, k.takerQ) })
	return append(b, `"0"]`...)
}
