package exchangesim

import (
	"github.com/shopspring/decimal"
)

// Stop and take-profit orders (rest-api.md "New order", enums.md "Order types"):
// STOP_LOSS and TAKE_PROFIT execute as MARKET, STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT as
// LIMIT at price, once the last (simulated) price reaches stopPrice:
//
//	STOP_LOSS*   SELL: price <= stopPrice   BUY: price >= stopPrice
//	TAKE_PROFIT* SELL: price >= stopPrice   BUY: price <= stopPrice
//
// An order whose condition already holds is rejected with -2010 "Order would trigger
// immediately." Until it triggers it is NEW with isWorking false, and it locks its
// funds: the quantity for a SELL, quantity × price (× stopPrice for the MARKET kinds)
// for a BUY. A triggered MARKET kind whose BUY then costs more than the account holds
// expires.

func isStopType(t string) bool {
	switch t {
	case typeStopLoss, typeStopLossLimit, typeTakeProfit, typeTakeProfitLimit:
		return true
	}
	return false
}

// execType is how a stop order executes once triggered (MARKET or LIMIT).
func execType(t string) string {
	if t == typeStopLoss || t == typeTakeProfit {
		return typeMarket
	}
	return typeLimit
}

// stopTriggered reports whether the last price px (ticks) triggers a stop order.
func stopTriggered(typ, side string, px, stop int64) bool {
	loss := typ == typeStopLoss || typ == typeStopLossLimit
	if (side == sideSell) == loss {
		return px <= stop
	}
	return px >= stop
}

// stopLock is what a waiting stop order locks, and from which balance.
func (a *account) stopLock(m *market, req orderReq) (decimal.Decimal, *balance) {
	if req.side == sideSell {
		return req.qty, a.bal(m.base)
	}
	px := req.price
	if execType(req.typ) == typeMarket {
		px = req.stopPrice
	}
	return req.qty.Mul(px), a.bal(m.quote)
}

// placeStop registers a stop order that waits for its trigger. The caller holds Exchange.mu.
func (e *Exchange) placeStop(a *account, m *market, req orderReq, now int64) (*order, *execution, *apiError) {
	if stopTriggered(req.typ, req.side, m.px, req.stopPrice.Div(m.tickSz).IntPart()) {
		return nil, nil, errf(400, -2010, msgWouldTrigger)
	}
	need, src := a.stopLock(m, req)
	if src.free.LessThan(need) {
		return nil, nil, errf(400, -2010, msgInsufficient)
	}
	o := e.register(a, m, req, req.qty, now)
	o.working, o.workingTime = false, -1
	o.locked = need
	src.free, src.locked = src.free.Sub(need), src.locked.Add(need)
	m.stops = append(m.stops, o)
	a.updateTime = now
	ex := &execution{events: []userEvent{
		{a, e.executionReport(o, "NEW", nil, now)},
		{a, e.accountPosition(a, now, m.base, m.quote)},
	}}
	return o, ex, nil
}

// triggerStops activates the waiting stop orders that the price of tk triggers, in
// arrival order. The caller holds Exchange.mu.
func (e *Exchange) triggerStops(m *market, tk tick) []userEvent {
	var hit []*order
	for _, o := range m.stops {
		if stopTriggered(o.typ, o.side, tk.px, o.stopPrice.Div(m.tickSz).IntPart()) {
			hit = append(hit, o)
		}
	}
	var evs []userEvent
	for _, o := range hit {
		if o.isOpen() && !o.working { // an OCO sibling may have gone with an earlier one
			evs = append(evs, e.activate(o, tk.t)...)
		}
	}
	m.removeClosed()
	return evs
}

// activate turns a triggered stop into a working MARKET or LIMIT order: its lock is
// released, the other legs of its OCO expire, and it executes against the book.
func (e *Exchange) activate(o *order, now int64) []userEvent {
	a, m := o.acct, o.m
	ex := &execution{events: e.siblingsDone(o, now)}
	e.release(o)
	m.stops = removeOrder(m.stops, o)
	o.working, o.workingTime, o.updateTime = true, now, now
	typ := execType(o.typ)
	req := orderReq{side: o.side, typ: typ, tif: o.tif, price: o.price, qty: o.origQty}
	levels := m.walk(req)
	filled, cost := m.sum(levels)
	if typ == typeLimit && req.tif == tifFOK && filled.LessThan(req.qty) {
		levels, filled, cost = nil, decimal.Zero, decimal.Zero
	}
	if !a.canPay(m, req, filled, cost) {
		o.status = statusExpired
		ex.events = append(ex.events, userEvent{a, e.executionReport(o, "EXPIRED", nil, now)},
			userEvent{a, e.accountPosition(a, now, m.base, m.quote)})
		return ex.events
	}
	e.work(o, levels, typ, req.tif, now, ex)
	return ex.events
}

func removeOrder(os []*order, o *order) []*order {
	out := os[:0]
	for _, x := range os {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}

// siblingsDone expires the other open legs of o's OCO once o trades or triggers
// ("If one order is executed, the other is automatically expired" - "New order list - OCO").
func (e *Exchange) siblingsDone(o *order, now int64) []userEvent {
	if o.list == nil {
		return nil
	}
	var evs []userEvent
	for _, x := range o.list.orders {
		if x == o || !x.isOpen() {
			continue
		}
		x.status, x.updateTime = statusExpired, now
		e.release(x)
		evs = append(evs, userEvent{x.acct, e.executionReport(x, "EXPIRED", nil, now)})
	}
	o.m.removeClosed()
	o.list.done()
	return evs
}
