package orders

import (
	"fmt"
	"math"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Risk limits, as RiskEvent.Limit and in the risk.LIMIT topics.
const (
	limitNotional   = "max_order_notional"
	limitPosition   = "max_position"
	limitOpenOrders = "max_open_orders"
	limitPriceBand  = "price_band"
	limitDailyLoss  = "daily_loss"
	limitOrderRate  = "order_rate"
	limitAllocation = "allocation"
)

// riskCheck runs every check of [trading.risk] and the strategy's book on
// a placement before anything is journaled. A refusal names the limit and
// is published as risk.LIMIT.
func (a *orderActor) riskCheck(ctx actor.Context, r *messages.PlaceTradeOrderRequest) *messages.Error {
	limit, msg := a.firstRisk(r)
	if limit == "" {
		return nil
	}
	a.publish(ctx, "risk."+limit, &messages.RiskEvent{Strategy: r.GetStrategy(), Symbol: r.GetSymbol(), Limit: limit, Message: msg})
	return precondition("risk check %s: %s", limit, msg)
}

// firstRisk returns the first limit r breaks and why ("" when none).
func (a *orderActor) firstRisk(r *messages.PlaceTradeOrderRequest) (string, string) {
	rc := a.cfg.Risk
	strategy, symbol := r.GetStrategy(), r.GetSymbol()
	qty := dec(r.GetQuantity())
	last := a.books.last[symbol]
	price := dec(r.GetPrice())
	if price == 0 {
		price = last
	}
	notional := qty * price
	if rc.OrderRate > 0 && a.rateOf(strategy, a.nowMs()) >= rc.OrderRate {
		return limitOrderRate, fmt.Sprintf("strategy %s sent %g orders in the last second (limit %g/s)", strategy, rc.OrderRate, rc.OrderRate)
	}
	if price == 0 && (rc.MaxOrderNotional > 0 || rc.MaxPositionNotional > 0) {
		return limitNotional, fmt.Sprintf("no last price for %s to value a market order; subscribe its market data first", symbol)
	}
	if rc.MaxOrderNotional > 0 && notional > rc.MaxOrderNotional {
		return limitNotional, fmt.Sprintf("order notional %s exceeds %s", fmtDec(notional), fmtDec(rc.MaxOrderNotional))
	}
	if rc.PriceBand > 0 && r.GetType() != "MARKET" && last > 0 && math.Abs(price-last)/last > rc.PriceBand {
		return limitPriceBand, fmt.Sprintf("price %s is more than %g%% from the last price %s", r.GetPrice(), rc.PriceBand*100, fmtDec(last))
	}
	pos := a.books.get(strategy, symbol)
	after := pos.qty + qty
	if r.GetSide() == "SELL" {
		after = pos.qty - qty
	}
	if rc.MaxPositionNotional > 0 && math.Abs(after) > math.Abs(pos.qty) && math.Abs(after)*price > rc.MaxPositionNotional {
		return limitPosition, fmt.Sprintf("position of %s in %s would be %s (notional %s, limit %s)", strategy, symbol,
			fmtDec(after), fmtDec(math.Abs(after)*price), fmtDec(rc.MaxPositionNotional))
	}
	open := a.openOrders(strategy)
	if rc.MaxOpenOrders > 0 && open >= rc.MaxOpenOrders {
		return limitOpenOrders, fmt.Sprintf("strategy %s has %d open orders (limit %d)", strategy, open, rc.MaxOpenOrders)
	}
	if b, ok := a.cfg.Books[strategy]; ok && b.Allocation > 0 && r.GetSide() == "BUY" {
		if used := a.used(strategy); used+notional > b.Allocation {
			return limitAllocation, fmt.Sprintf("strategy %s would use %s of its allocation %s %s", strategy,
				fmtDec(used+notional), fmtDec(b.Allocation), b.QuoteAsset)
		}
	}
	return "", ""
}

// openOrders counts a strategy's open orders.
func (a *orderActor) openOrders(strategy string) int {
	n := 0
	for _, t := range a.orders {
		if t.o.GetStrategy() == strategy && isOpen(t.o.GetStatus()) {
			n++
		}
	}
	return n
}

// used is a strategy's capital in use: the notional of its long positions
// (at the last price, else the average price) plus its open buy orders.
func (a *orderActor) used(strategy string) float64 {
	u := 0.0
	for sym, p := range a.books.pos[strategy] {
		price := a.books.last[sym]
		if price == 0 {
			price = p.avg
		}
		if p.qty > 0 {
			u += p.qty * price
		}
	}
	for _, t := range a.orders {
		o := t.o
		if o.GetStrategy() != strategy || o.GetSide() != "BUY" || !isOpen(o.GetStatus()) {
			continue
		}
		price := dec(o.GetPrice())
		if price == 0 {
			price = a.books.last[o.GetSymbol()]
		}
		u += (dec(o.GetQuantity()) - dec(o.GetExecutedQty())) * price
	}
	return u
}

// rateOf counts a strategy's orders in the second before nowMs.
func (a *orderActor) rateOf(strategy string, nowMs int64) float64 {
	times := a.rate[strategy]
	i := 0
	for i < len(times) && times[i] <= nowMs-1000 {
		i++
	}
	a.rate[strategy] = times[i:]
	return float64(len(times) - i)
}

// noteOrder records an admitted order for the order rate.
func (a *orderActor) noteOrder(nowMs int64, strategy string) {
	if a.cfg.Risk.OrderRate > 0 {
		a.rate[strategy] = append(a.rate[strategy], nowMs)
	}
}

// checkDailyLoss halts a strategy (or the account) whose loss since 00:00
// UTC exceeds its limit, with an alert. Persisted with the next write.
func (a *orderActor) checkDailyLoss(strategy, symbol string) {
	now := a.nowMs()
	if b, ok := a.cfg.Books[strategy]; ok && b.DailyLossLimit > 0 && a.gate.strategies[strategy] == "" {
		if d := a.books.totals(strategy, now).daily; -d > b.DailyLossLimit {
			a.haltStrategy(strategy, symbol, fmt.Sprintf("daily loss %s exceeds its limit %s", fmtDec(-d), fmtDec(b.DailyLossLimit)))
		}
	}
	if l := a.cfg.Risk.DailyLossLimit; l > 0 && a.gate.manual == "" {
		if d := a.books.totals("", now).daily; -d > l {
			a.gate.manual = fmt.Sprintf("account daily loss %s exceeds its limit %s", fmtDec(-d), fmtDec(l))
			a.settle()
			a.riskHalts = append(a.riskHalts, &messages.RiskEvent{Limit: limitDailyLoss, Message: a.gate.manual, Halted: true})
		}
	}
}

// haltStrategy halts one strategy's new orders.
func (a *orderActor) haltStrategy(strategy, symbol, why string) {
	if a.gate.strategies == nil {
		a.gate.strategies = map[string]string{}
	}
	a.gate.strategies[strategy] = why
	a.log.Warn("strategy halted", "strategy", strategy, "reason", why)
	a.riskHalts = append(a.riskHalts, &messages.RiskEvent{Strategy: strategy, Symbol: symbol, Limit: limitDailyLoss, Message: why, Halted: true})
}

// flushRiskHalts persists and announces the halts the last fills caused.
func (a *orderActor) flushRiskHalts(ctx actor.Context) {
	if len(a.riskHalts) == 0 {
		return
	}
	for _, ev := range a.riskHalts {
		a.publish(ctx, "risk."+ev.GetLimit(), ev)
		a.publish(ctx, "alert.risk."+ev.GetLimit(), ev)
	}
	a.riskHalts = nil
	a.write(a.haltOps(), func(actor.Context, error) {})
}

// checkLossAt checks the daily loss limits of the strategies holding
// symbol after its price moved (the unrealised part of the loss).
func (a *orderActor) checkLossAt(ctx actor.Context, symbol string) {
	for name, m := range a.books.pos {
		if p := m[symbol]; p != nil && p.qty != 0 {
			a.checkDailyLoss(name, symbol)
		}
	}
	a.flushRiskHalts(ctx)
}
