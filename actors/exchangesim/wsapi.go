package exchangesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/shopspring/decimal"
)

// The WebSocket API (/ws-api/v3, Binance "WebSocket API"): requests
// {"id","method","params"} answered {"id","status","result"|"error","rateLimits"}.
// Market data, trading and account methods run the handler of the REST route that
// implements them (callRoute), so both APIs share one implementation, one weight budget
// per IP and one set of ORDERS counts per account.

// wsAPIRoutes maps WebSocket API methods to the REST route with the same parameters and
// answer. A method whose route the exchange lacks is answered as unknown.
var wsAPIRoutes = map[string]string{
	"exchangeInfo":              "GET /api/v3/exchangeInfo",
	"depth":                     "GET /api/v3/depth",
	"klines":                    "GET /api/v3/klines",
	"uiKlines":                  "GET /api/v3/uiKlines",
	"avgPrice":                  "GET /api/v3/avgPrice",
	"ticker":                    "GET /api/v3/ticker",
	"ticker.24hr":               "GET /api/v3/ticker/24hr",
	"ticker.price":              "GET /api/v3/ticker/price",
	"ticker.book":               "GET /api/v3/ticker/bookTicker",
	"trades.recent":             "GET /api/v3/trades",
	"trades.historical":         "GET /api/v3/historicalTrades",
	"trades.aggregate":          "GET /api/v3/aggTrades",
	"order.place":               "POST /api/v3/order",
	"order.test":                "POST /api/v3/order/test",
	"order.status":              "GET /api/v3/order",
	"order.cancel":              "DELETE /api/v3/order",
	"order.cancelReplace":       "POST /api/v3/order/cancelReplace",
	"openOrders.status":         "GET /api/v3/openOrders",
	"openOrders.cancelAll":      "DELETE /api/v3/openOrders",
	"orderList.place.oco":       "POST /api/v3/orderList/oco",
	"orderList.status":          "GET /api/v3/orderList",
	"orderList.cancel":          "DELETE /api/v3/orderList",
	"openOrderLists.status":     "GET /api/v3/openOrderList",
	"allOrderLists":             "GET /api/v3/allOrderList",
	"allOrders":                 "GET /api/v3/allOrders",
	"myTrades":                  "GET /api/v3/myTrades",
	"account.status":            "GET /api/v3/account",
	"account.rateLimits.orders": "GET /api/v3/rateLimit/order",
}

// wsAPIConn is what the WebSocket API knows of its connection.
type wsAPIConn struct {
	ip         string
	rateLimits bool // answers carry rateLimits (URL returnRateLimits=false turns them off)
}

// serveWSAPI is the WebSocket API endpoint.
func (e *Exchange) serveWSAPI(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	info := wsAPIConn{ip: clientIP(r), rateLimits: r.URL.Query().Get("returnRateLimits") != "false"}
	wc := &wsConn{c: c, send: make(chan []byte, sendBuffer), quit: make(chan struct{}), subID: -1}
	wc.onText = func(msg []byte) { e.handleWSAPIConn(wc, info, msg) }
	e.hub.add(wc, nil)
	e.runConn(wc)
}

