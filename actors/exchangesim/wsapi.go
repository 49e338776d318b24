package exchangesim

import (
	"bytes"
	"encoding/json"

	"net/http"
	"net/url"

	"github.com/shopspring/decimal"
)

// serveWSAPI is the WebSocket API (/ws-api/v3). It implements the user data methods
// userDataStream.subscribe.signature and userDataStream.unsubscribe, plus ping and time.
func (e *Exchange) serveWSAPI(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wc := &wsConn{c: c, send: make(chan []byte, sendBuffer), quit: make(chan struct{}), subID: -1}
	wc.onText = func(msg []byte) { e.handleWSAPI(wc, msg) }
	e.hub.add(wc, nil)
	e.runConn(wc)
}

type wsAPIRequest struct {
	ID     json.RawMessage            `json:"id"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
}

func (e *Exchange) handleWSAPI(wc *wsConn, msg []byte) {
	var req wsAPIRequest
	if err := json.Unmarshal(msg, &req); err != nil || len(req.ID) == 0 {
		e.wsAPIReply(wc, json.RawMessage("null"), nil, errf(400, -1000, "Invalid JSON request."))
		return
	}
	switch req.Method {
	case "ping":
		e.wsAPIReply(wc, req.ID, struct{}{}, nil)
	case "time":
		e.wsAPIReply(wc, req.ID, map[string]int64{"serverTime": e.nowMs()}, nil)
	case "userDataStream.subscribe.signature":
		a, ae := e.wsAPIAuth(req.Params)
		if ae != nil {
			e.wsAPIReply(wc, req.ID, nil, ae)
			return
		}
		e.hub.mu.Lock()
		if wc.acct != nil {
			e.hub.mu.Unlock()
			e.wsAPIReply(wc, req.ID, nil, errf(400, -1000, "The connection already has a user data subscription."))
			return
		}
		wc.subID++
		wc.acct = a
		id := wc.subID
		e.hub.mu.Unlock()
		e.wsAPIReply(wc, req.ID, map[string]int{"subscriptionId": id}, nil)
	case "userDataStream.unsubscribe":
		e.hub.mu.Lock()
		wc.acct = nil
		e.hub.mu.Unlock()
		e.wsAPIReply(wc, req.ID, struct{}{}, nil)
	default:
		e.wsAPIReply(wc, req.ID, nil, errf(400, -1000, "Unknown method %q.", req.Method))
	}
}

func (e *Exchange) wsAPIReply(wc *wsConn, id json.RawMessage, result any, ae *apiError) {
	resp := map[string]any{"id": id}
	if ae != nil {
		resp["status"] = ae.status
		resp["error"] = map[string]any{"code": ae.code, "msg": ae.msg}
	} else {
		resp["status"] = 200
		resp["result"] = result
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return
	}
	wc.trySend(b)
}

// wsAPIAuth verifies a signed WebSocket API request as go-binance builds it: HMAC over all
// params except signature, sorted by key and URL-encoded (k=v&…), values printed as sent.
func (e *Exchange) wsAPIAuth(params map[string]json.RawMessage) (*account, *apiError) {
	vals := url.Values{}
	for k, raw := range params {
		vals.Set(k, rawScalar(raw))
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ae := e.lookupKey(vals.Get("apiKey"))
	if ae != nil {
		return nil, ae
	}
	sig := vals.Get("signature")
	if sig == "" {
		return nil, errMandatory("signature")
	}
	vals.Del("signature")
	if ae := checkTiming(vals.Get("timestamp"), vals.Get("recvWindow"), e.nowMs()); ae != nil {
		return nil, ae
	}
	if !verifyHMAC(a.secret, vals.Encode(), sig) {
		return nil, errf(400, -1022, "Signature for this request is not valid.")
	}
	return a, nil
}

// rawScalar renders a JSON scalar the way fmt's %v prints the Go value: strings unquoted,
// numbers as written.
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
