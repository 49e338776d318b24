package strategies

import (
	"bytes"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// act carries out the actions of the last strategy call.
func (a *child) act(ctx actor.Context) {
	for _, ac := range a.sc.Actions() {
		switch ac.Kind {
		case strategy.ActPlace:
			a.place(ctx, ac.Ref, ac.Order)
		case strategy.ActCancel:
			a.cancel(ctx, ac.Ref)
		case strategy.ActTimer:
			a.arm(ctx, ac.TimerID, ac.After)
		}
	}
}

// place sends one order to the order actor, with a client order id of
// this life; the answer comes back as placeAnswer. A paused strategy's
// order is given back to it as rejected.
func (a *child) place(ctx actor.Context, ref uint64, o strategy.Order) {
	if a.mem.paused || a.deps.Orders == nil {
		// A strategy that places again on each rejection would loop
		// through the mailbox: past maxLocalRejects without market data
		// in between, its orders are dropped until the next event.
		if a.localRejects++; a.localRejects > maxLocalRejects {
			if a.localRejects == maxLocalRejects+1 {
				a.log.Warn("strategy orders dropped while paused", "after", maxLocalRejects)
			}
			return
		}
		ctx.Send(ctx.Self(), &rejectLocal{ref: ref, order: o, reason: "strategy paused"})
		return
	}
	id := a.newID()
	a.ids[ref] = id
	a.open[id] = &openOrder{ref: ref, side: o.Side, price: o.Price, qty: o.Quantity, status: strategy.StatusPending}
	req := &messages.PlaceTradeOrderRequest{
		Strategy: a.name, Symbol: a.spec.Symbol, Side: o.Side.String(), Type: o.Type.String(),
		Quantity: decimal(o.Quantity), ClientOrderId: id,
	}
	if o.Type == strategy.Limit {
		req.Price, req.TimeInForce = decimal(o.Price), "GTC"
	}
	a.mem.orders.Add(1)
	a.log.Info("strategy order sent", "client_order_id", id, "side", req.Side, "type", req.Type, "quantity", req.Quantity, "price", req.Price)
	f := ctx.RequestFuture(a.deps.Orders, req, orderTimeout)
	ctx.ReenterAfter(f, func(res any, err error) { ctx.Send(ctx.Self(), &placeAnswer{id: id, res: res, err: err}) })
	a.updatePosition()
}

// onPlaceAnswer gives the strategy the order actor's answer: a refusal is
// a rejected order, never a crash; no answer in time is an unknown outcome
// (the order's bus events tell the rest).
func (a *child) onPlaceAnswer(ctx actor.Context, m *placeAnswer) {
	oo := a.open[m.id]
	if oo == nil {
		return // done already (its events came first)
	}
	res, _ := m.res.(*messages.PlaceTradeOrderResponse)
	switch {
	case m.err != nil || res == nil:
		a.log.Warn("strategy order outcome unknown", "client_order_id", m.id, "error", fmt.Sprint(m.err))
		a.deliverStatus(ctx, m.id, oo, strategy.StatusUnknown, "no answer from the order actor")
	case res.GetError() != nil:
		a.log.Warn("strategy order rejected", "client_order_id", m.id, "error", res.GetError().GetMessage())
		a.deliverStatus(ctx, m.id, oo, strategy.StatusRejected, res.GetError().GetMessage())
	case res.GetOrder() != nil:
		a.orderChanged(ctx, res.GetOrder())
	}
}

// deliverStatus hands the strategy a status the host decided.
func (a *child) deliverStatus(ctx actor.Context, id string, oo *openOrder, st strategy.Status, reason string) {
	oo.status = st
	u := strategy.OrderUpdate{Ref: oo.ref, ClientOrderID: id, Status: st, Side: oo.side, Price: oo.price, Quantity: oo.qty, Filled: oo.filled, Reason: reason}
	a.deliverUpdate(ctx, &u)
}

func (a *child) onRejectLocal(ctx actor.Context, m *rejectLocal) {
	if !a.ready || a.final {
		return
	}
	a.log.Info("strategy order not sent", "ref", m.ref, "reason", m.reason)
	u := strategy.OrderUpdate{Ref: m.ref, Status: strategy.StatusRejected, Side: m.order.Side, Type: m.order.Type,
		Price: m.order.Price, Quantity: m.order.Quantity, Reason: m.reason}
	a.deliverUpdate(ctx, &u)
}

// cancel asks the order actor to cancel ref (an order already done, or
// unknown, is ignored: its final update is on its way or was given).
func (a *child) cancel(ctx actor.Context, ref uint64) {
	id, ok := a.ids[ref]
	if !ok || a.deps.Orders == nil {
		a.log.Debug("strategy cancel ignored", "ref", ref)
		return
	}
	f := ctx.RequestFuture(a.deps.Orders, &messages.CancelTradeOrderRequest{ClientOrderId: id}, orderTimeout)
	ctx.ReenterAfter(f, func(res any, err error) { ctx.Send(ctx.Self(), &cancelAnswer{id: id, res: res, err: err}) })
}

func (a *child) onCancelAnswer(m *cancelAnswer) {
	res, _ := m.res.(*messages.CancelTradeOrderResponse)
	switch {
	case m.err != nil || res == nil:
		a.log.Warn("strategy cancel unanswered", "client_order_id", m.id, "error", fmt.Sprint(m.err))
	case res.GetError() != nil:
		a.log.Warn("strategy cancel refused", "client_order_id", m.id, "error", res.GetError().GetMessage())
	}
}

// arm sets (or replaces) timer id, with the actor system's scheduler.
func (a *child) arm(ctx actor.Context, id int, after time.Duration) {
	if cancel := a.timers[id]; cancel != nil {
		cancel()
	}
	a.timers[id] = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendOnce(after, ctx.Self(), &timerFired{id: id, epoch: a.epoch})
}

// armSave starts the periodic save of this life.
func (a *child) armSave(ctx actor.Context) {
	if a.every > 0 && a.deps.Orders != nil {
		a.saveTmr = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendRepeatedly(a.every, a.every, ctx.Self(), &saveTick{epoch: a.epoch})
	}
}

func (a *child) onSaveTick(ctx actor.Context, m *saveTick) {
	if m.epoch == a.epoch && !a.final && !bytes.Equal(a.mem.snapshot, a.mem.saved) {
		a.save(ctx, false, nil)
	}
}

// save writes the snapshot to the journal through the order actor and,
// when replyTo is set, answers it saveDone once durable.
func (a *child) save(ctx actor.Context, final bool, replyTo *actor.PID) {
	if final {
		a.final = true
		a.release()
	}
	state := a.mem.snapshot
	if state == nil || a.deps.Orders == nil {
		if replyTo != nil {
			ctx.Send(replyTo, &saveDone{savedMs: a.mem.savedMs.Load()})
		}
		return
	}
	f := ctx.RequestFuture(a.deps.Orders, &messages.SaveStrategyStateRequest{Strategy: a.name, State: state}, stateTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		r, _ := res.(*messages.SaveStrategyStateResponse)
		switch {
		case err != nil:
		case r == nil:
			err = fmt.Errorf("strategy %q: unexpected answer %T to a save", a.name, res)
		case r.GetError() != nil:
			err = fmt.Errorf("strategy %q: save: %w", a.name, r.GetError())
		default:
			a.mem.saved = state
			a.mem.savedMs.Store(r.GetSavedMs())
		}
		if err != nil {
			a.log.Error("strategy state not saved", "error", err)
		}
		if replyTo != nil {
			ctx.Send(replyTo, &saveDone{savedMs: a.mem.savedMs.Load(), err: err})
		}
	})
}
