package report

import (
	"math"
	"slices"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// flatTolerance is how small a position is, relative to the largest it
// was in the trip, to count as flat (float sums rarely give 0 exactly).
const flatTolerance = 1e-9

// RoundTrip is one trade: a leg's position from when it left 0 to when
// it was flat again.
type RoundTrip struct {
	Leg    int    `json:"leg"`
	Symbol string `json:"symbol"`
	// Side is "LONG" or "SHORT".
	Side    string `json:"side"`
	EntryMs int64  `json:"entry_ms"`
	ExitMs  int64  `json:"exit_ms"`
	// Qty is the most the position held.
	Qty float64 `json:"qty"`
	// EntryPrice and ExitPrice are the mean prices of the fills that
	// grew and shrank the position.
	EntryPrice float64 `json:"entry_price"`
	ExitPrice  float64 `json:"exit_price"`
	// PnL is net of Fees.
	PnL   float64 `json:"pnl"`
	Fees  float64 `json:"fees"`
	Fills int     `json:"fills"`
}

// interval is a span of time [from, to] with a position.
type interval struct{ from, to int64 }

// RoundTrips returns r's closed round trips in the order they closed (see
// the package doc).
func RoundTrips(r *engine.Result) []RoundTrip {
	if r == nil {
		return nil
	}
	trips, _ := roundTrips(r, 0)
	return trips
}

// tripState is one leg's trip in progress.
type tripState struct {
	pos, maxAbs      float64
	inQty, inQuote   float64
	outQty, outQuote float64
	cash, fees       float64
	entryMs          int64
	fills            int
	symbol           string
	short            bool
}

// roundTrips walks r's fills leg by leg and returns the closed trips and
// the intervals with a position (one still open ends at endMs).
func roundTrips(r *engine.Result, endMs int64) ([]RoundTrip, []interval) {
	// A trip takes two fills at least.
	trips := make([]RoundTrip, 0, len(r.Fills)/2)
	spans := make([]interval, 0, len(r.Fills)/2+len(r.Legs))
	open := map[int]*tripState{}
	for _, f := range r.Fills {
		if !(f.Qty > 0) { // NaN too
			continue
		}
		signed := f.Qty
		if f.Side == "SELL" {
			signed = -f.Qty
		}
		st := open[f.Leg]
		if st != nil && signed*st.pos < 0 && math.Abs(signed) > math.Abs(st.pos)*(1+flatTolerance) {
			// A flip: close this trip with part of the fill, open the next.
			held := st.pos
			part := math.Abs(held) / f.Qty
			st.apply(f, -held, f.Fee*part)
			trips = append(trips, st.close(f.Leg, f.TimeMs))
			spans = append(spans, interval{st.entryMs, f.TimeMs})
			signed += held
			f.Fee *= 1 - part
			st = nil
		}
		if st == nil {
			st = &tripState{entryMs: f.TimeMs, symbol: f.Symbol, short: signed < 0}
			open[f.Leg] = st
		}
		st.apply(f, signed, f.Fee)
		if math.Abs(st.pos) <= st.maxAbs*flatTolerance {
			trips = append(trips, st.close(f.Leg, f.TimeMs))
			spans = append(spans, interval{st.entryMs, f.TimeMs})
			delete(open, f.Leg)
		}
	}
	legs := make([]int, 0, len(open))
	for l := range open {
		legs = append(legs, l)
	}
	slices.Sort(legs)
	for _, l := range legs {
		spans = append(spans, interval{open[l].entryMs, max(endMs, open[l].entryMs)})
	}
	return trips, spans
}

// apply adds signed quantity of fill f, paying fee.
func (st *tripState) apply(f engine.Fill, signed, fee float64) {
	q := math.Abs(signed)
	if signed*st.pos >= 0 { // grows the position (or opens it)
		st.inQty += q
		st.inQuote += q * f.Price
	} else {
		st.outQty += q
		st.outQuote += q * f.Price
	}
	st.pos += signed
	st.maxAbs = max(st.maxAbs, math.Abs(st.pos))
	st.cash -= signed * f.Price
	st.fees += fee
	st.fills++
}

// close returns the finished trip.
func (st *tripState) close(leg int, exitMs int64) RoundTrip {
	t := RoundTrip{
		Leg: leg, Symbol: st.symbol, Side: "LONG",
		EntryMs: st.entryMs, ExitMs: exitMs, Qty: st.maxAbs,
		PnL: st.cash - st.fees, Fees: st.fees, Fills: st.fills,
	}
	if st.short {
		t.Side = "SHORT"
	}
	if st.inQty > 0 {
		t.EntryPrice = st.inQuote / st.inQty
	}
	if st.outQty > 0 {
		t.ExitPrice = st.outQuote / st.outQty
	}
	return t
}
