package orders

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// queryTimeout bounds one query of an order's state.
const queryTimeout = 30 * time.Second

// lostEvery: LOST orders are queried on every lostEvery-th in-flight tick.
const lostEvery = 5

// onExecutionReport applies one order change from the user data stream: the
// order moves forward, and a TRADE records its fill once (by trade id).
func (a *orderActor) onExecutionReport(ctx actor.Context, r *messages.ExecutionReport) {
	id := r.GetClientOrderId()
	if r.GetExecutionType() == "CANCELED" && r.GetOrigClientOrderId() != "" {
		id = r.GetOrigClientOrderId()
	}
	t := a.orders[id]
	if t == nil {
		if a.closed.has(id) {
			return // a late report of an order closed and settled
		}
		if r.GetExecutionType() == "TRADE" || r.GetExecutionType() == "NEW" {
			a.log.Warn("execution report of an order not open in the journal, reconciling", "client_order_id", id, "symbol", r.GetSymbol())
			a.runReconcile(ctx, false)
		}
		return
	}
	o := t.o
	mergeExchange(o, &messages.Order{OrderId: r.GetOrderId(), Status: r.GetStatus(), ExecutedQty: r.GetCumulativeFilledQty(),
		CumulativeQuoteQty: r.GetCumulativeQuoteQty()}, a.nowMs())
	var fills []*messages.TradeFill
	if r.GetExecutionType() == "TRADE" && r.GetTradeId() > 0 && !t.tradeIDs[r.GetTradeId()] {
		qty, price := dec(r.GetLastFilledQty()), dec(r.GetLastFilledPrice())
		f := &messages.TradeFill{ClientOrderId: o.GetClientOrderId(), Strategy: o.GetStrategy(), Symbol: o.GetSymbol(),
			Side: o.GetSide(), Price: r.GetLastFilledPrice(), Quantity: r.GetLastFilledQty(), QuoteQty: fmtDec(qty * price),
			Fee: r.GetCommission(), FeeAsset: r.GetCommissionAsset(), TradeId: r.GetTradeId(), TimeMs: r.GetTransactionTimeMs(), Maker: r.GetMaker()}
		fills = append(fills, f)
		a.recordFill(t, f)
	}
	a.commit(ctx, t, fills)
	a.cancelIfWanted(ctx, t)
}

// recordFill books a fill in memory (the journal write follows).
func (a *orderActor) recordFill(t *tracked, f *messages.TradeFill) {
	t.filled += dec(f.GetQuantity())
	if f.GetTradeId() > 0 {
		if t.tradeIDs == nil {
			t.tradeIDs = map[int64]bool{}
		}
		t.tradeIDs[f.GetTradeId()] = true
		if f.GetTradeId() > a.lastTrade[f.GetSymbol()] {
			a.lastTrade[f.GetSymbol()] = f.GetTradeId()
		}
	}
	a.books.applyFill(f)
	if a.paperBal != nil {
		applyBalance(a.paperBal, f)
	}
	a.checkDailyLoss(f.GetStrategy(), f.GetSymbol())
}

// onTick runs a periodic check and schedules the next one.
func (a *orderActor) onTick(ctx actor.Context, m *tick) {
	if m.owner != a {
		return // an earlier incarnation's timer: this one runs its own
	}
	switch m.kind {
	case tickInFlight:
		a.ticks++
		if a.cfg.Mode == ModeLive && a.deps.Connector != nil {
			a.checkInFlight(ctx)
		}
	case tickOpenOrders:
		a.checkOpenOrders(ctx)
		a.refreshBalances(ctx)
	case tickReconcile:
		delete(a.timers, tickReconcile)
		a.runReconcile(ctx, a.gating)
		return
	}
	if a.timers != nil {
		a.every(m.every, m.kind)
	}
}

// checkInFlight queries, by client order id, every order whose outcome is
// unknown (and, less often, every LOST one).
func (a *orderActor) checkInFlight(ctx actor.Context) {
	for _, t := range a.orders {
		switch s := t.o.GetStatus(); {
		case t.busy || t.querying:
		case s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT:
			a.query(ctx, t)
		case s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST && a.ticks%lostEvery == 0:
			a.query(ctx, t)
		}
	}
}

