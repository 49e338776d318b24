package exchangesim

import (
	"net/url"

	"github.com/shopspring/decimal"
)

// OCO order lists (rest-api.md "Order lists": "New Order list - OCO" POST
// /api/v3/orderList/oco, the deprecated "New OCO" POST /api/v3/order/oco, "Cancel Order
// list", "Query Order list", "Query all Order lists", "Query Open Order lists").
//
// An OCO is two orders of one side and quantity: an above leg and a below leg, each
// LIMIT_MAKER, STOP_LOSS(_LIMIT) or TAKE_PROFIT(_LIMIT). Neither may execute on arrival
// (-2010 "The relationship of the prices for the orders is not correct."). When one leg
// trades or triggers, the other expires; canceling one leg cancels the list. The funds
// are locked once: by the LIMIT_MAKER leg when there is one (the leg that can fill as a
// maker), else by the first leg for the larger of the two amounts.

const msgBadOCOPrices = "The relationship of the prices for the orders is not correct."

// orderList is one OCO. Guarded by Exchange.mu.
type orderList struct {
	id          int64
	clientID    string
	m           *market
	orders      []*order // below leg, above leg
	status      string   // listStatusType: EXEC_STARTED, ALL_DONE
	orderStatus string   // listOrderStatus: EXECUTING, ALL_DONE
	time        int64
}

// done marks the list ALL_DONE: a leg traded, triggered or was canceled.
func (l *orderList) done() { l.status, l.orderStatus = "ALL_DONE", "ALL_DONE" }

func orderListRoutes() map[string]*route {
	sig := func(w int, h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{signed: true, weight: weightConst(w), handle: h}
	}
	ord := func(h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{signed: true, order: true, weight: weightConst(1), handle: h}
	}
	return map[string]*route{
		"POST /api/v3/orderList/oco":       ord(func(e *Exchange, rq *request) (any, *apiError) { return e.handleNewOCO(rq, false) }),
		"POST /api/v3/order/oco":           ord(func(e *Exchange, rq *request) (any, *apiError) { return e.handleNewOCO(rq, true) }),
		"DELETE /api/v3/orderList":         ord((*Exchange).handleCancelOrderList),
		"GET /api/v3/orderList":            sig(4, (*Exchange).handleGetOrderList),
		"GET /api/v3/allOrderList":         sig(20, (*Exchange).handleAllOrderLists),
		"GET /api/v3/openOrderList":        sig(6, (*Exchange).handleOpenOrderLists),
		"POST /api/v3/order/cancelReplace": ord((*Exchange).handleCancelReplace),
	}
}

// ocoLegs maps the OCO params to the two legs' new-order params (below, above).
func ocoLegs(p url.Values, legacy bool) [2]url.Values {
	leg := func(typ, price, stop, tif, cid string) url.Values {
		v := url.Values{"symbol": {p.Get("symbol")}, "side": {p.Get("side")}, "quantity": {p.Get("quantity")}, "type": {typ}}
		for k, x := range map[string]string{"price": price, "stopPrice": stop, "timeInForce": tif, "newClientOrderId": cid} {
			if x != "" {
				v.Set(k, x)
			}
		}
		return v
	}
	if !legacy {
		return [2]url.Values{
			leg(p.Get("belowType"), p.Get("belowPrice"), p.Get("belowStopPrice"), p.Get("belowTimeInForce"), p.Get("belowClientOrderId")),
			leg(p.Get("aboveType"), p.Get("abovePrice"), p.Get("aboveStopPrice"), p.Get("aboveTimeInForce"), p.Get("aboveClientOrderId")),
		}
	}
	// legacy: a LIMIT_MAKER at price and a STOP_LOSS(_LIMIT) at stopPrice (stopLimitPrice)
	stopType := typeStopLoss
	if p.Get("stopLimitPrice") != "" {
		stopType = typeStopLossLimit
	}
	limit := leg(typeLimitMaker, p.Get("price"), "", "", p.Get("limitClientOrderId"))
	stop := leg(stopType, p.Get("stopLimitPrice"), p.Get("stopPrice"), p.Get("stopLimitTimeInForce"), p.Get("stopClientOrderId"))
	if p.Get("side") == sideSell {
		return [2]url.Values{stop, limit}
	}
	return [2]url.Values{limit, stop}
}

func (e *Exchange) handleNewOCO(rq *request, legacy bool) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	if rq.get("quantity") == "" {
		return nil, errMandatory("quantity")
	}
	if !legacy {
		for _, k := range []string{"aboveType", "belowType"} {
			if rq.get(k) == "" {
				return nil, errMandatory(k)
			}
		}
	}
	var legs [2]orderReq
	for i, p := range ocoLegs(rq.params, legacy) {
		t := p.Get("type")
		if t == typeMarket || t == typeLimit {
			return nil, errf(400, -1116, "Invalid orderType.")
		}
		if _, legs[i], _, ae = e.parseOrder(&request{r: rq.r, params: p, acct: rq.acct, now: rq.now}); ae != nil {
			return nil, ae
		}
	}
	if legs[0].clientID == legs[1].clientID {
		return nil, errf(400, -2010, msgDuplicate)
	}
	listCID := rq.get("listClientOrderId")
	if listCID == "" {
		listCID = newClientID()
	} else if !clientIDRE.MatchString(listCID) {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'listClientOrderId'.")
	}
	if ok, limit, per := e.checkOrderLimit(rq.acct, rq.now); !ok {
		ae := errf(429, -1015, "Too many new orders; current limit is %d orders per %s.", limit, per)
		ae.retryAfter = 10
		return nil, ae
	}
	l, ae := e.placeOCO(rq.acct, m, legs, listCID, rq.now)
	if ae != nil {
		return nil, ae
	}
	return l.json(rq.now, true), nil
}

