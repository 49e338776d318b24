package exchangesim

import (
	"cmp"
	"slices"

	"github.com/shopspring/decimal"
)

// Order statuses, sides, types and time-in-force values (Binance spelling).
const (
	statusNew             = "NEW"
	statusPartiallyFilled = "PARTIALLY_FILLED"
	statusFilled          = "FILLED"
	statusCanceled        = "CANCELED"
	statusExpired         = "EXPIRED"

	sideBuy  = "BUY"
	sideSell = "SELL"

	typeLimit           = "LIMIT"
	typeMarket          = "MARKET"
	typeLimitMaker      = "LIMIT_MAKER"
	typeStopLoss        = "STOP_LOSS"
	typeStopLossLimit   = "STOP_LOSS_LIMIT"
	typeTakeProfit      = "TAKE_PROFIT"
	typeTakeProfitLimit = "TAKE_PROFIT_LIMIT"

	tifGTC = "GTC"
	tifIOC = "IOC"
	tifFOK = "FOK"
)

const (
	msgInsufficient = "Account has insufficient balance for requested action."
	msgDuplicate    = "Duplicate order sent."
	msgWouldMatch   = "Order would immediately match and take."
	msgWouldTrigger = "Order would trigger immediately."
)

type balance struct{ free, locked decimal.Decimal }

// account is one API key's state. Guarded by Exchange.mu.
type account struct {
	key, secret string
	uid         int64
	balances    map[string]*balance
	orders      map[string][]*order          // symbol → orders by id
	byClient    map[string]map[string]*order // symbol → clientOrderId → latest order
	trades      map[string][]*trade          // symbol → trades by id
	lists       []*orderList                 // OCOs by id
	win10s      int64                        // start of the current 10 s order window (ms)
	cnt10s      int
	winDay      int64
	cntDay      int
	updateTime  int64
}

func (a *account) bal(asset string) *balance {
	b := a.balances[asset]
	if b == nil {
		b = &balance{}
		a.balances[asset] = b
	}
	return b
}

type order struct {
	acct                      *account
	m                         *market
	id                        int64
	clientID                  string
	side, typ, tif            string
	price, origQty, origQuote decimal.Decimal
	executed, cumQuote        decimal.Decimal
	locked                    decimal.Decimal // amount still locked: quote for BUY, base for SELL
	status                    string
	time, updateTime          int64
	stopPrice                 decimal.Decimal // stop and take-profit types; zero otherwise
	working                   bool            // false while a stop waits for its trigger
	workingTime               int64           // when it started working; -1 before
	list                      *orderList      // the OCO it belongs to, or nil
}

// listID is the orderListId of o (-1 when it is not in a list).
func (o *order) listID() int64 {
	if o.list == nil {
		return -1
	}
	return o.list.id
}

func (o *order) isOpen() bool {
	return o.status == statusNew || o.status == statusPartiallyFilled
}

type trade struct {
	symbol               string
	id, orderID          int64
	price, qty, quoteQty decimal.Decimal
	commission           decimal.Decimal
	commissionAsset      string
	time                 int64
	isBuyer, isMaker     bool
}

// orderReq is a validated new-order request.
type orderReq struct {
	side, typ, tif, clientID string
	price, qty, quoteQty     decimal.Decimal // zero when absent
	stopPrice                decimal.Decimal // stop and take-profit types
}

// walk computes the taker fills of req against the synthetic book, without changing anything.
func (m *market) walk(req orderReq) []level {
	levels := m.asks
	if req.side == sideSell {
		levels = m.bids
	}
	limitPx := int64(-1)
	if req.typ != typeMarket {
		limitPx = req.price.Div(m.tickSz).IntPart()
	}
	remQty := req.qty.Div(m.step).IntPart()
	remQuote := req.quoteQty
	var out []level
	for _, l := range levels {
		if limitPx >= 0 && ((req.side == sideBuy && l.px > limitPx) || (req.side == sideSell && l.px < limitPx)) {
			break
		}
		take := l.qty
		if req.quoteQty.IsPositive() {
			afford := remQuote.Div(m.price(l.px)).Div(m.step).Floor().IntPart()
			take = min(take, afford)
		} else {
			take = min(take, remQty)
		}
		if take <= 0 {
			break
		}
		out = append(out, level{l.px, take})
		remQty -= take
		remQuote = remQuote.Sub(m.price(l.px).Mul(m.qty(take)))
	}
	return out
}

