package exchangesim

import (
	"math"
	"math/bits"
)

// Price history for any range a client asks for.
//
// Time is split at the genesis G, the minute-aligned time of a symbol's first live tick
// (start time minus the backfill, rounded down to the minute):
//
//   - Before G the history is synthetic and generated on demand: minute m (ms m·60000)
//     opens at P(m) and closes at P(m+1), where P is the configured start price plus a
//     sum of synthOctaves layers of value noise, layer k having knots every 2^k minutes,
//     each knot a hash of (seed, symbol, k, knot index), linearly interpolated, with an
//     amplitude ∝ √(2^k) scaled to the symbol's volatility (so it looks like a random
//     walk from one minute to weeks), minus its value at G: P(G) is exactly the start
//     price, where the live walk begins, so the synthetic past joins the live history.
//     Each minute has synthPerMin trades (ids m·synthPerMin+1 …, one per 10 s slot):
//     the first at the open, the last at the close, one at the minute's high and one at
//     its low (hashed a little past open/close), the others hashed in between. Any page
//     (klines of any interval, trades by id or time) costs O(its trades), nothing is
//     stored, and the same seed, symbol, start price and genesis give the same history.
//   - From G on the history is the live walk's ticks (ids continue the synthetic ones).
//     Ticks beyond max_history are trimmed at a minute boundary; the trimmed minutes are
//     kept as 1m klines (the archive, up to maxArchive minutes), so klines stay exact;
//     trades of archived minutes are no longer listed (trade endpoints skip them), and
//     minutes dropped from a full archive read as flat, empty klines.
const (
	synthPerMin  = 6
	synthOctaves = 15
	maxArchive   = 31 * 24 * 60
)

// history is a symbol's synthetic past and archive. Guarded by Exchange.mu.
type history struct {
	seed      uint64
	genesis   int64 // ms, a multiple of 60000
	p0        int64 // ticks: the price at genesis
	amp       [synthOctaves]int64
	anchor    int64 // the noise sum at the genesis minute
	lo, hi    int64 // price bounds (ticks)
	wiggle    int64 // ticks a minute's high/low may reach past its open/close
	levelQty  int64
	archive   []kline // 1m klines of trimmed ticks, contiguous from archStart
	archStart int64
	archEnd   int64 // ticks start here (genesis until the first trim)
}

// setGenesis fixes the start of the live history and derives the synthetic past.
// stepMs is the live walk's step, used to scale the noise to the walk's volatility.
func (m *market) setGenesis(g, stepMs int64, seed uint64) {
	h := &m.hist
	h.seed, h.genesis, h.p0, h.levelQty = seed, g, m.px, m.levelQty
	h.archStart, h.archEnd = g, g
	h.lo = max(m.minPx, m.px/4)
	h.hi = m.maxPx
	if m.px < m.maxPx/4 {
		h.hi = m.px * 4
	}
	// One step moves uniformly within ±vol: σ per step = vol/√3, per minute ×√(steps per minute).
	vol, _ := m.vol.Float64()
	sigmaMin := vol / math.Sqrt(3) * math.Sqrt(60000/float64(max(stepMs, 1)))
	for k := range synthOctaves {
		h.amp[k] = int64(math.Round(float64(m.px) * sigmaMin * math.Sqrt(float64(int64(1)<<k)) * 0.6))
	}
	h.wiggle = h.amp[0] / 2
	p := pricer{h: h}
	h.anchor = p.sum(g / 60000)
	m.nextTrade = g/60000*synthPerMin + 1
}

// mix is splitmix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (h *history) hash(a, b, c uint64) uint64 { return mix(h.seed ^ mix(a^mix(b^mix(c)))) }

// noise is the value of layer k's knot i, in [-2^20, 2^20).
func (h *history) noise(k int, i int64) int64 {
	return int64(h.hash(1, uint64(k), uint64(i))>>43) - 1<<20
}

// pricer evaluates P(minute), caching each layer's current knots (consecutive minutes
// share them).
type pricer struct {
	h      *history
	valid  bool
	idx    [synthOctaves]int64
	n0, n1 [synthOctaves]int64
	memoOK bool  // memoM/memoP hold the last at() (a minute's close is the next one's open)
	memoM  int64 // minute
	memoP  int64 // its price
}

func (p *pricer) sum(m int64) int64 {
	h := p.h
	var s int64
	for k := range synthOctaves {
		i := m >> k
		if !p.valid || i != p.idx[k] {
			p.idx[k], p.n0[k], p.n1[k] = i, h.noise(k, i), h.noise(k, i+1)
		}
		f := m - i<<k
		v := p.n0[k] + ((p.n1[k]-p.n0[k])*f)>>k
		s += mulShr20(h.amp[k], v)
	}
	p.valid = true
	return s
}

// at returns P(m), the price at the start of minute m, in ticks.
func (p *pricer) at(m int64) int64 {
	if p.memoOK && p.memoM == m {
		return p.memoP
	}
	px := min(max(p.h.p0+p.sum(m)-p.h.anchor, p.h.lo), p.h.hi)
	p.memoOK, p.memoM, p.memoP = true, m, px
	return px
}

// mulShr20 returns a·v / 2^20 without overflowing for |a| < 2^60, |v| ≤ 2^21.
func mulShr20(a, v int64) int64 {
	hi, lo := bits.Mul64(uint64(abs64(a)), uint64(abs64(v)))
	r := int64(hi<<44 | lo>>20)
	if (a < 0) != (v < 0) {
		return -r
	}
	return r
}

