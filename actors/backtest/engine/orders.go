package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// reasonTooMany rejects the orders past maxPlacesPerBar.
var reasonTooMany = fmt.Sprintf("too many orders while handling one bar (limit %d)", maxPlacesPerBar)

// place records a strategy's order, checks it as the order actor (and the
// exchange) would, and submits it to the matcher.
func (l *legRun) place(ref uint64, o strategy.Order, now int64) {
	l.places++
	rec := &orderRec{i: len(l.r.res.Orders), ref: ref, id: l.name + "_" + strconv.FormatUint(ref, 10),
		side: o.Side, typ: o.Type, qty: o.Quantity}
	if o.Type == strategy.Limit {
		rec.price = o.Price
	}
	l.r.res.Orders = append(l.r.res.Orders, Order{Leg: l.idx, Ref: ref, ID: rec.id, Symbol: l.symbol,
		Side: o.Side.String(), Type: o.Type.String(), Price: rec.price, Qty: o.Quantity, TimeMs: now})
	if l.places > maxPlacesPerBar {
		l.reject(rec, reasonTooMany)
		return
	}
	l.hostOpen = append(l.hostOpen, hostOrder{ref: ref, id: rec.id, side: o.Side, price: o.Price, qty: o.Quantity,
		status: strategy.StatusPending})
	reason := invalidOrder(o)
	if reason == "" {
		reason = l.allocationCheck(o)
	}
	if reason == "" {
		reason = l.filterCheck(o)
	}
	if reason != "" {
		l.reject(rec, reason)
		l.queue = append(l.queue, event{timeMs: now, u: strategy.OrderUpdate{Ref: ref, ClientOrderID: rec.id,
			Status: strategy.StatusRejected, Side: o.Side, Type: o.Type, Price: o.Price, Quantity: o.Quantity, Reason: reason}})
		return
	}
	mo := matcher.Order{ID: rec.id, Symbol: l.symbol, Side: o.Side.String(), Type: o.Type.String(), Qty: o.Quantity}
	if o.Type == strategy.Limit {
		mo.Price, mo.TimeInForce = o.Price, matcher.GTC
	}
	l.byID[rec.id] = rec
	u, fills := l.m.Submit(mo, now)
	l.applyBatch([]matcher.Update{u}, fills, now)
}

// reject records rec as refused before it reached the matcher.
func (l *legRun) reject(rec *orderRec, reason string) {
	ro := &l.r.res.Orders[rec.i]
	ro.Status, ro.Reason = matcher.StatusRejected, reason
}

// cancel cancels the order ref if it rests; an order done or unknown is
// ignored, as the host does.
func (l *legRun) cancel(ref uint64, now int64) {
	for _, h := range l.hostOpen {
		if h.ref != ref {
			continue
		}
		if u, ok := l.m.Cancel(h.id, now); ok {
			l.applyBatch([]matcher.Update{u}, nil, now)
		}
		return
	}
}

// invalidOrder returns what the order actor's validation would refuse
// ("" when nothing): its message lists every problem.
func invalidOrder(o strategy.Order) string {
	var p []string
	if o.Side != strategy.Buy && o.Side != strategy.Sell {
		p = append(p, "side: must be BUY or SELL")
	}
	if !positive(o.Quantity) {
		p = append(p, "quantity: must be a decimal string > 0")
	}
	switch o.Type {
	case strategy.Limit:
		if !positive(o.Price) {
			p = append(p, "price: a decimal string > 0 is required for LIMIT")
		}
	case strategy.Market:
	default:
		p = append(p, "type: must be LIMIT, LIMIT_MAKER or MARKET")
	}
	if len(p) == 0 {
		return ""
	}
	return "invalid order: " + strings.Join(p, "; ")
}

// allocationCheck refuses a buy that would take the strategy past its
// allocation, as the order actor's risk check does (actors/orders/risk.go:
// firstRisk, used): its long position at the last price plus its open buy
// orders plus this order.
func (l *legRun) allocationCheck(o strategy.Order) string {
	if l.alloc <= 0 || o.Side != strategy.Buy {
		return ""
	}
	price := l.priceOf(o)
	used := 0.0
	if l.pos > 0 {
		p := l.lastTrade
		if p == 0 {
			p = l.avg
		}
		used = l.pos * p
	}
	for _, r := range l.resting {
		if r.side == strategy.Buy {
			ro := &l.r.res.Orders[r.i]
			used += (r.qty - ro.Executed) * r.price
		}
	}
	if after := used + o.Quantity*price; after > l.alloc {
		return fmt.Sprintf("risk check allocation: strategy %s would use %s of its allocation %s %s", l.name,
			ledger.FormatDec(after), ledger.FormatDec(l.alloc), l.quote)
	}
	return ""
}

// priceOf is an order's price, or the last trade price for a market one.
func (l *legRun) priceOf(o strategy.Order) float64 {
	if o.Type == strategy.Limit {
		return o.Price
	}
	return l.lastTrade
}

