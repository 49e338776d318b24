package orders

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// ManualStrategy owns the orders of callers that name no strategy.
const ManualStrategy = "manual"

// placeTimeout bounds the wait for the connector's answer to a placement;
// past it the outcome is unknown.
const placeTimeout = 30 * time.Second

var (
	// orderIDRE is any client order id the actor may hold: a caller's, one
	// it made (with a term: a dot), one reconciliation adopted. A caller's
	// may hold a dot only as the strategy host's ids of this term do
	// (termProblem).
	orderIDRE = regexp.MustCompile(`^[.a-zA-Z0-9_-]{1,36}$`)
	symbolRE  = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)
	decimalRE = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)
	// ownTailRE is the end of the actor's own ids (clientID): -SEQUENCE.
	ownTailRE = regexp.MustCompile(`-[0-9]+$`)
)

// ownForm reports an id the actor could generate (clientid.Make): PREFIX-, then
// anything, then -DIGITS. Callers may use the prefix for ids of their own
// (the strategy host does, so that reconciliation halts on a lost strategy
// order instead of adopting it as external) as long as the id does not end
// with -DIGITS: such an id can never equal a generated one, whatever the
// strategy names, so a caller's id and a generated one never collide.
func (a *orderActor) ownForm(id string) bool {
	return strings.HasPrefix(id, a.cfg.ClientIDPrefix+"-") && ownTailRE.MatchString(id)
}

// termProblem refuses a caller's client id with a dot (a term) unless it
// is the strategy host's form (clientid.Life) with this leader's term: a
// caller never makes an id of another term, nor one of the actor's own.
func (a *orderActor) termProblem(id string) string {
	if !strings.Contains(id, ".") {
		return ""
	}
	if got, ok := clientid.Parse(a.cfg.ClientIDPrefix, id); ok && got.Life > 0 && a.deps.Term > 0 && got.Term == a.deps.Term {
		return ""
	}
	return fmt.Sprintf("client_order_id: a dot only as in the strategy host's ids of this leader's term (%s-NAME.TERM-LIFE_SEQ)", a.cfg.ClientIDPrefix)
}

// onPlace is trading.order.place: validate, idempotency, then admit.
func (a *orderActor) onPlace(ctx actor.Context, m *messages.PlaceTradeOrderRequest) {
	req := normalize(m)
	problems := validatePlace(req)
	if p := a.termProblem(req.GetClientOrderId()); p != "" {
		problems = append(problems, p)
	}
	if len(problems) > 0 {
		ctx.Respond(&messages.PlaceTradeOrderResponse{Error: invalid(problems)})
		return
	}
	if !a.loaded {
		ctx.Respond(&messages.PlaceTradeOrderResponse{Error: precondition("trading is reconciling")})
		return
	}
	a.route(ctx, req, ctx.Sender())
}

// route admits a placement that names no client id; one that does is
// answered with the order of that id in memory or, after a journal lookup,
// in the journal, and admitted only when neither holds it.
func (a *orderActor) route(ctx actor.Context, req *messages.PlaceTradeOrderRequest, sender *actor.PID) {
	id := req.GetClientOrderId()
	if id == "" {
		a.admit(ctx, req, sender)
		return
	}
	if t := a.orders[id]; t != nil {
		a.answerRecorded(ctx, t, sender)
		return
	}
	if waiting, ok := a.lookups[id]; ok {
		a.lookups[id] = append(waiting, pendingPlace{req, sender})
		return
	}
	a.lookups[id] = []pendingPlace{{req, sender}}
	j, root, self := a.j, a.root, a.self
	a.reads.Add(1)
	go func() {
		defer a.reads.Done()
		o, err := j.Order(id)
		root.Send(self, &lookupDone{id: id, order: o, err: err})
	}()
}

