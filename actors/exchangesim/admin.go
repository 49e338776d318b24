package exchangesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// faultJSON is the admin wire form of a Fault; durations are strings such as "250ms".
type faultJSON struct {
	Kind       FaultKind `json:"kind"`
	Route      string    `json:"route,omitempty"`
	Count      int       `json:"count,omitempty"`
	Latency    string    `json:"latency,omitempty"`
	Status     int       `json:"status,omitempty"`
	RetryAfter string    `json:"retry_after,omitempty"`
}

func (fj faultJSON) fault() (Fault, error) {
	f := Fault{Kind: fj.Kind, Route: fj.Route, Count: fj.Count, Status: fj.Status}
	var err error
	if fj.Latency != "" {
		if f.Latency, err = time.ParseDuration(fj.Latency); err != nil {
			return f, fmt.Errorf("latency: %w", err)
		}
	}
	if fj.RetryAfter != "" {
		if f.RetryAfter, err = time.ParseDuration(fj.RetryAfter); err != nil {
			return f, fmt.Errorf("retry_after: %w", err)
		}
	}
	return f, nil
}

func toFaultJSON(f Fault) faultJSON {
	fj := faultJSON{Kind: f.Kind, Route: f.Route, Count: f.Count, Status: f.Status}
	if f.Latency > 0 {
		fj.Latency = f.Latency.String()
	}
	if f.RetryAfter > 0 {
		fj.RetryAfter = f.RetryAfter.String()
	}
	return fj
}

// serveAdmin is the admin API (JSON in and out), never subject to weights or faults:
//
//	GET    /admin/state            prices, update ids, open orders per symbol
//	POST   /admin/price            {"symbol":"BTCUSDT","price":"64000"}
//	POST   /admin/step             {"n":1}; replaying: {"phase":"trades"} or {"phase":"close"}
//	GET    /admin/faults           active faults
//	POST   /admin/faults           {"kind":"error","route":"POST /api/v3/order","count":2,"status":503}
//	DELETE /admin/faults           clear all faults
//	POST   /admin/streams/close    {"shutdown":true}
//	POST   /admin/limits/reset     forget weights and bans
//	POST   /admin/accounts         {"api_key":"k","secret_key":"s","balances":{"USDT":"100"}}
//	POST   /admin/seed             {"api_key":"k","symbol":"BTCUSDT","open_orders":1000,"filled_orders":100,"trades":10000}
//	GET    /admin/orders?api_key=k order and client id counts, client ids used more than once
func (e *Exchange) serveAdmin(w http.ResponseWriter, r *http.Request) {
	c := adminCall{w, r}
	switch r.Method + " " + r.URL.Path {
	case "GET /admin/state":
		writeJSON(w, 200, e.State())
	case "POST /admin/price":
		var req struct{ Symbol, Price string }
		if c.decode(&req) {
			c.done(e.SetPrice(req.Symbol, req.Price))
		}
	case "POST /admin/step":
		req := struct {
			N     int
			Phase string
		}{N: 1}
		if c.decode(&req) {
			c.done(e.adminStep(req.N, req.Phase))
		}
	case "GET /admin/faults":
		out := []faultJSON{}
		for _, f := range e.Faults() {
			out = append(out, toFaultJSON(f))
		}
		writeJSON(w, 200, out)
	case "POST /admin/faults":
		var fj faultJSON
		if !c.decode(&fj) {
			return
		}
		f, err := fj.fault()
		if err == nil {
			err = e.InjectFault(f)
		}
		c.done(err)
	case "DELETE /admin/faults":
		e.ClearFaults()
		c.done(nil)
	case "POST /admin/streams/close":
		var req struct{ Shutdown bool }
		if r.ContentLength != 0 && !c.decode(&req) {
			return
		}
		writeJSON(w, 200, map[string]int{"closed": e.CloseStreams(req.Shutdown)})
	case "POST /admin/limits/reset":
		e.ResetLimits()
		c.done(nil)
	case "POST /admin/accounts":
		var req struct {
			APIKey    string            `json:"api_key"`
			SecretKey string            `json:"secret_key"`
			Balances  map[string]string `json:"balances"`
		}
		if c.decode(&req) {
			c.done(e.AddAccount(Account{APIKey: req.APIKey, SecretKey: req.SecretKey, Balances: req.Balances}))
		}
	case "POST /admin/seed":
		var req Seed
		if !c.decode(&req) {
			return
		}
		res, err := e.Seed(req)
		if err != nil {
			c.fail(400, err)
			return
		}
		writeJSON(w, 200, res)
	case "GET /admin/orders":
		counts, err := e.ClientOrderCounts(r.URL.Query().Get("api_key"))
		if err != nil {
			c.fail(400, err)
			return
		}
		writeJSON(w, 200, orderCountsOf(counts))
	default:
		c.fail(404, fmt.Errorf("unknown admin route %s %s", r.Method, r.URL.Path))
	}
}

