package connector

import "time"

// defaultLimit and defaultWindow are used until exchangeInfo reports the
// REQUEST_WEIGHT limit (Binance production values).
const (
	defaultLimit  = 6000
	defaultWindow = time.Minute
	// windowGuard delays our idea of a new window past the exchange's, so
	// that a small clock error never spends a new window's weight while the
	// exchange still counts the old one.
	windowGuard = 100 * time.Millisecond
)

// budget is the one request-weight budget of this host's IP: a fixed window
// aligned like Binance's (multiples of the window on the exchange clock).
// It is owned by the actor.
type budget struct {
	cfg       Config
	limit     int64
	window    time.Duration
	used      int64
	winStart  int64 // exchange ms
	inflight  int64 // requests dispatched in this window and not answered
	carry     int64 // weight spent in the guard slice: the exchange counts it in the next window
	seen      int64 // highest used-weight header of this window
	banUntil  time.Time
	banStatus int
}

func newBudget(cfg Config) budget {
	return budget{cfg: cfg, limit: defaultLimit, window: defaultWindow}
}

// usable is the limit minus the headroom.
func (b *budget) usable() int64 { return max(1, b.limit-b.cfg.headroom(b.limit)) }

// roll starts a new window when the exchange clock (guarded) has moved on.
// Only forward: on our machines the wall clock read on different CPUs can
// step back a few milliseconds, which must not reopen the previous window.
func (b *budget) roll(serverNow time.Time) {
	if ws := b.windowAt(serverNow); ws > b.winStart {
		carry := b.carry
		if ws != b.winStart+b.window.Milliseconds() {
			carry = 0
		}
		b.winStart, b.used, b.inflight, b.carry, b.seen = ws, carry, 0, 0, 0
	}
}

// exchangeWindow is the window the exchange puts serverNow in (no guard).
func (b *budget) exchangeWindow(serverNow time.Time) int64 {
	ms := serverNow.UnixMilli()
	return ms - ms%b.window.Milliseconds()
}

// windowAt is the start (exchange ms) of the window serverNow falls in.
func (b *budget) windowAt(serverNow time.Time) int64 {
	ms := serverNow.Add(-windowGuard).UnixMilli()
	return ms - ms%b.window.Milliseconds()
}

// nextWindow is the local time at which the next window opens.
func (b *budget) nextWindow(offset time.Duration) time.Time {
	start := time.UnixMilli(b.winStart + b.window.Milliseconds())
	return start.Add(offset + windowGuard)
}

// fits reports whether weight w can be spent now.
func (b *budget) fits(w int64) bool { return b.used+w <= b.usable() }

// spend charges w to the current window and returns the window it went to.
// Weight spent in the guard slice (the exchange is already in the next
// window) is charged to the next window too.
func (b *budget) spend(w int64, serverNow time.Time) int64 {
	b.used += w
	b.inflight++
	if b.exchangeWindow(serverNow) != b.winStart {
		b.carry += w
	}
	return b.winStart
}

// observe re-syncs from a response's X-MBX-USED-WEIGHT-1M (header < 0:
// absent) for a request charged to window win, sent and answered at the
// given exchange times. The header counts the window the exchange was in, so
// it is used only when both times fall in win. Answers arrive out of order
// and the exchange may not have counted requests still in flight, so a
// header only ever raises our count (others using the IP); it never lowers
// it. Refunds (successful orders cost 0) are booked by refund.
func (b *budget) observe(win, header int64, sent, answered time.Time) {
	if win != b.winStart {
		return
	}
	if b.inflight > 0 {
		b.inflight--
	}
	if header < 0 || b.exchangeWindow(sent) != win || b.exchangeWindow(answered) != win {
		return
	}
	b.seen = max(b.seen, header)
	b.used = max(b.used, b.seen)
}

// charge counts w spent outside the job queue (a WebSocket API request).
func (b *budget) charge(w int64) { b.used += w }

// refund gives back w charged to window win (a successful order or cancel:
// Binance charges them 0 since 2026-04-02).
func (b *budget) refund(win, w int64) {
	if win == b.winStart {
		b.used = max(0, b.used-w)
	}
}

// ban stops every request until d has passed; status is 429 or 418.
func (b *budget) ban(now time.Time, d time.Duration, status int) {
	if d <= 0 {
		d = time.Second
		if status == 418 {
			d = 2 * time.Minute
		}
	}
	if until := now.Add(d); until.After(b.banUntil) {
		b.banUntil, b.banStatus = until, status
	}
}

// banned reports whether requests must wait.
func (b *budget) banned(now time.Time) bool { return now.Before(b.banUntil) }

// setLimit applies exchangeInfo's REQUEST_WEIGHT limit; what was spent so
// far stays counted.
func (b *budget) setLimit(limit int64, window time.Duration, serverNow time.Time) {
	if limit > 0 && window > 0 {
		b.limit, b.window = limit, window
		b.winStart = b.windowAt(serverNow)
	}
}
