package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/superbot/superbot/actors/backtest/engine"
)

// WriteSummary writes the terminal summary: the metrics as an aligned
// table, then one row per symbol.
func WriteSummary(w io.Writer, m Metrics) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range summaryRows(m) {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	if len(m.Symbols) > 0 {
		fmt.Fprintf(tw, "\n%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			"symbol", "pnl", "fees", "return", "trades", "win rate", "buy and hold")
		for _, s := range m.Symbols {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Symbol, money(s.PnL),
				money(s.Fees), pct(s.Return), s.Trades, pct(s.WinRate), pct(s.BuyHoldReturn))
		}
	}
	return tw.Flush()
}

// summaryRows are the metrics as label and value, formatted.
func summaryRows(m Metrics) [][2]string {
	days := float64(m.EndMs-m.StartMs) / 86_400_000
	return [][2]string{
		{"period", fmt.Sprintf("%s .. %s UTC (%.1f days)", stamp(m.StartMs), stamp(m.EndMs), days)},
		{"initial equity", money(m.InitialEquity)},
		{"final equity", money(m.FinalEquity)},
		{"total return", pct(m.TotalReturn)},
		{"annual return", pct(m.AnnualReturn)},
		{"buy and hold", pct(m.BuyHoldReturn)},
		{"sharpe", ratio(m.Sharpe)},
		{"sortino", ratio(m.Sortino)},
		{"calmar", ratio(m.Calmar)},
		{"max drawdown", drawdownText(m)},
		{"trades", strconv.Itoa(m.Trades)},
		{"win rate", pct(m.WinRate)},
		{"profit factor", profitFactorText(m)},
		{"expectancy", money(m.Expectancy)},
		{"exposure", pct(m.Exposure)},
		{"fills", strconv.Itoa(m.Fills)},
		{"fees", money(m.Fees)},
	}
}

