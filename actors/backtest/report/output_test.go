package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// yearResult is a year of 1-minute bars on one leg (525,600 points), a
// sine-ish price, a fill every 97 bars, and one spike to keep.
func yearResult() *engine.Result {
	const n = 525_600
	start := int64(1_704_067_200_000) // 2024-01-01
	bars := make([]strategy.Bar, n)
	r := &engine.Result{Equity: make([]engine.Point, n), Bars: n}
	price, eq := 40000.0, 10000.0
	for i := range n {
		price += float64((i*7919)%201-100) * 0.5
		eq += float64((i*104729)%203-101) * 0.01
		open := start + int64(i)*minute
		bars[i] = strategy.Bar{OpenTimeMs: open, CloseTimeMs: open + minute - 1,
			Open: price, High: price + 5, Low: price - 5, Close: price}
		r.Equity[i] = engine.Point{TimeMs: open + minute - 1, Equity: eq}
	}
	r.Equity[n/3].Equity = 1e6 // a spike downsampling must keep
	for i := 0; i+97 < n; i += 97 * 2 {
		for k, side := range []string{"BUY", "SELL"} {
			b := bars[i+97*k]
			r.Fills = append(r.Fills, engine.Fill{Symbol: "BTCUSDT", Side: side, Price: b.Close,
				Qty: 0.01, Fee: b.Close * 0.01 * 0.001, TimeMs: b.CloseTimeMs, OrderID: "o"})
		}
	}
	r.Legs = []engine.LegResult{{Name: "btc_trend", Symbol: "BTCUSDT", Allocation: 10000, Bars: bars,
		FirstClose: bars[0].Close, LastClose: bars[n-1].Close}}
	return r
}

func TestWriteSummaryIsAligned(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSummary(&b, Compute(tradesResult())); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"total return", "sharpe", "max drawdown", "profit factor", "BTCUSDT", "ETHUSDT", "66.67 %"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// Values start in one column: every metric line's value begins where
	// "total return"'s does.
	col := -1
	for _, line := range strings.Split(strings.SplitN(out, "\n\n", 2)[0], "\n") {
		if line == "" {
			continue
		}
		i := strings.Index(line, "  ")
		j := i + len(line[i:]) - len(strings.TrimLeft(line[i:], " "))
		if col == -1 {
			col = j
		}
		if j != col {
			t.Errorf("value of %q at column %d, want %d", line, j, col)
		}
	}
}

