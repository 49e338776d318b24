package reconcile

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// onOpenOrders stores the exchange's open orders and queries, by client
// order id, the journal's open orders not among them.
func (r *runner) onOpenOrders(res any) error {
	m, err := reply[*messages.OpenOrdersResponse](res)
	if err != nil {
		return err
	}
	r.in.ExchangeOpen = m.GetOrders()
	open := make(map[string]bool, len(m.GetOrders()))
	for _, o := range m.GetOrders() {
		open[o.GetClientOrderId()] = true
	}
	for _, j := range r.req.Journal {
		cid := j.GetClientOrderId()
		if open[cid] || cid == "" || j.GetStatus().Final() {
			continue
		}
		open[cid] = true // query each client id once
		r.queue = append(r.queue, &call{what: fmt.Sprintf("order %s client id %q", j.GetSymbol(), cid),
			msg: &messages.GetOrderRequest{Symbol: j.GetSymbol(), ClientOrderId: cid}, weight: weightGetOrder,
			answer: func(res any) error { return r.onQueried(cid, res) }})
	}
	return nil
}

func (r *runner) onAccount(res any) error {
	m, err := reply[*messages.AccountResponse](res)
	if err != nil {
		return err
	}
	r.in.Balances = m.GetBalances()
	return nil
}

// tradesCall asks for one page of sym's trades from trade id from; when
// from is 0, from time startMs on (0: the most recent page).
func (r *runner) tradesCall(sym string, from, startMs int64) *call {
	what := fmt.Sprintf("my trades %s from %d", sym, from)
	if from == 0 && startMs > 0 {
		what = fmt.Sprintf("my trades %s since %d ms", sym, startMs)
	}
	return &call{what: what,
		msg: &messages.MyTradesRequest{Symbol: sym, FromId: from, Limit: TradesPageLimit, StartTimeMs: startMs}, weight: weightMyTrades,
		answer: func(res any) error { return r.onTrades(sym, from, startMs, res) }}
}

// onTrades keeps a page of trades and asks for the next one after a full
// page. A page asked for from startMs on pages on by trade id.
func (r *runner) onTrades(sym string, from, startMs int64, res any) error {
	m, err := reply[*messages.MyTradesResponse](res)
	if err != nil {
		return err
	}
	page := m.GetTrades()
	if len(r.in.Trades)+len(page) > MaxTrades {
		return fmt.Errorf("more than %d trades to reconcile", MaxTrades)
	}
	last := from - 1
	for _, t := range page {
		if t.GetSymbol() == "" { // the symbol asked for
			t = proto.CloneOf(t)
			t.Symbol = sym
		}
		if t.GetSymbol() != sym || t.GetId() < from {
			return fmt.Errorf("trade %s %d answers a request for %s from %d", t.GetSymbol(), t.GetId(), sym, from)
		}
		last = max(last, t.GetId())
		r.in.Trades = append(r.in.Trades, t)
	}
	if len(page) < TradesPageLimit {
		return nil
	}
	if from == 0 && startMs == 0 {
		// The most recent page of a symbol nothing of ours traded: what is
		// older is not ours (and no trade id bounds it).
		return nil
	}
	r.queue = append(r.queue, r.tradesCall(sym, last+1, 0))
	return nil
}

// onQueried keeps the exchange's view of a journal order not open on the
// exchange; "does not exist" leaves it absent.
func (r *runner) onQueried(cid string, res any) error {
	o, err := orderReply(res)
	if err != nil || o == nil {
		return err
	}
	if o.GetClientOrderId() != cid {
		return fmt.Errorf("the answer is order %q", o.GetClientOrderId())
	}
	r.in.Queried[cid] = o
	return nil
}

// queueOrderQueries asks, by order id, for the orders of the trades that
// neither the journal nor the exchange's answers so far place.
func (r *runner) queueOrderQueries() {
	p := newPlanner(r.in)
	need := make(map[orderKey]bool)
	for _, t := range r.in.Trades {
		k := orderKey{t.GetSymbol(), t.GetOrderId()}
		if _, known := p.owners[k]; known || need[k] || t.GetId() <= r.in.LastTradeIDs[t.GetSymbol()] {
			continue
		}
		need[k] = true
	}
	keys := make([]orderKey, 0, len(need))
	for k := range need {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b orderKey) int {
		return cmp.Or(strings.Compare(a.symbol, b.symbol), cmp.Compare(a.id, b.id))
	})
	for _, k := range keys {
		r.queue = append(r.queue, &call{what: fmt.Sprintf("order %s id %d", k.symbol, k.id),
			msg: &messages.GetOrderRequest{Symbol: k.symbol, OrderId: k.id}, weight: weightGetOrder,
			answer: func(res any) error { return r.onTradeOrder(k, res) }})
	}
}

