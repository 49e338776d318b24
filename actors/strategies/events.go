package strategies

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// onEvent converts a bus event and hands it to the strategy.
func (a *child) onEvent(ctx actor.Context, ev *messages.Event) {
	if a.mem.acker != nil {
		a.mem.acker.Handled(ctx)
	}
	defer a.mem.events.Add(1) // handled, whatever came of it
	if !a.ready || a.final || ev.GetPayload() == nil {
		return
	}
	topic := ev.GetTopic()
	if !strings.HasPrefix(topic, "order.") && !strings.HasPrefix(topic, "fill.") {
		a.localRejects = 0
	}
	var err error
	switch {
	case strings.HasPrefix(topic, "kline."):
		err = a.onKline(ctx, ev)
	case strings.HasPrefix(topic, "price."):
		err = a.onPrice(ctx, ev)
	case strings.HasPrefix(topic, "book."):
		err = a.onBook(ctx, ev)
	case strings.HasPrefix(topic, "order."):
		err = a.onOrderEvent(ctx, ev)
	case strings.HasPrefix(topic, "fill."):
		err = a.onFillEvent(ctx, ev)
	}
	if err != nil {
		a.log.Warn("strategy event dropped", "topic", topic, "error", err)
	}
}

func (a *child) onKline(ctx actor.Context, ev *messages.Event) error {
	var k messages.KlineUpdate
	if err := ev.GetPayload().UnmarshalTo(&k); err != nil {
		return err
	}
	if !k.GetClosed() || k.GetKline() == nil {
		return nil
	}
	b, err := toBar(k.GetKline())
	if err != nil {
		return err
	}
	a.last = b.Close
	a.sc.Begin(b.CloseTimeMs)
	a.updatePosition()
	a.strat.OnBar(a.sc, &b)
	a.act(ctx)
	// Counted once handled: a reader that sees the bar counted also sees
	// the orders it led to counted (the parity test waits on both).
	a.mem.bars.Add(1)
	a.snapshot()
	return nil
}

func (a *child) onPrice(ctx actor.Context, ev *messages.Event) error {
	var p messages.PriceUpdate
	if err := ev.GetPayload().UnmarshalTo(&p); err != nil {
		return err
	}
	t, err := toTick(&p)
	if err != nil {
		return err
	}
	a.last = t.Price
	a.sc.Begin(t.TimeMs)
	a.strat.OnTick(a.sc, &t)
	a.afterFrequent(ctx)
	return nil
}

func (a *child) onBook(ctx actor.Context, ev *messages.Event) error {
	var u messages.BookUpdate
	if err := ev.GetPayload().UnmarshalTo(&u); err != nil {
		return err
	}
	var err error
	if a.book.Bids, err = toLevels(a.book.Bids, u.GetBids()); err != nil {
		return err
	}
	if a.book.Asks, err = toLevels(a.book.Asks, u.GetAsks()); err != nil {
		return err
	}
	a.book.TimeMs = time.Now().UnixMilli()
	a.sc.Begin(a.book.TimeMs)
	a.strat.OnBook(a.sc, &a.book)
	a.afterFrequent(ctx)
	return nil
}

// afterFrequent ends a tick or book event: a snapshot when it acted, or
// at most every tickSnapshotEvery otherwise.
func (a *child) afterFrequent(ctx actor.Context) {
	acted := len(a.sc.Actions()) > 0
	a.act(ctx)
	if acted || time.Since(a.snapAt) >= tickSnapshotEvery {
		a.snapshot()
	}
}

func (a *child) onOrderEvent(ctx actor.Context, ev *messages.Event) error {
	var oe messages.OrderEvent
	if err := ev.GetPayload().UnmarshalTo(&oe); err != nil {
		return err
	}
	if oe.GetOrder() == nil {
		return nil
	}
	a.orderChanged(ctx, oe.GetOrder())
	return nil
}

