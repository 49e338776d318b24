package report

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// PNG size in pixels.
const (
	PNGWidth  = 1000
	PNGHeight = 400
)

// The plot area inside the PNG: room on the left for the equity labels and
// below for the dates.
const (
	pngLeft, pngRight    = 80, PNGWidth - 20
	pngTop, pngBottom    = 30, PNGHeight - 40
	pngYTicks, pngXTicks = 5, 6
)

// PNG colours: the strategy's curve as in the HTML, buy-and-hold grey.
var (
	pngCurve = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	pngHold  = color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff}
	pngGrid  = color.RGBA{R: 0xe4, G: 0xe4, B: 0xe4, A: 0xff}
	pngInk   = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
)

// errNoEquity is WritePNG's answer for a result without an equity curve.
var errNoEquity = errors.New("report: png: no equity points")

// WritePNG writes the equity curve (and buy-and-hold, dashed, when the legs
// allow it) as a PNGWidth × PNGHeight PNG, downsampled like the HTML's,
// with equity labels and UTC dates. It draws with the standard library and
// a 7×13 bitmap font: no font files in the binary.
func WritePNG(w io.Writer, r *engine.Result) error {
	if r == nil {
		return errNilResult
	}
	c := curveOf(r)
	if c.len() == 0 {
		return errNoEquity
	}
	eq, bh := newSampler(c.len(), chartBuckets), newSampler(c.len(), chartBuckets)
	hold := newHolding(r.Legs, c.at(0).Equity)
	for i := range c.len() {
		p := c.at(i)
		eq.add(p.TimeMs, finite(p.Equity))
		if hold != nil {
			bh.add(p.TimeMs, finite(hold.at(p.TimeMs)))
		}
	}
	series := [][]sample{eq.samples()}
	if hold != nil {
		series = append(series, bh.samples())
	}
	img := image.NewRGBA(image.Rect(0, 0, PNGWidth, PNGHeight))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	fr := frameOf(series)
	fr.axes(img)
	if hold != nil {
		fr.polyline(img, series[1], pngHold, true)
	}
	fr.polyline(img, series[0], pngCurve, false)
	label(img, pngLeft, pngTop-10, "Equity", pngInk)
	if hold != nil {
		label(img, pngLeft+70, pngTop-10, "--- buy and hold", pngHold)
	}
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("report: png: %w", err)
	}
	return nil
}

// frame maps times and values onto the plot area.
type frame struct {
	t0, t1 int64
	v0, v1 float64
}

func frameOf(series [][]sample) frame {
	f := frame{t0: math.MaxInt64, t1: math.MinInt64, v0: math.Inf(1), v1: math.Inf(-1)}
	for _, s := range series {
		for _, p := range s {
			f.t0, f.t1 = min(f.t0, p.t), max(f.t1, p.t)
			f.v0, f.v1 = math.Min(f.v0, p.v), math.Max(f.v1, p.v)
		}
	}
	if f.t1 <= f.t0 {
		f.t1 = f.t0 + 1
	}
	if pad := (f.v1 - f.v0) * 0.05; pad > 0 {
		f.v0, f.v1 = f.v0-pad, f.v1+pad
	} else {
		f.v0, f.v1 = f.v0-1, f.v1+1
	}
	return f
}

func (f frame) x(t int64) float64 {
	return pngLeft + float64(t-f.t0)/float64(f.t1-f.t0)*(pngRight-pngLeft)
}

func (f frame) y(v float64) float64 {
	return pngBottom - (v-f.v0)/(f.v1-f.v0)*(pngBottom-pngTop)
}

// axes draws the grid, the equity labels and the dates.
func (f frame) axes(img *image.RGBA) {
	layout := "2006-01-02"
	if f.t1-f.t0 < 3*86_400_000 {
		layout = "01-02 15:04"
	}
	for i := range pngYTicks + 1 {
		v := f.v0 + (f.v1-f.v0)*float64(i)/pngYTicks
		y := int(math.Round(f.y(v)))
		line(img, pngLeft, float64(y), pngRight, float64(y), pngGrid, false)
		s := strconv.FormatFloat(v, 'f', 2, 64)
		if math.Abs(f.v1-f.v0) >= 100 {
			s = strconv.FormatFloat(v, 'f', 0, 64)
		}
		label(img, pngLeft-6-7*len(s), y+4, s, pngInk)
	}
	for i := range pngXTicks + 1 {
		t := f.t0 + (f.t1-f.t0)*int64(i)/pngXTicks
		x := f.x(t)
		line(img, x, pngTop, x, pngBottom, pngGrid, false)
		s := time.UnixMilli(t).UTC().Format(layout)
		label(img, min(int(x)-7*len(s)/2, PNGWidth-2-7*len(s)), pngBottom+18, s, pngInk)
	}
}

// polyline draws the samples joined by 2-pixel lines.
func (f frame) polyline(img *image.RGBA, pts []sample, c color.RGBA, dashed bool) {
	for i := 1; i < len(pts); i++ {
		x0, y0, x1, y1 := f.x(pts[i-1].t), f.y(pts[i-1].v), f.x(pts[i].t), f.y(pts[i].v)
		line(img, x0, y0, x1, y1, c, dashed)
		line(img, x0, y0+1, x1, y1+1, c, dashed)
	}
	if len(pts) == 1 {
		x, y := int(f.x(pts[0].t)), int(f.y(pts[0].v))
		img.SetRGBA(x, y, c)
	}
}

// line draws from (x0, y0) to (x1, y1), one pixel per step of the longer
// axis; dashed skips every other run of 6 pixels.
func line(img *image.RGBA, x0, y0, x1, y1 float64, c color.RGBA, dashed bool) {
	steps := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
	for i := 0; i <= steps; i++ {
		if dashed && (i/6)%2 == 1 {
			continue
		}
		t := float64(i) / float64(steps)
		img.SetRGBA(int(math.Round(x0+(x1-x0)*t)), int(math.Round(y0+(y1-y0)*t)), c)
	}
}

// label writes s with its baseline at (x, y).
func label(img *image.RGBA, x, y int, s string, c color.RGBA) {
	x = max(x, 2)
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: basicfont.Face7x13, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
