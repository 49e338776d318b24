package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/messages"
)

// Reasons written on the orders reconciliation changes.
const (
	reasonNotSent  = "intent never reached the exchange (reconciliation)"
	reasonMayLand  = "intent not found yet; it may still land (reconciliation)"
	reasonNotFound = "not found on the exchange (reconciliation)"
	reasonAdopted  = "open on the exchange, unknown to the journal: adopted (reconciliation)"
	// reasonEarlierTerm: an earlier cluster leader placed it.
	reasonEarlierTerm = "placed by an earlier leader, unknown to this journal: adopted (reconciliation)"
)

// journalOrder aligns one journal order with the exchange's view of it.
func (p *planner) journalOrder(j *messages.TradeOrder) {
	cid := j.GetClientOrderId()
	if p.badOrder[cid] || p.journal[cid] != j {
		return
	}
	v := p.views[cid]
	if v == nil {
		p.notFound(j)
		return
	}
	switch {
	case v.GetSymbol() != j.GetSymbol():
		p.mismatch(cid, "order %q: journal symbol %s, exchange symbol %s", cid, j.GetSymbol(), v.GetSymbol())
		return
	case j.GetExchangeOrderId() != 0 && j.GetExchangeOrderId() != v.GetOrderId():
		p.mismatch(cid, "order %q: journal exchange id %d, exchange id %d", cid, j.GetExchangeOrderId(), v.GetOrderId())
		return
	}
	status, ok := statusOf(v)
	if !ok {
		p.mismatch(cid, "order %q: unknown exchange status %q", cid, v.GetStatus())
		return
	}
	exQty, ok1 := parseDec(orZero(v.GetExecutedQty()))
	_, ok2 := parseDec(orZero(v.GetCumulativeQuoteQty()))
	jQty, ok3 := parseDec(orZero(j.GetExecutedQty()))
	if !ok1 || !ok2 || !ok3 {
		p.mismatch(cid, "order %q: unreadable executed quantity (journal %q, exchange %q/%q)", cid,
			j.GetExecutedQty(), v.GetExecutedQty(), v.GetCumulativeQuoteQty())
		return
	}
	if j.GetStatus().Final() && status != j.GetStatus() {
		p.mismatch(cid, "order %q: %s in the journal, %s on the exchange", cid, shortStatus(j.GetStatus()), shortStatus(status))
		return
	}
	if jQty.GreaterThan(exQty) {
		p.mismatch(cid, "order %q: the journal has %s executed, the exchange %s", cid, jQty, exQty)
		return
	}
	if !p.fillsAddUp(j, v, exQty) {
		return
	}
	// The view was fetched after the trades: it is the newest word on the
	// order. Fills it counts that are not among the trades came after them
	// (the user data stream and the next run record those).
	executed, quote := v.GetExecutedQty(), v.GetCumulativeQuoteQty()
	u := clone(j)
	u.Status, u.ExchangeOrderId, u.ExecutedQty, u.CumulativeQuoteQty = status, v.GetOrderId(), executed, quote
	u.AvgPrice, u.NotFound = avgPrice(dec(executed), dec(quote)), 0
	if !changed(j, u) {
		return
	}
	u.UpdatedMs = p.in.NowMs
	p.resolved++
	p.plan.Updates = append(p.plan.Updates, u)
}

// fillsAddUp checks that an order's recorded fills (none for a symbol the
// journal has no trade of; Input.Recorded otherwise) plus its new fills add
// up to the exchange's executed quantity: a shortfall is trades the run did
// not fetch, a silent gap in the books, unless the exchange changed the
// order after the newest trade fetched (a fill after the trades were
// fetched, which the user data stream and the next run record). It records
// a mismatch and returns false otherwise.
func (p *planner) fillsAddUp(j *messages.TradeOrder, v *messages.Order, exQty decimal.Decimal) bool {
	sym, cid := j.GetSymbol(), j.GetClientOrderId()
	got, known := p.fills(j)
	if !known {
		return true // the caller did not say what is recorded
	}
	switch {
	case got.GreaterThan(exQty):
		p.mismatch(cid, "order %q: its trades add up to %s, the exchange says %s executed", cid, got, exQty)
		return false
	case got.LessThan(exQty) && (p.lastMs[sym] == 0 || v.GetUpdateTimeMs() <= p.lastMs[sym]):
		p.mismatch(cid, "order %q: the exchange says %s executed, its trades fetched add up to %s (trades missing)", cid, exQty, got)
		return false
	}
	return true
}