// onTradeOrder keeps the order of a trade the journal cannot place.
func (r *runner) onTradeOrder(k orderKey, res any) error {
	o, err := orderReply(res)
	if err != nil || o == nil {
		return err
	}
	if o.GetOrderId() != k.id || o.GetSymbol() != k.symbol {
		return fmt.Errorf("the answer is %s order %d", o.GetSymbol(), o.GetOrderId())
	}
	key := k.id
	if r.in.TradeOrders[key] != nil { // the same id on another symbol
		r.spareKey--
		key = r.spareKey
	}
	r.in.TradeOrders[key] = o
	return nil
}

// queueBackfill asks, by order id, for the trades of the journal orders
// whose recorded and new fills fall short of the exchange's executed
// quantity, on symbols with journal trades (the others' trades were all
// fetched): the journal recorded a later trade of the symbol before theirs.
func (r *runner) queueBackfill() {
	p := newPlanner(r.in)
	p.recordTrades()
	for _, j := range r.req.Journal {
		cid, sym := j.GetClientOrderId(), j.GetSymbol()
		v := p.views[cid]
		if _, traded := r.in.LastTradeIDs[sym]; !traded || v == nil || v.GetSymbol() != sym || v.GetOrderId() <= 0 {
			continue
		}
		got, known := p.fills(j)
		if exQty, ok := parseDec(orZero(v.GetExecutedQty())); !known || !ok || !got.LessThan(exQty) {
			continue
		}
		r.queue = append(r.queue, r.backfillCall(cid, sym, v.GetOrderId(), 1))
	}
}

// backfillCall asks for one page of order id's trades from trade id from.
func (r *runner) backfillCall(cid, sym string, id, from int64) *call {
	return &call{what: fmt.Sprintf("my trades %s order %d from %d", sym, id, from),
		msg:    &messages.MyTradesRequest{Symbol: sym, OrderId: id, FromId: from, Limit: TradesPageLimit},
		weight: weightOrderTrades,
		answer: func(res any) error { return r.onBackfill(cid, sym, id, from, res) }}
}

// onBackfill keeps the trades of a page the journal did not record (those
// also among Input.Trades are recorded once), and asks for the next page
// after a full one. A trade newer than the trades fetched is kept too: the
// view of its order, fetched later, counts it.
func (r *runner) onBackfill(cid, sym string, id, from int64, res any) error {
	m, err := reply[*messages.MyTradesResponse](res)
	if err != nil {
		return err
	}
	page := m.GetTrades()
	if len(r.in.Trades)+len(r.in.Backfill)+len(page) > MaxTrades {
		return fmt.Errorf("more than %d trades to reconcile", MaxTrades)
	}
	last := from - 1
	for _, t := range page {
		if t.GetSymbol() == "" {
			t = proto.CloneOf(t)
			t.Symbol = sym
		}
		if t.GetSymbol() != sym || t.GetOrderId() != id || t.GetId() < from {
			return fmt.Errorf("trade %s %d of order %d answers a request for order %d from %d", t.GetSymbol(), t.GetId(), t.GetOrderId(), id, from)
		}
		last = max(last, t.GetId())
		if !slices.Contains(r.req.RecordedTrades[cid], t.GetId()) {
			r.in.Backfill = append(r.in.Backfill, t)
		}
	}
	if len(page) == TradesPageLimit {
		r.queue = append(r.queue, r.backfillCall(cid, sym, id, last+1))
	}
	return nil
}

// orderReply reads a GetOrderRequest's answer: the order, nil when the
// exchange says it does not exist, or an error.
func orderReply(res any) (*messages.Order, error) {
	m, ok := res.(*messages.OrderResult)
	if !ok {
		return nil, fmt.Errorf("unexpected answer %T", res)
	}
	if e := m.GetError(); e != nil {
		if e.GetCode() == messages.ErrorCode_ERROR_CODE_NOT_FOUND || m.GetExchangeCode() == -2013 {
			return nil, nil
		}
		return nil, e
	}
	if m.GetOrder() == nil {
		return nil, fmt.Errorf("answer without an order")
	}
	return m.GetOrder(), nil
}

// reply checks an answer's type and error.
func reply[T messages.Responder](res any) (T, error) {
	m, ok := res.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("unexpected answer %T", res)
	}
	if e := m.GetError(); e != nil {
		return m, e
	}
	return m, nil
}
