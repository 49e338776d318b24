package reports

import (
	"strings"
	"testing"
)

// TestThin: a long curve is cut to about n points keeping its first and
// last point and every run's extremes.
func TestThin(t *testing.T) {
	var pts []point
	for i := range 100_000 {
		v := float64(i % 1000)
		if i == 54_321 {
			v = -500 // the trough
		}
		pts = append(pts, point{int64(i), v})
	}
	out := thin(pts, 2000)
	if len(out) > 2002 || out[0] != pts[0] || out[len(out)-1] != pts[len(pts)-1] {
		t.Fatalf("%d points, first %v, last %v", len(out), out[0], out[len(out)-1])
	}
	trough, peak := false, false
	for i, p := range out {
		trough = trough || p.value == -500
		peak = peak || p.value == 999
		if i > 0 && p.timeMs <= out[i-1].timeMs {
			t.Fatalf("out of order at %d", i)
		}
	}
	if !trough || !peak {
		t.Fatal("the extremes were dropped")
	}
	if got := thin(pts[:10], 2000); len(got) != 10 {
		t.Fatalf("a short curve changed: %d", len(got))
	}
}

// TestHTMLEscapesEveryString: names come from users (strategies, symbols,
// module notes); none reaches the page as markup.
func TestHTMLEscapesEveryString(t *testing.T) {
	x := `<script>alert("x")</script>&`
	d := doc{Title: x, Facts: [][2]string{{x, x}}, Chart: chart(x, []point{{0, 1}, {1, -1}}),
		Sections: []section{{Heading: x, Note: x, Header: []string{x}, Rows: [][]string{{x}}}, {Heading: "empty", Header: []string{"a"}}}}
	h := string(d.html())
	if strings.Contains(h, "<script") {
		t.Fatalf("markup passed through:\n%s", h)
	}
	const e = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;"
	for _, want := range []string{"<title>" + e + "</title>", "<h1>" + e + "</h1>", "<dt>" + e + "</dt><dd>" + e + "</dd>",
		"<figcaption>" + e + "</figcaption>", "<h2>" + e + "</h2>", "<p>" + e + "</p>", "<tr><th>" + e + "</th></tr>",
		"<tr><td>" + e + "</td></tr>", "<h2>empty</h2>\n<p>(none)</p>"} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