// fills is the quantity of j's recorded fills (none for a symbol the
// journal has no trade of; Input.Recorded otherwise) plus its new ones;
// false when Input.Recorded does not say what is recorded.
func (p *planner) fills(j *messages.TradeOrder) (decimal.Decimal, bool) {
	cid, got := j.GetClientOrderId(), p.filled[j.GetClientOrderId()]
	if _, traded := p.in.LastTradeIDs[j.GetSymbol()]; !traded {
		return got, true
	}
	recorded, known := p.in.Recorded[cid]
	return got.Add(dec(recorded)), known
}

// notFound handles a journal order the exchange does not know.
func (p *planner) notFound(j *messages.TradeOrder) {
	cid := j.GetClientOrderId()
	if j.GetStatus().Final() { // nothing to align, nothing queried
		return
	}
	if p.traded[cid] {
		p.mismatch(cid, "order %q: it has new trades, but the exchange says it does not exist", cid)
		return
	}
	u := clone(j)
	u.UpdatedMs = p.in.NowMs
	switch j.GetStatus() {
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT:
		if p.in.NowMs-max(j.GetCreatedMs(), j.GetUpdatedMs()) >= p.in.RecvWindowMs {
			u.Status, u.Reason = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT, reasonNotSent
			p.plan.CloseIntents = append(p.plan.CloseIntents, u)
			return
		}
		u.Status, u.Reason, u.NotFound = messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, reasonMayLand, j.GetNotFound()+1
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT, messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN:
		u.Status, u.Reason, u.NotFound = messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, reasonNotFound, j.GetNotFound()+1
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST:
		u.NotFound = j.GetNotFound() + 1
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED:
		p.mismatch(cid, "order %q: %s in the journal, but the exchange says it does not exist", cid, shortStatus(j.GetStatus()))
		return
	default:
		return
	}
	p.plan.Updates = append(p.plan.Updates, u)
}

// exchangeOnly adopts or cancels the open orders the journal does not know.
func (p *planner) exchangeOnly() {
	seen := make(map[string]bool, len(p.in.ExchangeOpen))
	for _, o := range p.in.ExchangeOpen {
		cid := o.GetClientOrderId()
		if p.journal[cid] != nil || seen[cid] || p.badOrder[cid] {
			continue
		}
		seen[cid] = true
		status, ok := statusOf(o)
		switch {
		case cid == "":
			p.mismatch("", "%s order %d: open on the exchange without a client order id", o.GetSymbol(), o.GetOrderId())
		case p.ours(cid):
			if id, owner, earlier := p.earlierTerm(cid); earlier && ok {
				p.adoptEarlier(o, status, id, owner)
				continue
			}
			p.mismatch(cid, "%s order %d (client id %q): open on the exchange with our prefix, but the journal has no such order (a lost record)%s",
				o.GetSymbol(), o.GetOrderId(), cid, p.termNote(cid))
		case !ok:
			p.mismatch(cid, "%s order %d (client id %q): unknown exchange status %q", o.GetSymbol(), o.GetOrderId(), cid, o.GetStatus())
		case p.in.External == ExternalCancel:
			p.plan.Cancel = append(p.plan.Cancel, o)
		case p.in.External == ExternalAdopt || p.in.External == "":
			p.plan.Adopt = append(p.plan.Adopt, p.adopted(o, status))
		default:
			p.mismatch("", "external policy %q: want %q or %q", p.in.External, ExternalAdopt, ExternalCancel)
			return
		}
	}
	p.closedEarlier(seen)
}

// closedEarlier adopts the orders of an earlier term that are no longer
// open (filled, canceled, expired) but whose trades the run fetched: their
// final state from the exchange, so their fills have an order.
func (p *planner) closedEarlier(seen map[string]bool) {
	for _, key := range slices.Sorted(maps.Keys(p.in.TradeOrders)) {
		cid := p.in.TradeOrders[key].GetClientOrderId()
		if p.journal[cid] != nil || seen[cid] || p.badOrder[cid] {
			continue
		}
		id, owner, earlier := p.earlierTerm(cid)
		if !earlier {
			continue
		}
		seen[cid] = true
		v := p.views[cid]
		status, ok := statusOf(v)
		if !ok {
			p.mismatch(cid, "%s order %d (client id %q): unknown exchange status %q", v.GetSymbol(), v.GetOrderId(), cid, v.GetStatus())
			continue
		}
		p.adoptEarlier(v, status, id, owner)
	}
}