// placeOCO checks that neither leg would execute now, locks the funds once and rests
// both legs. The caller holds Exchange.mu.
func (e *Exchange) placeOCO(a *account, m *market, legs [2]orderReq, listCID string, now int64) (*orderList, *apiError) {
	holder, need, maker := 0, decimal.Zero, false
	var src *balance
	for i, req := range legs {
		if prev := a.byClient[m.name][req.clientID]; prev != nil && prev.isOpen() {
			return nil, errf(400, -2010, msgDuplicate)
		}
		if req.typ == typeLimitMaker && len(m.walk(req)) > 0 ||
			isStopType(req.typ) && stopTriggered(req.typ, req.side, m.px, req.stopPrice.Div(m.tickSz).IntPart()) {
			return nil, errf(400, -2010, msgBadOCOPrices)
		}
		n, b := a.stopLock(m, req)
		switch {
		case maker: // the LIMIT_MAKER leg holds the lock
		case req.typ == typeLimitMaker:
			holder, need, src, maker = i, n, b, true
		case n.GreaterThan(need) || src == nil:
			holder, need, src = i, n, b
		}
	}
	if src.free.LessThan(need) {
		return nil, errf(400, -2010, msgInsufficient)
	}
	l := &orderList{id: e.nextList, clientID: listCID, m: m, status: "EXEC_STARTED", orderStatus: "EXECUTING", time: now}
	e.nextList++
	var evs []userEvent
	for i, req := range legs {
		o := e.register(a, m, req, req.qty, now)
		o.list = l
		l.orders = append(l.orders, o)
		if req.typ == typeLimitMaker {
			m.open = append(m.open, o)
		} else {
			o.working, o.workingTime = false, -1
			m.stops = append(m.stops, o)
		}
		if i == holder {
			o.locked = need
			src.free, src.locked = src.free.Sub(need), src.locked.Add(need)
		}
		evs = append(evs, userEvent{a, e.executionReport(o, "NEW", nil, now)})
	}
	a.lists = append(a.lists, l)
	a.updateTime = now
	e.pushUser(append(evs, userEvent{a, e.accountPosition(a, now, m.base, m.quote)}))
	return l, nil
}

// json is the list answer; reports adds the legs' order reports (place and cancel).
func (l *orderList) json(now int64, reports bool) map[string]any {
	os := make([]map[string]any, 0, len(l.orders))
	rs := make([]orderJSON, 0, len(l.orders))
	for _, o := range l.orders {
		os = append(os, map[string]any{"symbol": l.m.name, "orderId": o.id, "clientOrderId": o.clientID})
		r := o.result(now)
		r.WorkingTime = o.workingTime
		rs = append(rs, r)
	}
	out := map[string]any{"orderListId": l.id, "contingencyType": "OCO", "listStatusType": l.status,
		"listOrderStatus": l.orderStatus, "listClientOrderId": l.clientID, "transactionTime": l.time,
		"symbol": l.m.name, "orders": os}
	if reports {
		out["orderReports"] = rs
	}
	return out
}

// findList finds a list by orderListId or listClientOrderId (origClientOrderId on GET).
func (a *account) findList(id int64, okID bool, cid string) *orderList {
	for i := len(a.lists) - 1; i >= 0; i-- {
		if l := a.lists[i]; okID && l.id == id && (cid == "" || l.clientID == cid) || !okID && l.clientID == cid {
			return l
		}
	}
	return nil
}

func (e *Exchange) handleCancelOrderList(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	id, okID, ae := rq.optInt("orderListId")
	if ae != nil {
		return nil, ae
	}
	cid := rq.get("listClientOrderId")
	if !okID && cid == "" {
		return nil, errf(400, -1102, "Param 'listClientOrderId' or 'orderListId' must be sent, but both were empty/null!")
	}
	l := rq.acct.findList(id, okID, cid)
	if l == nil || l.m != m || l.orderStatus == "ALL_DONE" {
		return nil, errf(400, -2011, "Unknown order list sent.")
	}
	e.pushUser(e.cancel(l.orders[0], rq.now))
	return l.json(rq.now, true), nil
}

func (e *Exchange) handleGetOrderList(rq *request) (any, *apiError) {
	id, okID, ae := rq.optInt("orderListId")
	if ae != nil {
		return nil, ae
	}
	cid := rq.get("origClientOrderId")
	if !okID && cid == "" {
		return nil, errf(400, -1102, "Param 'origClientOrderId' or 'orderListId' must be sent, but both were empty/null!")
	}
	l := rq.acct.findList(id, okID, cid)
	if l == nil {
		return nil, errf(400, -2013, "Order list does not exist.")
	}
	return l.json(rq.now, false), nil
}

func (e *Exchange) handleAllOrderLists(rq *request) (any, *apiError) {
	ls, ae := window(rq, "fromId", rq.acct.lists, func(l *orderList) int64 { return l.id }, func(l *orderList) int64 { return l.time })
	if ae != nil {
		return nil, ae
	}
	out := make([]map[string]any, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.json(rq.now, false))
	}
	return out, nil
}

func (e *Exchange) handleOpenOrderLists(rq *request) (any, *apiError) {
	out := make([]map[string]any, 0)
	for _, l := range rq.acct.lists {
		if l.orderStatus == "EXECUTING" {
			out = append(out, l.json(rq.now, false))
		}
	}
	return out, nil
}