func TestWriteSummarySaysNeverRecoveredAndInf(t *testing.T) {
	var b bytes.Buffer
	m := Compute(curveResult(minute, 100, 120, 90))
	m.GrossProfit = 5
	if err := WriteSummary(&b, m); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"never recovered", "25.00 %", "inf (no losing trade)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}

func TestWriteJSONIsSnakeCaseAndDeterministic(t *testing.T) {
	r := tradesResult()
	r.Orders = []engine.Order{{Leg: 1, ID: "x1", Symbol: "ETHUSDT", Side: "BUY", Type: "MARKET", Status: "FILLED", Qty: 1}}
	var a, b bytes.Buffer
	if err := WriteJSON(&a, r, Compute(r)); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&b, r, Compute(r)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two runs gave different bytes")
	}
	var doc map[string]any
	if err := json.Unmarshal(a.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	metrics := doc["metrics"].(map[string]any)
	for _, k := range []string{"total_return", "annual_return", "sharpe", "sortino", "calmar", "max_drawdown",
		"drawdown_start_ms", "drawdown_trough_ms", "drawdown_recovery_ms", "win_rate", "profit_factor",
		"expectancy", "exposure", "trades", "fees", "buy_hold_return", "symbols"} {
		if _, ok := metrics[k]; !ok {
			t.Errorf("metrics lack %q", k)
		}
	}
	if got := len(doc["fills"].([]any)); got != 7 {
		t.Errorf("fills %d, want 7", got)
	}
	if got := len(doc["round_trips"].([]any)); got != 3 {
		t.Errorf("round trips %d, want 3", got)
	}
	if o := doc["orders"].([]any)[0].(map[string]any); o["id"] != "x1" || o["status"] != "FILLED" {
		t.Errorf("order %v", o)
	}
	// Every key anywhere is snake_case.
	for _, k := range regexp.MustCompile(`"([^"]+)":`).FindAllStringSubmatch(a.String(), -1) {
		if !regexp.MustCompile(`^[a-z][a-z0-9_]*$`).MatchString(k[1]) {
			t.Errorf("key %q is not snake_case", k[1])
		}
	}
}

func TestWriteJSONCarriesNoNaN(t *testing.T) {
	r := curveResult(minute, 100, 0, 50)
	r.Fills = []engine.Fill{{Side: "BUY", Price: 1, Qty: 1, Fee: 0}}
	r.Legs = []engine.LegResult{{AvgPrice: 0, FirstClose: 0}}
	m := Compute(r)
	m.Sharpe = 0 / func() float64 { return 0 }() // NaN from a caller
	var b bytes.Buffer
	if err := WriteJSON(&b, r, m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "NaN") || !json.Valid(b.Bytes()) {
		t.Errorf("invalid JSON:\n%s", b.String())
	}
}

func TestWriteTradesCSV(t *testing.T) {
	r := tradesResult()
	r.Legs[0].Name = `btc, "trend"`
	var b bytes.Buffer
	if err := WriteTradesCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+7 {
		t.Fatalf("%d rows, want a header and 7 fills", len(rows))
	}
	if strings.Join(rows[0], ",") != "time,time_ms,leg,leg_name,symbol,order_id,side,price,qty,quote,fee,maker" {
		t.Errorf("header %v", rows[0])
	}
	// The third fill: btc sells 2 at 120, fee 0.24, quote 240.
	want := []string{"1970-01-01T00:00:00.003Z", "3", "0", `btc, "trend"`, "BTCUSDT", "", "SELL", "120", "2", "240", "0.24", "false"}
	if strings.Join(rows[3], "|") != strings.Join(want, "|") {
		t.Errorf("row 3 = %q, want %q", rows[3], want)
	}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	r := tradesResult()
	r.Legs[0].Bars = []strategy.Bar{{OpenTimeMs: 0, CloseTimeMs: 1, Close: 100}, {OpenTimeMs: 5, CloseTimeMs: 9, Close: 130}}
	r.Legs[1].Name = `<script>alert("x")</script>`
	var b bytes.Buffer
	if err := WriteHTML(&b, r, Compute(r), `Report <b>&</b>`); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	var again bytes.Buffer
	if err := WriteHTML(&again, r, Compute(r), `Report <b>&</b>`); err != nil || again.String() != out {
		t.Errorf("a second write differs (err %v)", err)
	}
	if strings.Contains(strings.ToLower(out), "http") {
		t.Error("the page names a URL")
	}
	if regexp.MustCompile(`(?i)(src|href)\s*=`).MatchString(out) {
		t.Error("the page loads or links something")
	}
	if strings.Contains(out, "<script>") || strings.Contains(out, "<b>&</b>") {
		t.Error("names are not escaped")
	}
	for _, want := range []string{"&lt;script&gt;", "Report &lt;b&gt;&amp;&lt;/b&gt;", "<h2>Equity (dashed: buy and hold)</h2>",
		"<h2>Drawdown (%)</h2>", "<polygon", "ETHUSDT"} {
		if !strings.Contains(out, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The round trips, with leg names: eth's short made 19.66.
	if !strings.Contains(out, "<td>&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;</td><td>ETHUSDT</td><td>SHORT</td>") ||
		!strings.Contains(out, "<td>19.66</td>") {
		t.Error("the round-trip table lacks eth's short")
	}
	// Only leg 0 has bars, so only its fills are drawn: 3 buys, 1 sell.
	buys := regexp.MustCompile(`class="buy" d="([^"]*)"`).FindStringSubmatch(out)
	sells := regexp.MustCompile(`class="sell" d="([^"]*)"`).FindStringSubmatch(out)
	if len(buys) != 2 || strings.Count(buys[1], "M") != 3 || len(sells) != 2 || strings.Count(sells[1], "M") != 1 {
		t.Errorf("markers: buys %q sells %q, want 3 and 1", buys, sells)
	}
}

func TestWriteHTMLDownsamplesAYearKeepingExtremes(t *testing.T) {
	r := yearResult()
	var b bytes.Buffer
	if err := WriteHTML(&b, r, Compute(r), "year"); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	lines := regexp.MustCompile(`class="(?:line|bench|area)" points="([^"]*)"`).FindAllStringSubmatch(out, -1)
	if len(lines) != 4 { // buy and hold, equity, drawdown, price
		t.Fatalf("%d point lists, want 4", len(lines))
	}
	for _, l := range lines {
		if n := strings.Count(l[1], " ") + 1; n < 1000 || n > 2*chartBuckets+4 {
			t.Errorf("a line has %d points, want a few thousand", n)
		}
	}
	lines = regexp.MustCompile(`class="line" points="([^"]*)"`).FindAllStringSubmatch(out, -1)
	// The spike to 1e6 is the top of the equity chart: some point sits
	// on the plot's top edge (after the 4 % margin: y = 12 + 260*0.04/1.08).
	top := 12 + 260*0.04/1.08
	found := false
	for _, p := range strings.Split(lines[0][1], " ") {
		var x, y float64
		if _, err := fmt.Sscanf(p, "%g,%g", &x, &y); err == nil && y <= top+0.2 {
			found = true
		}
	}
	if !found {
		t.Error("the equity spike was dropped")
	}
	if n := strings.Count(out, "M"); n > maxMarkers+10 {
		t.Errorf("%d markers, want at most %d", n, maxMarkers)
	}
	if !strings.Contains(out, "one buy in 2 and one sell in 2 drawn (5418 fills)") {
		t.Error("no note that markers were left out")
	}
	if n := strings.Count(out, "<td>LONG</td>"); n != maxTripRows || !strings.Contains(out, "the last 200 of 2709 round trips") {
		t.Errorf("%d round-trip rows, want the last %d and a note", n, maxTripRows)
	}
	if b.Len() > 2<<20 {
		t.Errorf("page is %d bytes", b.Len())
	}
}

func TestSamplerKeepsEveryBucketsExtremes(t *testing.T) {
	feed := func(ys []float64, buckets int) []int64 {
		s := newSampler(len(ys), buckets)
		for i, y := range ys {
			s.add(int64(i), y)
		}
		var kept []int64
		for _, p := range s.samples() {
			if p.v != ys[p.t] {
				t.Errorf("sample %v has another value than point %d", p, p.t)
			}
			kept = append(kept, p.t)
		}
		return kept
	}
	// Buckets over 1..8: [1,5) and [5,9): mins 1 (i=1), 0 (i=6); maxes 9
	// (i=2), 8 (i=5); plus first and last, in time order.
	if got, want := feed([]float64{5, 1, 9, 3, 3, 8, 0, 7, 4, 6}, 2), []int64{0, 1, 2, 5, 6, 9}; !slices.Equal(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	// A flat run keeps one point per bucket.
	if got, want := feed([]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2), []int64{0, 1, 5, 9}; !slices.Equal(got, want) {
		t.Errorf("flat kept %v, want %v", got, want)
	}
	if got := feed([]float64{3, 2, 1}, 2); len(got) != 3 {
		t.Errorf("short series kept %v, want all", got)
	}
	// 7 buckets over 99 points: uneven runs, each point in one bucket.
	ys := make([]float64, 101)
	for i := range ys {
		ys[i] = float64((i * 37) % 101)
	}
	if got := feed(ys, 7); len(got) != 2+2*7 || !slices.IsSorted(got) {
		t.Errorf("kept %v", got)
	}
}

func TestHoldingByHand(t *testing.T) {
	// Two legs, 600 and 400 allocated. btc closes 100 (t=9), 110 (t=19),
	// 90 (t=29); eth closes 10 (t=19), 15 (t=29).
	//   t=5:  nothing closed: 600 + 400 = 1000.
	//   t=9:  btc 100/100: 600 + 400 = 1000.
	//   t=19: 600*1.1 + 400*1 = 1060.
	//   t=25: the same, 1060.
	//   t=29: 600*0.9 + 400*1.5 = 1140.
	legs := []engine.LegResult{
		{Allocation: 600, FirstClose: 100, Bars: []strategy.Bar{
			{CloseTimeMs: 9, Close: 100}, {CloseTimeMs: 19, Close: 110}, {CloseTimeMs: 29, Close: 90}}},
		{Allocation: 400, FirstClose: 10, Bars: []strategy.Bar{
			{CloseTimeMs: 19, Close: 10}, {CloseTimeMs: 29, Close: 15}}},
	}
	h := newHolding(legs, 1000)
	for _, c := range []struct {
		t    int64
		want float64
	}{{5, 1000}, {9, 1000}, {19, 1060}, {25, 1060}, {29, 1140}} {
		near(t, fmt.Sprintf("holding at %d", c.t), h.at(c.t), c.want)
	}
	// No allocation: the initial equity is shared equally.
	legs[0].Allocation, legs[1].Allocation = 0, 0
	near(t, "equal weights", newHolding(legs, 1000).at(29), 500*0.9+500*1.5)
	if newHolding([]engine.LegResult{{Allocation: 5}}, 5) != nil {
		t.Error("a holding without bars")
	}
}

func TestWritePNG(t *testing.T) {
	var b bytes.Buffer
	if err := WritePNG(&b, curveResult(day, 100, 110, 99, 118.8, 124.74)); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X != PNGWidth || s.Y != PNGHeight {
		t.Errorf("png %v, want %dx%d", s, PNGWidth, PNGHeight)
	}
	if err := WritePNG(&b, &engine.Result{}); err == nil {
		t.Error("a result without equity drew a PNG")
	}
}

func TestWritersRefuseNil(t *testing.T) {
	var b bytes.Buffer
	for name, err := range map[string]error{
		"json": WriteJSON(&b, nil, Metrics{}), "csv": WriteTradesCSV(&b, nil),
		"html": WriteHTML(&b, nil, Metrics{}, "x"), "png": WritePNG(&b, nil),
	} {
		if !errors.Is(err, errNilResult) {
			t.Errorf("%s: err %v, want errNilResult", name, err)
		}
	}
	if b.Len() != 0 {
		t.Errorf("wrote %q", b.String())
	}
}

func TestWritersOnEdgeCasesCarryNoNaN(t *testing.T) {
	one := curveResult(minute, 100)
	one.Legs = []engine.LegResult{{Name: "a", Symbol: "X", Bars: []strategy.Bar{{OpenTimeMs: 5, Close: 1}}}}
	cases := map[string]*engine.Result{
		"empty":    {},
		"one bar":  one,
		"flat":     curveResult(minute, 100, 100, 100),
		"negative": curveResult(minute, 100, -50, 20),
		"nan":      curveResult(minute, 100, math.NaN(), math.Inf(1)),
	}
	for name, r := range cases {
		t.Run(name, func(t *testing.T) {
			m := Compute(r)
			var h, j, s bytes.Buffer
			if err := WriteHTML(&h, r, m, name); err != nil {
				t.Fatal(err)
			}
			if err := WriteJSON(&j, r, m); err != nil {
				t.Fatal(err)
			}
			if err := WriteSummary(&s, m); err != nil {
				t.Fatal(err)
			}
			for what, out := range map[string]string{"html": h.String(), "json": j.String(), "summary": s.String()} {
				if strings.Contains(out, "NaN") || strings.Contains(out, "Inf") {
					t.Errorf("%s carries NaN or Inf:\n%s", what, out)
				}
			}
			if !json.Valid(j.Bytes()) {
				t.Error("invalid JSON")
			}
			if len(r.Equity) > 0 {
				if err := WritePNG(io.Discard, r); err != nil {
					t.Errorf("png: %v", err)
				}
			}
		})
	}
}

func TestWritePNGOfAYearWithBuyAndHold(t *testing.T) {
	var b bytes.Buffer
	if err := WritePNG(&b, yearResult()); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&b)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Width != PNGWidth || cfg.Height != PNGHeight {
		t.Errorf("png %dx%d", cfg.Width, cfg.Height)
	}
}