// minuteTrades appends the synthetic trades of minute mi (before the genesis) to buf.
func (h *history) minuteTrades(p *pricer, mi int64, buf []tick) []tick {
	o := p.at(mi)
	c := p.at(mi + 1)
	r := h.hash(2, uint64(mi), 0)
	w := uint64(h.wiggle + 1)
	hi := min(max(o, c)+int64(r%w), h.hi)
	lo := max(min(o, c)-int64((r>>32)%w), h.lo)
	hiAt := 1 + int((r>>16)%(synthPerMin-2))
	loAt := 1 + int((r>>24)%(synthPerMin-3))
	if loAt >= hiAt {
		loAt++
	}
	const slot = 60000 / synthPerMin
	prev := o
	for j := range synthPerMin {
		rj := mix(r + uint64(j+1)*0x9e3779b97f4a7c15)
		var px int64
		switch j {
		case 0:
			px = o
		case synthPerMin - 1:
			px = c
		case hiAt:
			px = hi
		case loAt:
			px = lo
		default:
			px = lo + int64(rj%uint64(hi-lo+1))
		}
		q := max(1, h.levelQty*int64((rj>>40)%100+1)/100)
		buf = append(buf, tick{t: mi*60000 + int64(j)*slot + int64((rj>>8)%slot), id: mi*synthPerMin + int64(j) + 1,
			px: px, qty: q, buyerMaker: px < prev})
		prev = px
	}
	return buf
}

// add folds one trade into k (the first trade sets open, high and low).
func (k *kline) add(tk tick) {
	if k.n == 0 {
		k.o, k.h, k.l, k.firstID = tk.px, tk.px, tk.px, tk.id
	}
	k.h, k.l, k.c = max(k.h, tk.px), min(k.l, tk.px), tk.px
	k.v += tk.qty
	k.q.addMul(tk.px, tk.qty)
	if !tk.buyerMaker {
		k.takerV += tk.qty
		k.takerQ.addMul(tk.px, tk.qty)
	}
	k.n++
	k.lastID, k.lastQty = tk.id, tk.qty
}

// merge folds a sub-kline (an archived minute) into k; an empty one changes nothing.
func (k *kline) merge(x *kline) {
	if x.n == 0 {
		return
	}
	if k.n == 0 {
		k.o, k.h, k.l, k.firstID = x.o, x.h, x.l, x.firstID
	}
	k.h, k.l, k.c = max(k.h, x.h), min(k.l, x.l), x.c
	k.v += x.v
	k.takerV += x.takerV
	k.q.add(x.q)
	k.takerQ.add(x.takerQ)
	k.n += x.n
	k.lastID, k.lastQty = x.lastID, x.lastQty
}

func (a *u128) add(b u128) {
	var c uint64
	a.lo, c = bits.Add64(a.lo, b.lo, 0)
	a.hi += b.hi + c
}

// fold adds every trade with from <= t < to to k, from whichever part of the history
// holds that time. Archived minutes count only when wholly inside [from, to).
func (m *market) fold(p *pricer, k *kline, from, to int64, buf []tick) []tick {
	h := &m.hist
	if end := min(to, h.genesis); from < end {
		for mi := floorDiv(from, 60000); mi*60000 < end; mi++ {
			buf = h.minuteTrades(p, mi, buf[:0])
			for _, tk := range buf {
				if tk.t >= from && tk.t < end {
					k.add(tk)
				}
			}
		}
	}
	if s, e := max(from, h.archStart), min(to, h.archEnd); s < e {
		for i := (s - h.archStart + 59999) / 60000; h.archStart+(i+1)*60000 <= e; i++ {
			k.merge(&h.archive[i])
		}
	}
	if from < to && to > h.archEnd {
		for i := m.firstTickAtOrAfter(max(from, h.archEnd)); i < len(m.ticks) && m.ticks[i].t < to; i++ {
			k.add(m.ticks[i])
		}
	}
	return buf
}

// closeBefore returns the price of the last trade before t (the start price if none).
func (m *market) closeBefore(p *pricer, t int64) int64 {
	h := &m.hist
	switch {
	case t <= h.genesis:
		mi := floorDiv(t, 60000)
		px := p.at(mi)
		for _, tk := range h.minuteTrades(p, mi, nil) {
			if tk.t < t {
				px = tk.px
			}
		}
		return px
	case t > h.archEnd:
		if i := m.firstTickAtOrAfter(t); i > 0 {
			return m.ticks[i-1].px
		}
	}
	if len(h.archive) == 0 {
		return h.p0
	}
	i := (t - h.archStart) / 60000
	if i <= 0 {
		return h.archive[0].o
	}
	return h.archive[min(i, int64(len(h.archive)))-1].c
}

// trimTicks moves the ticks of whole minutes beyond maxHistory into the archive.
func (m *market) trimTicks() {
	h := &m.hist
	cutT := bucketStart(m.ticks[len(m.ticks)-m.maxHistory].t, "1m")
	cut := m.firstTickAtOrAfter(cutT)
	if cut == 0 || cutT <= h.archEnd {
		return
	}
	p := pricer{h: h}
	prev := m.closeBefore(&p, h.archEnd)
	for t := h.archEnd; t < cutT; t += 60000 {
		k := kline{open: t, close: t + 59999, o: prev, h: prev, l: prev, c: prev, firstID: -1, lastID: -1, closed: true}
		m.fold(&p, &k, t, t+60000, nil)
		h.archive = append(h.archive, k)
		prev = k.c
	}
	h.archEnd = cutT
	if n := len(h.archive) - maxArchive; n > 0 {
		h.archive = append(h.archive[:0], h.archive[n:]...)
		h.archStart += int64(n) * 60000
	}
	n := copy(m.ticks, m.ticks[cut:])
	m.ticks = m.ticks[:n]
}
