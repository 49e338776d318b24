package connector

import (
	"regexp"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

var (
	clientOrderIDRE = regexp.MustCompile(`^[.A-Za-z0-9_-]{1,36}$`)
	decimalRE       = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)
)

// orderOp is one order operation (place, get or cancel) from the caller's
// request to its OrderResult, through as many REST calls as resolving an
// unknown outcome takes.
type orderOp struct {
	kind     jobKind
	sender   *actor.PID
	symbol   string
	clientID string
	orderID  int64
	place    *placeParams
	attempts uint32
	resolved bool // an unknown outcome was met: the answer comes from a query
}

func (a *connectorActor) onPlaceOrder(ctx actor.Context, m *messages.PlaceOrderRequest) {
	p := &placeParams{side: strings.ToUpper(m.GetSide()), typ: strings.ToUpper(m.GetType()), quantity: m.GetQuantity(),
		price: m.GetPrice(), tif: strings.ToUpper(m.GetTimeInForce())}
	sym := strings.ToUpper(m.GetSymbol())
	var problems []string
	if !symbolRE.MatchString(sym) {
		problems = append(problems, "symbol: must match "+symbolRE.String())
	}
	if !clientOrderIDRE.MatchString(m.GetClientOrderId()) {
		problems = append(problems, "client_order_id: required, must match "+clientOrderIDRE.String())
	}
	if p.side != "BUY" && p.side != "SELL" {
		problems = append(problems, "side: must be BUY or SELL")
	}
	switch p.typ {
	case "LIMIT":
		if p.tif == "" {
			p.tif = "GTC"
		}
		if !decimalRE.MatchString(p.price) {
			problems = append(problems, "price: a decimal string is required for LIMIT")
		}
	case "LIMIT_MAKER":
		if !decimalRE.MatchString(p.price) {
			problems = append(problems, "price: a decimal string is required for LIMIT_MAKER")
		}
	case "MARKET":
		if p.price != "" {
			problems = append(problems, "price: must be empty for MARKET")
		}
	default:
		problems = append(problems, "type: must be LIMIT, LIMIT_MAKER or MARKET")
	}
	switch p.tif {
	case "", "GTC", "IOC", "FOK":
	default:
		problems = append(problems, "time_in_force: must be GTC, IOC or FOK")
	}
	if !decimalRE.MatchString(p.quantity) {
		problems = append(problems, "quantity: must be a decimal string")
	}
	if len(problems) > 0 {
		ctx.Respond(&messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED,
			Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Message: "invalid order", Details: problems}})
		return
	}
	if a.orders[m.GetClientOrderId()] != nil {
		ctx.Respond(&messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS, "an order with client_order_id %q is in flight", m.GetClientOrderId())})
		return
	}
	op := &orderOp{kind: jobPlace, sender: ctx.Sender(), symbol: sym, clientID: m.GetClientOrderId(), place: p}
	a.orders[op.clientID] = op
	a.sendOrderJob(ctx, op, jobPlace)
}

func (a *connectorActor) onGetOrder(ctx actor.Context, m *messages.GetOrderRequest) {
	if op := a.orderRef(ctx, jobGetOrder, m.GetSymbol(), m.GetClientOrderId(), m.GetOrderId()); op != nil {
		a.sendOrderJob(ctx, op, jobGetOrder)
	}
}

func (a *connectorActor) onCancelOrder(ctx actor.Context, m *messages.CancelOrderRequest) {
	if op := a.orderRef(ctx, jobCancel, m.GetSymbol(), m.GetClientOrderId(), m.GetOrderId()); op != nil {
		a.sendOrderJob(ctx, op, jobCancel)
	}
}

// orderRef validates a reference to an existing order, answering when bad.
func (a *connectorActor) orderRef(ctx actor.Context, kind jobKind, symbol, clientID string, orderID int64) *orderOp {
	sym := strings.ToUpper(symbol)
	var problems []string
	if !symbolRE.MatchString(sym) {
		problems = append(problems, "symbol: must match "+symbolRE.String())
	}
	switch {
	case clientID == "" && orderID <= 0:
		problems = append(problems, "client_order_id or order_id: one is required")
	case clientID != "" && !clientOrderIDRE.MatchString(clientID):
		problems = append(problems, "client_order_id: must match "+clientOrderIDRE.String())
	}
	if len(problems) > 0 {
		ctx.Respond(&messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED,
			Error: &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Message: "invalid order reference", Details: problems}})
		return nil
	}
	return &orderOp{kind: kind, sender: ctx.Sender(), symbol: sym, clientID: clientID, orderID: orderID}
}