// earlierTerm reports an id of ours (clientid.Parse) of an earlier term
// than the leader's, with the strategy it names.
func (p *planner) earlierTerm(cid string) (clientid.ID, string, bool) {
	if !p.ours(cid) || p.in.Term <= 0 {
		return clientid.ID{}, "", false
	}
	prefix := strings.TrimSuffix(p.in.Prefix, "-")
	id, ok := clientid.Parse(prefix, cid)
	if !ok || id.Term <= 0 || id.Term >= p.in.Term {
		return clientid.ID{}, "", false
	}
	return id, clientid.Owner(prefix, id, p.in.Strategies), true
}

// termNote explains, in a mismatch, why an id of ours was not adopted as
// an earlier term's.
func (p *planner) termNote(cid string) string {
	if p.in.Term <= 0 {
		return ""
	}
	id, ok := clientid.Parse(strings.TrimSuffix(p.in.Prefix, "-"), cid)
	switch {
	case !ok || id.Term == 0:
		return "; its id carries no term"
	case id.Term == p.in.Term:
		return "; its id carries this leader's own term"
	case id.Term > p.in.Term:
		return fmt.Sprintf("; its id carries a later term (%d > %d): this node is not the newest leader", id.Term, p.in.Term)
	}
	return ""
}

// adoptEarlier adopts an order an earlier term placed into the strategy
// its id names, with its term.
func (p *planner) adoptEarlier(o *messages.Order, status messages.TradeOrderStatus, id clientid.ID, owner string) {
	a := p.adopted(o, status)
	a.Strategy, a.Term, a.Reason = owner, id.Term, reasonEarlierTerm
	p.plan.Adopt = append(p.plan.Adopt, a)
	p.earlier++
}

// adopted is the journal record of an exchange-only open order.
func (p *planner) adopted(o *messages.Order, status messages.TradeOrderStatus) *messages.TradeOrder {
	return &messages.TradeOrder{ClientOrderId: o.GetClientOrderId(), Strategy: StrategyExternal, Symbol: o.GetSymbol(),
		Side: o.GetSide(), Type: o.GetType(), Quantity: o.GetOrigQty(), Price: o.GetPrice(), TimeInForce: o.GetTimeInForce(),
		Status: status, ExchangeOrderId: o.GetOrderId(), ExecutedQty: o.GetExecutedQty(),
		CumulativeQuoteQty: o.GetCumulativeQuoteQty(), AvgPrice: avgPrice(dec(o.GetExecutedQty()), dec(o.GetCumulativeQuoteQty())),
		CreatedMs: o.GetTimeMs(), UpdatedMs: p.in.NowMs, Reason: reasonAdopted, Mode: "live", Term: p.in.Term}
}

// statusOf maps an exchange order's Binance status to the journal's (a
// pending order that executed some is PARTIALLY_FILLED).
func statusOf(o *messages.Order) (messages.TradeOrderStatus, bool) {
	switch o.GetStatus() {
	case "PENDING_NEW", "PENDING_CANCEL":
		if d, ok := parseDec(orZero(o.GetExecutedQty())); ok && d.IsPositive() {
			return messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED, true
		}
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, true
	case "NEW":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, true
	case "PARTIALLY_FILLED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED, true
	case "FILLED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, true
	case "CANCELED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED, true
	case "REJECTED":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, true
	case "EXPIRED", "EXPIRED_IN_MATCH":
		return messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED, true
	}
	return messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED, false
}

// changed reports whether reconciliation learned anything about j.
func changed(j, u *messages.TradeOrder) bool {
	return j.GetStatus() != u.GetStatus() || j.GetExchangeOrderId() != u.GetExchangeOrderId() ||
		j.GetNotFound() != u.GetNotFound() ||
		!dec(j.GetExecutedQty()).Equal(dec(u.GetExecutedQty())) ||
		!dec(j.GetCumulativeQuoteQty()).Equal(dec(u.GetCumulativeQuoteQty()))
}

// avgPrice is quote / executed, "" when nothing executed.
func avgPrice(executed, quote decimal.Decimal) string {
	if !executed.IsPositive() {
		return ""
	}
	return quote.DivRound(executed, 8).String()
}

// shortStatus is a status name without its prefix.
func shortStatus(s messages.TradeOrderStatus) string {
	const prefix = len("TRADE_ORDER_STATUS_")
	name := s.String()
	if len(name) > prefix {
		return name[prefix:]
	}
	return name
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// parseDec parses a decimal string.
func parseDec(s string) (decimal.Decimal, bool) {
	d, err := decimal.NewFromString(s)
	return d, err == nil
}
