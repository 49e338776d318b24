package exchangesim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/big"
	"math/bits"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// tick is one synthetic market trade: the price path advances one tick per step.
// Prices are kept in units of tickSize and quantities in units of stepSize (exact integers).
type tick struct {
	t          int64 // ms
	id         int64 // trade id
	px         int64 // price in ticks
	qty        int64 // quantity in steps
	buyerMaker bool
}

type level struct {
	px  int64 // ticks
	qty int64 // steps
}

// market is the state of one symbol. All fields are guarded by Exchange.mu.
type market struct {
	name, lower  string
	base, quote  string
	tickSz, step decimal.Decimal
	minPrice     decimal.Decimal
	maxPrice     decimal.Decimal
	minQty       decimal.Decimal
	maxQty       decimal.Decimal
	mktMaxQty    decimal.Decimal
	minNotional  decimal.Decimal
	maxNotional  decimal.Decimal
	vol          decimal.Decimal
	stepCalc     intWalk         // vol in integers, when it fits
	liquidity    decimal.Decimal // per step, 0 = unlimited
	levelQty     int64           // steps
	minPx, maxPx int64           // ticks
	gap          int64           // ticks between synthetic levels
	depthLevels  int
	maxHistory   int

	rng       *rand.Rand
	px        int64
	ticks     []tick
	nextTrade int64
	nextOrder int64
	updateID  int64
	bids      []level     // best first
	asks      []level     // best first
	replay    []replayBar // the klines CSV's rows (replay.go); nil: a random walk
	span      int64       // ms from the first row's open to the last row's end
	closedTo  int64       // ms: closing kline updates were sent up to here (replay's CloseBar)
	open      []*order    // resting user orders, in arrival order
	stops     []*order    // stop and take-profit orders waiting for their trigger
	hist      history     // the synthetic past and the archive of trimmed ticks
	hseed     uint64      // seeds the synthetic past and the deep book
	tickU     unit        // tickSz and step for the fast number formatting
	stepU     unit
	unitsSet  bool
}

// newMarket builds the market of s; rows, when not nil, are its klines CSV's (a replay).
func newMarket(s Symbol, seed int64, depthLevels, maxHistory int, rows []KlineRow) (*market, error) {
	dec := func(v, def string) decimal.Decimal {
		if v == "" {
			v = def
		}
		d, _ := decimal.NewFromString(v) // validated
		return d
	}
	m := &market{
		name: s.Symbol, lower: strings.ToLower(s.Symbol), base: s.BaseAsset, quote: s.QuoteAsset,
		tickSz: dec(s.TickSize, "0.01"), step: dec(s.StepSize, "0.00001"),
		maxPrice: dec(s.MaxPrice, "1000000"), maxQty: dec(s.MaxQty, "9000"),
		mktMaxQty: dec(s.MarketMaxQty, "100"), minNotional: dec(s.MinNotional, "5"),
		maxNotional: dec(s.MaxNotional, "9000000"), vol: dec(s.Volatility, "0.0005"),
		liquidity: dec(s.StepLiquidity, "0"), depthLevels: depthLevels, maxHistory: maxHistory,
		nextTrade: 1, nextOrder: 1, updateID: 1000,
	}
	m.stepCalc = newIntWalk(m.vol)
	m.minPrice = dec(s.MinPrice, s.TickSize)
	m.minQty = dec(s.MinQty, s.StepSize)
	m.levelQty = max(1, dec(s.LevelQty, "1").Div(m.step).IntPart())
	m.minPx = max(1, m.minPrice.Div(m.tickSz).Ceil().IntPart())
	m.maxPx = m.maxPrice.Div(m.tickSz).Floor().IntPart()
	h := fnv.New64a()
	_, _ = h.Write([]byte(s.Symbol))
	m.rng = rand.New(rand.NewPCG(uint64(seed), h.Sum64()))
	m.hseed = mix(uint64(seed)) ^ h.Sum64()
	if rows != nil {
		if err := m.loadReplay(rows); err != nil {
			return nil, fmt.Errorf("symbol %s: klines csv: %w", s.Symbol, err)
		}
	}
	switch {
	case len(m.replay) > 0:
		m.px = m.replay[0].o
	case s.Price != "":
		m.px = dec(s.Price, "1").Div(m.tickSz).IntPart()
	}
	m.px = min(max(m.px, m.minPx), m.maxPx)
	m.gap = max(1, m.price(m.px).Mul(decimal.New(1, -4)).Div(m.tickSz).IntPart()) // 1 bp
	m.rebuildBook()
	return m, nil
}