// onLookupDone continues the placements that waited for a client id's
// journal lookup: a recorded order is answered, never placed again.
func (a *orderActor) onLookupDone(ctx actor.Context, m *lookupDone) {
	waiting := a.lookups[m.id]
	delete(a.lookups, m.id)
	for _, p := range waiting {
		switch t := a.orders[m.id]; {
		case m.err != nil:
			ctx.Send(p.sender, &messages.PlaceTradeOrderResponse{Error: internal("journal read failed")})
		case t != nil:
			a.answerRecorded(ctx, t, p.sender)
		case m.order != nil:
			ctx.Send(p.sender, &messages.PlaceTradeOrderResponse{Order: m.order})
		case a.ownForm(m.id):
			ctx.Send(p.sender, &messages.PlaceTradeOrderResponse{Error: invalid([]string{fmt.Sprintf(
				"client_order_id: ids of the form %s-NAME-DIGITS are the actor's own; omit it to get one, or end it with something other than -DIGITS",
				a.cfg.ClientIDPrefix)})})
		default:
			a.admit(ctx, p.req, p.sender)
		}
	}
}

// answerRecorded answers a retry with the recorded order, or queues the
// caller until the placement under way is journaled.
func (a *orderActor) answerRecorded(ctx actor.Context, t *tracked, sender *actor.PID) {
	if t.busy {
		t.waiters = append(t.waiters, sender)
		return
	}
	ctx.Send(sender, &messages.PlaceTradeOrderResponse{Order: clone(t.o)})
}

// admit passes the gate, the risk checks and the cluster fence, then
// journals the intent. A symbol with no price known yet is priced first
// (warm). A place the fence refuses here is answered UNAVAILABLE and not
// journaled; send asks the fence again once the intent is committed.
func (a *orderActor) admit(ctx actor.Context, req *messages.PlaceTradeOrderRequest, sender *actor.PID) {
	if e := a.gateCheck(req.GetStrategy()); e != nil {
		ctx.Send(sender, &messages.PlaceTradeOrderResponse{Error: e})
		return
	}
	a.ensureMarket(ctx, req.GetSymbol()) // the last price the risk checks need
	if a.books.last[req.GetSymbol()] == 0 && a.deps.Connector != nil && !a.warmed[req.GetSymbol()] {
		a.warm(ctx, req.GetSymbol(), func(ctx actor.Context) {
			if req.GetClientOrderId() == "" {
				a.admit(ctx, req, sender)
				return
			}
			// A placement of the same client id may have been admitted
			// meanwhile (the symbol counted as warmed), even settled and
			// forgotten: check its id again, memory then journal.
			a.route(ctx, req, sender)
		})
		return
	}
	if e := a.riskCheck(ctx, req); e != nil {
		ctx.Send(sender, &messages.PlaceTradeOrderResponse{Error: e})
		return
	}
	if e := a.paperFunds(req); e != nil {
		ctx.Send(sender, &messages.PlaceTradeOrderResponse{Error: e})
		return
	}
	if !a.mayAct(ctx, actPlace, req.GetClientOrderId()) { // refused before the intent: nothing journaled
		ctx.Send(sender, &messages.PlaceTradeOrderResponse{Error: fenceError()})
		return
	}
	a.journalIntent(ctx, req, sender)
}

// journalIntent records the intent (and the id sequence) durably; the
// order goes out when the commit is done. It never waits for the commit:
// the next request is admitted meanwhile (group commit).
func (a *orderActor) journalIntent(ctx actor.Context, req *messages.PlaceTradeOrderRequest, sender *actor.PID) {
	now := a.nowMs()
	ops := make([]journal.Op, 0, 2)
	id := req.GetClientOrderId()
	if id == "" {
		a.seqs[req.GetStrategy()]++
		id = clientid.Make(a.cfg.ClientIDPrefix, req.GetStrategy(), a.deps.Term, a.seqs[req.GetStrategy()])
		ops = append(ops, jsonMeta(metaSeqs, a.seqs))
	}
	o := &messages.TradeOrder{ClientOrderId: id, Strategy: req.GetStrategy(), Symbol: req.GetSymbol(), Side: req.GetSide(),
		Type: req.GetType(), Quantity: req.GetQuantity(), Price: req.GetPrice(), TimeInForce: req.GetTimeInForce(),
		Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT, CreatedMs: now, UpdatedMs: now, Mode: a.cfg.Mode, Term: a.deps.Term}
	t := &tracked{o: o, busy: true, tradeIDs: map[int64]bool{}}
	if sender != nil {
		t.waiters = append(t.waiters, sender)
	}
	a.orders[id] = t
	a.noteOrder(now, req.GetStrategy())
	ops = append(ops, journal.PutOrder{Order: clone(o)})
	t.writes++
	a.write(ops, func(ctx actor.Context, err error) {
		t.writes--
		if err != nil {
			a.intentFailed(ctx, t, err)
			return
		}
		a.send(ctx, t)
	})
}

