package reports

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/superbot/superbot/actors/orders/ledger"
)

// doc is a report's content, rendered both as Markdown and as HTML.
type doc struct {
	Title    string
	Facts    [][2]string // key, value
	Chart    string      // an inline SVG, escaped where built (HTML only); "" for none
	Sections []section
}

// section is a heading, an optional note and a table.
type section struct {
	Heading string
	Note    string
	Header  []string
	Rows    [][]string
}

// markdown renders d as GitHub-flavoured Markdown.
func (d *doc) markdown() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s\n\n", d.Title)
	for _, f := range d.Facts {
		fmt.Fprintf(&b, "- **%s**: %s\n", f[0], mdCell(f[1]))
	}
	for _, s := range d.Sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.Heading)
		if s.Note != "" {
			fmt.Fprintf(&b, "%s\n\n", s.Note)
		}
		if len(s.Header) == 0 {
			continue
		}
		if len(s.Rows) == 0 {
			b.WriteString("(none)\n")
			continue
		}
		writeMDRow(&b, s.Header)
		sep := make([]string, len(s.Header))
		for i := range sep {
			sep[i] = "---"
		}
		writeMDRow(&b, sep)
		for _, r := range s.Rows {
			writeMDRow(&b, r)
		}
	}
	return b.Bytes()
}

func writeMDRow(b *bytes.Buffer, cells []string) {
	b.WriteString("|")
	for _, c := range cells {
		b.WriteString(" " + mdCell(c) + " |")
	}
	b.WriteString("\n")
}

// mdCell keeps a value on one table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", "\\|", "\n", " ").Replace(s)
}

// html renders d as one self-contained HTML page: inline style, no script,
// nothing fetched. Every string but Chart (built escaped) is escaped.
func (d *doc) html() []byte {
	var b bytes.Buffer
	esc := html.EscapeString
	b.WriteString(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>` + esc(d.Title) + `</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}
dt{font-weight:bold;float:left;clear:left;width:12em}dd{margin-left:12em}
</style></head><body>
<h1>` + esc(d.Title) + "</h1>\n<dl>")
	for _, f := range d.Facts {
		b.WriteString("<dt>" + esc(f[0]) + "</dt><dd>" + esc(f[1]) + "</dd>")
	}
	b.WriteString("</dl>\n" + d.Chart + "\n")
	for _, s := range d.Sections {
		b.WriteString("<h2>" + esc(s.Heading) + "</h2>\n")
		if s.Note != "" {
			b.WriteString("<p>" + esc(s.Note) + "</p>\n")
		}
		switch {
		case len(s.Header) == 0:
		case len(s.Rows) == 0:
			b.WriteString("<p>(none)</p>\n")
		default:
			b.WriteString("<table>")
			writeHTMLRow(&b, "th", s.Header)
			for _, r := range s.Rows {
				writeHTMLRow(&b, "td", r)
			}
			b.WriteString("</table>\n")
		}
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// writeHTMLRow writes a table row of cells (th or td), escaped.
func writeHTMLRow(b *bytes.Buffer, cell string, cells []string) {
	b.WriteString("<tr>")
	for _, c := range cells {
		b.WriteString("<" + cell + ">" + html.EscapeString(c) + "</" + cell + ">")
	}
	b.WriteString("</tr>\n")
}

// write writes d as base.md and base.html in dir (created 0700; files 0600,
// each written to a temporary file and renamed) and returns both paths.
func (d *doc) write(dir, base string) (mdPath, htmlPath string, err error) {
	h := d.html()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("reports dir: %w", err)
	}
	mdPath, htmlPath = filepath.Join(dir, base+".md"), filepath.Join(dir, base+".html")
	if err := writeFile(mdPath, d.markdown()); err != nil {
		return "", "", err
	}
	if err := writeFile(htmlPath, h); err != nil {
		return "", "", err
	}
	return mdPath, htmlPath, nil
}

func writeFile(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

// stamp names a report's end time in file names: 2026-12-06T0000Z.
func stamp(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02T1504Z") }

// when formats a time for a report's reader.
func when(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04 UTC") }

// dec parses a journal decimal; bad input is 0 (the journal validated it).
func dec(s string) float64 {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// point is a value at a time.
type point struct {
	timeMs int64
	value  float64
}

// Chart size in SVG units, and the most points it draws.
const (
	chartW, chartH, chartPad = 720.0, 200.0, 24.0
	maxChartPoints           = 2000
)

// thin keeps at most about n of pts: the first and the last, and in each of
// n/2 runs between them its lowest and highest point, in time order, so
// that peaks and troughs stay.
func thin(pts []point, n int) []point {
	if len(pts) <= n {
		return pts
	}
	runs := n / 2
	out := []point{pts[0]}
	inner := pts[1 : len(pts)-1]
	for r := range runs {
		run := inner[r*len(inner)/runs : (r+1)*len(inner)/runs]
		if len(run) == 0 {
			continue
		}
		lo, hi := 0, 0
		for i, p := range run {
			if p.value < run[lo].value {
				lo = i
			}
			if p.value > run[hi].value {
				hi = i
			}
		}
		out = append(out, run[min(lo, hi)])
		if lo != hi {
			out = append(out, run[max(lo, hi)])
		}
	}
	return append(out, pts[len(pts)-1])
}

// chart draws pts (ascending times) as an inline SVG step line with its
// zero line, min and max labelled; "" with fewer than two points.
func chart(title string, pts []point) string {
	if len(pts) < 2 || pts[len(pts)-1].timeMs <= pts[0].timeMs {
		return ""
	}
	pts = thin(pts, maxChartPoints)
	lo, hi := 0.0, 0.0
	for _, p := range pts {
		lo, hi = math.Min(lo, p.value), math.Max(hi, p.value)
	}
	if hi == lo {
		hi = lo + 1
	}
	t0, span := pts[0].timeMs, float64(pts[len(pts)-1].timeMs-pts[0].timeMs)
	x := func(ms int64) float64 { return chartPad + float64(ms-t0)/span*(chartW-2*chartPad) }
	y := func(v float64) float64 { return chartPad + (hi-v)/(hi-lo)*(chartH-2*chartPad) }
	var path strings.Builder
	for i, p := range pts {
		if i > 0 {
			fmt.Fprintf(&path, " H%.1f", x(p.timeMs))
		} else {
			fmt.Fprintf(&path, "M%.1f %.1f", x(p.timeMs), y(p.value))
			continue
		}
		fmt.Fprintf(&path, " V%.1f", y(p.value))
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<figure><figcaption>%s</figcaption><svg width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`,
		html.EscapeString(title), chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#bbb"/>`, chartPad, chartW-chartPad, y(0), y(0))
	fmt.Fprintf(&b, `<path d="%s" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`, path.String())
	fmt.Fprintf(&b, `<text x="2" y="%.1f" font-size="11">%s</text><text x="2" y="%.1f" font-size="11">%s</text>`,
		chartPad-6, ledger.FormatDec(hi), chartH-6, ledger.FormatDec(lo))
	b.WriteString(`</svg></figure>`)
	return b.String()
}
