package exchangesim

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// route is one REST endpoint.
type route struct {
	signed bool
	order  bool // a successful call costs 0 weight and reports the ORDERS counts
	weight func(url.Values) int
	handle func(e *Exchange, rq *request) (any, *apiError)
}

// request is one parsed REST call.
type request struct {
	r      *http.Request
	params url.Values // body params overridden by query params
	acct   *account   // signed routes only
	now    int64      // ms
}

func buildRoutes() map[string]*route {
	pub := func(w func(url.Values) int, h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{weight: w, handle: h}
	}
	sig := func(w func(url.Values) int, h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{signed: true, weight: w, handle: h}
	}
	ord := func(h func(*Exchange, *request) (any, *apiError)) *route {
		return &route{signed: true, order: true, weight: weightConst(1), handle: h}
	}
	rs := map[string]*route{
		"GET /api/v3/ping":              pub(weightConst(1), (*Exchange).handlePing),
		"GET /api/v3/time":              pub(weightConst(1), (*Exchange).handleTime),
		"GET /api/v3/exchangeInfo":      pub(weightConst(20), (*Exchange).handleExchangeInfo),
		"GET /api/v3/ticker/price":      pub(weightTickerPrice, (*Exchange).handleTickerPrice),
		"GET /api/v3/ticker/24hr":       pub(weight24hr, (*Exchange).handleTicker24hr),
		"GET /api/v3/ticker/bookTicker": pub(weightTickerPrice, (*Exchange).handleBookTicker),
		"GET /api/v3/depth":             pub(weightDepth, (*Exchange).handleDepth),
		"GET /api/v3/klines":            pub(weightConst(2), (*Exchange).handleKlines),
		"GET /api/v3/uiKlines":          pub(weightConst(2), (*Exchange).handleKlines),
		"GET /api/v3/avgPrice":          pub(weightConst(2), (*Exchange).handleAvgPrice),
		"POST /api/v3/order":            ord((*Exchange).handleNewOrder),
		"POST /api/v3/order/test":       sig(weightTestOrder, (*Exchange).handleTestOrder),
		"GET /api/v3/order":             sig(weightConst(4), (*Exchange).handleGetOrder),
		"DELETE /api/v3/order":          ord((*Exchange).handleCancelOrder),
		"GET /api/v3/openOrders":        sig(weightOpenOrders, (*Exchange).handleOpenOrders),
		"DELETE /api/v3/openOrders":     ord((*Exchange).handleCancelOpenOrders),
		"GET /api/v3/allOrders":         sig(weightConst(20), (*Exchange).handleAllOrders),
		"GET /api/v3/account":           sig(weightConst(20), (*Exchange).handleAccount),
		"GET /api/v3/myTrades":          sig(weightMyTrades, (*Exchange).handleMyTrades),
		"GET /api/v3/rateLimit/order":   sig(weightConst(40), (*Exchange).handleRateLimitOrder),
	}
	for _, more := range []map[string]*route{sapiRoutes(), historyRoutes(), orderListRoutes()} {
		for k, v := range more {
			rs[k] = v
		}
	}
	return rs
}

// serveAPI is the single entry of the Binance REST routes: faults, params, weight,
// authentication, handler, headers.
func (e *Exchange) serveAPI(w http.ResponseWriter, r *http.Request) {
	ip := clientIP(r)
	body, err := readBody(r)
	if err != nil {
		setUsedWeight(w, e.limiter.used(ip, e.nowMs()))
		e.writeAPIErr(w, errf(400, -1000, "Could not read the request body."))
		return
	}
	key := r.Method + " " + r.URL.Path
	rt := e.routes[key]
	f := e.faults.take(r.Method, r.URL.Path)
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-e.done:
			t.Stop()
			return
		}
	}
	setWeight := func(used int) { setUsedWeight(w, used) }
	if f.err != nil {
		setWeight(e.limiter.used(ip, e.nowMs()))
		e.writeAPIErr(w, f.err)
		return
	}
	if rt == nil {
		used, ae := e.limiter.charge(ip, 1, e.nowMs())
		setWeight(used)
		if ae == nil {
			ae = errf(404, -1000, "Unknown route %s.", key)
		}
		e.writeAPIErr(w, ae)
		return
	}
	params, perr := mergeParams(r.URL.RawQuery, body)
	if perr != nil {
		setWeight(e.limiter.used(ip, e.nowMs()))
		e.writeAPIErr(w, perr)
		return
	}
	used, ae := e.limiter.charge(ip, rt.weight(params), e.nowMs())
	if ae != nil {
		setWeight(used)
		e.writeAPIErr(w, ae)
		return
	}
	rq := &request{r: r, params: params}
	var res any
	e.mu.Lock()
	rq.now = e.nowMs()
	if rt.signed {
		rq.acct, ae = e.authenticate(r, body, params, rq.now)
	}
	if ae == nil {
		res, ae = rt.handle(e, rq)
	}
	var cnt10s, cntDay int
	if rq.acct != nil {
		cnt10s, cntDay = rq.acct.cnt10s, rq.acct.cntDay
	}
	e.mu.Unlock()
	if ae != nil {
		setWeight(e.limiter.used(ip, rq.now))
		e.writeAPIErr(w, ae)
		return
	}
	if rt.order {
		used = e.limiter.refund(ip, 1, rq.now)
		if r.Method == http.MethodPost {
			w.Header().Set("X-MBX-ORDER-COUNT-10S", strconv.Itoa(cnt10s))
			w.Header().Set("X-MBX-ORDER-COUNT-1D", strconv.Itoa(cntDay))
		}
	}
	setWeight(used)
	if drop, ae := e.faults.takeAfter(r.Method, r.URL.Path); drop {
		dropConn(w)
		return
	} else if ae != nil {
		e.writeAPIErr(w, ae)
		return
	}
	writeJSON(w, 200, res)
}