// intentFailed answers the callers of an intent the journal refused: it
// was never sent, and nothing of it is recorded.
func (a *orderActor) intentFailed(ctx actor.Context, t *tracked, err error) {
	delete(a.orders, t.o.GetClientOrderId())
	t.o.Status, t.o.Reason = messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, "journal write failed"
	for _, w := range t.waiters {
		ctx.Send(w, &messages.PlaceTradeOrderResponse{Order: clone(t.o), Error: internal("the journal refused the order intent: %v", err)})
	}
	t.waiters = nil
	a.afterPlaced(ctx, t)
}

// send hands a journaled intent to the exchange (live) or the paper
// matcher. The order is sent once: nothing here ever sends it again.
func (a *orderActor) send(ctx actor.Context, t *tracked) {
	if !a.mayAct(ctx, actPlace, t.o.GetClientOrderId()) { // the lease ran out during the intent's commit
		a.fenced(ctx, t)
		return
	}
	t.o.Status = messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT
	if a.cfg.Mode == ModePaper {
		a.sendPaper(ctx, t)
		return
	}
	o := t.o
	f := ctx.RequestFuture(a.deps.Connector, &messages.PlaceOrderRequest{Symbol: o.GetSymbol(), Side: o.GetSide(), Type: o.GetType(),
		Quantity: o.GetQuantity(), Price: o.GetPrice(), TimeInForce: o.GetTimeInForce(), ClientOrderId: o.GetClientOrderId()}, placeTimeout)
	a.reenter(ctx, f, func(res any, err error) { a.onPlaced(ctx, t, res, err) })
}

// onPlaced applies the connector's answer: ACCEPTED (or found after an
// unknown outcome) adopts the exchange's view, REJECTED only on a
// definitive answer, anything else is UNKNOWN and resolved by queries.
func (a *orderActor) onPlaced(ctx actor.Context, t *tracked, res any, err error) {
	r, _ := res.(*messages.OrderResult)
	o := t.o
	switch {
	case err != nil || r == nil:
		a.setUnknown(o, fmt.Sprintf("no answer from the connector: %v", err))
	case r.GetOutcome() == messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED,
		r.GetOutcome() == messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN_RESOLVED_FOUND,
		r.GetOutcome() == messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN_RESOLVED_RESENT:
		if r.GetOrder() == nil {
			a.setUnknown(o, "accepted without the order's state")
			break
		}
		mergeExchange(o, r.GetOrder(), a.nowMs())
	case r.GetOutcome() == messages.OrderOutcome_ORDER_OUTCOME_REJECTED && definitive(r):
		o.Status, o.Reason, o.UpdatedMs = messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, r.GetError().GetMessage(), a.nowMs()
	case r.GetOutcome() == messages.OrderOutcome_ORDER_OUTCOME_NOT_SENT:
		o.Status, o.Reason, o.UpdatedMs = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT, r.GetError().GetMessage(), a.nowMs()
	default:
		a.setUnknown(o, "outcome unknown: "+r.GetError().GetMessage())
	}
	a.commit(ctx, t, nil)
	a.answerPlaced(ctx, t)
}

