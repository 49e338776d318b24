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
	res := &l.r.res
	idx := int32(len(res.Orders))
	rec := orderRec{ref: ref, side: o.Side, typ: o.Type, qty: o.Quantity}
	if o.Type == strategy.Limit {
		rec.price = o.Price
	}
	l.idBuf = strconv.AppendUint(append(append(l.idBuf[:0], l.name...), '_'), ref, 10)
	id := string(l.idBuf)
	if len(res.Orders) == cap(res.Orders) {
		n := l.r.expect(len(res.Orders))
		res.Orders, l.r.recs = roomFor(res.Orders, n), roomFor(l.r.recs, n)
	}
	res.Orders = append(res.Orders, Order{Leg: l.idx, Ref: ref, ID: id, Symbol: l.symbol,
		Side: o.Side.String(), Type: o.Type.String(), Price: rec.price, Qty: o.Quantity, TimeMs: now})
	l.r.recs = append(l.r.recs, rec)
	for uint64(len(l.refIdx)) <= ref {
		l.refIdx = append(l.refIdx, -1)
	}
	l.refIdx[ref] = idx
	if l.places > maxPlacesPerBar {
		res.Orders[idx].Status, res.Orders[idx].Reason = matcher.StatusRejected, reasonTooMany
		return
	}
	l.hostOpen = append(l.hostOpen, hostOrder{order: idx, ref: ref, side: o.Side, price: o.Price, qty: o.Quantity,
		status: strategy.StatusPending})
	reason := invalidOrder(o)
	if reason == "" {
		reason = l.riskCheck(o)
	}
	if reason == "" {
		reason = l.allocationCheck(o)
	}
	if reason == "" {
		reason = l.fundsCheck(o)
	}
	if reason == "" {
		reason = l.filterCheck(o)
	}
	if reason != "" {
		res.Orders[idx].Status, res.Orders[idx].Reason = matcher.StatusRejected, reason
		l.queue = append(l.queue, event{timeMs: now, kind: evOrder, status: strategy.StatusRejected, order: idx})
		return
	}
	mo := matcher.Order{ID: id, Symbol: l.symbol, Side: o.Side.String(), Type: o.Type.String(), Qty: o.Quantity}
	if o.Type == strategy.Limit {
		mo.Price, mo.TimeInForce = o.Price, matcher.GTC
	}
	l.flush()
	u, fills := l.m.Submit(mo, now)
	l.one[0] = u
	l.applyBatch(l.one[:], fills, now)
}