// sendOrderJob queues one REST call of op.
func (a *connectorActor) sendOrderJob(ctx actor.Context, op *orderOp, kind jobKind) {
	j := a.newJob(kind, prioOrder)
	j.symbol, j.clientOrderID, j.orderID, j.place, j.op = op.symbol, op.clientID, op.orderID, op.place, op
	a.enqueue(ctx, j) // pump counts op.attempts when it leaves
}

// onOrderResult moves an order operation on after one of its calls.
func (a *connectorActor) onOrderResult(ctx actor.Context, j *job, r *jobResult, f failure, code int64) {
	op := j.op
	order, _ := r.val.(*messages.Order)
	switch {
	case j.kind == jobGetOrder && op.kind != jobGetOrder: // resolving an unknown outcome
		a.onResolveResult(ctx, op, j, order, f, code, r.err)
	case f == failNone:
		a.finishOrder(ctx, op, messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, order, 0, nil)
	case j.kind == jobGetOrder && a.retry(j, f):
	case (j.kind == jobPlace || j.kind == jobCancel) && (f == failUnknown || f == failLimited || isDuplicate(code, r.err)):
		// Sent, answer lost, or refused for rate after it left (the
		// exchange may still have acted on it), or "duplicate" (the first
		// one is live): ask. The query waits out any ban.
		a.log.Warn("order outcome unknown, querying by client order id", "symbol", op.symbol, "client_order_id", op.clientID, "err", errText(r.err))
		op.resolved = true
		a.sendOrderJob(ctx, op, jobGetOrder)
	default:
		outcome := messages.OrderOutcome_ORDER_OUTCOME_REJECTED
		if f == failUnknown {
			outcome = messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN
		}
		a.finishOrder(ctx, op, outcome, nil, code, restError(r.err, f, code))
	}
}

// onResolveResult handles the query that resolves an unknown outcome. A
// placement the exchange does not know (-2013) is never sent again: the
// exchange may still be processing it, so its outcome stays unknown and the
// order actor keeps querying (and watching the user data stream).
func (a *connectorActor) onResolveResult(ctx actor.Context, op *orderOp, j *job, order *messages.Order, f failure, code int64, err error) {
	switch {
	case f == failNone:
		a.finishOrder(ctx, op, messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN_RESOLVED_FOUND, order, 0, nil)
	case f == failNotFound && op.kind == jobPlace:
		a.log.Warn("order not found after unknown outcome, not resending", "symbol", op.symbol, "client_order_id", op.clientID)
		a.finishOrder(ctx, op, messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, nil, code,
			messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "order outcome unknown: the exchange does not know client_order_id %q yet; query it later, never resend", op.clientID))
	case f == failNotFound && op.kind == jobCancel:
		a.finishOrder(ctx, op, messages.OrderOutcome_ORDER_OUTCOME_REJECTED, nil, code, restError(err, f, code))
	case a.retry(j, f):
	default:
		a.finishOrder(ctx, op, messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, nil, code,
			messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "order outcome unknown: query client_order_id %q later", op.clientID))
	}
}

// isDuplicate reports -2010 "Duplicate order sent.": the ID is live.
func isDuplicate(code int64, err error) bool {
	return code == -2010 && err != nil && strings.Contains(err.Error(), "Duplicate")
}

// finishOrder answers the caller and forgets op.
func (a *connectorActor) finishOrder(ctx actor.Context, op *orderOp, outcome messages.OrderOutcome, order *messages.Order, code int64, e *messages.Error) {
	if op.kind == jobPlace && a.orders[op.clientID] == op {
		delete(a.orders, op.clientID)
	}
	if op.sender != nil {
		ctx.Send(op.sender, &messages.OrderResult{Outcome: outcome, Order: order, ExchangeCode: code, Attempts: op.attempts, Error: e})
	}
}