// execution is what one engine call produced, for the REST answer and the user stream.
type execution struct {
	fills  []*trade
	events []userEvent
}

type userEvent struct {
	acct *account
	body any
}

// place runs a validated order through the engine. The caller holds Exchange.mu.
func (e *Exchange) place(a *account, m *market, req orderReq, now int64) (*order, *execution, *apiError) {
	if prev := a.byClient[m.name][req.clientID]; prev != nil && prev.isOpen() {
		return nil, nil, errf(400, -2010, msgDuplicate)
	}
	if isStopType(req.typ) {
		return e.placeStop(a, m, req, now)
	}
	levels := m.walk(req)
	filled, cost := m.sum(levels)
	if req.typ == typeLimitMaker && len(levels) > 0 {
		return nil, nil, errf(400, -2010, msgWouldMatch)
	}
	if req.tif == tifFOK && filled.LessThan(req.qty) {
		levels, filled, cost = nil, decimal.Zero, decimal.Zero
	}
	if !a.canPay(m, req, filled, cost) {
		return nil, nil, errf(400, -2010, msgInsufficient)
	}
	origQty := req.qty
	if req.quoteQty.IsPositive() {
		origQty = filled
	}
	o := e.register(a, m, req, origQty, now)
	ex := &execution{}
	ex.events = append(ex.events, userEvent{a, e.executionReport(o, "NEW", nil, now)})
	e.work(o, levels, req.typ, req.tif, now, ex)
	return o, ex, nil
}

// sum returns the base quantity and the quote cost of the levels.
func (m *market) sum(levels []level) (filled, cost decimal.Decimal) {
	steps := int64(0)
	for _, l := range levels {
		steps += l.qty
		cost = cost.Add(m.price(l.px).Mul(m.qty(l.qty)))
	}
	return m.qty(steps), cost
}

// canPay reports whether a's free balance covers req (filled and cost: its taker fills).
func (a *account) canPay(m *market, req orderReq, filled, cost decimal.Decimal) bool {
	base, quote := a.bal(m.base), a.bal(m.quote)
	switch {
	case req.side == sideBuy && req.typ == typeMarket && req.quoteQty.IsPositive():
		return !quote.free.LessThan(req.quoteQty)
	case req.side == sideBuy && req.typ == typeMarket:
		return !quote.free.LessThan(cost)
	case req.side == sideBuy:
		return !quote.free.LessThan(req.qty.Mul(req.price))
	case req.typ == typeMarket:
		return !base.free.LessThan(filled)
	}
	return !base.free.LessThan(req.qty)
}

// register creates o, indexes it and counts it against the ORDERS limits.
func (e *Exchange) register(a *account, m *market, req orderReq, origQty decimal.Decimal, now int64) *order {
	o := &order{acct: a, m: m, id: m.nextOrder, clientID: req.clientID, side: req.side, typ: req.typ, tif: req.tif,
		price: req.price, origQty: origQty, origQuote: req.quoteQty, status: statusNew, time: now, updateTime: now,
		stopPrice: req.stopPrice, working: true, workingTime: now}
	m.nextOrder++
	a.orders[m.name] = append(a.orders[m.name], o)
	if a.byClient[m.name] == nil {
		a.byClient[m.name] = map[string]*order{}
	}
	a.byClient[m.name][req.clientID] = o
	a.rollOrderWindows(now)
	a.cnt10s++
	a.cntDay++
	return o
}

