package exchangesim

import (
	"encoding/json"
	"errors"

	"github.com/shopspring/decimal"
)

func parseSymbols(s string) ([]string, error) {
	var names []string
	if err := json.Unmarshal([]byte(s), &names); err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, errors.New("empty")
	}
	return names, nil
}

func (e *Exchange) handlePing(*request) (any, *apiError) { return struct{}{}, nil }

func (e *Exchange) handleTime(rq *request) (any, *apiError) {
	return map[string]int64{"serverTime": rq.now}, nil
}

type rateLimitJSON struct {
	RateLimitType string `json:"rateLimitType"`
	Interval      string `json:"interval"`
	IntervalNum   int64  `json:"intervalNum"`
	Limit         int    `json:"limit"`
}

func (e *Exchange) rateLimits() []rateLimitJSON {
	wms := e.cfg.WeightWindow.Milliseconds()
	iv, num := "SECOND", wms/1000
	if wms%60000 == 0 {
		iv, num = "MINUTE", wms/60000
	}
	return []rateLimitJSON{
		{"REQUEST_WEIGHT", iv, max(num, 1), e.cfg.WeightLimit},
		{"ORDERS", "SECOND", 10, e.cfg.OrderLimit10s},
		{"ORDERS", "DAY", 1, e.cfg.OrderLimitDay},
		{"RAW_REQUESTS", "MINUTE", 5, 300000},
	}
}

func (e *Exchange) handleExchangeInfo(rq *request) (any, *apiError) {
	ms, _, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	syms := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		syms = append(syms, map[string]any{
			"symbol": m.name, "status": "TRADING", "baseAsset": m.base, "baseAssetPrecision": 8,
			"quoteAsset": m.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
			"baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
			"orderTypes": []string{typeLimit, typeLimitMaker, typeMarket, typeStopLoss, typeStopLossLimit,
				typeTakeProfit, typeTakeProfitLimit},
			"icebergAllowed":                  false,
			"ocoAllowed":                      true,
			"otoAllowed":                      false,
			"opoAllowed":                      false,
			"quoteOrderQtyMarketAllowed":      true,
			"allowTrailingStop":               false,
			"cancelReplaceAllowed":            true,
			"amendAllowed":                    false,
			"pegInstructionsAllowed":          false,
			"isSpotTradingAllowed":            true,
			"isMarginTradingAllowed":          false,
			"permissions":                     []string{},
			"permissionSets":                  [][]string{{"SPOT"}},
			"defaultSelfTradePreventionMode":  "NONE",
			"allowedSelfTradePreventionModes": []string{"NONE"},
			"filters": []map[string]any{
				{"filterType": "PRICE_FILTER", "minPrice": fmt8(m.minPrice), "maxPrice": fmt8(m.maxPrice), "tickSize": fmt8(m.tickSz)},
				{"filterType": "LOT_SIZE", "minQty": fmt8(m.minQty), "maxQty": fmt8(m.maxQty), "stepSize": fmt8(m.step)},
				{"filterType": "MARKET_LOT_SIZE", "minQty": fmt8(decimal.Zero), "maxQty": fmt8(m.mktMaxQty), "stepSize": fmt8(decimal.Zero)},
				{"filterType": "NOTIONAL", "minNotional": fmt8(m.minNotional), "applyMinToMarket": true,
					"maxNotional": fmt8(m.maxNotional), "applyMaxToMarket": false, "avgPriceMins": 5},
			},
		})
	}
	return map[string]any{
		"timezone": "UTC", "serverTime": rq.now, "rateLimits": e.rateLimits(),
		"exchangeFilters": []any{}, "symbols": syms,
	}, nil
}

// one returns a single object when single, else the slice.
func one[T any](single bool, v []T) any {
	if single {
		return v[0]
	}
	return v
}

type priceJSON struct {
	Symbol string `json:"symbol"`
	Price  string `json:"price"`
}

func (e *Exchange) handleTickerPrice(rq *request) (any, *apiError) {
	ms, single, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	out := make([]priceJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, priceJSON{m.name, fmt8(m.price(m.px))})
	}
	return one(single, out), nil
}

type bookTickerJSON struct {
	Symbol   string `json:"symbol"`
	BidPrice string `json:"bidPrice"`
	BidQty   string `json:"bidQty"`
	AskPrice string `json:"askPrice"`
	AskQty   string `json:"askQty"`
}

func (m *market) bookTicker() bookTickerJSON {
	bt := bookTickerJSON{Symbol: m.name, BidPrice: fmt8(decimal.Zero), BidQty: fmt8(decimal.Zero), AskPrice: fmt8(decimal.Zero), AskQty: fmt8(decimal.Zero)}
	if len(m.bids) > 0 {
		bt.BidPrice, bt.BidQty = fmt8(m.price(m.bids[0].px)), fmt8(m.qty(m.bids[0].qty))
	}
	if len(m.asks) > 0 {
		bt.AskPrice, bt.AskQty = fmt8(m.price(m.asks[0].px)), fmt8(m.qty(m.asks[0].qty))
	}
	return bt
}

func (e *Exchange) handleBookTicker(rq *request) (any, *apiError) {
	ms, single, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	out := make([]bookTickerJSON, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.bookTicker())
	}
	return one(single, out), nil
}

