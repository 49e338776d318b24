package exchangesim

import (
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// historyRoutes are the public trade lists and the rolling-window ticker (rest-api.md,
// "Market data endpoints": "Recent trades list", "Old trade lookup", "Compressed/Aggregate
// trades list", "Rolling window price change statistics").
func historyRoutes() map[string]*route {
	pub := func(w int, h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{weight: weightConst(w), handle: h}
	}
	return map[string]*route{
		"GET /api/v3/trades":           pub(25, (*Exchange).handleTrades),
		"GET /api/v3/historicalTrades": pub(25, (*Exchange).handleHistoricalTrades),
		"GET /api/v3/aggTrades":        pub(4, (*Exchange).handleAggTrades),
		"GET /api/v3/ticker":           {weight: weightRolling, handle: (*Exchange).handleRollingTicker},
	}
}

// recentTrades returns the last limit public trades, oldest first.
func (m *market) recentTrades(limit int) []tick {
	n := min(limit, len(m.ticks))
	out := append([]tick(nil), m.ticks[len(m.ticks)-n:]...)
	h := &m.hist
	if len(out) == limit || h.archEnd != h.genesis { // archived minutes list no trades
		return out
	}
	p := pricer{h: h}
	var older []tick
	for mi := h.genesis/60000 - 1; mi >= 0 && len(older)+len(out) < limit; mi-- {
		older = append(h.minuteTrades(&p, mi, nil), older...)
	}
	older = older[max(0, len(older)+len(out)-limit):]
	return append(older, out...)
}

// tradesFrom returns up to limit public trades, oldest first, with id >= fromID (when
// byID) or with fromT <= time <= toT.
func (m *market) tradesFrom(byID bool, fromID, fromT, toT int64, limit int) []tick {
	h := &m.hist
	keep := func(tk tick) bool {
		if byID {
			return tk.id >= fromID
		}
		return tk.t >= fromT && tk.t <= toT
	}
	var out []tick
	first := floorDiv(max(fromT, 0), 60000)
	if byID {
		first = (max(fromID, 1) - 1) / synthPerMin
	}
	p := pricer{h: h}
	var buf []tick
	if first > h.genesis/60000 { // also keeps mi*60000 from overflowing
		first = h.genesis / 60000
	}
	for mi := first; mi*60000 < h.genesis && len(out) < limit && (byID || mi*60000 <= toT); mi++ {
		buf = h.minuteTrades(&p, mi, buf[:0])
		for _, tk := range buf {
			if keep(tk) && len(out) < limit {
				out = append(out, tk)
			}
		}
	}
	i := m.firstTickAtOrAfter(max(fromT, h.archEnd))
	if byID {
		i = firstTickWithID(m.ticks, fromID)
	}
	for ; i < len(m.ticks) && len(out) < limit && keep(m.ticks[i]); i++ {
		out = append(out, m.ticks[i])
	}
	return out
}

func firstTickWithID(ts []tick, id int64) int {
	lo, hi := 0, len(ts)
	for lo < hi {
		mid := (lo + hi) / 2
		if ts[mid].id < id {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// tradeQuery reads what every trade list takes: the symbol's market and the
// limit (default 500, 1 to 1000).
func (e *Exchange) tradeQuery(rq *request) (*market, int, *apiError) {
	m, ae := e.market(rq)
	if ae != nil {
		return nil, 0, ae
	}
	limit, ok, ae := rq.optInt("limit")
	if ae != nil {
		return nil, 0, ae
	}
	if !ok {
		return m, 500, nil
	}
	if limit < 1 || limit > 1000 {
		return nil, 0, errf(400, -1100, "Illegal characters found in parameter 'limit'; legal range is '1-1000'.")
	}
	return m, int(limit), nil
}

func (m *market) tradesJSON(ts []tick) []map[string]any {
	out := make([]map[string]any, 0, len(ts))
	for _, tk := range ts {
		px, q := m.price(tk.px), m.qty(tk.qty)
		out = append(out, map[string]any{"id": tk.id, "price": fmt8(px), "qty": fmt8(q), "quoteQty": fmt8(px.Mul(q)),
			"time": tk.t, "isBuyerMaker": tk.buyerMaker, "isBestMatch": true})
	}
	return out
}

func (e *Exchange) handleTrades(rq *request) (any, *apiError) {
	m, limit, ae := e.tradeQuery(rq)
	if ae != nil {
		return nil, ae
	}
	return m.tradesJSON(m.recentTrades(limit)), nil
}

// handleHistoricalTrades: "Old trade lookup", trades from fromId (default: the most recent).
func (e *Exchange) handleHistoricalTrades(rq *request) (any, *apiError) {
	m, limit, ae := e.tradeQuery(rq)
	if ae != nil {
		return nil, ae
	}
	from, ok, ae := rq.optInt("fromId")
	if ae != nil {
		return nil, ae
	}
	if !ok {
		return m.tradesJSON(m.recentTrades(limit)), nil
	}
	return m.tradesJSON(m.tradesFrom(true, from, 0, 0, limit)), nil
}

// handleAggTrades: "Compressed/Aggregate trades list". Every simulated trade is its own
// aggregate (f = l = a). fromId, or startTime/endTime (at most 1 hour apart when both are
// sent), else the most recent.
func (e *Exchange) handleAggTrades(rq *request) (any, *apiError) {
	m, limit, ae := e.tradeQuery(rq)
	if ae != nil {
		return nil, ae
	}
	from, okFrom, ae := rq.optInt("fromId")
	if ae != nil {
		return nil, ae
	}
	start, okStart, ae := rq.optInt("startTime")
	if ae != nil {
		return nil, ae
	}
	end, okEnd, ae := rq.optInt("endTime")
	if ae != nil {
		return nil, ae
	}
	var ts []tick
	switch {
	case okFrom && (okStart || okEnd):
		return nil, errf(400, -1128, "Combination of optional parameters invalid.")
	case okFrom:
		ts = m.tradesFrom(true, from, 0, 0, limit)
	case okStart && okEnd && (end < start || end-start > 3600000):
		return nil, errf(400, -1127, "More than 1 hours between startTime and endTime.")
	case okStart || okEnd:
		if !okStart {
			start = end - 3600000
		}
		if !okEnd {
			end = start + 3600000
		}
		ts = m.tradesFrom(false, 0, start, end, limit)
	default:
		ts = m.recentTrades(limit)
	}
	out := make([]map[string]any, 0, len(ts))
	for _, tk := range ts {
		out = append(out, map[string]any{"a": tk.id, "p": fmt8(m.price(tk.px)), "q": fmt8(m.qty(tk.qty)),
			"f": tk.id, "l": tk.id, "T": tk.t, "m": tk.buyerMaker, "M": true})
	}
	return out, nil
}

// parseWindow parses windowSize: 1m-59m, 1h-23h, 1d-7d (default 1d), in ms.
func parseWindow(s string) (int64, bool) {
	if s == "" {
		return 86400000, true
	}
	if len(s) < 2 {
		return 0, false
	}
	n, err := strconv.Atoi(s[:len(s)-1])
	if err != nil || n < 1 || strings.HasPrefix(s, "0") {
		return 0, false
	}
	switch s[len(s)-1] {
	case 'm':
		return int64(n) * 60000, n <= 59
	case 'h':
		return int64(n) * 3600000, n <= 23
	case 'd':
		return int64(n) * 86400000, n <= 7
	}
	return 0, false
}

// handleRollingTicker: "Rolling window price change statistics" (symbol or symbols, at
// most 100; windowSize; type FULL or MINI).
func (e *Exchange) handleRollingTicker(rq *request) (any, *apiError) {
	if rq.get("symbol") == "" && rq.get("symbols") == "" {
		return nil, errf(400, -1102, "Param 'symbol' or 'symbols' must be sent, but both were empty/null!")
	}
	ms, single, ae := e.symbolList(rq)
	if ae != nil {
		return nil, ae
	}
	if len(ms) > 100 {
		return nil, errf(400, -1101, "Too many values sent for parameter 'symbols', max allowed is 100.")
	}
	win, ok := parseWindow(rq.get("windowSize"))
	if !ok {
		return nil, errf(400, -1100, "Invalid windowSize.")
	}
	typ := rq.get("type")
	if typ != "" && typ != "FULL" && typ != "MINI" {
		return nil, errf(400, -1100, "Illegal characters found in parameter 'type'; legal range is 'FULL, MINI'.")
	}
	out := make([]map[string]any, 0, len(ms))
	for _, m := range ms {
		s := m.stats(rq.now-win, rq.now)
		t := map[string]any{
			"symbol": m.name, "openPrice": fmt8(m.price(s.open)), "highPrice": fmt8(m.price(s.high)),
			"lowPrice": fmt8(m.price(s.low)), "lastPrice": fmt8(m.price(s.last)), "volume": fmt8(m.qty(s.vol)),
			"quoteVolume": fmt8(s.quoteVol), "openTime": s.openTime, "closeTime": s.closeTime,
			"firstId": s.firstID, "lastId": s.lastID, "count": s.count,
		}
		if typ != "MINI" {
			chg := m.price(s.last).Sub(m.price(s.open))
			pct, wavg := decimal.Zero, m.price(s.last)
			if s.open > 0 {
				pct = chg.Div(m.price(s.open)).Mul(decimal.NewFromInt(100))
			}
			if s.vol > 0 {
				wavg = s.quoteVol.Div(m.qty(s.vol))
			}
			t["priceChange"], t["priceChangePercent"], t["weightedAvgPrice"] = fmt8(chg), pct.StringFixed(3), fmt8(wavg)
		}
		out = append(out, t)
	}
	return one(single, out), nil
}