// writeAPIErr writes a REST error answer, counting 429 and 418 answers.
func (e *Exchange) writeAPIErr(w http.ResponseWriter, ae *apiError) {
	if ae.status == http.StatusTooManyRequests || ae.status == http.StatusTeapot {
		e.limited.Add(1)
	}
	writeErr(w, ae)
}

// RateLimitAnswers returns how many 429 and 418 answers the REST routes have sent
// (weight, ORDERS and injected faults alike), for figures such as "reconciled
// without a 429".
func (e *Exchange) RateLimitAnswers() int64 { return e.limited.Load() }

// setUsedWeight sets the interval header and the legacy X-MBX-USED-WEIGHT that Binance
// still sends beside it (go-binance reads both; rest-api.md "IP Limits").
func setUsedWeight(w http.ResponseWriter, used int) {
	v := strconv.Itoa(used)
	w.Header().Set("X-MBX-USED-WEIGHT-1M", v)
	w.Header().Set("X-MBX-USED-WEIGHT", v)
}

// dropConn closes the client connection without an answer (the work was done).
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

// mergeParams parses the form body and the query; a param present in both takes the query value.
func mergeParams(rawQuery string, body []byte) (url.Values, *apiError) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errf(400, -1100, "Illegal characters found in a parameter.")
	}
	p := url.Values{}
	if len(body) > 0 {
		b, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errf(400, -1100, "Illegal characters found in a parameter.")
		}
		p = b
	}
	for k, v := range q {
		p[k] = v
	}
	return p, nil
}

func (rq *request) get(name string) string { return rq.params.Get(name) }

// market resolves the mandatory symbol param. The caller holds e.mu (markets never change, though).
func (e *Exchange) market(rq *request) (*market, *apiError) {
	s := rq.get("symbol")
	if s == "" {
		return nil, errMandatory("symbol")
	}
	m := e.markets[s]
	if m == nil {
		return nil, errf(400, -1121, "Invalid symbol.")
	}
	return m, nil
}

// optInt parses an optional integer param; ok is false when it is absent.
func (rq *request) optInt(name string) (v int64, ok bool, ae *apiError) {
	s := rq.get(name)
	if s == "" {
		return 0, false, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, errf(400, -1100, "Illegal characters found in parameter '%s'; legal range is '^[0-9]{1,20}$'.", name)
	}
	return v, true, nil
}

// optDec parses an optional decimal param (at most 8 decimals, not negative).
func (rq *request) optDec(name string) (v decimal.Decimal, ok bool, ae *apiError) {
	s := rq.get(name)
	if s == "" {
		return decimal.Zero, false, nil
	}
	d, err := parseDecimal(s)
	if err != nil {
		return decimal.Zero, false, errf(400, -1100, "Illegal characters found in parameter '%s'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.", name)
	}
	if d.Exponent() < -8 && !d.Equal(d.Truncate(8)) {
		return decimal.Zero, false, errf(400, -1111, "Parameter '%s' has too much precision.", name)
	}
	return d, true, nil
}

// symbolList resolves symbol / symbols (a JSON array) or all symbols when neither is set;
// single reports whether symbol was used (object answer instead of array).
func (e *Exchange) symbolList(rq *request) (ms []*market, single bool, ae *apiError) {
	if rq.get("symbol") != "" {
		if rq.get("symbols") != "" {
			return nil, false, errf(400, -1101, "Parameter 'symbol' and 'symbols' cannot be sent together.")
		}
		m, ae := e.market(rq)
		if ae != nil {
			return nil, false, ae
		}
		return []*market{m}, true, nil
	}
	if s := rq.get("symbols"); s != "" {
		names, err := parseSymbols(s)
		if err != nil {
			return nil, false, errf(400, -1100, "Illegal characters found in parameter 'symbols'; legal range is '^\\[(\"[A-Z0-9-_.]{1,20}\"(,\"[A-Z0-9-_.]{1,20}\"){0,}){0,1}\\]$'.")
		}
		for _, n := range names {
			m := e.markets[n]
			if m == nil {
				return nil, false, errf(400, -1121, "Invalid symbol.")
			}
			ms = append(ms, m)
		}
		return ms, false, nil
	}
	for _, n := range e.symbols {
		ms = append(ms, e.markets[n])
	}
	return ms, false, nil
}

// plainDecimalRE is Binance's format for decimal params; it also keeps exponents (and so
// the cost of decimal arithmetic) bounded.
var plainDecimalRE = regexp.MustCompile(`^[0-9]{1,20}(\.[0-9]{1,20})?$`)

// parseDecimal parses a non-negative plain decimal such as "0.001" (no sign, no exponent).
func parseDecimal(s string) (decimal.Decimal, error) {
	if !plainDecimalRE.MatchString(s) {
		return decimal.Zero, fmt.Errorf("bad decimal %q", s)
	}
	return decimal.NewFromString(s)
}