// stamp formats a time in ms as UTC minutes ("-" for 0).
func stamp(ms int64) string {
	if ms == 0 {
		return "-"
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04")
}

// money formats an amount with two decimals.
func money(v float64) string { return decimals2(v) }

// pct formats a fraction as a percentage.
func pct(v float64) string { return decimals2(v*100) + " %" }

// ratio formats a ratio with two decimals.
func ratio(v float64) string { return decimals2(v) }

// decimals2 formats v with two decimals, or in exponent form when it is
// too large for that to read (a growth clamped to MaxFloat64).
func decimals2(v float64) string {
	v = finite(v)
	if math.Abs(v) >= 1e12 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	return strconv.FormatFloat(v, 'f', 2, 64)
}

// drawdownText is the drawdown with its dates.
func drawdownText(m Metrics) string {
	if m.MaxDrawdown == 0 {
		return pct(0)
	}
	rec := "never recovered"
	if m.DrawdownRecoveryMs != 0 {
		rec = "recovered " + stamp(m.DrawdownRecoveryMs)
	}
	return fmt.Sprintf("%s (peak %s, trough %s, %s)", pct(m.MaxDrawdown),
		stamp(m.DrawdownStartMs), stamp(m.DrawdownTroughMs), rec)
}

// profitFactorText says "inf" when there were profits and no loss.
func profitFactorText(m Metrics) string {
	if m.GrossLoss == 0 && m.GrossProfit > 0 {
		return "inf (no losing trade)"
	}
	return ratio(m.ProfitFactor)
}

// jsonReport is WriteJSON's document.
type jsonReport struct {
	Metrics    Metrics     `json:"metrics"`
	Legs       []jsonLeg   `json:"legs"`
	Orders     []jsonOrder `json:"orders"`
	Fills      []jsonFill  `json:"fills"`
	RoundTrips []RoundTrip `json:"round_trips"`
	Bars       int64       `json:"bars"`
}

// jsonLeg is a LegResult without its bars.
type jsonLeg struct {
	Name        string  `json:"name"`
	Symbol      string  `json:"symbol"`
	Allocation  float64 `json:"allocation"`
	Bars        int     `json:"bars"`
	Position    float64 `json:"position"`
	AvgPrice    float64 `json:"avg_price"`
	RealizedPnL float64 `json:"realized_pnl"`
	Fees        float64 `json:"fees"`
	FirstClose  float64 `json:"first_close"`
	LastClose   float64 `json:"last_close"`
}

// jsonOrder is an engine.Order.
type jsonOrder struct {
	Leg      int     `json:"leg"`
	Ref      uint64  `json:"ref"`
	ID       string  `json:"id"`
	Symbol   string  `json:"symbol"`
	Side     string  `json:"side"`
	Type     string  `json:"type"`
	Status   string  `json:"status"`
	Price    float64 `json:"price"`
	Qty      float64 `json:"qty"`
	Executed float64 `json:"executed"`
	Quote    float64 `json:"quote"`
	Reason   string  `json:"reason,omitempty"`
	TimeMs   int64   `json:"time_ms"`
}

// jsonFill is an engine.Fill.
type jsonFill struct {
	Leg     int     `json:"leg"`
	OrderID string  `json:"order_id"`
	Symbol  string  `json:"symbol"`
	Side    string  `json:"side"`
	Price   float64 `json:"price"`
	Qty     float64 `json:"qty"`
	Fee     float64 `json:"fee"`
	Maker   bool    `json:"maker"`
	TimeMs  int64   `json:"time_ms"`
}

// WriteJSON writes the metrics, legs, orders, fills and round trips as
// one JSON document with snake_case names; the same inputs give the same
// bytes. Floats that are not finite are written as 0 (or ±MaxFloat64).
func WriteJSON(w io.Writer, r *engine.Result, m Metrics) error {
	if r == nil {
		return errNilResult
	}
	m.sanitize()
	doc := jsonReport{Metrics: m, Bars: r.Bars,
		Legs:       make([]jsonLeg, 0, len(r.Legs)),
		Orders:     make([]jsonOrder, 0, len(r.Orders)),
		Fills:      make([]jsonFill, 0, len(r.Fills)),
		RoundTrips: RoundTrips(r),
	}
	if doc.Metrics.Symbols == nil {
		doc.Metrics.Symbols = []SymbolMetrics{}
	}
	if doc.RoundTrips == nil {
		doc.RoundTrips = []RoundTrip{}
	}
	for i := range doc.RoundTrips {
		t := &doc.RoundTrips[i]
		t.Qty, t.EntryPrice, t.ExitPrice = finite(t.Qty), finite(t.EntryPrice), finite(t.ExitPrice)
		t.PnL, t.Fees = finite(t.PnL), finite(t.Fees)
	}
	for _, l := range r.Legs {
		doc.Legs = append(doc.Legs, jsonLeg{Name: l.Name, Symbol: l.Symbol,
			Allocation: finite(l.Allocation), Bars: len(l.Bars), Position: finite(l.Position),
			AvgPrice: finite(l.AvgPrice), RealizedPnL: finite(l.RealizedPnL), Fees: finite(l.Fees),
			FirstClose: finite(l.FirstClose), LastClose: finite(l.LastClose)})
	}
	for _, o := range r.Orders {
		doc.Orders = append(doc.Orders, jsonOrder{Leg: o.Leg, Ref: o.Ref, ID: o.ID,
			Symbol: o.Symbol, Side: o.Side, Type: o.Type, Status: o.Status,
			Price: finite(o.Price), Qty: finite(o.Qty), Executed: finite(o.Executed),
			Quote: finite(o.Quote), Reason: o.Reason, TimeMs: o.TimeMs})
	}
	for _, f := range r.Fills {
		doc.Fills = append(doc.Fills, jsonFill{Leg: f.Leg, OrderID: f.OrderID, Symbol: f.Symbol,
			Side: f.Side, Price: finite(f.Price), Qty: finite(f.Qty), Fee: finite(f.Fee),
			Maker: f.Maker, TimeMs: f.TimeMs})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("report: json: %w", err)
	}
	return nil
}

// WriteTradesCSV writes one line per fill, in the result's order, after
// a header. Times are in ms and in RFC 3339 UTC; quote is price × qty.
func WriteTradesCSV(w io.Writer, r *engine.Result) error {
	if r == nil {
		return errNilResult
	}
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "time_ms", "leg", "leg_name", "symbol", "order_id",
		"side", "price", "qty", "quote", "fee", "maker"})
	num := func(v float64) string { return strconv.FormatFloat(finite(v), 'f', -1, 64) }
	for _, f := range r.Fills {
		name := ""
		if f.Leg >= 0 && f.Leg < len(r.Legs) {
			name = r.Legs[f.Leg].Name
		}
		_ = cw.Write([]string{
			time.UnixMilli(f.TimeMs).UTC().Format("2006-01-02T15:04:05.000Z"),
			strconv.FormatInt(f.TimeMs, 10), strconv.Itoa(f.Leg), name, f.Symbol, f.OrderID,
			f.Side, num(f.Price), num(f.Qty), num(f.Price * f.Qty), num(f.Fee),
			strconv.FormatBool(f.Maker),
		})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("report: csv: %w", err)
	}
	return nil
}
