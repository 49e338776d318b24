package exchangesim

import (
	"github.com/shopspring/decimal"
)

// The /sapi routes that spot clients call on start (ccxt's loadMarkets and
// fetchCurrencies with keys set) or in normal use. The simulator has no wallet, margin
// or earn features: those answer empty but well-formed, as Binance does for an account
// that uses none of them. Binance counts /sapi weight apart from /api ("SAPI" limits of
// 12000 per minute per IP and 180000 per minute per UID), so these routes charge nothing
// to the REQUEST_WEIGHT of the /api routes.
func sapiRoutes() map[string]*route {
	free := func(signed bool, h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{signed: signed, weight: weightConst(0), handle: h}
	}
	empty := func(*Exchange, *request) (any, *apiError) { return []any{}, nil }
	return map[string]*route{
		"GET /sapi/v1/system/status":            free(false, (*Exchange).handleSystemStatus),
		"GET /sapi/v1/capital/config/getall":    free(true, (*Exchange).handleCoins),
		"GET /sapi/v1/asset/tradeFee":           free(true, (*Exchange).handleTradeFee),
		"GET /sapi/v1/asset/assetDetail":        free(true, (*Exchange).handleAssetDetail),
		"GET /sapi/v1/account/status":           free(true, func(*Exchange, *request) (any, *apiError) { return map[string]string{"data": "Normal"}, nil }),
		"GET /sapi/v1/account/apiTradingStatus": free(true, (*Exchange).handleAPITradingStatus),
		"GET /sapi/v1/margin/allPairs":          free(true, empty),
		"GET /sapi/v1/margin/isolated/allPairs": free(true, empty),
		"GET /sapi/v1/margin/allAssets":         free(true, empty),
		"GET /sapi/v1/capital/deposit/hisrec":   free(true, empty),
		"GET /sapi/v1/capital/withdraw/history": free(true, empty),
		"GET /sapi/v1/asset/assetDividend":      free(true, func(*Exchange, *request) (any, *apiError) { return map[string]any{"rows": []any{}, "total": 0}, nil }),
	}
}

// handleSystemStatus: "System Status (System)", 0 = normal.
func (e *Exchange) handleSystemStatus(*request) (any, *apiError) {
	return map[string]any{"status": 0, "msg": "normal"}, nil
}

// assets lists every asset of the configured symbols and of the account, sorted.
func (e *Exchange) assets(a *account) []string {
	set := map[string]bool{}
	for _, m := range e.markets {
		set[m.base], set[m.quote] = true, true
	}
	if a != nil {
		for k := range a.balances {
			set[k] = true
		}
	}
	return sortedKeys(set)
}

// handleCoins: "All Coins' Information (USER_DATA)", one network per coin, named after
// the coin, with nothing to pay and deposits and withdrawals enabled.
func (e *Exchange) handleCoins(rq *request) (any, *apiError) {
	out := make([]map[string]any, 0)
	zero := fmt8(decimal.Zero)
	for _, c := range e.assets(rq.acct) {
		free, locked := zero, zero
		if b := rq.acct.balances[c]; b != nil {
			free, locked = fmt8(b.free), fmt8(b.locked)
		}
		out = append(out, map[string]any{
			"coin": c, "name": c, "free": free, "locked": locked, "freeze": zero, "withdrawing": zero,
			"ipoing": zero, "ipoable": zero, "storage": zero, "isLegalMoney": false, "trading": true,
			"depositAllEnable": true, "withdrawAllEnable": true,
			"networkList": []map[string]any{{
				"network": c, "coin": c, "name": c, "isDefault": true, "depositEnable": true, "withdrawEnable": true,
				"depositDesc": "", "withdrawDesc": "", "specialTips": "", "resetAddressStatus": false, "busy": false,
				"withdrawFee": zero, "withdrawMin": zero, "withdrawMax": "9999999999.99999999",
				"withdrawInternalMin": "0.00000001", "withdrawIntegerMultiple": "0.00000001", "depositDust": "0.00000001",
				"minConfirm": 1, "unLockConfirm": 0, "sameAddress": false, "estimatedArrivalTime": 1,
				"contractAddressUrl": "", "contractAddress": "",
			}},
		})
	}
	return out, nil
}

// handleTradeFee: "Trade Fee (USER_DATA)", the configured maker/taker rates per symbol.
func (e *Exchange) handleTradeFee(rq *request) (any, *apiError) {
	names := e.symbols
	if s := rq.get("symbol"); s != "" {
		if e.markets[s] == nil {
			return nil, errf(400, -1121, "Invalid symbol.")
		}
		names = []string{s}
	}
	out := make([]map[string]string, 0, len(names))
	for _, n := range names {
		out = append(out, map[string]string{"symbol": n, "makerCommission": e.makerRate.String(), "takerCommission": e.takerRate.String()})
	}
	return out, nil
}

// handleAssetDetail: "Asset Detail (USER_DATA)", keyed by asset.
func (e *Exchange) handleAssetDetail(rq *request) (any, *apiError) {
	out := map[string]any{}
	for _, c := range e.assets(rq.acct) {
		if a := rq.get("asset"); a != "" && a != c {
			continue
		}
		out[c] = map[string]any{"minWithdrawAmount": "0.00000001", "depositStatus": true, "withdrawFee": 0, "withdrawStatus": true}
	}
	return out, nil
}

// handleAPITradingStatus: "Account API Trading Status (USER_DATA)", never locked.
func (e *Exchange) handleAPITradingStatus(rq *request) (any, *apiError) {
	return map[string]any{"data": map[string]any{
		"isLocked": false, "plannedRecoverTime": 0, "triggerCondition": map[string]int{"GCR": 150, "IFER": 150, "UFR": 300},
		"updateTime": rq.now,
	}}, nil
}
