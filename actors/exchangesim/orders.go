package exchangesim

import (
	"crypto/rand"
	"net/url"
	"regexp"

	"github.com/shopspring/decimal"
)

var clientIDRE = regexp.MustCompile(`^[.A-Za-z0-9_-]{1,36}$`)

// newClientID generates a Binance-style 22-character client order id.
func newClientID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 22)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// parseOrder validates a new-order request: mandatory params, enums, then filters.
func (e *Exchange) parseOrder(rq *request) (*market, orderReq, string, *apiError) {
	var req orderReq
	m, ae := e.market(rq)
	if ae != nil {
		return nil, req, "", ae
	}
	req.side, req.typ = rq.get("side"), rq.get("type")
	if req.side == "" {
		return nil, req, "", errMandatory("side")
	}
	if req.typ == "" {
		return nil, req, "", errMandatory("type")
	}
	if req.side != sideBuy && req.side != sideSell {
		return nil, req, "", errf(400, -1117, "Invalid side.")
	}
	switch req.typ {
	case typeLimit, typeMarket, typeLimitMaker, typeStopLoss, typeStopLossLimit, typeTakeProfit, typeTakeProfitLimit:
	default:
		return nil, req, "", errf(400, -1116, "Invalid orderType.")
	}
	if rq.get("trailingDelta") != "" || rq.get("icebergQty") != "" {
		return nil, req, "", errf(400, -1014, "Unsupported order combination.")
	}
	respType := rq.get("newOrderRespType")
	switch respType {
	case "":
		respType = "FULL"
	case "ACK", "RESULT", "FULL":
	default:
		return nil, req, "", errf(400, -1100, "Illegal characters found in parameter 'newOrderRespType'; legal range is 'ACK, RESULT, FULL'.")
	}
	req.clientID = rq.get("newClientOrderId")
	if req.clientID == "" {
		req.clientID = newClientID()
	} else if !clientIDRE.MatchString(req.clientID) {
		return nil, req, "", errf(400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
	}
	if ae := parseOrderParams(rq, &req); ae != nil {
		return nil, req, "", ae
	}
	if f := m.checkFilters(req); f != "" {
		return nil, req, "", errf(400, -1013, "Filter failure: %s", f)
	}
	return m, req, respType, nil
}

// parseOrderParams reads quantity, quoteOrderQty, price, stopPrice and timeInForce and
// checks which of them the order type needs or refuses.
func parseOrderParams(rq *request, req *orderReq) *apiError {
	var okQ, okQQ, okP, okS bool
	var ae *apiError
	if req.qty, okQ, ae = rq.optDec("quantity"); ae != nil {
		return ae
	}
	if req.quoteQty, okQQ, ae = rq.optDec("quoteOrderQty"); ae != nil {
		return ae
	}
	if req.price, okP, ae = rq.optDec("price"); ae != nil {
		return ae
	}
	if req.stopPrice, okS, ae = rq.optDec("stopPrice"); ae != nil {
		return ae
	}
	notRequired := func(name string) *apiError {
		return errf(400, -1106, "Parameter '%s' sent when not required.", name)
	}
	tif := rq.get("timeInForce")
	limitKind := req.typ == typeLimit || req.typ == typeStopLossLimit || req.typ == typeTakeProfitLimit
	switch {
	case req.typ == typeMarket:
		if okQ == okQQ || (okQ && !req.qty.IsPositive()) || (okQQ && !req.quoteQty.IsPositive()) {
			return errf(400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!")
		}
	case !okQ || !req.qty.IsPositive():
		return errMandatory("quantity")
	case okQQ:
		return notRequired("quoteOrderQty")
	}
	if limitKind || req.typ == typeLimitMaker {
		if !okP || !req.price.IsPositive() {
			return errMandatory("price")
		}
	} else if okP {
		return notRequired("price")
	}
	if isStopType(req.typ) {
		if !okS || !req.stopPrice.IsPositive() {
			return errMandatory("stopPrice")
		}
	} else if okS {
		return notRequired("stopPrice")
	}
	switch {
	case limitKind && tif == "":
		return errMandatory("timeInForce")
	case limitKind && tif != tifGTC && tif != tifIOC && tif != tifFOK:
		return errf(400, -1115, "Invalid timeInForce.")
	case limitKind:
		req.tif = tif
	case tif != "":
		return notRequired("timeInForce")
	case req.typ == typeLimitMaker:
		req.tif = tifGTC
	}
	return nil
}

// checkFilters returns the name of the first failing filter, or "".
func (m *market) checkFilters(req orderReq) string {
	badPrice := func(p decimal.Decimal) bool {
		return p.LessThan(m.minPrice) || p.GreaterThan(m.maxPrice) || !p.Mod(m.tickSz).IsZero()
	}
	if req.price.IsPositive() && badPrice(req.price) || req.stopPrice.IsPositive() && badPrice(req.stopPrice) {
		return "PRICE_FILTER"
	}
	market := req.typ == typeMarket || req.typ == typeStopLoss || req.typ == typeTakeProfit
	if req.qty.IsPositive() {
		q := req.qty
		if q.LessThan(m.minQty) || q.GreaterThan(m.maxQty) || !q.Mod(m.step).IsZero() {
			return "LOT_SIZE"
		}
		if market && q.GreaterThan(m.mktMaxQty) {
			return "MARKET_LOT_SIZE"
		}
	}
	var notional decimal.Decimal
	switch {
	case !market:
		notional = req.price.Mul(req.qty)
	case req.quoteQty.IsPositive():
		notional = req.quoteQty
	case req.stopPrice.IsPositive():
		notional = req.stopPrice.Mul(req.qty)
	default:
		notional = m.price(m.px).Mul(req.qty)
	}
	if notional.LessThan(m.minNotional) || (!market && notional.GreaterThan(m.maxNotional)) {
		return "NOTIONAL"
	}
	return ""
}

type fillJSON struct {
	Price           string `json:"price"`
	Qty             string `json:"qty"`
	Commission      string `json:"commission"`
	CommissionAsset string `json:"commissionAsset"`
	TradeID         int64  `json:"tradeId"`
}

// orderJSON is the FULL/RESULT answer of POST /api/v3/order and the cancel answer.
type orderJSON struct {
	Symbol              string      `json:"symbol"`
	OrigClientOrderID   string      `json:"origClientOrderId,omitempty"`
	OrderID             int64       `json:"orderId"`
	OrderListID         int64       `json:"orderListId"`
	ClientOrderID       string      `json:"clientOrderId"`
	TransactTime        int64       `json:"transactTime"`
	Price               string      `json:"price"`
	OrigQty             string      `json:"origQty"`
	ExecutedQty         string      `json:"executedQty"`
	OrigQuoteOrderQty   string      `json:"origQuoteOrderQty"`
	CummulativeQuoteQty string      `json:"cummulativeQuoteQty"`
	Status              string      `json:"status"`
	TimeInForce         string      `json:"timeInForce"`
	Type                string      `json:"type"`
	Side                string      `json:"side"`
	StopPrice           string      `json:"stopPrice,omitempty"`
	WorkingTime         int64       `json:"workingTime,omitempty"`
	STPMode             string      `json:"selfTradePreventionMode"`
	Fills               *[]fillJSON `json:"fills,omitempty"`
}

type ackJSON struct {
	Symbol        string `json:"symbol"`
	OrderID       int64  `json:"orderId"`
	OrderListID   int64  `json:"orderListId"`
	ClientOrderID string `json:"clientOrderId"`
	TransactTime  int64  `json:"transactTime"`
}

// queryOrderJSON is one element of GET order / openOrders / allOrders.
type queryOrderJSON struct {
	Symbol              string `json:"symbol"`
	OrderID             int64  `json:"orderId"`
	OrderListID         int64  `json:"orderListId"`
	ClientOrderID       string `json:"clientOrderId"`
	Price               string `json:"price"`
	OrigQty             string `json:"origQty"`
	ExecutedQty         string `json:"executedQty"`
	CummulativeQuoteQty string `json:"cummulativeQuoteQty"`
	Status              string `json:"status"`
	TimeInForce         string `json:"timeInForce"`
	Type                string `json:"type"`
	Side                string `json:"side"`
	StopPrice           string `json:"stopPrice"`
	IcebergQty          string `json:"icebergQty"`
	Time                int64  `json:"time"`
	UpdateTime          int64  `json:"updateTime"`
	IsWorking           bool   `json:"isWorking"`
	WorkingTime         int64  `json:"workingTime"`
	OrigQuoteOrderQty   string `json:"origQuoteOrderQty"`
	STPMode             string `json:"selfTradePreventionMode"`
}

func (o *order) tifOrGTC() string {
	if o.tif == "" {
		return tifGTC
	}
	return o.tif
}

func (o *order) result(now int64) orderJSON {
	r := orderJSON{Symbol: o.m.name, OrderID: o.id, OrderListID: o.listID(), ClientOrderID: o.clientID, TransactTime: now,
		Price: fmt8(o.price), OrigQty: fmt8(o.origQty), ExecutedQty: fmt8(o.executed), OrigQuoteOrderQty: fmt8(o.origQuote),
		CummulativeQuoteQty: fmt8(o.cumQuote), Status: o.status, TimeInForce: o.tifOrGTC(), Type: o.typ, Side: o.side,
		WorkingTime: o.workingTime, STPMode: "NONE"}
	if isStopType(o.typ) {
		r.StopPrice = fmt8(o.stopPrice)
	}
	return r
}

func (o *order) query() queryOrderJSON {
	return queryOrderJSON{Symbol: o.m.name, OrderID: o.id, OrderListID: o.listID(), ClientOrderID: o.clientID,
		Price: fmt8(o.price), OrigQty: fmt8(o.origQty), ExecutedQty: fmt8(o.executed), CummulativeQuoteQty: fmt8(o.cumQuote),
		Status: o.status, TimeInForce: o.tifOrGTC(), Type: o.typ, Side: o.side, StopPrice: fmt8(o.stopPrice),
		IcebergQty: fmt8(decimal.Zero), Time: o.time, UpdateTime: o.updateTime, IsWorking: o.working && o.typ != typeMarket,
		WorkingTime: o.workingTime, OrigQuoteOrderQty: fmt8(o.origQuote), STPMode: "NONE"}
}

func (e *Exchange) handleNewOrder(rq *request) (any, *apiError) {
	return e.placeOrder(rq.acct, rq.params, rq.now)
}

// placeOrder is the one way to place an order, whoever asks (REST POST order,
// cancelReplace, the WebSocket API's order.place): p holds Binance's new-order params
// (symbol, side, type, quantity, quoteOrderQty, price, stopPrice, timeInForce,
// newClientOrderId, newOrderRespType). It answers the ACK, RESULT or FULL object. The
// caller holds e.mu.
func (e *Exchange) placeOrder(a *account, p url.Values, now int64) (any, *apiError) {
	rq := &request{params: p, acct: a, now: now}
	m, req, respType, ae := e.parseOrder(rq)
	if ae != nil {
		return nil, ae
	}
	if ok, limit, per := e.checkOrderLimit(a, rq.now); !ok {
		ae := errf(429, -1015, "Too many new orders; current limit is %d orders per %s.", limit, per)
		ae.retryAfter = 10
		return nil, ae
	}
	o, ex, ae := e.place(a, m, req, rq.now)
	if ae != nil {
		return nil, ae
	}
	e.pushUser(ex.events)
	e.log.Debug("order placed", "symbol", m.name, "order_id", o.id, "client_order_id", o.clientID,
		"side", o.side, "type", o.typ, "status", o.status, "fills", len(ex.fills))
	switch respType {
	case "ACK":
		return ackJSON{m.name, o.id, -1, o.clientID, rq.now}, nil
	case "RESULT":
		return o.result(rq.now), nil
	}
	res := o.result(rq.now)
	fills := make([]fillJSON, 0, len(ex.fills))
	for _, t := range ex.fills {
		fills = append(fills, fillJSON{fmt8(t.price), fmt8(t.qty), fmt8(t.commission), t.commissionAsset, t.id})
	}
	res.Fills = &fills
	return res, nil
}

func (e *Exchange) handleTestOrder(rq *request) (any, *apiError) {
	if _, _, _, ae := e.parseOrder(rq); ae != nil {
		return nil, ae
	}
	return struct{}{}, nil
}

// lookup resolves orderId / origClientOrderId for GET and DELETE order.
func (e *Exchange) lookup(rq *request) (*market, *order, bool, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, nil, false, ae
	}
	id, okID, ae := rq.optInt("orderId")
	if ae != nil {
		return nil, nil, false, ae
	}
	cid := rq.get("origClientOrderId")
	if !okID && cid == "" {
		return nil, nil, false, errf(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	o := rq.acct.findOrder(m, id, cid)
	return m, o, o != nil, nil
}

func (e *Exchange) handleGetOrder(rq *request) (any, *apiError) {
	_, o, ok, ae := e.lookup(rq)
	if ae != nil {
		return nil, ae
	}
	if !ok {
		return nil, errf(400, -2013, "Order does not exist.")
	}
	return o.query(), nil
}

func (e *Exchange) handleCancelOrder(rq *request) (any, *apiError) {
	_, o, ok, ae := e.lookup(rq)
	if ae != nil {
		return nil, ae
	}
	if !ok || !o.isOpen() {
		return nil, errf(400, -2011, "Unknown order sent.")
	}
	e.pushUser(e.cancel(o, rq.now))
	return e.cancelJSON(rq, o), nil
}

func (e *Exchange) cancelJSON(rq *request, o *order) orderJSON {
	res := o.result(rq.now)
	res.OrigClientOrderID = o.clientID
	res.ClientOrderID = rq.get("newClientOrderId")
	if res.ClientOrderID == "" {
		res.ClientOrderID = newClientID()
	}
	res.WorkingTime = 0
	return res
}

func (e *Exchange) handleCancelOpenOrders(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	open := m.openOf(rq.acct)
	if len(open) == 0 {
		return nil, errf(400, -2011, "Unknown order sent.")
	}
	out := make([]orderJSON, 0, len(open))
	for _, o := range open {
		if o.isOpen() { // not yet canceled with its OCO sibling
			e.pushUser(e.cancel(o, rq.now))
			out = append(out, e.cancelJSON(rq, o))
		}
	}
	return out, nil
}

func (e *Exchange) handleOpenOrders(rq *request) (any, *apiError) {
	ms, _, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	out := []queryOrderJSON{}
	for _, m := range ms {
		for _, o := range m.openOf(rq.acct) {
			out = append(out, o.query())
		}
	}
	return out, nil
}

// openOf returns a's open orders on m (resting and waiting stops), by order id.
func (m *market) openOf(a *account) []*order {
	var out []*order
	for _, o := range a.orders[m.name] {
		if o.isOpen() {
			out = append(out, o)
		}
	}
	return out
}

// window applies orderId/fromId, startTime/endTime and limit (default 500, max 1000).
func window[T any](rq *request, idName string, items []T, id func(T) int64, ts func(T) int64) ([]T, *apiError) {
	from, okFrom, ae := rq.optInt(idName)
	if ae != nil {
		return nil, ae
	}
	start, _, ae := rq.optInt("startTime")
	if ae != nil {
		return nil, ae
	}
	end, _, ae := rq.optInt("endTime")
	if ae != nil {
		return nil, ae
	}
	limit, okL, ae := rq.optInt("limit")
	if ae != nil {
		return nil, ae
	}
	if !okL {
		limit = 500
	}
	if limit < 1 || limit > 1000 {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
	}
	var out []T
	for _, it := range items {
		if okFrom && id(it) < from || start > 0 && ts(it) < start || end > 0 && ts(it) > end {
			continue
		}
		out = append(out, it)
	}
	if len(out) > int(limit) {
		if okFrom || start > 0 {
			out = out[:limit]
		} else {
			out = out[len(out)-int(limit):]
		}
	}
	return out, nil
}

func (e *Exchange) handleAllOrders(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	os, ae := window(rq, "orderId", rq.acct.orders[m.name], func(o *order) int64 { return o.id }, func(o *order) int64 { return o.time })
	if ae != nil {
		return nil, ae
	}
	out := make([]queryOrderJSON, 0, len(os))
	for _, o := range os {
		out = append(out, o.query())
	}
	return out, nil
}

func (e *Exchange) handleMyTrades(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	ts := rq.acct.trades[m.name]
	if oid, ok, ae := rq.optInt("orderId"); ae != nil {
		return nil, ae
	} else if ok {
		var f []*trade
		for _, t := range ts {
			if t.orderID == oid {
				f = append(f, t)
			}
		}
		ts = f
	}
	ts, ae = window(rq, "fromId", ts, func(t *trade) int64 { return t.id }, func(t *trade) int64 { return t.time })
	if ae != nil {
		return nil, ae
	}
	out := make([]map[string]any, 0, len(ts))
	for _, t := range ts {
		out = append(out, map[string]any{"symbol": t.symbol, "id": t.id, "orderId": t.orderID, "orderListId": -1,
			"price": fmt8(t.price), "qty": fmt8(t.qty), "quoteQty": fmt8(t.quoteQty), "commission": fmt8(t.commission),
			"commissionAsset": t.commissionAsset, "time": t.time, "isBuyer": t.isBuyer, "isMaker": t.isMaker, "isBestMatch": true})
	}
	return out, nil
}

func (e *Exchange) handleAccount(rq *request) (any, *apiError) {
	a := rq.acct
	omit := rq.get("omitZeroBalances") == "true"
	bals := []map[string]string{}
	for _, asset := range sortedKeys(a.balances) {
		b := a.balances[asset]
		if omit && b.free.IsZero() && b.locked.IsZero() {
			continue
		}
		bals = append(bals, map[string]string{"asset": asset, "free": fmt8(b.free), "locked": fmt8(b.locked)})
	}
	bps := e.makerRate.Mul(decimal.NewFromInt(10000)).IntPart()
	tps := e.takerRate.Mul(decimal.NewFromInt(10000)).IntPart()
	return map[string]any{
		"makerCommission": bps, "takerCommission": tps, "buyerCommission": 0, "sellerCommission": 0,
		"commissionRates": map[string]string{"maker": fmt8(e.makerRate), "taker": fmt8(e.takerRate), "buyer": fmt8(decimal.Zero), "seller": fmt8(decimal.Zero)},
		"canTrade":        true, "canWithdraw": true, "canDeposit": true, "brokered": false, "requireSelfTradePrevention": false,
		"preventSor": false, "updateTime": a.updateTime, "accountType": "SPOT", "balances": bals,
		"permissions": []string{"SPOT"}, "uid": a.uid,
	}, nil
}

func (e *Exchange) handleRateLimitOrder(rq *request) (any, *apiError) {
	rl := e.rateLimits()
	rq.acct.rollOrderWindows(rq.now)
	return []map[string]any{
		{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": rl[1].Limit, "count": rq.acct.cnt10s},
		{"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": rl[2].Limit, "count": rq.acct.cntDay},
	}, nil
}
