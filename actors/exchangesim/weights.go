package exchangesim

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"
)

// limiter is the REQUEST_WEIGHT accountant: a fixed window per IP, then 429, then an
// escalating 418 ban.
//
// Rule: every request adds its weight to the IP's current window (windows are aligned to
// multiples of WeightWindow since the epoch). A request that takes the used weight above
// WeightLimit is answered 429 (-1003) with Retry-After = seconds until the window ends.
// After the first 429 of a window, BanAfter more requests may still get 429; the next
// one starts a ban: 418 (-1003) with Retry-After = seconds until the ban ends. The n-th ban
// of an IP lasts BanBase·2^(n-1), capped at BanMax; the count is kept for the life of the
// Exchange. While banned every request gets 418 and adds no weight; a ban does not grow
// while it runs.
type limiter struct {
	mu       sync.Mutex
	limit    int
	window   int64 // ms
	banAfter int
	banBase  time.Duration
	banMax   time.Duration
	ips      map[string]*ipState
}

type ipState struct {
	winStart    int64
	used        int
	rejected    int // over-limit answers in this window
	bans        int
	bannedUntil int64
}

func newLimiter(c Config) *limiter {
	return &limiter{limit: c.WeightLimit, window: c.WeightWindow.Milliseconds(), banAfter: c.BanAfter,
		banBase: c.BanBase, banMax: c.BanMax, ips: map[string]*ipState{}}
}

func (l *limiter) state(ip string, now int64) *ipState {
	st := l.ips[ip]
	if st == nil {
		st = &ipState{}
		l.ips[ip] = st
	}
	if ws := now - now%l.window; ws != st.winStart {
		st.winStart, st.used, st.rejected = ws, 0, 0
	}
	return st
}

// charge adds weight w for ip and returns the weight used in the window and the error
// answer when the IP is limited or banned.
func (l *limiter) charge(ip string, w int, now int64) (int, *apiError) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(ip, now)
	if st.bannedUntil > now {
		return st.used, banError(st.bannedUntil, now)
	}
	st.used += w
	if st.used <= l.limit {
		return st.used, nil
	}
	st.rejected++
	if st.rejected > 1+l.banAfter {
		st.bans++
		d := l.banBase << (st.bans - 1)
		if d > l.banMax || d <= 0 || st.bans > 40 {
			d = l.banMax
		}
		st.bannedUntil = now + d.Milliseconds()
		return st.used, banError(st.bannedUntil, now)
	}
	ae := errf(429, -1003, "Too much request weight used; current limit is %d request weight per %s. Please use WebSocket Streams for live updates to avoid polling the API.",
		l.limit, windowName(l.window))
	ae.retryAfter = ceilSec(st.winStart + l.window - now)
	return st.used, ae
}

// refund gives back weight (successful orders and cancels cost 0 since 2026-04-02).
func (l *limiter) refund(ip string, w int, now int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.state(ip, now)
	st.used = max(0, st.used-w)
	return st.used
}

func (l *limiter) used(ip string, now int64) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state(ip, now).used
}

func (l *limiter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ips = map[string]*ipState{}
}

func banError(until, now int64) *apiError {
	ae := errf(418, -1003, "Way too much request weight used; IP banned until %d. Please use WebSocket Streams for live updates to avoid bans.", until)
	ae.retryAfter = ceilSec(until - now)
	return ae
}

func ceilSec(ms int64) int { return int(max(1, (ms+999)/1000)) }

func windowName(ms int64) string {
	switch {
	case ms%60000 == 0:
		return fmt.Sprintf("%d MINUTE", ms/60000)
	case ms%1000 == 0:
		return fmt.Sprintf("%d SECOND", ms/1000)
	}
	return fmt.Sprintf("%d MILLISECOND", ms)
}

// countSymbols counts the entries of a JSON array param such as symbols=["A","B"].
func countSymbols(v string) int {
	v = strings.TrimSpace(v)
	if v == "" || v == "[]" {
		return 0
	}
	return strings.Count(v, ",") + 1
}

// Request weights as documented by Binance (2026), see README.md.
func weightConst(n int) func(url.Values) int { return func(url.Values) int { return n } }

func weightTickerPrice(p url.Values) int {
	if p.Get("symbol") != "" {
		return 2
	}
	return 4
}

func weight24hr(p url.Values) int {
	switch {
	case p.Get("symbol") != "":
		return 2
	case p.Get("symbols") != "":
		n := countSymbols(p.Get("symbols"))
		switch {
		case n <= 20:
			return 2
		case n <= 100:
			return 40
		}
		return 80
	}
	return 80
}

func weightDepth(p url.Values) int {
	n := 100
	if v := p.Get("limit"); v != "" {
		fmt.Sscan(v, &n) //nolint:errcheck // a bad limit is rejected by the handler
	}
	switch {
	case n <= 100:
		return 5
	case n <= 500:
		return 25
	case n <= 1000:
		return 50
	}
	return 250
}

func weightOpenOrders(p url.Values) int {
	if p.Get("symbol") != "" {
		return 6
	}
	return 80
}

func weightMyTrades(p url.Values) int {
	if p.Get("orderId") != "" {
		return 5
	}
	return 20
}

func weightTestOrder(p url.Values) int {
	if p.Get("computeCommissionRates") == "true" {
		return 20
	}
	return 1
}

// weightRolling is 4 per symbol, at most 200 ("Rolling window price change statistics").
func weightRolling(p url.Values) int {
	n := 1
	if p.Get("symbol") == "" {
		n = max(1, countSymbols(p.Get("symbols")))
	}
	return min(4*n, 200)
}