// filterCheck refuses what the exchange's filters refuse, with the reason
// the connector gives for its answer.
func (l *legRun) filterCheck(o strategy.Order) string {
	f := l.filters
	name := ""
	switch {
	case f.TickSize > 0 && o.Type == strategy.Limit && !multipleOf(o.Price, f.TickSize):
		name = "PRICE_FILTER"
	case f.StepSize > 0 && !multipleOf(o.Quantity, f.StepSize):
		name = "LOT_SIZE"
	case f.MinNotional > 0 && o.Quantity*l.priceOf(o) < f.MinNotional:
		name = "NOTIONAL"
	default:
		return ""
	}
	return "exchange: Filter failure: " + name + " (-1013)"
}

// multipleOf reports whether v is a whole multiple (>= 1) of step, within
// float noise.
func multipleOf(v, step float64) bool {
	k := math.Round(v / step)
	return k >= 1 && math.Abs(v-k*step) <= step*1e-9
}

// applyBatch books what one matcher call changed, as the order actor's
// applyPaper does: the fills (as the journal holds them: 10 decimals) in
// the book and the cash, the orders' new states; then it queues, per order
// (those with fills first, in fill order, then the others), the order's
// update and its fills with the position after the whole batch.
func (l *legRun) applyBatch(us []matcher.Update, fs []matcher.Fill, now int64) {
	res := &l.r.res
	for _, f := range fs {
		price, qty, fee := ledger.Round(f.Price), ledger.Round(f.Qty), ledger.Round(f.Fee)
		var realized float64
		l.pos, l.avg, realized = ledger.Apply(l.pos, l.avg, f.Side == matcher.SideSell, qty, price)
		l.realized += realized
		l.fees += fee
		if quote := ledger.Round(f.Quote); f.Side == matcher.SideSell {
			l.cash += quote - fee
		} else {
			l.cash -= quote + fee
		}
		res.Fills = append(res.Fills, Fill{Leg: l.idx, OrderID: f.OrderID, Symbol: f.Symbol, Side: f.Side,
			Price: price, Qty: qty, Fee: fee, Maker: f.Maker, TimeMs: f.TimeMs})
	}
	for _, u := range us {
		l.applyUpdate(u)
	}
	l.ids = l.ids[:0]
	for _, f := range fs {
		l.note(f.OrderID)
	}
	for _, u := range us {
		l.note(u.OrderID)
	}
	pos := strategy.Position{Quantity: ledger.Round(l.pos), AvgPrice: ledger.Round(l.avg),
		RealizedPnL: ledger.Round(l.realized), Fees: ledger.Round(l.fees)}
	first := len(res.Fills) - len(fs)
	for _, id := range l.ids {
		l.queue = append(l.queue, event{timeMs: now, u: l.update(id)})
		for j, f := range fs {
			if f.OrderID != id {
				continue
			}
			rf := &res.Fills[first+j]
			l.queue = append(l.queue, event{timeMs: f.TimeMs, fill: true, pos: pos, f: strategy.Fill{
				Ref: l.refOf(id), ClientOrderID: id, Side: sideOf(f.Side), Price: rf.Price, Quantity: rf.Qty,
				Fee: rf.Fee, FeeAsset: l.quote, TimeMs: f.TimeMs, Maker: f.Maker}})
		}
	}
	for _, id := range l.ids {
		if rec := l.byID[id]; rec != nil && res.Orders[rec.i].Status != matcher.StatusNew &&
			res.Orders[rec.i].Status != matcher.StatusPartiallyFilled {
			delete(l.byID, id)
		}
	}
}

// applyUpdate records an order's new state and keeps the resting list.
func (l *legRun) applyUpdate(u matcher.Update) {
	rec := l.byID[u.OrderID]
	if rec == nil {
		return
	}
	o := &l.r.res.Orders[rec.i]
	o.Status, o.Executed, o.Quote, o.Reason = u.Status, ledger.Round(u.Executed), ledger.Round(u.Quote), u.Reason
	if u.Executed > 0 {
		rec.avg = u.Quote / u.Executed
	}
	rests := u.Status == matcher.StatusNew || u.Status == matcher.StatusPartiallyFilled
	at := -1
	for i, r := range l.resting {
		if r == rec {
			at = i
			break
		}
	}
	switch {
	case rests && at < 0:
		l.resting = append(l.resting, rec)
	case !rests && at >= 0:
		l.resting = append(l.resting[:at], l.resting[at+1:]...)
	}
}

// note adds id to l.ids once.
func (l *legRun) note(id string) {
	for _, s := range l.ids {
		if s == id {
			return
		}
	}
	l.ids = append(l.ids, id)
}

// update is the order's state as the host converts it (actors/strategies:
// toUpdate of the journal's order).
func (l *legRun) update(id string) strategy.OrderUpdate {
	rec := l.byID[id]
	o := &l.r.res.Orders[rec.i]
	return strategy.OrderUpdate{Ref: rec.ref, ClientOrderID: id, Status: toStatus(o.Status), Side: rec.side,
		Type: rec.typ, Price: rec.price, Quantity: rec.qty, Filled: o.Executed, AvgPrice: ledger.Round(rec.avg), Reason: o.Reason}
}

func (l *legRun) refOf(id string) uint64 {
	if rec := l.byID[id]; rec != nil {
		return rec.ref
	}
	return 0
}

func sideOf(s string) strategy.Side {
	if s == matcher.SideSell {
		return strategy.Sell
	}
	return strategy.Buy
}
