package orders

import (
	"math"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/messages"
)

// stopTimeout bounds PrepareStop's wait for cancels and the checkpoint.
const stopTimeout = 20 * time.Second

// onCancel is trading.order.cancel: answered once the exchange's (or the
// matcher's) answer is journaled.
func (a *orderActor) onCancel(ctx actor.Context, m *messages.CancelTradeOrderRequest) {
	id := m.GetClientOrderId()
	t := a.orders[id]
	switch {
	case !orderIDRE.MatchString(id):
		ctx.Respond(&messages.CancelTradeOrderResponse{Error: invalid([]string{"client_order_id: must match " + orderIDRE.String()})})
	case !a.loaded:
		ctx.Respond(&messages.CancelTradeOrderResponse{Error: unavailable()})
	case t == nil:
		a.read(ctx, &messages.CancelTradeOrderResponse{Error: unavailable()}, func(j *journal.Journal) any {
			o, err := j.Order(id)
			switch {
			case err != nil:
				return &messages.CancelTradeOrderResponse{Error: internal("journal read failed")}
			case o == nil:
				return &messages.CancelTradeOrderResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no order %s in the journal", id)}
			}
			return &messages.CancelTradeOrderResponse{Order: o, Error: precondition("order %s is %s, not open", id, statusName(o.GetStatus()))}
		})
	case t.busy:
		ctx.Respond(&messages.CancelTradeOrderResponse{Order: clone(t.o), Error: precondition("order %s is being placed; cancel it once placed", id)})
	default:
		sender := ctx.Sender()
		a.cancel(ctx, t, func(ctx actor.Context, e *messages.Error) {
			ctx.Send(sender, &messages.CancelTradeOrderResponse{Order: clone(t.o), Error: e})
		})
	}
}

// cancel cancels one open order and journals the result; done (may be
// nil) runs when the answer is committed.
func (a *orderActor) cancel(ctx actor.Context, t *tracked, done func(actor.Context, *messages.Error)) {
	o := t.o
	finish := func(ctx actor.Context, e *messages.Error) {
		if done != nil {
			done(ctx, e)
		}
	}
	if !a.mayAct(ctx, actCancel, o.GetClientOrderId()) {
		finish(ctx, fenceError())
		return
	}
	if a.cfg.Mode == ModePaper {
		u, ok := a.match.Cancel(o.GetClientOrderId(), a.nowMs())
		if !ok {
			finish(ctx, precondition("order %s is not resting in the paper matcher", o.GetClientOrderId()))
			return
		}
		a.applyPaperUpdate(t, u)
		a.commitThen(ctx, t, finish)
		return
	}
	f := ctx.RequestFuture(a.deps.Connector, &messages.CancelOrderRequest{Symbol: o.GetSymbol(), ClientOrderId: o.GetClientOrderId()}, queryTimeout)
	a.reenter(ctx, f, func(res any, err error) {
		r, _ := res.(*messages.OrderResult)
		switch {
		case err != nil || r == nil:
			finish(ctx, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "no answer to the cancel; the order's state is checked again"))
		case r.GetOrder() != nil:
			mergeExchange(o, r.GetOrder(), a.nowMs())
			a.commitThen(ctx, t, finish)
		case unresolved(o.GetStatus()) && (r.GetExchangeCode() == -2011 || r.GetExchangeCode() == -2013 ||
			r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND):
			t.cancelWanted = true
			finish(ctx, precondition("order %s: its placement's outcome is unknown and the exchange does not know it yet; "+
				"the cancel is sent if it shows up", o.GetClientOrderId()))
		default:
			finish(ctx, r.GetError())
		}
	})
}

// unresolved reports the statuses of a placement whose outcome is unknown.
func unresolved(s messages.TradeOrderStatus) bool {
	return s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT || s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN ||
		s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST
}

// cancelIfWanted sends the cancel a caller asked for while the order's
// placement was unresolved, now that the order shows up open.
func (a *orderActor) cancelIfWanted(ctx actor.Context, t *tracked) {
	s := t.o.GetStatus()
	if !t.cancelWanted || t.busy || unresolved(s) || !isOpen(s) {
		return
	}
	t.cancelWanted = false
	a.log.Info("order found, sending the cancel asked for earlier", "client_order_id", t.o.GetClientOrderId())
	a.cancel(ctx, t, nil)
}

// applyPaperUpdate sets a matcher update on t's order.
func (a *orderActor) applyPaperUpdate(t *tracked, u matcher.Update) {
	o := t.o
	if s := exchangeStatus(u.Status); s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED {
		o.Status = s
	}
	o.ExecutedQty, o.CumulativeQuoteQty, o.UpdatedMs = fmtDec(u.Executed), fmtDec(u.Quote), a.nowMs()
	if u.Reason != "" {
		o.Reason = u.Reason
	}
}

// commitThen commits t and then calls done with nil (or the journal's
// failure).
func (a *orderActor) commitThen(ctx actor.Context, t *tracked, done func(actor.Context, *messages.Error)) {
	snap := clone(t.o)
	t.writes++
	a.write([]journal.Op{journal.PutOrder{Order: snap}}, func(ctx actor.Context, err error) {
		t.writes--
		a.committed(ctx, t, snap, nil, err)
		if err != nil {
			done(ctx, internal("the journal failed to record the cancel"))
			return
		}
		done(ctx, nil)
	})
}