// answerPlaced answers the callers of a placement as soon as the
// exchange's answer is applied in memory, its journal write queued but
// not awaited: the promise rests on the intent, which is durable (fsync)
// before the order left. What the early answer implies:
//   - a crash before the answer's commit leaves the journal's INTENT: the
//     restart's reconciliation finds the order by its client id (queried
//     on the exchange) and records its state and trades, never sends it
//     again; the caller's retry by client id after the restart is answered
//     from that record;
//   - a retry by client id before the commit is answered from memory: the
//     order stays in a.orders while a write of it is pending (settled);
//   - a reader of the journal (trading.orders) may see the INTENT for the
//     few milliseconds until the commit: the journal is never ahead of
//     what the exchange said, only behind memory by one commit;
//   - if that commit fails, the caller already has the exchange's answer
//     (true, it is the exchange's) while the journal keeps the INTENT; the
//     order stays in memory (never settled) and a restart reconciles it as
//     above; the failure is logged by onWriteDone;
//   - PrepareStop's checkpoint may run before the commit: the commit lands
//     in the WAL, and Close drains the queue and checkpoints again.
func (a *orderActor) answerPlaced(ctx actor.Context, t *tracked) {
	if !t.busy {
		return
	}
	t.busy = false
	for _, w := range t.waiters {
		ctx.Send(w, &messages.PlaceTradeOrderResponse{Order: clone(t.o)})
	}
	t.waiters = nil
	a.afterPlaced(ctx, t)
}

func (a *orderActor) setUnknown(o *messages.TradeOrder, reason string) {
	o.Status, o.Reason, o.UpdatedMs = messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, reason, a.nowMs()
	a.log.Warn("order outcome unknown", "client_order_id", o.GetClientOrderId(), "reason", reason)
}

// definitive reports a rejection the exchange (or the connector's own
// validation, before sending) gave for sure. A rate limit, a timeout or a
// 5xx after the request left is not one.
func definitive(r *messages.OrderResult) bool {
	switch r.GetExchangeCode() {
	case 0:
		return r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
	case -1000, -1001, -1003, -1006, -1007, -1008, -1015, -1021:
		// unknown error, disconnected, too many requests, unexpected
		// response, backend timeout, server busy, order rate, timestamp:
		// the order may or may not exist.
		return false
	}
	return true
}

// commit journals t's current state and fills; when committed, the waiting
// callers are answered and the events published.
func (a *orderActor) commit(ctx actor.Context, t *tracked, fills []*messages.TradeFill) {
	snap := clone(t.o)
	ops := make([]journal.Op, 0, 1+len(fills))
	ops = append(ops, journal.PutOrder{Order: snap})
	for _, f := range fills {
		ops = append(ops, journal.AddFill{Fill: f})
	}
	t.writes++
	a.write(ops, func(ctx actor.Context, err error) {
		t.writes--
		a.committed(ctx, t, snap, fills, err)
	})
	a.flushRiskHalts(ctx)
}

// committed answers and publishes after a commit; a closed order with no
// write pending leaves memory (the journal answers for it from then on).
func (a *orderActor) committed(ctx actor.Context, t *tracked, snap *messages.TradeOrder, fills []*messages.TradeFill, err error) {
	// Paper answers its callers here, after the commit. Live answers them in
	// answerPlaced, from the REST answer: a commit before it (a user data
	// report that overtook the answer) holds an older state.
	if t.busy && a.cfg.Mode == ModePaper && t.o.GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT {
		t.busy = false
		for _, w := range t.waiters {
			resp := &messages.PlaceTradeOrderResponse{Order: clone(snap)}
			if err != nil {
				resp.Error = internal("the journal failed to record the order's outcome; it is in flight and will be reconciled")
			}
			ctx.Send(w, resp)
		}
		t.waiters = nil
		a.afterPlaced(ctx, t)
	}
	if err != nil {
		return
	}
	a.publish(ctx, fmt.Sprintf("order.%s.%s.%s", snap.GetStrategy(), snap.GetSymbol(), statusName(snap.GetStatus())), &messages.OrderEvent{Order: snap})
	for _, f := range fills {
		p := a.books.get(f.GetStrategy(), f.GetSymbol())
		pv := a.books.view(f.GetStrategy(), f.GetSymbol(), p)
		a.publish(ctx, fmt.Sprintf("fill.%s.%s", f.GetStrategy(), f.GetSymbol()), &messages.FillEvent{Fill: f, Position: pv})
		a.publish(ctx, fmt.Sprintf("position.%s.%s", f.GetStrategy(), f.GetSymbol()), &messages.PositionEvent{Position: pv})
	}
	if t.settled() {
		a.forget(t)
	}
}

