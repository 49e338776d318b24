package exchangesim

import (
	"net/url"
)

// handleCancelReplace: "Cancel an Existing Order and Send a New Order" (POST
// /api/v3/order/cancelReplace). The new order's params are checked first (a bad one is
// a plain error, nothing is canceled); then the cancel (cancelOrderId or
// cancelOrigClientOrderId; cancelNewClientOrderId names the cancel); with
// cancelReplaceMode STOP_ON_FAILURE a failed cancel stops there, with ALLOW_FAILURE the
// new order is tried anyway. Answers: 200 when both succeed; 409 -2021 "Order
// cancel-replace partially failed." when one did; 400 -2022 "Order cancel-replace
// failed." when neither did; the data field carries both results.
func (e *Exchange) handleCancelReplace(rq *request) (any, *apiError) {
	mode := rq.get("cancelReplaceMode")
	if mode == "" {
		return nil, errMandatory("cancelReplaceMode")
	}
	if mode != "STOP_ON_FAILURE" && mode != "ALLOW_FAILURE" {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'cancelReplaceMode'; legal range is 'STOP_ON_FAILURE, ALLOW_FAILURE'.")
	}
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	id, okID, ae := rq.optInt("cancelOrderId")
	if ae != nil {
		return nil, ae
	}
	cid := rq.get("cancelOrigClientOrderId")
	if !okID && cid == "" {
		return nil, errf(400, -1102, "Param 'cancelOrigClientOrderId' or 'cancelOrderId' must be sent, but both were empty/null!")
	}
	if _, _, _, ae := e.parseOrder(rq); ae != nil {
		return nil, ae
	}
	if ok, limit, per := e.checkOrderLimit(rq.acct, rq.now); !ok {
		ae := errf(429, -1015, "Too many new orders; current limit is %d orders per %s.", limit, per)
		ae.retryAfter = 10
		return nil, ae
	}
	data := map[string]any{"cancelResult": "SUCCESS", "newOrderResult": "NOT_ATTEMPTED", "newOrderResponse": nil}
	o := rq.acct.findOrder(m, id, cid)
	cancelOK := o != nil && o.isOpen()
	if cancelOK {
		e.pushUser(e.cancel(o, rq.now))
		data["cancelResponse"] = e.cancelJSON(&request{params: url.Values{"newClientOrderId": {rq.get("cancelNewClientOrderId")}}, now: rq.now}, o)
	} else {
		data["cancelResult"] = "FAILURE"
		data["cancelResponse"] = map[string]any{"code": -2011, "msg": "Unknown order sent."}
		if mode == "STOP_ON_FAILURE" {
			return nil, &apiError{status: 400, code: -2022, msg: "Order cancel-replace failed.", data: data}
		}
	}
	res, nae := e.placeOrder(rq.acct, rq.params, rq.now)
	if nae != nil {
		data["newOrderResult"], data["newOrderResponse"] = "FAILURE", map[string]any{"code": nae.code, "msg": nae.msg}
		if cancelOK {
			return nil, &apiError{status: 409, code: -2021, msg: "Order cancel-replace partially failed.", data: data}
		}
		return nil, &apiError{status: 400, code: -2022, msg: "Order cancel-replace failed.", data: data}
	}
	data["newOrderResult"], data["newOrderResponse"] = "SUCCESS", res
	if !cancelOK {
		return nil, &apiError{status: 409, code: -2021, msg: "Order cancel-replace partially failed.", data: data}
	}
	return data, nil
}
