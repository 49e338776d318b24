package report

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH                       = 960.0, 300.0
	padLeft, padRight, padTop, padBottom = 72.0, 16.0, 12.0, 28.0
	// chartBuckets bounds a line to about 2*chartBuckets points.
	chartBuckets = 1500
	// maxMarkers bounds the fill markers drawn on one price chart.
	maxMarkers = 5000
)

// tick is an axis label at a position.
type tick struct {
	Pos   float64
	Label string
	// Class is " first" or " last" for the ends of the time axis.
	Class string
}

// chart is one inline SVG chart, ready to write.
type chart struct {
	Title string
	// Line is a polyline's points; Area, if set, a polygon's (drawdown).
	Line, Area string
	// Bench is a dashed polyline's points (buy and hold).
	Bench          string
	XTicks, YTicks []tick
	// Buys and Sells are path data: a triangle per fill.
	Buys, Sells string
	// Note says what was left out (markers over maxMarkers).
	Note string
}

// write writes the chart as a section with an inline SVG.
func (c *chart) write(w *bufio.Writer) {
	const right, plotW, plotH = chartW - padRight, chartW - padLeft - padRight, chartH - padTop - padBottom
	const yLabelX, xLabelY = padLeft - 6, chartH - 10
	w.WriteString("<section><h2>" + esc(c.Title) + "</h2>\n")
	fmt.Fprintf(w, `<svg viewBox="0 0 %v %v" width="%v" height="%v" role="img">`+"\n", chartW, chartH, chartW, chartH)
	fmt.Fprintf(w, `<rect class="frame" x="%v" y="%v" width="%v" height="%v"/>`+"\n", padLeft, padTop, plotW, plotH)
	for _, t := range c.YTicks {
		fmt.Fprintf(w, `<line class="gl" x1="%v" x2="%v" y1="%v" y2="%v"/><text class="yl" x="%v" y="%v" dy="4">%s</text>`+"\n",
			padLeft, right, t.Pos, t.Pos, yLabelX, t.Pos, esc(t.Label))
	}
	for _, t := range c.XTicks {
		fmt.Fprintf(w, `<text class="xl%s" x="%v" y="%v">%s</text>`+"\n", esc(t.Class), t.Pos, xLabelY, esc(t.Label))
	}
	for _, sh := range []struct{ tag, class, attr, v, title string }{
		{"polygon", "area", "points", c.Area, ""}, {"polyline", "bench", "points", c.Bench, ""},
		{"polyline", "line", "points", c.Line, ""}, {"path", "buy", "d", c.Buys, "buys"}, {"path", "sell", "d", c.Sells, "sells"},
	} {
		switch {
		case sh.v == "":
		case sh.title == "":
			fmt.Fprintf(w, `<%s class="%s" %s="%s"/>`+"\n", sh.tag, sh.class, sh.attr, esc(sh.v))
		default:
			fmt.Fprintf(w, `<%s class="%s" %s="%s"><title>%s</title></%s>`+"\n", sh.tag, sh.class, sh.attr, esc(sh.v), sh.title, sh.tag)
		}
	}
	w.WriteString("</svg>")
	if c.Note != "" {
		w.WriteString(`<p class="note">` + esc(c.Note) + "</p>")
	}
	w.WriteString("</section>\n")
}

// scale maps times and values into the plot box.
type scale struct {
	t0, t1 int64
	y0, y1 float64
}

// newScale spans [t0, t1] × [lo, hi], widened when empty.
func newScale(t0, t1 int64, lo, hi float64) scale {
	if t1 <= t0 {
		t1 = t0 + 1
	}
	if !(hi > lo) {
		pad := math.Max(math.Abs(lo)*0.01, 1)
		lo, hi = lo-pad, hi+pad
	} else {
		pad := (hi - lo) * 0.04
		lo, hi = lo-pad, hi+pad
	}
	return scale{t0: t0, t1: t1, y0: lo, y1: hi}
}

// x is t's horizontal position.
func (s scale) x(t int64) float64 {
	return round1(padLeft + float64(t-s.t0)/float64(s.t1-s.t0)*(chartW-padLeft-padRight))
}

// y is v's vertical position.
func (s scale) y(v float64) float64 {
	return round1(chartH - padBottom - (v-s.y0)/(s.y1-s.y0)*(chartH-padTop-padBottom))
}

// round1 rounds to a tenth, which keeps the SVG short.
func round1(v float64) float64 { return math.Round(finite(v)*10) / 10 }

// points renders samples as "x,y x,y ...".
func (s scale) points(pts []sample) string {
	b := make([]byte, 0, len(pts)*14)
	for k, p := range pts {
		if k > 0 {
			b = append(b, ' ')
		}
		b = appendTenths(b, s.x(p.t))
		b = append(b, ',')
		b = appendTenths(b, s.y(p.v))
	}
	return string(b)
}

// appendTenths appends v, a multiple of a tenth, without a trailing ".0".
func appendTenths(b []byte, v float64) []byte {
	tenths := int64(math.Round(v * 10))
	if tenths < 0 {
		b = append(b, '-')
		tenths = -tenths
	}
	b = strconv.AppendInt(b, tenths/10, 10)
	if d := tenths % 10; d != 0 {
		b = append(b, '.', byte('0'+d))
	}
	return b
}

// xTicks labels six evenly spaced times, with hours when the span is
// under three days.
func (s scale) xTicks() []tick {
	layout := "2006-01-02"
	if s.t1-s.t0 < 3*86_400_000 {
		layout = "01-02 15:04"
	}
	ticks := make([]tick, 0, 6)
	for k := range 6 {
		t := s.t0 + (s.t1-s.t0)*int64(k)/5
		ticks = append(ticks, tick{Pos: s.x(t), Label: time.UnixMilli(t).UTC().Format(layout)})
	}
	ticks[0].Class, ticks[5].Class = " first", " last"
	return ticks
}

// yTicks labels round values across the range.
func (s scale) yTicks() []tick {
	step := niceStep((s.y1 - s.y0) / 5)
	if step <= 0 || math.IsInf(step, 0) || math.IsNaN(step) {
		return nil
	}
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	var ticks []tick
	for v := math.Ceil(s.y0/step) * step; v <= s.y1 && len(ticks) < 12; v += step {
		ticks = append(ticks, tick{Pos: s.y(v), Label: strconv.FormatFloat(v, 'f', decimals, 64)})
	}
	return ticks
}

// niceStep rounds raw up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	if !(raw > 0) {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if raw <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// extent is the lowest and highest value of pts, ignoring values that
// are not finite; 0, 0 when none is.
func extent(pts []sample) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		if x := p.v; !math.IsNaN(x) && !math.IsInf(x, 0) {
			lo, hi = min(lo, x), max(hi, x)
		}
	}
	if lo > hi {
		return 0, 0
	}
	return lo, hi
}
