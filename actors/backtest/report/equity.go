package report

import (
	"math"
	"slices"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// msPerYear is a year of 365.25 days in milliseconds.
const msPerYear = 365.25 * 24 * 3600 * 1000

// curve is the equity curve the metrics use: Result.Equity, after a
// start point when the legs' bars open before the first equity point.
type curve struct {
	head    engine.Point
	hasHead bool
	pts     []engine.Point
}

// curveOf builds r's curve (see the package doc).
func curveOf(r *engine.Result) curve {
	c := curve{pts: r.Equity}
	if len(r.Equity) == 0 {
		return c
	}
	var alloc float64
	start, found := int64(0), false
	for _, l := range r.Legs {
		alloc += l.Allocation
		if len(l.Bars) > 0 && (!found || l.Bars[0].OpenTimeMs < start) {
			start, found = l.Bars[0].OpenTimeMs, true
		}
	}
	if found && start < r.Equity[0].TimeMs && alloc > 0 {
		c.head, c.hasHead = engine.Point{TimeMs: start, Equity: alloc}, true
	}
	return c
}

// split returns the first point and the ones after it, for loops that
// walk the curve without at's branch.
func (c curve) split() (engine.Point, []engine.Point) {
	if c.hasHead {
		return c.head, c.pts
	}
	return c.pts[0], c.pts[1:]
}

// len is the number of points.
func (c curve) len() int {
	if c.hasHead {
		return len(c.pts) + 1
	}
	return len(c.pts)
}

// at returns the i-th point.
func (c curve) at(i int) engine.Point {
	if c.hasHead {
		if i == 0 {
			return c.head
		}
		return c.pts[i-1]
	}
	return c.pts[i]
}

// equityMetrics fills the metrics that come from the curve alone.
func (m *Metrics) equityMetrics(c curve) {
	n := c.len()
	if n == 0 {
		return
	}
	first, last := c.at(0), c.at(n-1)
	m.StartMs, m.EndMs = first.TimeMs, last.TimeMs
	m.InitialEquity, m.FinalEquity = first.Equity, last.Equity
	if first.Equity > 0 {
		m.TotalReturn = last.Equity/first.Equity - 1
		m.AnnualReturn = cagr(first.Equity, last.Equity, float64(m.EndMs-m.StartMs)/msPerYear)
	}
	m.PeriodsPerYear = periodsPerYear(c)
	m.returnRatios(c)
	m.drawdown(c)
	if m.MaxDrawdown > 0 {
		m.Calmar = m.AnnualReturn / m.MaxDrawdown
	}
}

// cagr is the compound annual growth rate from a to b over years.
func cagr(a, b, years float64) float64 {
	switch {
	case years <= 0 || a <= 0:
		return 0
	case b <= 0:
		return -1
	}
	return math.Exp(math.Log(b/a)/years) - 1
}

// periodsPerYear is a year over the median spacing of c's points, 0 with
// fewer than two points or a median spacing of 0.
func periodsPerYear(c curve) float64 {
	n := c.len()
	if n < 2 {
		return 0
	}
	if n >= 4 {
		// Bars of one interval without a gap need no sort: when all gaps
		// but the first (the start point's) are equal, so is the median.
		_, rest := c.split()
		if g := rest[1].TimeMs - rest[0].TimeMs; g > 0 && evenlySpaced(rest, g) {
			return msPerYear / float64(g)
		}
	}
	gaps := make([]int64, n-1)
	prev := c.at(0).TimeMs
	for i := 1; i < n; i++ {
		t := c.at(i).TimeMs
		gaps[i-1], prev = t-prev, t
	}
	slices.Sort(gaps)
	k := len(gaps)
	median := float64(gaps[(k-1)/2]+gaps[k/2]) / 2
	if median <= 0 {
		return 0
	}
	return msPerYear / median
}

// evenlySpaced says whether every point follows the previous by gap.
func evenlySpaced(pts []engine.Point, gap int64) bool {
	prev := pts[0].TimeMs
	for _, p := range pts[1:] {
		if p.TimeMs-prev != gap {
			return false
		}
		prev = p.TimeMs
	}
	return true
}

// returnRatios fills Sharpe and Sortino from the per-period returns. A
// period that starts at an equity of 0 or less has a return of 0.
func (m *Metrics) returnRatios(c curve) {
	n := c.len()
	if n < 3 || m.PeriodsPerYear <= 0 { // two returns at least for a stdev
		return
	}
	// Sums of the returns shifted by the first one (exact when they are
	// all equal, stable when they are close).
	var shift, sum, sumSq, down float64
	p0, rest := c.split()
	prev := p0.Equity
	for i, p := range rest {
		e := p.Equity
		var r float64
		if prev > 0 {
			r = e/prev - 1
		}
		prev = e
		if i == 0 {
			shift = r
		}
		d := r - shift
		sum += d
		sumSq += d * d
		if r < 0 {
			down += r * r
		}
	}
	k := float64(n - 1)
	mean := shift + sum/k
	scale := math.Sqrt(m.PeriodsPerYear)
	if std := math.Sqrt(max(0, (sumSq-sum*sum/k)/(k-1))); std > 0 {
		m.Sharpe = mean / std * scale
	}
	if dd := math.Sqrt(down / k); dd > 0 {
		m.Sortino = mean / dd * scale
	}
}

// drawdown fills MaxDrawdown and its start (the last time at the peak),
// trough and recovery (the first time back at the peak; 0 if never).
func (m *Metrics) drawdown(c curve) {
	p0, rest := c.split()
	peak, peakT := p0.Equity, p0.TimeMs
	floor := peak // below it a fall is deeper than MaxDrawdown
	recovering := false
	for _, p := range rest {
		if p.Equity >= peak {
			if recovering {
				m.DrawdownRecoveryMs, recovering = p.TimeMs, false
			}
			peak, peakT = p.Equity, p.TimeMs
			floor = peak * (1 - m.MaxDrawdown)
			continue
		}
		if peak <= 0 || p.Equity >= floor {
			continue
		}
		if dd := 1 - p.Equity/peak; dd > m.MaxDrawdown {
			m.MaxDrawdown = dd
			floor = p.Equity
			m.DrawdownStartMs, m.DrawdownTroughMs = peakT, p.TimeMs
			m.DrawdownRecoveryMs, recovering = 0, true
		}
	}
}
