package report

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// htmlPage is the report page's content, formatted.
type htmlPage struct {
	Title   string
	Rows    [][2]string
	Symbols []symbolRow
	Legs    []legRow
	Charts  []chart
	Trips   []tripRow
	// TripsNote says how many round trips the table leaves out.
	TripsNote string
}

// maxTripRows bounds the round-trip table (the JSON has them all).
const maxTripRows = 200

// tripRow is one round trip, formatted.
type tripRow struct {
	Leg, Symbol, Side, Entry, Exit, Qty, EntryPrice, ExitPrice, PnL, Fees string
}

// symbolRow is one symbol, formatted.
type symbolRow struct {
	Symbol, PnL, Fees, Return, Trades, WinRate, BuyHold string
}

// legRow is one leg, formatted.
type legRow struct {
	Name, Symbol, Allocation, Bars, Position string
}

// WriteHTML writes one self-contained HTML file (inline SVG and CSS, no
// script, no external URL): the metrics, an equity curve, a drawdown
// chart, each leg's price with its fills as markers, and the last round
// trips. Long series are
// downsampled to a few thousand points keeping every stretch's extremes;
// names are escaped. The same inputs give the same bytes.
func WriteHTML(w io.Writer, r *engine.Result, m Metrics, title string) error {
	if r == nil {
		return errNilResult
	}
	m.sanitize()
	if title == "" {
		title = "Backtest report"
	}
	page := htmlPage{Title: title, Rows: summaryRows(m)}
	for _, s := range m.Symbols {
		page.Symbols = append(page.Symbols, symbolRow{s.Symbol, money(s.PnL), money(s.Fees),
			pct(s.Return), strconv.Itoa(s.Trades), pct(s.WinRate), pct(s.BuyHoldReturn)})
	}
	for _, l := range r.Legs {
		page.Legs = append(page.Legs, legRow{l.Name, l.Symbol, money(finite(l.Allocation)),
			strconv.Itoa(len(l.Bars)), strconv.FormatFloat(finite(l.Position), 'f', -1, 64)})
	}
	if c := curveOf(r); c.len() > 0 {
		equity, drawdown := equityCharts(r, c)
		page.Charts = append(page.Charts, equity, drawdown)
	}
	for i := range r.Legs {
		if len(r.Legs[i].Bars) > 0 {
			page.Charts = append(page.Charts, priceChart(r, i))
		}
	}
	page.Trips, page.TripsNote = tripRows(r)
	bw := bufio.NewWriterSize(w, 64<<10)
	page.write(bw)
	if err := bw.Flush(); err != nil { // a write error sticks: Flush reports it
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// tripRows formats the last maxTripRows round trips.
func tripRows(r *engine.Result) ([]tripRow, string) {
	trips := RoundTrips(r)
	note := ""
	if len(trips) > maxTripRows {
		note = fmt.Sprintf("the last %d of %d round trips (all of them are in the JSON)", maxTripRows, len(trips))
		trips = trips[len(trips)-maxTripRows:]
	}
	num := func(v float64) string { return strconv.FormatFloat(finite(v), 'g', 8, 64) }
	rows := make([]tripRow, 0, len(trips))
	for _, t := range trips {
		leg := strconv.Itoa(t.Leg)
		if t.Leg >= 0 && t.Leg < len(r.Legs) {
			leg = r.Legs[t.Leg].Name
		}
		rows = append(rows, tripRow{leg, t.Symbol, t.Side, stamp(t.EntryMs), stamp(t.ExitMs),
			num(t.Qty), num(t.EntryPrice), num(t.ExitPrice), money(t.PnL), money(t.Fees)})
	}
	return rows, note
}

// equityCharts draws the curve (with buy-and-hold when the legs have
// bars) and its fall from the running peak (in percent), sampled in one
// pass.
func equityCharts(r *engine.Result, c curve) (equity, drawdown chart) {
	n := c.len()
	eq, dd, bh := newSampler(n, chartBuckets), newSampler(n, chartBuckets), newSampler(n, chartBuckets)
	p0, rest := c.split()
	hold := newHolding(r.Legs, p0.Equity)
	if hold != nil {
		bh.add(p0.TimeMs, hold.at(p0.TimeMs))
	}
	peak := p0.Equity
	eq.add(p0.TimeMs, p0.Equity)
	dd.add(p0.TimeMs, 0)
	for _, p := range rest {
		if hold != nil {
			bh.add(p.TimeMs, hold.at(p.TimeMs))
		}
		peak = max(peak, p.Equity)
		var fall float64
		if peak > 0 {
			fall = (p.Equity/peak - 1) * 100
		}
		eq.add(p.TimeMs, p.Equity)
		dd.add(p.TimeMs, fall)
	}
	t0, t1 := c.at(0).TimeMs, c.at(n-1).TimeMs
	lo, hi := extent(eq.samples())
	if hold != nil {
		blo, bhi := extent(bh.samples())
		lo, hi = min(lo, blo), max(hi, bhi)
	}
	s := newScale(t0, t1, lo, hi)
	equity = chart{Title: "Equity", Line: s.points(eq.samples()), XTicks: s.xTicks(), YTicks: s.yTicks()}
	if hold != nil {
		equity.Title = "Equity (dashed: buy and hold)"
		equity.Bench = s.points(bh.samples())
	}
	lo, _ = extent(dd.samples())
	s = newScale(t0, t1, lo, 0)
	zero := []sample{{t1, 0}, {t0, 0}}
	area := s.points(dd.samples()) + " " + s.points(zero)
	drawdown = chart{Title: "Drawdown (%)", Area: area, XTicks: s.xTicks(), YTicks: s.yTicks()}
	return equity, drawdown
}

// priceChart draws leg i's closes and its fills (a triangle up for a buy,
// down for a sell). Over maxMarkers fills, it draws a fill every so many.
func priceChart(r *engine.Result, i int) chart {
	l := r.Legs[i]
	bars := l.Bars
	closes := newSampler(len(bars), chartBuckets)
	for _, b := range bars {
		t := b.CloseTimeMs
		if t <= 0 {
			t = b.OpenTimeMs
		}
		closes.add(t, b.Close)
	}
	lo, hi := extent(closes.samples())
	var fills []int // indexes in r.Fills
	for k := range r.Fills {
		if f := &r.Fills[k]; f.Leg == i {
			fills = append(fills, k)
			if fp := f.Price; fp > 0 && !math.IsInf(fp, 0) {
				lo, hi = min(lo, fp), max(hi, fp)
			}
		}
	}
	pts := closes.samples()
	s := newScale(pts[0].t, pts[len(pts)-1].t, lo, hi)
	ch := chart{Title: fmt.Sprintf("%s %s", l.Name, l.Symbol),
		Line: s.points(pts), XTicks: s.xTicks(), YTicks: s.yTicks()}
	var buys, sells []int
	for _, k := range fills {
		if r.Fills[k].Side == "SELL" {
			sells = append(sells, k)
		} else {
			buys = append(buys, k)
		}
	}
	// Each side gets half the markers, a fill every step of its own.
	bstep, sstep := markerStep(len(buys)), markerStep(len(sells))
	var path []byte
	for k := 0; k < len(buys); k += bstep {
		path = appendMarker(path, s, &r.Fills[buys[k]], "l-4 8h8z")
	}
	ch.Buys = string(path)
	path = path[:0]
	for k := 0; k < len(sells); k += sstep {
		path = appendMarker(path, s, &r.Fills[sells[k]], "l-4 -8h8z")
	}
	ch.Sells = string(path)
	if bstep > 1 || sstep > 1 {
		ch.Note = fmt.Sprintf("one buy in %d and one sell in %d drawn (%d fills)", bstep, sstep, len(fills))
	}
	return ch
}

// markerStep is how many fills of a side to step over to draw at most
// maxMarkers/2 of its n.
func markerStep(n int) int {
	return max((n+maxMarkers/2-1)/(maxMarkers/2), 1)
}

// appendMarker appends a triangle's path at f's time and price.
func appendMarker(b []byte, s scale, f *engine.Fill, shape string) []byte {
	b = append(b, 'M')
	b = appendTenths(b, s.x(f.TimeMs))
	b = append(b, ' ')
	b = appendTenths(b, s.y(f.Price))
	return append(b, shape...)
}

// write writes the report page; it loads nothing from anywhere. Every
// string is escaped, names and numbers alike.
func (p *htmlPage) write(w *bufio.Writer) {
	w.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>` + esc(p.Title) + `</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:20px 0 4px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:2px 10px;text-align:left}
table.grid th{border-bottom:1px solid #999}table.grid td{border-bottom:1px solid #eee;text-align:right}
table.grid td:first-child{text-align:left}
svg{max-width:100%;height:auto;font-size:11px}
.frame{fill:none;stroke:#bbb}.gl{stroke:#eee}.yl{text-anchor:end;fill:#555}.xl{text-anchor:middle;fill:#555}.xl.first{text-anchor:start}.xl.last{text-anchor:end}
.line{fill:none;stroke:#1f5fbf;stroke-width:1.2}.bench{fill:none;stroke:#999;stroke-width:1;stroke-dasharray:4 3}.area{fill:#d9534f55;stroke:#d9534f;stroke-width:1}
.buy{fill:#2a9d3a}.sell{fill:#d9534f}.note{color:#777;font-size:12px}
</style></head><body>
<h1>` + esc(p.Title) + "</h1>\n" + `<table class="kv">`)
	for _, r := range p.Rows {
		w.WriteString("<tr><th>" + esc(r[0]) + "</th><td>" + esc(r[1]) + "</td></tr>\n")
	}
	w.WriteString("</table>\n")
	if len(p.Symbols) > 0 {
		w.WriteString(`<h2>Symbols</h2><table class="grid">`)
		writeRow(w, "th", "symbol", "pnl", "fees", "return", "trades", "win rate", "buy and hold")
		for _, s := range p.Symbols {
			writeRow(w, "td", s.Symbol, s.PnL, s.Fees, s.Return, s.Trades, s.WinRate, s.BuyHold)
		}
		w.WriteString("</table>\n")
	}
	if len(p.Legs) > 0 {
		w.WriteString(`<h2>Legs</h2><table class="grid">`)
		writeRow(w, "th", "leg", "symbol", "allocation", "bars", "position")
		for _, l := range p.Legs {
			writeRow(w, "td", l.Name, l.Symbol, l.Allocation, l.Bars, l.Position)
		}
		w.WriteString("</table>\n")
	}
	for i := range p.Charts {
		p.Charts[i].write(w)
	}
	w.WriteString("\n")
	if len(p.Trips) > 0 {
		w.WriteString("<h2>Round trips</h2>")
		if p.TripsNote != "" {
			w.WriteString(`<p class="note">` + esc(p.TripsNote) + "</p>")
		}
		w.WriteString(`<table class="grid">`)
		writeRow(w, "th", "leg", "symbol", "side", "entry", "exit", "qty", "entry price", "exit price", "pnl", "fees")
		for _, t := range p.Trips {
			writeRow(w, "td", t.Leg, t.Symbol, t.Side, t.Entry, t.Exit, t.Qty, t.EntryPrice, t.ExitPrice, t.PnL, t.Fees)
		}
		w.WriteString("</table>\n")
	}
	w.WriteString("</body></html>\n")
}

// writeRow writes a table row of cells (th or td), escaped.
func writeRow(w *bufio.Writer, cell string, cells ...string) {
	w.WriteString("<tr>")
	for _, c := range cells {
		w.WriteString("<" + cell + ">" + esc(c) + "</" + cell + ">")
	}
	w.WriteString("</tr>\n")
}

// esc escapes text and quoted attribute values.
var esc = html.EscapeString