func (e *Exchange) handleTicker24hr(rq *request) (any, *apiError) {
	ms, single, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	mini := false
	switch rq.get("type") {
	case "", "FULL":
	case "MINI":
		mini = true
	default:
		return nil, errf(400, -1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.")
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		s := m.stats(rq.now-86400000, rq.now)
		t := map[string]any{
			"symbol": m.name, "openPrice": fmt8(m.price(s.open)), "highPrice": fmt8(m.price(s.high)),
			"lowPrice": fmt8(m.price(s.low)), "lastPrice": fmt8(m.price(s.last)), "volume": fmt8(m.qty(s.vol)),
			"quoteVolume": fmt8(s.quoteVol), "openTime": s.openTime, "closeTime": s.closeTime,
			"firstId": s.firstID, "lastId": s.lastID, "count": s.count,
		}
		if !mini {
			chg := m.price(s.last).Sub(m.price(s.open))
			pct := decimal.Zero
			if s.open > 0 {
				pct = chg.Div(m.price(s.open)).Mul(decimal.NewFromInt(100))
			}
			wavg := m.price(s.last)
			if s.vol > 0 {
				wavg = s.quoteVol.Div(m.qty(s.vol))
			}
			bt := m.bookTicker()
			t["priceChange"], t["priceChangePercent"] = fmt8(chg), pct.StringFixed(3)
			t["weightedAvgPrice"], t["prevClosePrice"] = fmt8(wavg), fmt8(m.price(s.prevClose))
			t["lastQty"] = fmt8(m.qty(s.lastQty))
			t["bidPrice"], t["bidQty"], t["askPrice"], t["askQty"] = bt.BidPrice, bt.BidQty, bt.AskPrice, bt.AskQty
		}
		out = append(out, t)
	}
	return one(single, out), nil
}

func (m *market) levelsJSON(ls []level, n int) [][2]string {
	out := make([][2]string, 0, min(n, len(ls)))
	for i, l := range ls {
		if i >= n {
			break
		}
		out = append(out, [2]string{fmt8(m.price(l.px)), fmt8(m.qty(l.qty))})
	}
	return out
}

func (e *Exchange) handleDepth(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	limit, ok, ae := rq.optInt("limit")
	if ae != nil {
		return nil, ae
	}
	if !ok {
		limit = 100
	}
	if limit < 1 || limit > 5000 {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-5000'.")
	}
	bids, asks := m.deepBook(m.bids, -1, int(limit)), m.deepBook(m.asks, 1, int(limit))
	return map[string]any{"lastUpdateId": m.updateID, "bids": m.levelsJSON(bids, int(limit)), "asks": m.levelsJSON(asks, int(limit))}, nil
}

// deepBook extends one side of the synthetic book (depth_levels levels) to n levels for
// a REST depth snapshot (limit up to 5000): the same 1 bp spacing, with a quantity
// that is a hash of the price level, so it does not change from one snapshot to the
// next. Diff streams cover only the first depth_levels levels. dir is -1 for bids.
func (m *market) deepBook(side []level, dir int64, n int) []level {
	if len(side) >= n || len(side) < m.depthLevels {
		return side // the side is already cut by the price bounds
	}
	out := make([]level, len(side), n)
	copy(out, side)
	for i := int64(len(side)); len(out) < n; i++ {
		px := m.px + dir*(1+i*m.gap)
		if px < m.minPx || px > m.maxPx {
			break
		}
		r := mix(m.hseed ^ mix(uint64(px)))
		out = append(out, level{px, max(1, m.levelQty*int64(r%101+50)/100)})
	}
	return out
}

func (e *Exchange) handleKlines(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	iv := rq.get("interval")
	if iv == "" {
		return nil, errMandatory("interval")
	}
	if !validInterval(iv) {
		return nil, errf(400, -1120, "Invalid interval.")
	}
	limit, ok, ae := rq.optInt("limit")
	if ae != nil {
		return nil, ae
	}
	if !ok {
		limit = 500
	}
	if limit < 1 || limit > 1000 {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
	}
	// startTime=0 is the epoch, not "unset" ("Kline/Candlestick data")
	start, okStart, ae := rq.optInt("startTime")
	if ae != nil {
		return nil, ae
	}
	end, okEnd, ae := rq.optInt("endTime")
	if ae != nil {
		return nil, ae
	}
	if okStart && okEnd && start > end {
		return nil, errf(400, -1023, "Start time is greater than end time.")
	}
	ks := m.klineRange(iv, start, end, okStart, okEnd, int(limit), rq.now)
	out := make([]byte, 0, 160*len(ks)+2)
	out = append(out, '[')
	for i, k := range ks {
		if i > 0 {
			out = append(out, ',')
		}
		out = m.appendKlineRow(out, k)
	}
	return json.RawMessage(append(out, ']')), nil
}

func (e *Exchange) handleAvgPrice(rq *request) (any, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, ae
	}
	s := m.stats(rq.now-5*60000, rq.now)
	avg := m.price(m.px)
	closeTime := rq.now
	if s.vol > 0 {
		avg = s.quoteVol.Div(m.qty(s.vol))
	}
	if n := len(m.ticks); n > 0 {
		closeTime = m.ticks[n-1].t
	}
	return map[string]any{"mins": 5, "price": fmt8(avg), "closeTime": closeTime}, nil
}