func (m *market) price(px int64) decimal.Decimal { return decimal.New(px, 0).Mul(m.tickSz) }
func (m *market) qty(q int64) decimal.Decimal    { return decimal.New(q, 0).Mul(m.step) }

// nextPrice computes the next price of the walk.
func (m *market) nextPrice() int64 {
	k := int64(m.rng.IntN(2001) - 1000)
	move, ok := m.stepCalc.move(m.px, k)
	if !ok {
		move = decimal.New(m.px, 0).Mul(m.vol).Mul(decimal.New(k, -3)).Round(0).IntPart()
	}
	return min(max(m.px+move, m.minPx), m.maxPx)
}

// intWalk computes a random-walk step, round(px × vol × k/1000) rounded
// half away from zero as decimal.Round(0) does, in int64 arithmetic: vol =
// coef/div. The backfill takes thousands of steps per symbol at start, and
// decimal's big.Int arithmetic made megabytes of garbage.
type intWalk struct {
	coef, div int64 // zero div: vol does not fit, use decimal
	maxPx     int64 // px × coef × 1000 fits int64 up to here
}

func newIntWalk(vol decimal.Decimal) intWalk {
	c, exp := vol.Coefficient(), vol.Exponent()
	if !c.IsInt64() || c.Sign() < 0 || exp < -15 || exp > 6 {
		return intWalk{}
	}
	coef, div := c.Int64(), int64(1000)
	for ; exp > 0; exp-- {
		if coef > math.MaxInt64/10 {
			return intWalk{}
		}
		coef *= 10
	}
	for ; exp < 0; exp++ {
		div *= 10
	}
	if coef == 0 {
		return intWalk{coef: 0, div: div, maxPx: math.MaxInt64}
	}
	return intWalk{coef: coef, div: div, maxPx: math.MaxInt64 / coef / 1000}
}

