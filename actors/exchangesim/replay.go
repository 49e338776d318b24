package exchangesim

import (
	"errors"
	"fmt"

	"github.com/shopspring/decimal"
)

// Replay of a klines CSV (Symbol.KlinesCSV).
//
// A replayed symbol prints, for each CSV row (a bar), the intrabar path
// the backtester assumes (matcher.BarTrades): four trades, open, then low
// and high (high and low when the bar closes below its open), then close,
// at the row's prices, each carrying a quarter of the row's volume in lot
// steps (the last one the remainder), at the bar's open plus 0, 1/4, 2/4
// and 3/4 of its duration. So its klines, REST and streams, are the CSV's
// bars (open, high, low, close, volume), and its @trade stream carries the
// four trades.
//
// While replaying, the exchange clock is the replay's: the bar's open time
// while its trades print (3/4 into it after the last), its end once closed.
// It starts at the first row's open time and only moves when stepped, so a
// kline's open time is the CSV's and the clock of WithClock is not read.
// The first replayed symbol (config order) sets the times; others print
// their rows at those times. After the last row the CSV starts over with
// its times shifted by its span (the time keeps increasing).
//
// A bar is stepped in two phases, so that a client can see its trades
// before it sees the bar close (the parity test does): StepTrades prints
// the next bar's trades, CloseBar moves the clock to the bar's end and
// sends the closing kline updates (x:true) of every subscribed interval
// whose kline ends there. Step does both. Symbols that are not replayed
// take one walk step per bar, at its last trade's time.

// errNotReplaying is returned by the two-phase steps of an exchange
// replaying no CSV.
var errNotReplaying = errors.New("exchangesim: not replaying a klines csv")

// replayBar is one replayed row, prices in ticks and volume in steps.
type replayBar struct {
	open, dur  int64 // ms
	o, h, l, c int64
	v          int64
}

// loadReplays reads the klines CSV of every symbol that has one (nil for
// the others) and, when one does, starts the replay clock at the first
// one's first open time.
func (e *Exchange) loadReplays(cfg Config) ([][]KlineRow, error) {
	rows := make([][]KlineRow, len(cfg.Symbols))
	for i, s := range cfg.Symbols {
		if s.KlinesCSV == "" {
			continue
		}
		r, err := LoadKlinesCSV(s.KlinesCSV)
		if err != nil {
			return nil, fmt.Errorf("exchangesim: symbol %s: %w", s.Symbol, err)
		}
		rows[i] = r
		if !e.replaying {
			e.replaying = true
			e.replayClock.Store(r[0].OpenTime)
		}
	}
	return rows, nil
}

// loadReplay converts rows into m's replay; they must ascend by open time
// and each must end after it opens.
func (m *market) loadReplay(rows []KlineRow) error {
	px := func(d decimal.Decimal) int64 { return min(max(d.Div(m.tickSz).Round(0).IntPart(), m.minPx), m.maxPx) }
	m.replay = make([]replayBar, 0, len(rows))
	for i, r := range rows {
		if r.CloseTime < r.OpenTime || i > 0 && r.OpenTime <= rows[i-1].OpenTime {
			return fmt.Errorf("row %d: open times must ascend and each row must close after it opens", i+1)
		}
		m.replay = append(m.replay, replayBar{open: r.OpenTime, dur: r.CloseTime + 1 - r.OpenTime,
			o: px(r.Open), h: px(r.High), l: px(r.Low), c: px(r.Close),
			v: max(0, min(r.Volume.Div(m.step).IntPart(), 1<<40))})
	}
	last := rows[len(rows)-1]
	m.span = last.CloseTime + 1 - rows[0].OpenTime
	return nil
}

// barTrades returns bar n's four trade prices (ticks) and quantities (steps).
func (m *market) barTrades(n int64) (px, qty [4]int64) {
	b := m.replay[n%int64(len(m.replay))]
	first, second := b.l, b.h
	if b.c < b.o {
		first, second = b.h, b.l
	}
	q := b.v / 4
	return [4]int64{b.o, first, second, b.c}, [4]int64{q, q, q, b.v - 3*q}
}

// barTime returns bar n's open time and duration (ms), from the driver's rows.
func (e *Exchange) barTime(n int64) (open, dur int64) {
	m := e.driver
	l := int64(len(m.replay))
	b := m.replay[n%l]
	return b.open + n/l*m.span, b.dur
}

// StepTrades prints the next bar's trades (closing the bar still open
// first), leaving the bar open; see the package's replay notes.
func (e *Exchange) StepTrades() error {
	if e.driver == nil {
		return errNotReplaying
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.replayTrades()
	return nil
}

// CloseBar closes the bar StepTrades printed: the clock moves to its end
// and the closing kline updates are sent. Without an open bar it does
// nothing.
func (e *Exchange) CloseBar() error {
	if e.driver == nil {
		return errNotReplaying
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closeBar()
	return nil
}

// replayTrades prints bar e.replayN. The caller holds e.mu.
func (e *Exchange) replayTrades() {
	e.closeBar()
	open, dur := e.barTime(e.replayN)
	for _, s := range e.symbols {
		m := e.markets[s]
		if m.replay == nil {
			e.replayClock.Store(open + 3*dur/4)
			e.stepMarket(m, open+3*dur/4, nil, -1)
			continue
		}
		px, qty := m.barTrades(e.replayN)
		for j := range px {
			t := open + int64(j)*dur/4
			e.replayClock.Store(t)
			e.stepMarket(m, t, &px[j], qty[j])
		}
	}
	e.replayClock.Store(open + 3*dur/4)
	e.replayN++
	e.barOpen, e.barEnd = true, open+dur
}

// closeBar closes the open bar, if any. The caller holds e.mu.
func (e *Exchange) closeBar() {
	if !e.barOpen {
		return
	}
	e.barOpen = false
	end := e.barEnd
	e.replayClock.Store(end)
	for _, s := range e.symbols {
		e.publishClosing(e.markets[s], end)
	}
}

// publishClosing sends, for each subscribed kline interval, the closing
// update of the kline holding m's last trade when it ends by end and was
// not closed before; later steps do not send it again (closedTo).
func (e *Exchange) publishClosing(m *market, end int64) {
	if n := len(m.ticks); n > 0 {
		last := m.ticks[n-1].t
		for iv := range intervalMs {
			name := m.lower + "@kline_" + iv
			b := bucketStart(last, iv)
			if next := bucketNext(b, iv); next > end || next <= m.closedTo || !e.hub.has(name) {
				continue
			}
			if ks := m.klines(iv, b, b, 1, end); len(ks) == 1 {
				ks[0].closed = true
				e.hub.publish(name, m.klineEvent(iv, ks[0], end))
			}
		}
	}
	m.closedTo = end
}