// work fills o as taker on levels, then expires it (MARKET, IOC, FOK) or rests the
// remainder, locking its funds. typ and tif are how it executes (a triggered stop
// executes as MARKET or LIMIT).
func (e *Exchange) work(o *order, levels []level, typ, tif string, now int64, ex *execution) {
	a, m := o.acct, o.m
	for _, l := range levels {
		t := e.fill(o, m.price(l.px), m.qty(l.qty), false, now)
		ex.fills = append(ex.fills, t)
		ex.events = append(ex.events, userEvent{a, e.executionReport(o, "TRADE", t, now)})
	}
	if len(levels) > 0 {
		ex.events = append(ex.events, e.siblingsDone(o, now)...)
	}
	rem := o.origQty.Sub(o.executed)
	switch {
	case !rem.IsPositive() && o.executed.IsPositive():
		o.status = statusFilled
	case typ == typeMarket || tif == tifIOC || tif == tifFOK:
		o.status = statusExpired
		ex.events = append(ex.events, userEvent{a, e.executionReport(o, "EXPIRED", nil, now)})
	default:
		b := a.bal(m.base)
		o.locked = rem
		if o.side == sideBuy {
			b, o.locked = a.bal(m.quote), rem.Mul(o.price)
		}
		b.free, b.locked = b.free.Sub(o.locked), b.locked.Add(o.locked)
		m.open = append(m.open, o)
	}
	a.updateTime = now
	ex.events = append(ex.events, userEvent{a, e.accountPosition(a, now, m.base, m.quote)})
}

// fill applies one fill of o at px for q, moving balances and recording the trade.
func (e *Exchange) fill(o *order, px, q decimal.Decimal, maker bool, now int64) *trade {
	a, m := o.acct, o.m
	base, quote := a.bal(m.base), a.bal(m.quote)
	rate := e.takerRate
	if maker {
		rate = e.makerRate
	}
	quoteQty := px.Mul(q)
	t := &trade{symbol: m.name, id: m.nextTrade, orderID: o.id, price: px, qty: q, quoteQty: quoteQty,
		time: now, isBuyer: o.side == sideBuy, isMaker: maker}
	m.nextTrade++
	if o.side == sideBuy {
		t.commission, t.commissionAsset = q.Mul(rate).Round(8), m.base
		if maker { // paid from the locked quote
			quote.locked = quote.locked.Sub(quoteQty)
			o.locked = o.locked.Sub(quoteQty)
		} else {
			quote.free = quote.free.Sub(quoteQty)
		}
		base.free = base.free.Add(q.Sub(t.commission))
	} else {
		t.commission, t.commissionAsset = quoteQty.Mul(rate).Round(8), m.quote
		if maker {
			base.locked = base.locked.Sub(q)
			o.locked = o.locked.Sub(q)
		} else {
			base.free = base.free.Sub(q)
		}
		quote.free = quote.free.Add(quoteQty.Sub(t.commission))
	}
	if o.executed.IsZero() {
		a.uncount(o, now)
	}
	o.executed = o.executed.Add(q)
	o.cumQuote = o.cumQuote.Add(quoteQty)
	o.updateTime = now
	if o.executed.GreaterThanOrEqual(o.origQty) {
		o.status = statusFilled
	} else {
		o.status = statusPartiallyFilled
	}
	a.trades[m.name] = append(a.trades[m.name], t)
	return t
}

// matchResting fills resting orders crossed by the price of tk, within the step liquidity.
func (e *Exchange) matchResting(m *market, tk tick) []userEvent {
	var cands []*order
	for _, o := range m.open {
		opx := o.price.Div(m.tickSz).IntPart()
		if (o.side == sideBuy && tk.px <= opx) || (o.side == sideSell && tk.px >= opx) {
			cands = append(cands, o)
		}
	}
	if len(cands) == 0 {
		return nil
	}
	slices.SortStableFunc(cands, func(x, y *order) int {
		if x.side != y.side {
			return cmp.Compare(x.side, y.side)
		}
		if c := x.price.Cmp(y.price); c != 0 {
			if x.side == sideBuy {
				return -c
			}
			return c
		}
		return cmp.Compare(x.id, y.id)
	})
	unlimited := !m.liquidity.IsPositive()
	left := m.liquidity
	var evs []userEvent
	touched := map[*account]bool{}
	for _, o := range cands {
		if !o.isOpen() { // an OCO leg expired by its sibling's fill in this loop
			continue
		}
		q := o.origQty.Sub(o.executed)
		if !unlimited {
			q = decimal.Min(q, left.Div(m.step).Floor().Mul(m.step))
		}
		if !q.IsPositive() {
			break
		}
		left = left.Sub(q)
		t := e.fill(o, o.price, q, true, tk.t)
		if o.status == statusFilled {
			e.release(o)
		}
		evs = append(evs, userEvent{o.acct, e.executionReport(o, "TRADE", t, tk.t)})
		evs = append(evs, e.siblingsDone(o, tk.t)...)
		touched[o.acct] = true
		o.acct.updateTime = tk.t
	}
	m.removeClosed()
	for _, o := range cands {
		if touched[o.acct] {
			delete(touched, o.acct)
			evs = append(evs, userEvent{o.acct, e.accountPosition(o.acct, tk.t, m.base, m.quote)})
		}
	}
	return evs
}