func (w intWalk) move(px, k int64) (int64, bool) {
	if w.div == 0 || px < 0 || px > w.maxPx {
		return 0, false
	}
	n := px * w.coef * k // |k| <= 1000
	q, r := n/w.div, n%w.div
	if 2*abs64(r) >= w.div {
		if n < 0 {
			q--
		} else {
			q++
		}
	}
	return q, true
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// appendTick appends one tick at the next walk price (or at *forced) without touching the
// book. Its quantity is qty steps, or a random one when qty < 0.
func (m *market) appendTick(now int64, forced *int64, qty int64) tick {
	var newPx int64
	if forced != nil {
		newPx = min(max(*forced, m.minPx), m.maxPx)
	} else {
		newPx = m.nextPrice()
	}
	q := qty
	if q < 0 {
		q = max(1, m.levelQty*int64(m.rng.IntN(100)+1)/100)
	}
	if n := len(m.ticks); n > 0 && m.ticks[n-1].t > now {
		now = m.ticks[n-1].t
	}
	tk := tick{t: now, id: m.nextTrade, px: newPx, qty: q, buyerMaker: newPx < m.px}
	m.nextTrade++
	m.px = newPx
	m.ticks = append(m.ticks, tk)
	if len(m.ticks) > m.maxHistory+m.maxHistory/4 { // amortised trim
		m.trimTicks()
	}
	return tk
}

// advance appends one tick and rebuilds the synthetic book around the new price. It returns
// the tick and the depth diff, whose update ids continue the symbol's single sequence.
// qty is the trade's quantity in steps (< 0: random).
func (m *market) advance(now int64, forced *int64, qty int64) (tick, depthDiff) {
	tk := m.appendTick(now, forced, qty)
	oldB, oldA := m.bids, m.asks
	m.rebuildBook()
	d := depthDiff{first: m.updateID + 1}
	d.bids = diffLevels(oldB, m.bids)
	d.asks = diffLevels(oldA, m.asks)
	m.updateID += int64(max(1, len(d.bids)+len(d.asks)))
	d.last = m.updateID
	return tk, d
}

func (m *market) rebuildBook() {
	m.bids = make([]level, 0, m.depthLevels)
	m.asks = make([]level, 0, m.depthLevels)
	for i := range int64(m.depthLevels) {
		off := 1 + i*m.gap
		if bp := m.px - off; bp >= m.minPx {
			m.bids = append(m.bids, level{bp, max(1, m.levelQty*int64(m.rng.IntN(101)+50)/100)})
		}
		if ap := m.px + off; ap <= m.maxPx {
			m.asks = append(m.asks, level{ap, max(1, m.levelQty*int64(m.rng.IntN(101)+50)/100)})
		}
	}
}

// depthDiff is the change between two synthetic books: a qty of 0 removes a level.
type depthDiff struct {
	first, last int64
	bids, asks  []level
}

func diffLevels(old, cur []level) []level {
	om := make(map[int64]int64, len(old))
	for _, l := range old {
		om[l.px] = l.qty
	}
	var out []level
	cm := make(map[int64]bool, len(cur))
	for _, l := range cur {
		cm[l.px] = true
		if om[l.px] != l.qty {
			out = append(out, l)
		}
	}
	for _, l := range old {
		if !cm[l.px] {
			out = append(out, level{l.px, 0})
		}
	}
	return out
}

// kline intervals in ms; 1M is calendar months and handled apart.
var intervalMs = map[string]int64{
	"1s": 1000, "1m": 60000, "3m": 180000, "5m": 300000, "15m": 900000, "30m": 1800000,
	"1h": 3600000, "2h": 7200000, "4h": 14400000, "6h": 21600000, "8h": 28800000, "12h": 43200000,
	"1d": 86400000, "3d": 259200000, "1w": 604800000, "1M": 0,
}

const weekOffsetMs = 4 * 86400000 // 1970-01-05 was a Monday: weekly klines open on Monday 00:00 UTC

func validInterval(iv string) bool { _, ok := intervalMs[iv]; return ok }

// bucketStart returns the open time of the kline of interval iv that contains t (ms).
func bucketStart(t int64, iv string) int64 {
	switch iv {
	case "1M":
		tm := time.UnixMilli(t).UTC()
		return time.Date(tm.Year(), tm.Month(), 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	case "1w":
		return floorDiv(t-weekOffsetMs, intervalMs[iv])*intervalMs[iv] + weekOffsetMs
	}
	return floorDiv(t, intervalMs[iv]) * intervalMs[iv]
}

// bucketNext returns the open time of the kline after the one opening at start.
func bucketNext(start int64, iv string) int64 {
	if iv == "1M" {
		return time.UnixMilli(start).UTC().AddDate(0, 1, 0).UnixMilli()
	}
	return start + intervalMs[iv]
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// kline is one aggregated candle.
type kline struct {
	open, close     int64 // open time, close time (ms)
	o, h, l, c      int64 // ticks
	v, takerV       int64 // steps
	q, takerQ       u128  // quote volume in tick×step units
	n               int64
	firstID, lastID int64
	lastQty         int64 // steps, of the last trade
	closed          bool
}

// firstTickAtOrAfter returns the index of the first tick with t >= ts.
func (m *market) firstTickAtOrAfter(ts int64) int {
	lo, hi := 0, len(m.ticks)
	for lo < hi {
		mid := (lo + hi) / 2
		if m.ticks[mid].t < ts {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// maxPageMinutes bounds the minutes one klines page aggregates (see klineRange).
const maxPageMinutes = 1440 * 250

// klines returns contiguous klines of interval iv following Binance's rules for
// startTime/endTime/limit (0 = absent; see klineRange).
func (m *market) klines(iv string, startTime, endTime int64, limit int, now int64) []kline {
	return m.klineRange(iv, startTime, endTime, startTime > 0, endTime > 0, limit, now)
}

// klineRange returns up to limit contiguous klines of interval iv (fewer for coarse
// intervals, see maxPageMinutes): from the first one
// opening at or after startTime when hasStart (0 is the epoch), else the last ones up
// to endTime (hasEnd) or now. A kline with no trade is flat at the previous close.
func (m *market) klineRange(iv string, startTime, endTime int64, hasStart, hasEnd bool, limit int, now int64) []kline {
	// bound the work of one page (the caller holds the exchange's lock): at most
	// maxPageMinutes minutes: 1d pages hold 250 candles, 1w 35, 1M 8
	bucketMin := max(intervalMs[iv]/60000, 1)
	if iv == "1M" {
		bucketMin = 31 * 1440
	}
	limit = int(min(int64(limit), max(1, maxPageMinutes/bucketMin)))
	last := bucketStart(now, iv)
	if hasEnd {
		last = min(last, bucketStart(endTime, iv))
	}
	if hasStart && startTime > last || hasEnd && endTime < 0 {
		return nil // nothing opens after now or before the epoch
	}
	var from int64
	if hasStart { // klines opening at or after startTime
		from = bucketStart(max(startTime, 0), iv)
		if from < max(startTime, 0) {
			from = bucketNext(from, iv)
		}
	} else { // the last `limit` klines up to `last`
		from = last
		for i := 1; i < limit && from > 0; i++ {
			from = bucketStart(from-1, iv)
		}
	}
	p := pricer{h: &m.hist}
	prevClose := m.closeBefore(&p, from)
	var out []kline
	var buf []tick
	for b := from; b <= last && len(out) < limit; b = bucketNext(b, iv) {
		end := bucketNext(b, iv)
		k := kline{open: b, close: end - 1, o: prevClose, h: prevClose, l: prevClose, c: prevClose,
			closed: now >= end, firstID: -1, lastID: -1}
		buf = m.fold(&p, &k, b, end, buf)
		prevClose = k.c
		out = append(out, k)
	}
	return out
}

// stats summarises the trades of [since, now] (24 h ticker, rolling windows, avgPrice).
type stats struct {
	open, high, low, last, prevClose int64
	lastQty                          int64
	vol                              int64
	quoteVol                         decimal.Decimal
	count, firstID, lastID           int64
	openTime, closeTime              int64
}

func (m *market) stats(since, now int64) stats {
	p := pricer{h: &m.hist}
	pc := m.closeBefore(&p, since)
	k := kline{o: pc, h: pc, l: pc, c: pc, firstID: -1, lastID: -1}
	m.fold(&p, &k, since, now+1, nil)
	return stats{open: k.o, high: k.h, low: k.l, last: k.c, prevClose: pc, lastQty: k.lastQty, vol: k.v,
		quoteVol: m.quoteDec(k.q), count: k.n, firstID: k.firstID, lastID: k.lastID, openTime: since, closeTime: now}
}

// KlineRow is one row of a Binance public-data klines CSV, times in ms.
type KlineRow struct {
	// OpenTime and CloseTime are in ms (µs inputs are converted).
	OpenTime, CloseTime int64
	// Open, High, Low and Close are the prices of the row.
	Open, High, Low, Close decimal.Decimal
	// Volume is the base asset volume.
	Volume decimal.Decimal
}

// LoadKlinesCSV reads a Binance public-data spot klines CSV (12 columns, no header).
// Open and close times above 1e14 are microseconds (files from 2025 on) and are converted to ms.
func LoadKlinesCSV(path string) ([]KlineRow, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("klines csv: %w", err)
	}
	defer f.Close()
	return ParseKlinesCSV(f)
}

// ParseKlinesCSV parses the content of a klines CSV; see LoadKlinesCSV.
func ParseKlinesCSV(r io.Reader) ([]KlineRow, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 12
	var rows []KlineRow
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("klines csv: %w", err)
		}
		var row KlineRow
		var perr error
		ms := func(s string) int64 {
			v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				perr = err
			}
			if v > 1e14 {
				v /= 1000
			}
			return v
		}
		dec := func(s string) decimal.Decimal {
			d, err := decimal.NewFromString(strings.TrimSpace(s))
			if err != nil {
				perr = err
			}
			return d
		}
		row.OpenTime, row.CloseTime = ms(rec[0]), ms(rec[6])
		row.Open, row.High, row.Low, row.Close, row.Volume = dec(rec[1]), dec(rec[2]), dec(rec[3]), dec(rec[4]), dec(rec[5])
		if perr != nil {
			return nil, fmt.Errorf("klines csv: line %d: %w", line, perr)
		}
		if !row.Close.IsPositive() {
			return nil, fmt.Errorf("klines csv: line %d: close must be > 0", line)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, errors.New("klines csv: no rows")
	}
	return rows, nil
}

// u128 accumulates price×qty products exactly (prices in ticks, quantities in steps) without
// per-tick decimal arithmetic.
type u128 struct{ hi, lo uint64 }

func (a *u128) addMul(px, qty int64) {
	hi, lo := bits.Mul64(uint64(px), uint64(qty))
	var c uint64
	a.lo, c = bits.Add64(a.lo, lo, 0)
	a.hi += hi + c
}

// quoteDec converts an accumulated tick×step sum to a quote amount.
func (m *market) quoteDec(a u128) decimal.Decimal {
	b := new(big.Int).SetUint64(a.hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(a.lo))
	return decimal.NewFromBigInt(b, 0).Mul(m.tickSz).Mul(m.step)
}