type wsAPIRequest struct {
	ID     json.RawMessage            `json:"id"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
}

// wsAPIAnswer is one response: result or error, and the rate limits to report.
type wsAPIAnswer struct {
	result any
	err    *apiError
	limits []rateLimitCount
}

// handleWSAPI answers one request from a client on 127.0.0.1 with rate limits reported.
func (e *Exchange) handleWSAPI(wc *wsConn, msg []byte) {
	e.handleWSAPIConn(wc, wsAPIConn{ip: "127.0.0.1", rateLimits: true}, msg)
}

// handleWSAPIConn answers one request. It runs on the connection's reader goroutine.
func (e *Exchange) handleWSAPIConn(wc *wsConn, info wsAPIConn, msg []byte) {
	var req wsAPIRequest
	if err := json.Unmarshal(msg, &req); err != nil || len(req.ID) == 0 {
		e.wsAPIReply(wc, json.RawMessage("null"), wsAPIAnswer{err: errf(400, -1000, "Invalid JSON request.")})
		return
	}
	withLimits := info.rateLimits
	if v, ok := req.Params["returnRateLimits"]; ok { // signed like any param; not passed to REST
		withLimits = rawScalar(v) != "false"
	}
	var ans wsAPIAnswer
	switch req.Method {
	case "ping":
		ans = e.wsAPIPlain(info.ip, 1, struct{}{})
	case "time":
		ans = e.wsAPIPlain(info.ip, 1, map[string]int64{"serverTime": e.nowMs()})
	case "userDataStream.subscribe.signature":
		ans = e.wsAPISubscribe(wc, info.ip, req.Params)
	case "userDataStream.unsubscribe":
		e.hub.mu.Lock()
		wc.acct = nil
		e.hub.mu.Unlock()
		ans = e.wsAPIPlain(info.ip, 0, struct{}{})
	default:
		key, ok := wsAPIRoutes[req.Method]
		if !ok || e.routes[key] == nil {
			ans = wsAPIAnswer{err: errf(400, -1000, "Unknown method %q.", req.Method)}
			break
		}
		ans = e.callRoute(key, info.ip, req.Params)
	}
	if !withLimits {
		ans.limits = nil
	}
	e.wsAPIReply(wc, req.ID, ans)
}

// wsAPIPlain charges weight w and answers result.
func (e *Exchange) wsAPIPlain(ip string, w int, result any) wsAPIAnswer {
	now := e.nowMs()
	used, ae := e.limiter.charge(ip, w, now)
	return wsAPIAnswer{result: result, err: ae, limits: e.weightLimit(used)}
}

// wsAPISubscribe is userDataStream.subscribe.signature: it makes wc a subscriber of the
// account's user data events.
func (e *Exchange) wsAPISubscribe(wc *wsConn, ip string, params map[string]json.RawMessage) wsAPIAnswer {
	now := e.nowMs()
	used, ae := e.limiter.charge(ip, 2, now)
	if ae != nil {
		return wsAPIAnswer{err: ae, limits: e.weightLimit(used)}
	}
	e.mu.Lock()
	a, ae := e.wsAPIAuth(params, now)
	e.mu.Unlock()
	if ae != nil {
		return wsAPIAnswer{err: ae, limits: e.weightLimit(used)}
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if wc.acct != nil {
		return wsAPIAnswer{err: errf(400, -1000, "The connection already has a user data subscription."), limits: e.weightLimit(used)}
	}
	wc.subID++
	wc.acct = a
	return wsAPIAnswer{result: map[string]int{"subscriptionId": wc.subID}, limits: e.weightLimit(used)}
}

// callRoute runs the REST route key with params as its parameter set, exactly as
// serveAPI does for an HTTP request: weight, then authentication (the WebSocket API
// signature form), then the route's handler under e.mu.
func (e *Exchange) callRoute(key, ip string, params map[string]json.RawMessage) wsAPIAnswer {
	rt := e.routes[key]
	vals := url.Values{}
	for k, raw := range params {
		vals.Set(k, rawScalar(raw))
	}
	apiKey := vals.Get("apiKey")
	now := e.nowMs()
	used, ae := e.limiter.charge(ip, rt.weight(vals), now)
	if ae != nil {
		return wsAPIAnswer{err: ae, limits: e.weightLimit(used)}
	}
	method, path, _ := strings.Cut(key, " ")
	hr := &http.Request{Method: method, URL: &url.URL{Path: path}, Header: http.Header{}, RemoteAddr: ip + ":0"}
	if apiKey != "" {
		hr.Header.Set("X-MBX-APIKEY", apiKey)
	}
	rq := &request{r: hr}
	var res any
	var orders []rateLimitCount
	e.mu.Lock()
	rq.now = e.nowMs()
	if rt.signed {
		rq.acct, ae = e.wsAPIAuth(params, rq.now)
	}
	vals.Del("apiKey")
	vals.Del("signature")
	vals.Del("returnRateLimits")
	rq.params = vals
	if ae == nil {
		res, ae = rt.handle(e, rq)
	}
	if rq.acct != nil && rt.order && method == http.MethodPost { // as REST's X-MBX-ORDER-COUNT headers
		orders = e.orderLimits(rq.acct.cnt10s, rq.acct.cntDay)
	}
	e.mu.Unlock()
	if ae == nil && rt.order { // a successful order or cancel costs no weight, as on REST
		used = e.limiter.refund(ip, rt.weight(vals), rq.now)
	}
	return wsAPIAnswer{result: res, err: ae, limits: append(orders, e.weightLimit(used)...)}
}

// weightLimit is the REQUEST_WEIGHT entry of rateLimits with used as its count.
func (e *Exchange) weightLimit(used int) []rateLimitCount {
	for _, rl := range e.rateLimits() {
		if rl.RateLimitType == "REQUEST_WEIGHT" {
			return []rateLimitCount{limitJSON(rl, used)}
		}
	}
	return nil
}

// orderLimits are the ORDERS entries of rateLimits with the account's counts.
func (e *Exchange) orderLimits(count10s, countDay int) []rateLimitCount {
	var out []rateLimitCount
	for _, rl := range e.rateLimits() {
		if rl.RateLimitType != "ORDERS" {
			continue
		}
		n := countDay
		if rl.Interval == "SECOND" {
			n = count10s
		}
		out = append(out, limitJSON(rl, n))
	}
	return out
}

// rateLimitCount is one entry of a WebSocket API answer's rateLimits.
type rateLimitCount struct {
	rateLimitJSON
	Count int `json:"count"`
}

func limitJSON(rl rateLimitJSON, count int) rateLimitCount { return rateLimitCount{rl, count} }

// wsAPIEnvelope is a WebSocket API response, fields in Binance's order.
type wsAPIEnvelope struct {
	ID         json.RawMessage  `json:"id"`
	Status     int              `json:"status"`
	Result     any              `json:"result,omitempty"`
	Error      *wsAPIError      `json:"error,omitempty"`
	RateLimits []rateLimitCount `json:"rateLimits,omitempty"`
}

type wsAPIError struct {
	Code int              `json:"code"`
	Msg  string           `json:"msg"`
	Data map[string]int64 `json:"data,omitempty"` // serverTime and retryAfter (ms) of a 429/418
}

func (e *Exchange) wsAPIReply(wc *wsConn, id json.RawMessage, ans wsAPIAnswer) {
	resp := wsAPIEnvelope{ID: id, Status: 200, Result: ans.result, RateLimits: ans.limits}
	if ae := ans.err; ae != nil {
		resp.Status, resp.Result = ae.status, nil
		resp.Error = &wsAPIError{Code: ae.code, Msg: ae.msg}
		if ae.retryAfter > 0 {
			now := e.nowMs()
			resp.Error.Data = map[string]int64{"serverTime": now, "retryAfter": now + int64(ae.retryAfter)*1000}
		}
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	wc.trySend(b)
}

// wsAPIAuth verifies a signed WebSocket API request: HMAC-SHA256 over every param except
// signature, sorted by name and joined as k=v&…. Values are accepted raw (ccxt, Binance's
// examples) or percent-encoded (go-binance, @binance/connector). The caller holds e.mu.
func (e *Exchange) wsAPIAuth(params map[string]json.RawMessage, now int64) (*account, *apiError) {
	vals := url.Values{}
	for k, raw := range params {
		vals.Set(k, rawScalar(raw))
	}
	a, ae := e.lookupKey(vals.Get("apiKey"))
	if ae != nil {
		return nil, ae
	}
	sig := vals.Get("signature")
	if sig == "" {
		return nil, errMandatory("signature")
	}
	vals.Del("signature")
	if ae := checkTiming(vals.Get("timestamp"), vals.Get("recvWindow"), now); ae != nil {
		return nil, ae
	}
	for _, payload := range signaturePayloads(vals) {
		if verifyHMAC(a.secret, payload, sig) {
			return a, nil
		}
	}
	return nil, errf(400, -1022, "Signature for this request is not valid.")
}

// signaturePayloads returns the forms a client may have signed: raw values, Go's
// url.Values.Encode, and JavaScript's encodeURIComponent.
func signaturePayloads(vals url.Values) []string {
	keys := sortedKeys(vals)
	var raw, js strings.Builder
	for i, k := range keys {
		if i > 0 {
			raw.WriteByte('&')
			js.WriteByte('&')
		}
		v := vals.Get(k)
		raw.WriteString(k + "=" + v)
		js.WriteString(k + "=" + encodeURIComponent(v))
	}
	return []string{raw.String(), vals.Encode(), js.String()}
}

// encodeURIComponent escapes s as JavaScript's encodeURIComponent does.
func encodeURIComponent(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	for _, c := range []string{"!", "'", "(", ")", "*"} {
		e = strings.ReplaceAll(e, url.QueryEscape(c), c)
	}
	return e
}

// rawScalar renders a JSON param as a REST parameter value: strings unquoted, numbers,
// booleans and arrays (e.g. symbols) as written.
func rawScalar(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// pushUser delivers user data events. The caller holds e.mu.
func (e *Exchange) pushUser(evs []userEvent) {
	for _, ev := range evs {
		e.hub.publishUser(ev.acct, ev.body)
	}
}

// executionReport builds the user data event for an order state change; t is the fill of
// a TRADE execution, nil otherwise.
func (e *Exchange) executionReport(o *order, execType string, t *trade, now int64) map[string]any {
	lastQty, lastPx, lastQuote, comm := decimal.Zero, decimal.Zero, decimal.Zero, decimal.Zero
	var commAsset any
	tradeID := int64(-1)
	maker := false
	if t != nil {
		lastQty, lastPx, lastQuote, comm, commAsset, tradeID, maker = t.qty, t.price, t.quoteQty, t.commission, t.commissionAsset, t.id, t.isMaker
	}
	orig := ""
	if execType == "CANCELED" {
		orig = o.clientID
	}
	return map[string]any{
		"e": "executionReport", "E": now, "s": o.m.name, "c": o.clientID, "S": o.side, "o": o.typ,
		"f": o.tifOrGTC(), "q": fmt8(o.origQty), "p": fmt8(o.price), "P": fmt8(decimal.Zero), "F": fmt8(decimal.Zero),
		"g": -1, "C": orig, "x": execType, "X": o.status, "r": "NONE", "i": o.id, "l": fmt8(lastQty),
		"z": fmt8(o.executed), "L": fmt8(lastPx), "n": fmt8(comm), "N": commAsset, "T": now, "t": tradeID,
		"I": 0, "w": o.isOpen() && o.typ != typeMarket, "m": maker, "M": false, "O": o.time,
		"Z": fmt8(o.cumQuote), "Y": fmt8(lastQuote), "Q": fmt8(o.origQuote), "W": o.time, "V": "NONE",
	}
}

// accountPosition builds an outboundAccountPosition event for the given assets.
func (e *Exchange) accountPosition(a *account, now int64, assets ...string) map[string]any {
	bs := make([]map[string]string, 0, len(assets))
	for _, asset := range assets {
		b := a.bal(asset)
		bs = append(bs, map[string]string{"a": asset, "f": fmt8(b.free), "l": fmt8(b.locked)})
	}
	return map[string]any{"e": "outboundAccountPosition", "E": now, "u": a.updateTime, "B": bs}
}
