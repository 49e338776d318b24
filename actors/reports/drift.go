package reports

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// Drift report limits.
const (
	// klinesPage is how many bars one connector request asks for.
	klinesPage = 1000
	// klinesTimeout bounds one page's request.
	klinesTimeout = 30 * time.Second
	// pnlEpsilon is the PnL gap below which the two sides agree (float
	// noise of summing the same fills in another order).
	pnlEpsilon = 1e-8
	// minMatchSlack is the least time apart two orders of one side may be
	// and still match (with 1 s bars, a paper order may follow its bar's
	// close by more than one interval).
	minMatchSlack = 5 * time.Second
	// maxBars bounds the bars one drift report fetches and backtests: a
	// year of 1m bars (527,040) fits, 366 days of 1s bars do not.
	maxBars = 600_000
	// maxListed and maxListedInFile bound the one-side orders an answer
	// and a report file list.
	maxListed       = 100
	maxListedInFile = 1000
)

// slack is how far apart in time two orders of one side may be and still
// match: one bar interval, at least minMatchSlack. The journal is read that
// much past the window's end, where the orders reacting to its last bar
// are.
func slack(ivMs int64) int64 { return max(ivMs, minMatchSlack.Milliseconds()) }

// driftRun is one drift report, ready to run off the actor goroutine.
type driftRun struct {
	cfg       Config
	name      string
	spec      Strategy
	ivMs      int64
	fromMs    int64
	toMs      int64
	root      *actor.RootContext
	connector *actor.PID
}

// driftJob checks a request and fixes its window: toMs is the end rounded
// down to the strategy's interval, fromMs days before it.
func (a *reportsActor) driftJob(m *messages.ReportDriftRequest) (*driftRun, *messages.Error) {
	spec, ok := a.cfg.Strategies[m.GetStrategy()]
	if !ok {
		if m.GetStrategy() == "" {
			return nil, invalid("strategy: must name a strategy of [trading.strategies]")
		}
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "strategy %q is not in [trading.strategies]", m.GetStrategy())
	}
	days := int64(m.GetDays())
	if days == 0 {
		days = 1
	}
	if days < 1 || days > MaxDays {
		return nil, invalid("days: must be 1 to %d, got %d", MaxDays, days)
	}
	end := m.GetEndMs()
	if end == 0 {
		end = a.deps.Now().UnixMilli()
	}
	if end < 0 {
		return nil, invalid("end_ms: must be >= 0, got %d", end)
	}
	if a.deps.Connector == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "no connector to fetch the bars from")
	}
	iv, _ := store.IntervalMs(spec.Interval) // validated with the config
	if n := days * 24 * time.Hour.Milliseconds() / iv; n > maxBars {
		return nil, invalid("days: %d days of %s bars are %d bars, more than %d: ask for fewer days", days, spec.Interval, n, maxBars)
	}
	to := end / iv * iv
	return &driftRun{cfg: a.cfg, name: m.GetStrategy(), spec: spec, ivMs: iv, fromMs: to - days*24*time.Hour.Milliseconds(),
		toMs: to, root: a.root, connector: a.deps.Connector}, nil
}