// onCancelAll is trading.order.cancel_all: cancels are sent for every open
// order of the strategy and/or symbol; it answers with those orders.
func (a *orderActor) onCancelAll(ctx actor.Context, m *messages.CancelAllTradeOrdersRequest) *messages.CancelAllTradeOrdersResponse {
	if !a.loaded {
		return &messages.CancelAllTradeOrdersResponse{Error: unavailable()}
	}
	if !a.mayAct(ctx, actCancel, "") {
		return &messages.CancelAllTradeOrdersResponse{Error: fenceError()}
	}
	return &messages.CancelAllTradeOrdersResponse{Orders: a.cancelMatching(ctx, m.GetStrategy(), strings.ToUpper(m.GetSymbol()), nil)}
}

// cancelMatching sends a cancel for each open order of strategy/symbol
// ("" : any) and returns them; done (may be nil) runs per answer.
func (a *orderActor) cancelMatching(ctx actor.Context, strategy, symbol string, done func(actor.Context, *messages.Error)) []*messages.TradeOrder {
	var out []*messages.TradeOrder
	for _, id := range sortedKeys(a.orders) {
		t := a.orders[id]
		o := t.o
		if t.busy || !isOpen(o.GetStatus()) || strategy != "" && o.GetStrategy() != strategy || symbol != "" && o.GetSymbol() != symbol {
			continue
		}
		out = append(out, clone(o))
		a.cancel(ctx, t, done)
	}
	return out
}

// flatten places market orders that close every strategy's position
// (admitted past the gate and the risk checks: they only reduce).
func (a *orderActor) flatten(ctx actor.Context) []*messages.TradeOrder {
	var out []*messages.TradeOrder
	if !a.mayAct(ctx, actClose, "") {
		return nil
	}
	for _, name := range sortedKeys(a.books.pos) {
		for _, sym := range sortedKeys(a.books.pos[name]) {
			p := a.books.pos[name][sym]
			if math.Abs(p.qty) < 1e-12 {
				continue
			}
			side := "SELL"
			if p.qty < 0 {
				side = "BUY"
			}
			req := &messages.PlaceTradeOrderRequest{Strategy: name, Symbol: sym, Side: side, Type: "MARKET", Quantity: fmtDec(math.Abs(p.qty))}
			a.journalIntent(ctx, req, nil)
			out = append(out, &messages.TradeOrder{Strategy: name, Symbol: sym, Side: side, Type: "MARKET", Quantity: req.Quantity})
		}
	}
	return out
}

// onPrepareStop cancels open orders and closes positions as configured,
// waits (at most stopTimeout) for the cancels' answers, then checkpoints
// the journal; each step is logged.
func (a *orderActor) onPrepareStop(ctx actor.Context) {
	sender := ctx.Sender()
	res := &PrepareStopResult{}
	if !a.loaded || a.stopWaiter != nil {
		ctx.Respond(res)
		return
	}
	waiting := 0
	a.stopWaiter = func(ctx actor.Context, m *stopped) {
		switch m.step {
		case "cancel":
			if waiting--; waiting > 0 {
				return
			}
		case "timeout":
			a.log.Warn("stop: cancels unanswered at the deadline", "waiting", waiting)
		case "checkpoint":
			res.Err = m.err
			a.log.Info("stop: journal checkpointed", "err", m.err)
			a.stopWaiter = nil
			if sender != nil {
				ctx.Send(sender, res)
			}
			return
		}
		waiting = -1 << 30
		a.checkpoint()
	}
	placing := a.placing() // before flatten adds its own
	if a.cfg.ClosePositionsOnStop {
		res.Closing = len(a.flatten(ctx))
		a.log.Info("stop: closing positions", "orders", res.Closing)
	}
	if a.cfg.CancelOrdersOnStop {
		self := a.self
		done := func(ctx actor.Context, _ *messages.Error) { ctx.Send(self, &stopped{step: "cancel"}) }
		res.Canceled = len(a.cancelMatching(ctx, "", "", done))
		// Placements under way are canceled once their answer is in.
		a.cancelPlaced, a.cancelPlacedDone = placing, done
		res.Canceled += len(placing)
		waiting = res.Canceled
		a.log.Info("stop: canceling open orders", "orders", res.Canceled, "placing", len(placing))
	} else {
		a.log.Info("stop: leaving open orders", "orders", a.state().GetOpenOrders())
	}
	if waiting == 0 {
		waiting = -1 << 30
		a.checkpoint()
		return
	}
	root, self := a.root, a.self
	a.stopTimer = time.AfterFunc(stopTimeout, func() { root.Send(self, &stopped{step: "timeout"}) })
}

// placing lists the client ids of the placements under way.
func (a *orderActor) placing() map[string]bool {
	out := map[string]bool{}
	for id, t := range a.orders {
		if t.busy {
			out[id] = true
		}
	}
	return out
}

// afterPlaced cancels an order PrepareStop found being placed, now that
// its placement is answered (or refused: nothing to cancel).
func (a *orderActor) afterPlaced(ctx actor.Context, t *tracked) {
	id := t.o.GetClientOrderId()
	if !a.cancelPlaced[id] {
		return
	}
	delete(a.cancelPlaced, id)
	if isOpen(t.o.GetStatus()) && a.orders[id] == t {
		a.cancel(ctx, t, a.cancelPlacedDone)
		return
	}
	a.cancelPlacedDone(ctx, nil)
}

// checkpoint runs the journal's checkpoint off the mailbox.
func (a *orderActor) checkpoint() {
	if a.stopTimer != nil {
		a.stopTimer.Stop()
	}
	j, root, self := a.j, a.root, a.self
	a.reads.Add(1)
	go func() {
		defer a.reads.Done()
		root.Send(self, &stopped{step: "checkpoint", err: j.Checkpoint()})
	}()
}

func (a *orderActor) onStoppedStep(ctx actor.Context, m *stopped) {
	if a.stopWaiter != nil {
		a.stopWaiter(ctx, m)
	}
}