// query asks the exchange for one order by client order id and applies the
// answer: found -> its status; "does not exist" -> not_found++, and LOST
// after [trading] lost_after of them.
func (a *orderActor) query(ctx actor.Context, t *tracked) {
	t.querying = true
	o := t.o
	f := ctx.RequestFuture(a.deps.Connector, &messages.GetOrderRequest{Symbol: o.GetSymbol(), ClientOrderId: o.GetClientOrderId()}, queryTimeout)
	a.reenter(ctx, f, func(res any, err error) {
		t.querying = false
		r, _ := res.(*messages.OrderResult)
		switch {
		case err != nil || r == nil:
			a.log.Warn("order query failed", "client_order_id", o.GetClientOrderId(), "err", err)
		case r.GetOrder() != nil:
			before := o.GetStatus()
			mergeExchange(o, r.GetOrder(), a.nowMs())
			a.log.Info("order resolved by query", "client_order_id", o.GetClientOrderId(), "from", statusName(before), "to", statusName(o.GetStatus()))
			a.commit(ctx, t, nil)
			a.cancelIfWanted(ctx, t)
		case r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND:
			a.notFound(ctx, t)
		default:
			a.log.Warn("order query failed", "client_order_id", o.GetClientOrderId(), "err", r.GetError().GetMessage())
		}
	})
}

// notFound counts an "order does not exist" answer.
func (a *orderActor) notFound(ctx actor.Context, t *tracked) {
	o := t.o
	o.NotFound++
	o.UpdatedMs = a.nowMs()
	if o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST && int(o.GetNotFound()) >= a.cfg.LostAfter {
		o.Status = messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST
		o.Reason = fmt.Sprintf("the exchange did not know the order %d times", o.GetNotFound())
		a.log.Warn("order lost", "client_order_id", o.GetClientOrderId(), "not_found", o.GetNotFound())
	}
	a.commit(ctx, t, nil)
}

// checkOpenOrders compares the exchange's open orders with the journal's:
// a journal order the exchange no longer lists is queried; an exchange
// order the journal does not hold starts a reconciliation.
func (a *orderActor) checkOpenOrders(ctx actor.Context) {
	if a.gate.state == gateReconciling || a.reconciler != nil {
		return
	}
	f := ctx.RequestFuture(a.deps.Connector, &messages.OpenOrdersRequest{}, queryTimeout)
	a.reenter(ctx, f, func(res any, err error) {
		r, _ := res.(*messages.OpenOrdersResponse)
		if err != nil || r == nil || r.GetError() != nil {
			a.log.Warn("open orders check failed", "err", err, "answer_err", r.GetError().GetMessage())
			return
		}
		listed := map[string]bool{}
		unknown := 0
		for _, x := range r.GetOrders() {
			listed[x.GetClientOrderId()] = true
			if a.orders[x.GetClientOrderId()] == nil {
				unknown++
			}
		}
		for id, t := range a.orders {
			s := t.o.GetStatus()
			if !listed[id] && !t.busy && !t.querying && (s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW || s == messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED) {
				a.query(ctx, t)
			}
		}
		if unknown > 0 {
			a.log.Warn("exchange lists open orders the journal does not hold, reconciling", "count", unknown)
			a.runReconcile(ctx, false)
		}
	})
}

// refreshBalances asks the exchange for the account's balances
// (trading.balance in live mode).
func (a *orderActor) refreshBalances(ctx actor.Context) {
	f := ctx.RequestFuture(a.deps.Connector, &messages.AccountRequest{}, queryTimeout)
	a.reenter(ctx, f, func(res any, err error) {
		r, _ := res.(*messages.AccountResponse)
		if err != nil || r == nil || r.GetError() != nil {
			a.log.Warn("balances refresh failed", "err", err, "answer_err", r.GetError().GetMessage())
			return
		}
		a.balances, a.balancesMs = r.GetBalances(), a.nowMs()
	})
}