// adminStep is POST /admin/step: n whole steps, or one phase of a replayed bar.
func (e *Exchange) adminStep(n int, phase string) error {
	switch {
	case n < 1 || n > 100000:
		return fmt.Errorf("n must be in [1, 100000]")
	case phase == "":
		e.Advance(n)
		return nil
	case n != 1:
		return fmt.Errorf("n must be 1 with a phase")
	case phase == "trades":
		return e.StepTrades()
	case phase == "close":
		return e.CloseBar()
	}
	return fmt.Errorf("phase must be \"trades\" or \"close\", got %q", phase)
}

// Subscribers returns how many stream connections are subscribed to stream
// (e.g. "btcusdt@trade"): a client is subscribed once this counts it, as the
// exchange subscribes a connection before its handshake completes.
func (e *Exchange) Subscribers(stream string) int {
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	return len(e.hub.byStream[stream])
}

// adminCall is one admin request and its response writer.
type adminCall struct {
	w http.ResponseWriter
	r *http.Request
}

// fail answers status with {"error": ...}.
func (c adminCall) fail(status int, err error) {
	writeJSON(c.w, status, map[string]string{"error": err.Error()})
}

// done answers {"ok": true}, or 400 with err.
func (c adminCall) done(err error) {
	if err != nil {
		c.fail(400, err)
		return
	}
	writeJSON(c.w, 200, map[string]bool{"ok": true})
}

// decode reads the body (at most maxBody bytes, no unknown fields) into v;
// on failure it has answered 400 and returns false.
func (c adminCall) decode(v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(c.w, c.r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		c.fail(400, fmt.Errorf("bad json: %w", err))
		return false
	}
	return true
}

// SymbolState is the admin view of one symbol.
type SymbolState struct {
	// Symbol is the pair name.
	Symbol string `json:"symbol"`
	// Price is the last price.
	Price string `json:"price"`
	// LastUpdateID is the current order book update id.
	LastUpdateID int64 `json:"last_update_id"`
	// OpenOrders counts resting user orders.
	OpenOrders int `json:"open_orders"`
	// Ticks is the number of price steps in the history.
	Ticks int `json:"ticks"`
}

// State returns a snapshot of every symbol, in configuration order.
func (e *Exchange) State() []SymbolState {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]SymbolState, 0, len(e.symbols))
	for _, s := range e.symbols {
		m := e.markets[s]
		out = append(out, SymbolState{Symbol: s, Price: fmt8(m.price(m.px)), LastUpdateID: m.updateID, OpenOrders: len(m.open), Ticks: len(m.ticks)})
	}
	return out
}

// OrderCounts is the answer of GET /admin/orders: how many orders an account holds and
// which client order ids were used more than once.
type OrderCounts struct {
	// Orders is the number of orders, open and closed.
	Orders int `json:"orders"`
	// ClientIDs is the number of distinct client order ids.
	ClientIDs int `json:"client_ids"`
	// Duplicates maps each client order id used by more than one order to its count.
	Duplicates map[string]int `json:"duplicates"`
}

func orderCountsOf(counts map[string]int) OrderCounts {
	oc := OrderCounts{ClientIDs: len(counts), Duplicates: map[string]int{}}
	for id, n := range counts {
		oc.Orders += n
		if n > 1 {
			oc.Duplicates[id] = n
		}
	}
	return oc
}
