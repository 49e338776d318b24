package engine

import (
	"math"
	"time"

	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// maxPlacesPerBar bounds the orders one leg places while one bar (or one
// timer) is handled.
const maxPlacesPerBar = 1000

// legRun is one leg under way: its strategy, its matcher, the order
// actor's book of it and the strategy host's view of it.
type legRun struct {
	r            *runner
	idx          int
	name, symbol string
	base, quote  string
	alloc        float64
	filters      Filters
	bars         []strategy.Bar
	next         int // the next bar to drive
	strat        strategy.Strategy
	ticks        bool // the strategy asked for the trades
	sc           *strategy.Context
	m            *matcher.Matcher

	// The order actor's side: the book (from rounded fills), the cash
	// (allocation less what buys cost, plus what sells gave, less fees),
	// the last trade price, the orders by ref (index in Result.Orders; -1:
	// none) and those resting in the matcher, in placement order.
	pos, avg, realized, fees, cash float64
	lastTrade                      float64
	// lastQty and lastMs complete lastTrade when stale: the matcher has
	// not been given it yet.
	lastQty float64
	lastMs  int64
	stale   bool
	refIdx  []int32
	resting []int32

	// The host's side: the orders it knows open (placement order) and
	// the last close.
	hostOpen  []hostOrder
	lastClose float64

	queue   []event // for the strategy, in order
	u       strategy.OrderUpdate
	f       strategy.Fill // what OnOrder, OnFill and OnTick get (reused)
	tick    strategy.Tick
	idBuf   []byte
	group   []int32
	one     [1]matcher.Update
	places  int
	tradeID int64
	timers  []timer
	nextDue int64 // the earliest timer's due time (MaxInt64: none)
}

// orderRec is what the engine keeps of an order besides its Order.
type orderRec struct {
	ref   uint64
	side  strategy.Side
	typ   strategy.OrderType
	price float64 // 0 for a market order
	qty   float64
	// avg is Quote/Executed as the matcher gave them, 0 before a fill.
	avg float64
}

// hostOrder is an order as the strategy host knows it.
type hostOrder struct {
	order             int32 // in Result.Orders
	ref               uint64
	side              strategy.Side
	price, qty, fills float64
	status            strategy.Status
}

// Kinds of events.
const (
	evOrder = iota + 1
	evFill
)

// event is one thing the strategy is to see: an order's new state (as
// the batch that changed it left it), or a fill with the position the
// fill event carried (quantity, average price, realised PnL, fees).
type event struct {
	timeMs      int64
	kind        uint8
	status      strategy.Status
	order, fill int32 // in Result.Orders, Result.Fills
	filled, avg float64
	pos         [4]float64
}

// timer is an armed strategy timer.
type timer struct {
	id    int
	dueMs int64
}

func newLegRun(r *runner, idx int, l *Leg, bars []strategy.Bar, s strategy.Strategy, m *matcher.Matcher, f Filters) *legRun {
	sc := strategy.NewContext(l.Symbol, 0)
	sc.Position.Allocation = l.Allocation
	base, quote := splitSymbol(l.Symbol)
	return &legRun{
		r: r, idx: idx, name: l.Name, symbol: l.Symbol, base: base, quote: quote, alloc: l.Allocation, filters: f,
		bars: bars, strat: s, ticks: strategy.FeedsOf(s)&strategy.FeedTicks != 0, sc: sc, m: m,
		cash: l.Allocation, refIdx: []int32{-1}, nextDue: math.MaxInt64,
	}
}

// start calls the strategy's Start at the first bar's open time.
func (l *legRun) start() {
	now := l.bars[0].OpenTimeMs
	l.sc.Begin(now)
	l.updatePosition()
	l.strat.Start(l.sc)
	l.afterCall(now)
}

// step drives one bar: its path through the matcher (and to the strategy
// as ticks when it asked), what changed, then the bar itself.
func (l *legRun) step(b *strategy.Bar) {
	if l.nextDue < b.CloseTimeMs {
		l.fireTimers(b.CloseTimeMs)
	}
	l.places = 0
	if len(l.resting) == 0 && !l.ticks {
		// Nothing rests: only the last trade matters, the close; the
		// matcher hears of it when an order needs it (flush).
		if q := b.Volume / 4; q > 0 {
			l.lastTrade, l.lastQty, l.lastMs, l.stale = b.Close, q, b.CloseTimeMs, true
		}
	} else {
		l.flush()
		l.path(b)
	}
	l.lastClose = b.Close
	if len(l.queue) > 0 {
		l.deliver()
	}
	l.sc.Begin(b.CloseTimeMs)
	l.updatePosition()
	l.strat.OnBar(l.sc, b)
	l.afterCall(b.CloseTimeMs)
}

// flush gives the matcher the last trade it was not given (nothing
// rested: that trade could fill nothing, it only sets the last price).
func (l *legRun) flush() {
	if l.stale {
		l.m.OnTrade(l.symbol, l.lastTrade, l.lastQty, l.lastMs)
		l.stale = false
	}
}

// path feeds the bar's four trades (matcher.BarTrades) to the matcher at
// times spread over the bar, the last at its close.
func (l *legRun) path(b *strategy.Bar) {
	trades := matcher.BarTrades(b.Open, b.High, b.Low, b.Close, b.Volume)
	span := b.CloseTimeMs - b.OpenTimeMs
	for i, t := range trades {
		now := b.OpenTimeMs + span*int64(i)/3
		us, fs := l.m.OnTrade(l.symbol, t.Price, t.Qty, now)
		if t.Qty > 0 {
			l.lastTrade = t.Price
		}
		if len(us)+len(fs) > 0 {
			l.applyBatch(us, fs, now)
		}
		if l.ticks && t.Qty > 0 { // a bar without volume printed no trade
			l.deliver()
			l.tradeID++
			l.tick = strategy.Tick{TimeMs: now, TradeID: l.tradeID, Price: t.Price, Quantity: t.Qty}
			l.sc.Begin(now)
			l.updatePosition()
			l.strat.OnTick(l.sc, &l.tick)
			l.afterCall(now)
		}
	}
}

// afterCall carries out the actions of the strategy's last call, then
// hands it what they changed (and carries out what it does about that).
func (l *legRun) afterCall(now int64) {
	if len(l.sc.Actions()) == 0 {
		return
	}
	l.act(now)
	l.deliver()
}

// act carries out the actions of the last call. Their outcomes go to the
// queue: nothing is handed to the strategy here.
func (l *legRun) act(now int64) {
	for _, a := range l.sc.Actions() {
		switch a.Kind {
		case strategy.ActPlace:
			l.place(a.Ref, a.Order, now)
		case strategy.ActCancel:
			l.cancel(a.Ref, now)
		case strategy.ActTimer:
			l.arm(a.TimerID, a.After, now)
		}
	}
}

// deliver hands the queued events to the strategy, in order, and carries
// out its actions on each (which may queue more).
func (l *legRun) deliver() {
	for i := 0; i < len(l.queue); i++ {
		ev := l.queue[i] // a copy: act may grow the queue
		if ev.kind == evFill {
			l.f = l.fillOf(&ev)
			bk := &l.sc.Position
			bk.Quantity, bk.AvgPrice, bk.RealizedPnL, bk.Fees = ev.pos[0], ev.pos[1], ev.pos[2], ev.pos[3]
			l.sc.Begin(ev.timeMs)
			l.updatePosition()
			l.strat.OnFill(l.sc, &l.f)
		} else {
			l.u = l.updateOf(&ev)
			if !l.hostChanged(ev.order, &l.u) {
				continue
			}
			l.sc.Begin(ev.timeMs)
			l.updatePosition()
			l.strat.OnOrder(l.sc, &l.u)
		}
		l.act(ev.timeMs)
	}
	l.queue = l.queue[:0]
}

// updateOf is an order event as the host converts the journal's order
// (actors/strategies: toUpdate).
func (l *legRun) updateOf(ev *event) strategy.OrderUpdate {
	rec, o := &l.r.recs[ev.order], &l.r.res.Orders[ev.order]
	u := strategy.OrderUpdate{Ref: rec.ref, ClientOrderID: o.ID, Status: ev.status, Side: rec.side, Type: rec.typ,
		Price: rec.price, Quantity: rec.qty, Filled: ev.filled, AvgPrice: ev.avg}
	if ev.status.Done() {
		u.Reason = o.Reason
	}
	return u
}

// fillOf is a fill event as the host converts it (toFill).
func (l *legRun) fillOf(ev *event) strategy.Fill {
	f := &l.r.res.Fills[ev.fill]
	return strategy.Fill{Ref: l.r.recs[ev.order].ref, ClientOrderID: f.OrderID, Side: sideOf(f.Side), Price: f.Price,
		Quantity: f.Qty, Fee: f.Fee, FeeAsset: l.quote, TimeMs: f.TimeMs, Maker: f.Maker}
}

// hostChanged applies an order update to the host's open orders as the
// host does (actors/strategies: orderChanged, deliverUpdate) and reports
// whether the strategy is to see it.
func (l *legRun) hostChanged(order int32, u *strategy.OrderUpdate) bool {
	i := l.hostIndex(order)
	if i < 0 {
		return false // ended already
	}
	o := &l.hostOpen[i]
	if o.status == u.Status && o.fills == u.Filled {
		return false
	}
	o.status, o.fills = u.Status, u.Filled
	if u.Quantity > 0 {
		o.side, o.price, o.qty = u.Side, u.Price, u.Quantity
	}
	if u.Status.Done() {
		l.hostOpen = append(l.hostOpen[:i], l.hostOpen[i+1:]...)
	}
	return true
}

func (l *legRun) hostIndex(order int32) int {
	for i := range l.hostOpen {
		if l.hostOpen[i].order == order {
			return i
		}
	}
	return -1
}

// updatePosition recomputes what the strategy may still use, as the host
// does (actors/strategies/events.go: updatePosition): its allocation less
// its position at cost and its open buy orders.
func (l *legRun) updatePosition() {
	bk := &l.sc.Position
	used := math.Abs(bk.Quantity) * bk.AvgPrice
	for i := range l.hostOpen {
		o := &l.hostOpen[i]
		if o.side == strategy.Buy {
			price := o.price
			if price == 0 {
				price = l.lastClose
			}
			used += (o.qty - o.fills) * price
		}
	}
	bk.Available = math.Max(0, bk.Allocation-used)
	bk.OpenOrders = len(l.hostOpen)
}

// arm sets (or replaces) timer id, due after d (at least 1 ms: a timer
// re-armed with 0 from OnTimer must not fire forever at one instant).
func (l *legRun) arm(id int, d time.Duration, now int64) {
	due := now + max(1, d.Milliseconds())
	l.disarm(id)
	l.timers = append(l.timers, timer{id: id, dueMs: due})
	l.nextDue = min(l.nextDue, due)
}

func (l *legRun) disarm(id int) {
	for i := range l.timers {
		if l.timers[i].id == id {
			l.timers = append(l.timers[:i], l.timers[i+1:]...)
			break
		}
	}
	l.nextDue = math.MaxInt64
	for _, t := range l.timers {
		l.nextDue = min(l.nextDue, t.dueMs)
	}
}

// fireTimers fires, earliest first (ties: armed first), the timers due
// before until.
func (l *legRun) fireTimers(until int64) {
	for l.nextDue < until {
		first := 0
		for i, t := range l.timers {
			if t.dueMs < l.timers[first].dueMs {
				first = i
			}
		}
		t := l.timers[first]
		l.disarm(t.id)
		l.places = 0
		l.sc.Begin(t.dueMs)
		l.updatePosition()
		l.strat.OnTimer(l.sc, t.id)
		l.afterCall(t.dueMs)
	}
}

// splitSymbol returns a symbol's base and quote assets.
func splitSymbol(sym string) (base, quote string) { return ledger.SplitSymbol(sym) }
