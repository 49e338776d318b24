package report

import (
	"bufio"
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// htmlPage is the template's data.
type htmlPage struct {
	Title   string
	Rows    [][2]string
	Symbols []symbolRow
	Legs    []legRow
	Charts  []chart
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
// chart and each leg's price with its fills as markers. Long series are
// downsampled to a few thousand points keeping every bucket's extremes;
// names are escaped by html/template.
func WriteHTML(w io.Writer, r *engine.Result, m Metrics, title string) error {
	if r == nil {
		return errNilResult
	}
	m.sanitize()
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
		page.Charts = append(page.Charts, equityChart(c), drawdownChart(c))
	}
	for i := range r.Legs {
		if len(r.Legs[i].Bars) > 0 {
			page.Charts = append(page.Charts, priceChart(r, i))
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := pageTemplate.Execute(bw, page); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	return nil
}

// equityChart draws the curve.
func equityChart(c curve) chart {
	eq := func(i int) float64 { return c.at(i).Equity }
	at := func(i int) int64 { return c.at(i).TimeMs }
	idx := downsample(c.len(), eq, chartBuckets)
	lo, hi := extent(idx, eq)
	s := newScale(at(0), at(c.len()-1), lo, hi)
	return chart{Title: "Equity", Line: s.points(idx, at, eq), XTicks: s.xTicks(), YTicks: s.yTicks()}
}

// drawdownChart draws the fall from the running peak, in percent.
func drawdownChart(c curve) chart {
	n := c.len()
	dd := make([]float64, n)
	peak := c.at(0).Equity
	for i := range n {
		e := c.at(i).Equity
		peak = max(peak, e)
		if peak > 0 {
			dd[i] = (e/peak - 1) * 100
		}
	}
	v := func(i int) float64 { return dd[i] }
	at := func(i int) int64 { return c.at(i).TimeMs }
	idx := downsample(n, v, chartBuckets)
	lo, _ := extent(idx, v)
	s := newScale(at(0), at(n-1), lo, 0)
	area := fmt.Sprintf("%v,%v %s %v,%v", s.x(at(0)), s.y(0), s.points(idx, at, v), s.x(at(n-1)), s.y(0))
	return chart{Title: "Drawdown (%)", Area: area, XTicks: s.xTicks(), YTicks: s.yTicks()}
}

// priceChart draws leg i's closes and its fills.
func priceChart(r *engine.Result, i int) chart {
	l := r.Legs[i]
	bars := l.Bars
	at := func(k int) int64 {
		if bars[k].CloseTimeMs > 0 {
			return bars[k].CloseTimeMs
		}
		return bars[k].OpenTimeMs
	}
	closes := func(k int) float64 { return bars[k].Close }
	idx := downsample(len(bars), closes, chartBuckets)
	lo, hi := extent(idx, closes)
	var fills []engine.Fill
	for _, f := range r.Fills {
		if f.Leg == i {
			fills = append(fills, f)
		}
	}
	fidx := downsample(len(fills), func(k int) float64 { return fills[k].Price }, maxMarkers/2-1)
	flo, fhi := extent(fidx, func(k int) float64 { return fills[k].Price })
	if len(fidx) > 0 {
		lo, hi = min(lo, flo), max(hi, fhi)
	}
	s := newScale(at(0), at(len(bars)-1), lo, hi)
	ch := chart{Title: fmt.Sprintf("%s %s", l.Name, l.Symbol),
		Line: s.points(idx, at, closes), XTicks: s.xTicks(), YTicks: s.yTicks()}
	for _, k := range fidx {
		f := fills[k]
		mk := marker{X: s.x(f.TimeMs), Y: s.y(f.Price), Title: fmt.Sprintf("%s %s %g @ %g (fee %g) %s",
			f.Side, f.Symbol, finite(f.Qty), finite(f.Price), finite(f.Fee), stamp(f.TimeMs))}
		if f.Side == "SELL" {
			ch.Sells = append(ch.Sells, mk)
		} else {
			ch.Buys = append(ch.Buys, mk)
		}
	}
	if len(fidx) < len(fills) {
		ch.Note = fmt.Sprintf("%d of %d fills shown (the extremes of each stretch)", len(fidx), len(fills))
	}
	return ch
}

// pageTemplate is the report page; it loads nothing from anywhere.
var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:20px 0 4px}
table{border-collapse:collapse;margin:8px 0}th,td{padding:2px 10px;text-align:left}
table.grid th{border-bottom:1px solid #999}table.grid td{border-bottom:1px solid #eee;text-align:right}
table.grid td:first-child{text-align:left}
svg{max-width:100%;height:auto;font-size:11px}
.frame{fill:none;stroke:#bbb}.gl{stroke:#eee}.yl{text-anchor:end;fill:#555}.xl{text-anchor:middle;fill:#555}
.line{fill:none;stroke:#1f5fbf;stroke-width:1.2}.area{fill:#d9534f55;stroke:#d9534f;stroke-width:1}
.buy{fill:#2a9d3a}.sell{fill:#d9534f}.note{color:#777;font-size:12px}
</style></head><body>
<h1>{{.Title}}</h1>
<table class="kv">{{range .Rows}}<tr><th>{{index . 0}}</th><td>{{index . 1}}</td></tr>
{{end}}</table>
{{if .Symbols}}<h2>Symbols</h2><table class="grid"><tr><th>symbol</th><th>pnl</th><th>fees</th><th>return</th><th>trades</th><th>win rate</th><th>buy and hold</th></tr>
{{range .Symbols}}<tr><td>{{.Symbol}}</td><td>{{.PnL}}</td><td>{{.Fees}}</td><td>{{.Return}}</td><td>{{.Trades}}</td><td>{{.WinRate}}</td><td>{{.BuyHold}}</td></tr>
{{end}}</table>{{end}}
{{if .Legs}}<h2>Legs</h2><table class="grid"><tr><th>leg</th><th>symbol</th><th>allocation</th><th>bars</th><th>position</th></tr>
{{range .Legs}}<tr><td>{{.Name}}</td><td>{{.Symbol}}</td><td>{{.Allocation}}</td><td>{{.Bars}}</td><td>{{.Position}}</td></tr>
{{end}}</table>{{end}}
{{range .Charts}}{{template "chart" .}}{{end}}
</body></html>
{{define "chart"}}<section><h2>{{.Title}}</h2>
<svg viewBox="0 0 960 300" width="960" height="300" role="img">
<rect class="frame" x="72" y="12" width="872" height="260"/>
{{range .YTicks}}<line class="gl" x1="72" x2="944" y1="{{.Pos}}" y2="{{.Pos}}"/><text class="yl" x="66" y="{{.Pos}}" dy="4">{{.Label}}</text>
{{end}}{{range .XTicks}}<text class="xl" x="{{.Pos}}" y="290">{{.Label}}</text>
{{end}}{{if .Area}}<polygon class="area" points="{{.Area}}"/>
{{end}}{{if .Line}}<polyline class="line" points="{{.Line}}"/>
{{end}}{{range .Buys}}<path class="buy" d="M{{.X}} {{.Y}}l-4 8h8z"><title>{{.Title}}</title></path>
{{end}}{{range .Sells}}<path class="sell" d="M{{.X}} {{.Y}}l-4 -8h8z"><title>{{.Title}}</title></path>
{{end}}</svg>{{if .Note}}<p class="note">{{.Note}}</p>{{end}}</section>
{{end}}`))