// cancel cancels the order ref if it rests; an order done or unknown is
// ignored, as the host does.
func (l *legRun) cancel(ref uint64, now int64) {
	for _, h := range l.hostOpen {
		if h.ref != ref {
			continue
		}
		if u, ok := l.m.Cancel(l.r.res.Orders[h.order].ID, now); ok {
			l.one[0] = u
			l.applyBatch(l.one[:], nil, now)
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

// riskCheck applies Config.Risk as the order actor's firstRisk does
// (actors/orders/risk.go), in its order, with its messages.
func (l *legRun) riskCheck(o strategy.Order) string {
	rl := l.r.risk
	price := l.priceOf(o)
	notional := o.Quantity * price
	risk := func(limit, format string, args ...any) string {
		return "risk check " + limit + ": " + fmt.Sprintf(format, args...)
	}
	if price == 0 && (rl.MaxOrderNotional > 0 || rl.MaxPositionNotional > 0) {
		return risk("max_order_notional", "no last price for %s to value a market order; subscribe its market data first", l.symbol)
	}
	if rl.MaxOrderNotional > 0 && notional > rl.MaxOrderNotional {
		return risk("max_order_notional", "order notional %s exceeds %s", ledger.FormatDec(notional), ledger.FormatDec(rl.MaxOrderNotional))
	}
	if last := l.lastTrade; rl.PriceBand > 0 && o.Type != strategy.Market && last > 0 && math.Abs(price-last)/last > rl.PriceBand {
		return risk("price_band", "price %s is more than %g%% from the last price %s", strconv.FormatFloat(o.Price, 'f', -1, 64),
			rl.PriceBand*100, ledger.FormatDec(last))
	}
	after := l.pos + o.Quantity
	if o.Side == strategy.Sell {
		after = l.pos - o.Quantity
	}
	if rl.MaxPositionNotional > 0 && math.Abs(after) > math.Abs(l.pos) && math.Abs(after)*price > rl.MaxPositionNotional {
		return risk("max_position", "position of %s in %s would be %s (notional %s, limit %s)", l.name, l.symbol,
			ledger.FormatDec(after), ledger.FormatDec(math.Abs(after)*price), ledger.FormatDec(rl.MaxPositionNotional))
	}
	if rl.MaxOpenOrders > 0 && len(l.resting) >= rl.MaxOpenOrders {
		return risk("max_open_orders", "strategy %s has %d open orders (limit %d)", l.name, len(l.resting), rl.MaxOpenOrders)
	}
	return ""
}

// allocationCheck refuses a buy that would take the strategy past its
// allocation, as the order actor's risk check does (actors/orders/risk.go:
// firstRisk, used): its long position at the last price plus its open buy
// orders plus this order.
func (l *legRun) allocationCheck(o strategy.Order) string {
	if l.alloc <= 0 || o.Side != strategy.Buy {
		return ""
	}
	used := 0.0
	if l.pos > 0 {
		p := l.lastTrade
		if p == 0 {
			p = l.avg
		}
		used = l.pos * p
	}
	for _, i := range l.resting {
		if rec := &l.r.recs[i]; rec.side == strategy.Buy {
			used += (rec.qty - l.r.res.Orders[i].Executed) * rec.price
		}
	}
	if after := used + o.Quantity*l.priceOf(o); after > l.alloc {
		return fmt.Sprintf("risk check allocation: strategy %s would use %s of its allocation %s %s", l.name,
			ledger.FormatDec(after), ledger.FormatDec(l.alloc), l.quote)
	}
	return ""
}

// fundsCheck refuses an order the paper account cannot pay for, as the
// order actor's paperFunds does (actors/orders/paper.go, with paper fills
// on trades: a market buy priced at the last trade plus slippage): what
// the order needs against the asset's balance less what the account's open orders
// lock (buys: their remaining quantity at their price; sells: their
// remaining quantity).
func (l *legRun) fundsCheck(o strategy.Order) string {
	if l.r.bal == nil {
		return ""
	}
	need, asset := o.Quantity, l.base
	if o.Side == strategy.Buy {
		price := l.priceOf(o)
		if o.Type == strategy.Market { // paper on trades: the fill pays the slippage
			price *= 1 + l.r.slippage
		}
		need, asset = o.Quantity*price*(1+l.r.takerFee), l.quote
	}
	locked := 0.0
	for _, leg := range l.r.legs {
		for _, i := range leg.resting {
			rec := &l.r.recs[i]
			rest := rec.qty - l.r.res.Orders[i].Executed
			switch {
			case rec.side == strategy.Buy && leg.quote == asset:
				locked += rest * rec.price
			case rec.side == strategy.Sell && leg.base == asset:
				locked += rest
			}
		}
	}
	bal, ok := l.r.bal[asset]
	free := 0.0
	if ok {
		free = ledger.Round(bal - locked)
	}
	if need > free*(1+1e-9) {
		return fmt.Sprintf("insufficient paper balance: %s %s needed, %s free", ledger.FormatDec(need), asset, ledger.FormatDec(free))
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
	first := int32(len(res.Fills))
	for _, f := range fs {
		if len(res.Fills) == cap(res.Fills) {
			res.Fills = roomFor(res.Fills, l.r.expect(len(res.Fills)))
		}
		price, qty, fee := ledger.Round(f.Price), ledger.Round(f.Qty), ledger.Round(f.Fee)
		var realized float64
		l.pos, l.avg, realized = ledger.Apply(l.pos, l.avg, f.Side == matcher.SideSell, qty, price)
		l.realized += realized
		l.fees += fee
		quote := ledger.Round(f.Quote)
		if f.Side == matcher.SideSell {
			l.cash += quote - fee
		} else {
			l.cash -= quote + fee
		}
		if bal := l.r.bal; bal != nil { // as actors/orders' applyBalance
			if f.Side == matcher.SideSell {
				bal[l.base] -= qty
				bal[l.quote] += quote
			} else {
				bal[l.base] += qty
				bal[l.quote] -= quote
			}
			if l.quote != "" {
				bal[l.quote] -= fee
			}
		}
		res.Fills = append(res.Fills, Fill{Leg: l.idx, OrderID: f.OrderID, Symbol: f.Symbol, Side: f.Side,
			Price: price, Qty: qty, Fee: fee, Maker: f.Maker, TimeMs: f.TimeMs})
	}
	l.group = l.group[:0]
	for _, f := range fs {
		l.note(l.orderOf(f.OrderID))
	}
	for _, u := range us {
		i := l.orderOf(u.OrderID)
		l.applyUpdate(i, u)
		l.note(i)
	}
	pos := [4]float64{ledger.Round(l.pos), ledger.Round(l.avg), ledger.Round(l.realized), ledger.Round(l.fees)}
	for _, i := range l.group {
		o := &res.Orders[i]
		l.queue = append(l.queue, event{timeMs: now, kind: evOrder, status: toStatus(o.Status), order: i,
			filled: o.Executed, avg: ledger.Round(l.r.recs[i].avg)})
		for j := range fs {
			if f := &res.Fills[first+int32(j)]; f.OrderID == o.ID {
				l.queue = append(l.queue, event{timeMs: f.TimeMs, kind: evFill, order: i, fill: first + int32(j), pos: pos})
			}
		}
	}
}

// orderOf is the index in Result.Orders of one of the leg's order ids
// (NAME_REF).
func (l *legRun) orderOf(id string) int32 {
	ref, err := strconv.ParseUint(id[len(l.name)+1:], 10, 64)
	if err != nil || ref >= uint64(len(l.refIdx)) {
		panic(fmt.Sprintf("engine: the matcher gave an order id %q the leg never made", id))
	}
	return l.refIdx[ref]
}

// applyUpdate records an order's new state and keeps the resting list.
func (l *legRun) applyUpdate(i int32, u matcher.Update) {
	o := &l.r.res.Orders[i]
	o.Status, o.Executed, o.Quote, o.Reason = u.Status, ledger.Round(u.Executed), ledger.Round(u.Quote), u.Reason
	if u.Executed > 0 {
		l.r.recs[i].avg = u.Quote / u.Executed
	}
	rests := u.Status == matcher.StatusNew || u.Status == matcher.StatusPartiallyFilled
	at := -1
	for k, r := range l.resting {
		if r == i {
			at = k
			break
		}
	}
	switch {
	case rests && at < 0:
		l.resting = append(l.resting, i)
	case !rests && at >= 0:
		l.resting = append(l.resting[:at], l.resting[at+1:]...)
	}
}

// note adds an order to l.group once.
func (l *legRun) note(i int32) {
	for _, g := range l.group {
		if g == i {
			return
		}
	}
	l.group = append(l.group, i)
}

func sideOf(s string) strategy.Side {
	if s == matcher.SideSell {
		return strategy.Sell
	}
	return strategy.Buy
}

// roomFor makes room for one more element in s, growing a full one to
// at least n elements and at least twice its capacity (append grows a
// large slice by a quarter: five copies of a long result instead of two).
func roomFor[T any](s []T, n int) []T {
	if len(s) < cap(s) {
		return s
	}
	out := make([]T, len(s), max(256, 2*cap(s), n))
	copy(out, s)
	return out
}

// expect guesses how many elements a result slice holding n now will
// need by the end, from the share of the bars driven so far (a quarter
// more), once that share says something (1/64 of the bars); 0 before. It
// never guesses more than 128 times n: orders bunched at the start must
// not reserve a slice for the whole run.
func (r *runner) expect(n int) int {
	if r.done < r.total/64 || r.done == 0 {
		return 0
	}
	guess := float64(n) * float64(r.total) / float64(r.done) * 1.25
	return int(min(guess, float64(n)*128))
}