// release unlocks whatever o still holds.
func (e *Exchange) release(o *order) {
	if !o.locked.IsPositive() {
		o.locked = decimal.Zero
		return
	}
	asset := o.m.base
	if o.side == sideBuy {
		asset = o.m.quote
	}
	b := o.acct.bal(asset)
	b.locked = b.locked.Sub(o.locked)
	b.free = b.free.Add(o.locked)
	o.locked = decimal.Zero
}

func (m *market) removeClosed() {
	m.open = slices.DeleteFunc(m.open, func(o *order) bool { return !o.isOpen() })
	m.stops = slices.DeleteFunc(m.stops, func(o *order) bool { return !o.isOpen() })
}

// cancel cancels an open order, and the other open orders of its list (Binance cancels
// a whole OCO when one leg is canceled). The caller holds Exchange.mu.
func (e *Exchange) cancel(o *order, now int64) []userEvent {
	var evs []userEvent
	for _, x := range o.listMembers() {
		if !x.isOpen() {
			continue
		}
		x.status = statusCanceled
		x.updateTime = now
		e.release(x)
		evs = append(evs, userEvent{x.acct, e.executionReport(x, "CANCELED", nil, now)})
	}
	o.m.removeClosed()
	o.acct.updateTime = now
	if o.list != nil {
		o.list.done()
	}
	return append(evs, userEvent{o.acct, e.accountPosition(o.acct, now, o.m.base, o.m.quote)})
}

// listMembers returns o's list legs, or just o.
func (o *order) listMembers() []*order {
	if o.list == nil {
		return []*order{o}
	}
	return o.list.orders
}

// findOrder looks an order up by id or by client id (closed orders too).
func (a *account) findOrder(m *market, id int64, clientID string) *order {
	if id > 0 {
		for _, o := range a.orders[m.name] {
			if o.id == id {
				if clientID != "" && o.clientID != clientID {
					return nil
				}
				return o
			}
		}
		return nil
	}
	return a.byClient[m.name][clientID]
}

// uncount applies Binance's order count decrement when o trades for the first time:
// "Unfilled Order Count" (faqs/order_count_decrement.md) counts orders placed in an
// interval that have not traded, so each ORDERS counter whose current window o was
// placed in goes down by one (never below 0).
func (a *account) uncount(o *order, now int64) {
	a.rollOrderWindows(now)
	if o.time >= a.win10s {
		a.cnt10s = max(0, a.cnt10s-1)
	}
	if o.time >= a.winDay {
		a.cntDay = max(0, a.cntDay-1)
	}
}

// checkOrderLimit rolls the ORDERS windows and reports whether the account is over a limit.
// A successful placement then increments both counters.
func (e *Exchange) checkOrderLimit(a *account, now int64) (ok bool, limit int, per string) {
	a.rollOrderWindows(now)
	if a.cnt10s >= e.cfg.OrderLimit10s {
		return false, e.cfg.OrderLimit10s, "10 SECOND"
	}
	if a.cntDay >= e.cfg.OrderLimitDay {
		return false, e.cfg.OrderLimitDay, "1 DAY"
	}
	return true, 0, ""
}

// rollOrderWindows starts new fixed ORDERS windows (10 s, UTC day) when now left the current ones.
func (a *account) rollOrderWindows(now int64) {
	if w := now - now%10000; w != a.win10s {
		a.win10s, a.cnt10s = w, 0
	}
	if d := now - now%86400000; d != a.winDay {
		a.winDay, a.cntDay = d, 0
	}
}