// orderChanged hands the strategy an order's new state, once per status.
func (a *child) orderChanged(ctx actor.Context, o *messages.TradeOrder) {
	id := o.GetClientOrderId()
	if _, ended := a.done[id]; ended {
		return
	}
	oo := a.open[id]
	var ref uint64
	if oo != nil {
		ref = oo.ref
	}
	u := toUpdate(ref, o)
	if oo != nil {
		if oo.status == u.Status && oo.filled == u.Filled {
			return
		}
		oo.status, oo.filled = u.Status, u.Filled
		if u.Quantity > 0 {
			oo.side, oo.price, oo.qty = u.Side, u.Price, u.Quantity
		}
	}
	a.deliverUpdate(ctx, &u)
}

func (a *child) deliverUpdate(ctx actor.Context, u *strategy.OrderUpdate) {
	if u.Status.Done() && u.ClientOrderID != "" { // "": refused before it had an id
		a.markDone(u.ClientOrderID, u.Ref)
		if oo := a.open[u.ClientOrderID]; oo != nil {
			delete(a.ids, oo.ref)
			delete(a.open, u.ClientOrderID)
		}
	}
	a.sc.Begin(time.Now().UnixMilli())
	a.updatePosition()
	a.strat.OnOrder(a.sc, u)
	a.act(ctx)
	a.snapshot()
}

func (a *child) onFillEvent(ctx actor.Context, ev *messages.Event) error {
	var fe messages.FillEvent
	if err := ev.GetPayload().UnmarshalTo(&fe); err != nil {
		return err
	}
	if fe.GetFill() == nil {
		return nil
	}
	if p := fe.GetPosition(); p != nil && p.GetSymbol() == a.spec.Symbol {
		a.setPosition(p)
	}
	f := toFill(a.refOf(fe.GetFill().GetClientOrderId()), fe.GetFill())
	a.sc.Begin(f.TimeMs)
	a.updatePosition()
	a.strat.OnFill(a.sc, &f)
	a.act(ctx)
	a.snapshot()
	return nil
}

func (a *child) setPosition(p *messages.Position) {
	bk := &a.sc.Position
	bk.Quantity, _ = num(p.GetQuantity())
	bk.AvgPrice, _ = num(p.GetAvgPrice())
	bk.RealizedPnL, _ = num(p.GetRealizedPnl())
	bk.Fees, _ = num(p.GetFees())
}

func (a *child) onPositions(m *positionsAnswer) {
	r, ok := m.res.(*messages.PositionsResponse)
	if !ok || r.GetError() != nil {
		a.log.Warn("strategy position unknown", "answer", fmt.Sprintf("%T", m.res))
		return
	}
	for _, p := range r.GetPositions() {
		if p.GetStrategy() == a.name && p.GetSymbol() == a.spec.Symbol {
			a.setPosition(p)
			a.updatePosition()
		}
	}
}

// updatePosition recomputes what the strategy may still use: its allocation
// less its position at cost and its open buy orders.
func (a *child) updatePosition() {
	bk := &a.sc.Position
	used := math.Abs(bk.Quantity) * bk.AvgPrice
	for _, o := range a.open {
		if o.side == strategy.Buy {
			price := o.price
			if price == 0 {
				price = a.last
			}
			used += (o.qty - o.filled) * price
		}
	}
	bk.Available = math.Max(0, bk.Allocation-used)
	bk.OpenOrders = len(a.open)
}

// recentDone is how many ended orders a child remembers.
const recentDone = 256

// markDone remembers that order id (ref) ended.
func (a *child) markDone(id string, ref uint64) {
	if a.done == nil {
		a.done, a.doneRing = map[string]uint64{}, make([]string, recentDone)
	}
	delete(a.done, a.doneRing[a.doneNext])
	a.doneRing[a.doneNext] = id
	a.doneNext = (a.doneNext + 1) % recentDone
	a.done[id] = ref
}

// refOf is the ref of an open or recently ended order (0: unknown).
func (a *child) refOf(id string) uint64 {
	if oo := a.open[id]; oo != nil {
		return oo.ref
	}
	return a.done[id]
}