// run fetches the bars, runs the backtest, reads the journal, compares and
// writes the report. Off the actor goroutine.
func (r *driftRun) run(ctx context.Context) *done {
	resp := &messages.ReportDriftResponse{Strategy: r.name, FromMs: r.fromMs, ToMs: r.toMs}
	fail := func(code messages.ErrorCode, format string, args ...any) *done {
		resp.Error = messages.Errorf(code, format, args...)
		return &done{resp: resp}
	}
	bars, err := r.bars(ctx)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "bars of %s %s: %v", r.spec.Symbol, r.spec.Interval, err)
	}
	if len(bars) == 0 {
		return fail(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "no %s %s bars in the window", r.spec.Symbol, r.spec.Interval)
	}
	res, err := backtest(ctx, engine.Config{
		Legs: []engine.Leg{{Name: r.name, Kind: r.spec.Kind, Params: r.spec.Params, Symbol: r.spec.Symbol,
			Interval: r.spec.Interval, Allocation: r.spec.Allocation, Bars: bars}},
		MakerFee: r.cfg.MakerFee, TakerFee: r.cfg.TakerFee, Slippage: r.cfg.Slippage,
		FromMs: r.fromMs, ToMs: r.toMs,
	}, nil)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "backtest: %v", err)
	}
	j, err := openJournal(r.cfg.Journal)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "journal cannot be read: %v", err)
	}
	defer j.close()
	liveTo := r.toMs + slack(r.ivMs)
	orders, err := j.orders(ctx, r.name, r.fromMs, liveTo)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "journal read failed: %v", err)
	}
	fills, err := j.fills(ctx, r.name, r.fromMs, liveTo)
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "journal read failed: %v", err)
	}
	compare(resp, res, orders, fills, r.ivMs, bars[len(bars)-1].Close)
	md, html, err := driftDoc(resp, r.spec).write(r.cfg.Dir, "drift-"+r.name+"-"+stamp(r.toMs))
	if err != nil {
		return fail(messages.ErrorCode_ERROR_CODE_INTERNAL, "%v", err)
	}
	resp.MarkdownPath, resp.HtmlPath = md, html
	resp.OnlyBacktest, resp.OnlyLive = resp.OnlyBacktest[:min(len(resp.OnlyBacktest), maxListed)], resp.OnlyLive[:min(len(resp.OnlyLive), maxListed)]
	return &done{resp: resp, ready: &messages.ReportReady{Kind: "drift", Paths: []string{md, html}, FromMs: r.fromMs, ToMs: r.toMs, Strategy: r.name}}
}

// bars asks the connector for the closed bars with open time in [fromMs,
// toMs), a page at a time, and checks they ascend.
func (r *driftRun) bars(ctx context.Context) ([]strategy.Bar, error) {
	var out []strategy.Bar
	for start := r.fromMs; start < r.toMs; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := r.root.RequestFuture(r.connector, &messages.KlinesRequest{Symbol: r.spec.Symbol, Interval: r.spec.Interval,
			Limit: klinesPage, StartTimeMs: start, EndTimeMs: r.toMs - 1}, klinesTimeout).Result()
		if err != nil {
			return nil, err
		}
		page, ok := res.(*messages.KlinesResponse)
		if !ok {
			return nil, fmt.Errorf("connector answered %T", res)
		}
		if e := page.GetError(); e != nil {
			return nil, errors.New(e.GetMessage())
		}
		next := start
		for _, k := range page.GetKlines() {
			if k.GetOpenTimeMs() < start || k.GetOpenTimeMs() >= r.toMs {
				continue
			}
			if n := len(out); n > 0 && k.GetOpenTimeMs() <= out[n-1].OpenTimeMs {
				return nil, fmt.Errorf("bars out of order at %d", k.GetOpenTimeMs())
			}
			out = append(out, strategy.Bar{OpenTimeMs: k.GetOpenTimeMs(), CloseTimeMs: k.GetCloseTimeMs(),
				Open: dec(k.GetOpen()), High: dec(k.GetHigh()), Low: dec(k.GetLow()), Close: dec(k.GetClose()), Volume: dec(k.GetVolume())})
			next = k.GetOpenTimeMs() + r.ivMs
		}
		if len(page.GetKlines()) < klinesPage || next == start {
			break
		}
		start = next
	}
	return out, nil
}

// sideOrder is an order of either side, for matching.
type sideOrder struct {
	timeMs                            int64
	side, typ, price, qty, status, id string
}

