package report

import (
	"errors"
	"fmt"
	"image/color"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// PNG size in pixels.
const (
	PNGWidth  = 1000
	PNGHeight = 400
	pngDPI    = 96
)

// errNoEquity is WritePNG's answer for a result without an equity curve.
var errNoEquity = errors.New("report: png: no equity points")

// WritePNG writes the equity curve as a PNGWidth × PNGHeight PNG
// (gonum.org/v1/plot), downsampled like the HTML's and with UTC dates.
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
	p := plot.New()
	p.Title.Text = "Equity"
	p.Y.Label.Text = "equity"
	layout := "2006-01-02"
	if c.at(c.len()-1).TimeMs-c.at(0).TimeMs < 3*86_400_000 {
		layout = "01-02 15:04"
	}
	p.X.Tick.Marker = plot.TimeTicks{Format: layout}
	p.Add(plotter.NewGrid())
	line, err := plotter.NewLine(plotXYs(eq.samples()))
	if err != nil {
		return fmt.Errorf("report: png: %w", err)
	}
	line.Color = color.RGBA{R: 0x1f, G: 0x5f, B: 0xbf, A: 0xff}
	p.Add(line)
	p.Legend.Add("strategy", line)
	if hold != nil {
		bench, err := plotter.NewLine(plotXYs(bh.samples()))
		if err != nil {
			return fmt.Errorf("report: png: %w", err)
		}
		bench.Color = color.Gray{Y: 0x99}
		bench.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(bench)
		p.Legend.Add("buy and hold", bench)
		p.Legend.Top, p.Legend.Left = true, true
	}
	canvas := vgimg.NewWith(
		vgimg.UseWH(vg.Length(PNGWidth)*vg.Inch/pngDPI, vg.Length(PNGHeight)*vg.Inch/pngDPI),
		vgimg.UseDPI(pngDPI))
	p.Draw(draw.New(canvas))
	if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(w); err != nil {
		return fmt.Errorf("report: png: %w", err)
	}
	return nil
}

// plotXYs converts samples (ms) to plot points (seconds, for TimeTicks).
func plotXYs(pts []sample) plotter.XYs {
	xys := make(plotter.XYs, 0, len(pts))
	for _, s := range pts {
		xys = append(xys, plotter.XY{X: float64(s.t) / 1000, Y: s.v})
	}
	return xys
}