// mergeExchange moves o forward to the exchange's view: never back from a
// final status, never to a smaller executed quantity.
func mergeExchange(o *messages.TradeOrder, x *messages.Order, nowMs int64) {
	if x.GetOrderId() != 0 {
		o.ExchangeOrderId = x.GetOrderId()
	}
	if dec(x.GetExecutedQty()) >= dec(o.GetExecutedQty()) {
		o.ExecutedQty, o.CumulativeQuoteQty = x.GetExecutedQty(), x.GetCumulativeQuoteQty()
		if q := dec(o.GetExecutedQty()); q > 0 {
			o.AvgPrice = fmtDec(dec(o.GetCumulativeQuoteQty()) / q)
		}
	}
	if s := exchangeStatus(x.GetStatus()); s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED && !o.GetStatus().Final() {
		o.Status, o.Reason = s, ""
	}
	o.NotFound, o.UpdatedMs = 0, nowMs
}

// exchangeStatus maps a Binance order status.
func exchangeStatus(s string) messages.TradeOrderStatus {
	switch strings.ToUpper(s) {
	case "NEW", "PENDING_NEW":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW
	case "PARTIALLY_FILLED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED
	case "FILLED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED
	case "CANCELED", "PENDING_CANCEL":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED
	case "REJECTED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED
	case "EXPIRED", "EXPIRED_IN_MATCH":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED
	}
	return messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED
}

// normalize upper-cases the enumerations and names the strategy.
func normalize(m *messages.PlaceTradeOrderRequest) *messages.PlaceTradeOrderRequest {
	r := clonePlace(m)
	r.Symbol, r.Side, r.Type = strings.ToUpper(r.Symbol), strings.ToUpper(r.Side), strings.ToUpper(r.Type)
	r.TimeInForce = strings.ToUpper(r.TimeInForce)
	if r.Strategy == "" {
		r.Strategy = ManualStrategy
	}
	if r.Type == "LIMIT" && r.TimeInForce == "" {
		r.TimeInForce = "GTC"
	}
	return r
}

// validatePlace lists every problem of a placement request.
func validatePlace(r *messages.PlaceTradeOrderRequest) []string {
	var p []string
	if !strategyRE.MatchString(r.GetStrategy()) {
		p = append(p, "strategy: must match "+strategyRE.String())
	}
	if !symbolRE.MatchString(r.GetSymbol()) {
		p = append(p, "symbol: must match "+symbolRE.String())
	}
	if r.GetSide() != "BUY" && r.GetSide() != "SELL" {
		p = append(p, "side: must be BUY or SELL")
	}
	if !decimalRE.MatchString(r.GetQuantity()) || dec(r.GetQuantity()) <= 0 {
		p = append(p, "quantity: must be a decimal string > 0")
	}
	switch r.GetType() {
	case "LIMIT", "LIMIT_MAKER":
		if !decimalRE.MatchString(r.GetPrice()) || dec(r.GetPrice()) <= 0 {
			p = append(p, "price: a decimal string > 0 is required for "+r.GetType())
		}
	case "MARKET":
		if r.GetPrice() != "" {
			p = append(p, "price: must be empty for MARKET")
		}
	default:
		p = append(p, "type: must be LIMIT, LIMIT_MAKER or MARKET")
	}
	switch r.GetTimeInForce() {
	case "", "GTC", "IOC", "FOK":
	default:
		p = append(p, "time_in_force: must be GTC, IOC or FOK")
	}
	if r.GetType() != "LIMIT" && r.GetTimeInForce() != "" {
		p = append(p, "time_in_force: only for LIMIT orders")
	}
	if id := r.GetClientOrderId(); id != "" && !orderIDRE.MatchString(id) {
		p = append(p, "client_order_id: must match "+orderIDRE.String())
	}
	return p
}

func clone(o *messages.TradeOrder) *messages.TradeOrder {
	return proto.Clone(o).(*messages.TradeOrder)
}

func clonePlace(m *messages.PlaceTradeOrderRequest) *messages.PlaceTradeOrderRequest {
	return proto.Clone(m).(*messages.PlaceTradeOrderRequest)
}