// compare fills resp with both sides' activity and their differences:
// orders matched by side within one bar interval, at least minMatchSlack
// (each backtest order, in time order, takes the earliest unmatched
// journal order of its side), the rest listed per side, and the PnL gap.
func compare(resp *messages.ReportDriftResponse, bt *engine.Result, orders []*messages.TradeOrder, fills []*messages.TradeFill, ivMs int64, lastClose float64) {
	slack := slack(ivMs)
	var btOrders, liveOrders []sideOrder
	for _, o := range bt.Orders {
		btOrders = append(btOrders, sideOrder{o.TimeMs, o.Side, o.Type, ledger.FormatDec(o.Price), ledger.FormatDec(o.Qty), o.Status, o.ID})
	}
	for _, o := range orders {
		liveOrders = append(liveOrders, sideOrder{o.GetCreatedMs(), o.GetSide(), o.GetType(), o.GetPrice(), o.GetQuantity(),
			trimStatus(o.GetStatus().String()), o.GetClientOrderId()})
	}
	sort.SliceStable(btOrders, func(i, k int) bool { return btOrders[i].timeMs < btOrders[k].timeMs })
	used := make([]bool, len(liveOrders))
	for _, b := range btOrders {
		hit := -1
		for i, l := range liveOrders {
			if !used[i] && l.side == b.side && abs64(l.timeMs-b.timeMs) <= slack {
				hit = i
				break
			}
		}
		if hit < 0 {
			resp.OnlyBacktest = append(resp.OnlyBacktest, b.view())
			continue
		}
		used[hit] = true
		resp.Matched++
	}
	for i, l := range liveOrders {
		if !used[i] {
			resp.OnlyLive = append(resp.OnlyLive, l.view())
		}
	}
	var btSide, liveSide sideStats
	for _, f := range bt.Fills {
		btSide.add(f.Side, f.Qty, f.Price*f.Qty, f.Fee)
	}
	for _, f := range fills {
		q := dec(f.GetQuoteQty())
		if q == 0 {
			q = dec(f.GetPrice()) * dec(f.GetQuantity())
		}
		liveSide.add(f.GetSide(), dec(f.GetQuantity()), q, feeInQuote(f))
	}
	resp.Backtest = btSide.view(int64(len(bt.Orders)), int64(len(bt.Fills)), lastClose)
	resp.Live = liveSide.view(int64(len(orders)), int64(len(fills)), lastClose)
	gap := liveSide.pnl(lastClose) - btSide.pnl(lastClose)
	resp.PnlGap = ledger.FormatDec(gap)
	resp.OnlyBacktestCount, resp.OnlyLiveCount = int64(len(resp.OnlyBacktest)), int64(len(resp.OnlyLive))
	resp.Drift = resp.OnlyBacktestCount > 0 || resp.OnlyLiveCount > 0 || math.Abs(gap) > pnlEpsilon
}

func (o sideOrder) view() *messages.DriftOrder {
	return &messages.DriftOrder{TimeMs: o.timeMs, Side: o.side, Type: o.typ, Price: o.price, Quantity: o.qty, Status: o.status, ClientOrderId: o.id}
}

// sideStats sums one side's fills.
type sideStats struct {
	buyQty, sellQty, buyQuote, sellQuote, feesBuy, feesSell float64
}

func (s *sideStats) add(side string, qty, quote, fee float64) {
	if side == "BUY" {
		s.buyQty, s.buyQuote, s.feesBuy = s.buyQty+qty, s.buyQuote+quote, s.feesBuy+fee
		return
	}
	s.sellQty, s.sellQuote, s.feesSell = s.sellQty+qty, s.sellQuote+quote, s.feesSell+fee
}

// pnl is the window's cash flow plus its net quantity at the last close.
func (s *sideStats) pnl(lastClose float64) float64 {
	return s.sellQuote - s.buyQuote - s.feesBuy - s.feesSell + (s.buyQty-s.sellQty)*lastClose
}

