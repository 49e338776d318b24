package exchangesim

import (
	"fmt"
)

// Step advances every symbol by one price step: one synthetic trade, a new synthetic book,
// fills of crossed resting orders, and the stream events. The automatic ticker calls it
// every TickInterval; tests call it directly for deterministic moves. In a replay
// (klines_csv) a step is one whole bar: StepTrades, then CloseBar (replay.go).
func (e *Exchange) Step() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.driver != nil {
		e.replayTrades()
		e.closeBar()
		return
	}
	now := e.nowMs()
	for _, s := range e.symbols {
		e.stepMarket(e.markets[s], now, nil, -1)
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
	e.stepMarket(m, e.nowMs(), &px, -1)
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

// stepMarket advances m by one trade (at *forced, of qty steps; nil and < 0: the walk's)
// and publishes. The caller holds e.mu.
func (e *Exchange) stepMarket(m *market, now int64, forced *int64, qty int64) {
	var prevT int64
	if n := len(m.ticks); n > 0 {
		prevT = m.ticks[n-1].t
	}
	tk, diff := m.advance(now, forced, qty)
	e.pushUser(e.triggerStops(m, tk))
	e.pushUser(e.matchResting(m, tk))
	e.publishStep(m, tk, diff, prevT, now)
}