func (s *sideStats) view(orders, fills int64, lastClose float64) *messages.DriftSide {
	return &messages.DriftSide{Orders: orders, Fills: fills, Pnl: ledger.FormatDec(s.pnl(lastClose)), FeesBuy: ledger.FormatDec(s.feesBuy),
		FeesSell: ledger.FormatDec(s.feesSell), BuyQty: ledger.FormatDec(s.buyQty), SellQty: ledger.FormatDec(s.sellQty)}
}

// trimStatus turns TRADE_ORDER_STATUS_FILLED into FILLED.
func trimStatus(s string) string {
	const p = "TRADE_ORDER_STATUS_"
	if len(s) > len(p) && s[:len(p)] == p {
		return s[len(p):]
	}
	return s
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// driftDoc is the drift report's content.
func driftDoc(r *messages.ReportDriftResponse, spec Strategy) *doc {
	verdict := "no drift: the backtest and the journal agree"
	if r.GetDrift() {
		verdict = fmt.Sprintf("DRIFT: %d orders only in the backtest, %d only in the journal, PnL gap %s",
			r.GetOnlyBacktestCount(), r.GetOnlyLiveCount(), r.GetPnlGap())
	}
	side := func(name string, s *messages.DriftSide) []string {
		return []string{name, fmt.Sprint(s.GetOrders()), fmt.Sprint(s.GetFills()), s.GetBuyQty(), s.GetSellQty(),
			s.GetFeesBuy(), s.GetFeesSell(), s.GetPnl()}
	}
	orderRows := func(os []*messages.DriftOrder) [][]string {
		var rows [][]string
		for _, o := range os[:min(len(os), maxListedInFile)] {
			rows = append(rows, []string{when(o.GetTimeMs()), o.GetSide(), o.GetType(), o.GetPrice(), o.GetQuantity(), o.GetStatus(), o.GetClientOrderId()})
		}
		return rows
	}
	orderHeader := []string{"Time", "Side", "Type", "Price", "Quantity", "Status", "Id"}
	return &doc{
		Title: "SuperBot drift report: " + r.GetStrategy(),
		Facts: [][2]string{{"Strategy", fmt.Sprintf("%s (%s on %s %s)", r.GetStrategy(), spec.Kind, spec.Symbol, spec.Interval)},
			{"From", when(r.GetFromMs())}, {"To", when(r.GetToMs())}, {"Verdict", verdict},
			{"Matched orders", fmt.Sprint(r.GetMatched())}, {"PnL gap (journal - backtest)", r.GetPnlGap()}},
		Sections: []section{
			{Heading: "Backtest and journal", Header: []string{"Side", "Orders", "Fills", "Bought", "Sold", "Fees on buys", "Fees on sells", "PnL"},
				Rows: [][]string{side("backtest", r.GetBacktest()), side("journal (paper/live)", r.GetLive())}},
			{Heading: "Orders only in the backtest", Note: listed(len(r.GetOnlyBacktest())), Header: orderHeader, Rows: orderRows(r.GetOnlyBacktest())},
			{Heading: "Orders only in the journal", Note: listed(len(r.GetOnlyLive())), Header: orderHeader, Rows: orderRows(r.GetOnlyLive())},
			{Heading: "How these are computed", Note: "The backtest runs the strategy's code and the paper matcher over the " +
				"window's bars from the connector, starting flat with its allocation and without the exchange's filters (a position the strategy held at the " +
				"window's start shows as drift). Orders match when they have the same side and their times differ by at most " +
				"one bar interval (at least 5 s); the journal is read that much past the window's end, where the orders reacting " +
				"to its last bar are. PnL is the window's sells minus buys minus fees, plus the " +
				"window's net quantity at the last close, for both sides alike."},
		},
	}
}

// listed notes a list cut to maxListedInFile rows.
func listed(n int) string {
	if n <= maxListedInFile {
		return ""
	}
	return fmt.Sprintf("The first %d of %d.", maxListedInFile, n)
}
