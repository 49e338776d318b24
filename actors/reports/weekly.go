package reports

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/messages"
)

// week is the weekly report's window.
const week = 7 * 24 * time.Hour

// bookStats accumulates one book's (a strategy's, or the account's)
// trading over the window.
type bookStats struct {
	orders, trades      int64
	realized, fees      float64
	buyQuote, sellQuote float64
	net, peak, drawdown float64
	curve               []point              // the account's cumulative net PnL, fill by fill
	positions           map[string]*position // by symbol; strategies only
}

// position is one strategy's holding of one symbol at average cost.
type position struct {
	qty, avg float64 // signed quantity, average entry price
}

// apply books a fill and returns the PnL it realised (before fees), with
// the order actor's own position math (ledger.Apply).
func (p *position) apply(side string, qty, price float64) float64 {
	var realized float64
	p.qty, p.avg, realized = ledger.Apply(p.qty, p.avg, side == "SELL", qty, price)
	return realized
}

// book adds one fill of the window: counts, PnL, fees and the drawdown of
// the cumulative net PnL.
func (b *bookStats) book(f *messages.TradeFill, realized, fee float64) {
	b.trades++
	b.realized += realized
	b.fees += fee
	q := dec(f.GetQuoteQty())
	if q == 0 {
		q = dec(f.GetPrice()) * dec(f.GetQuantity())
	}
	if f.GetSide() == "BUY" {
		b.buyQuote += q
	} else {
		b.sellQuote += q
	}
	b.net += realized - fee
	b.peak = math.Max(b.peak, b.net)
	b.drawdown = math.Max(b.drawdown, b.peak-b.net)
}

func (b *bookStats) view(strategy string) *messages.ReportBookStats {
	return &messages.ReportBookStats{
		Strategy: strategy, Orders: b.orders, Trades: b.trades,
		RealizedPnl: ledger.FormatDec(b.realized), Fees: ledger.FormatDec(b.fees), NetPnl: ledger.FormatDec(b.realized - b.fees),
		MaxDrawdown: ledger.FormatDec(b.drawdown), BuyQuote: ledger.FormatDec(b.buyQuote), SellQuote: ledger.FormatDec(b.sellQuote),
	}
}

// weeklyStats computes the report over [fromMs, toMs) from the journal:
// every fill before toMs is replayed (positions opened before the window
// realise against their cost), the window's fills and orders are counted.
// Runs off the actor goroutine.
func weeklyStats(ctx context.Context, j *journalReader, fromMs, toMs int64) (*messages.ReportWeeklyResponse, []point, error) {
	per := map[string]*bookStats{}
	get := func(name string) *bookStats {
		b := per[name]
		if b == nil {
			b = &bookStats{positions: map[string]*position{}}
			per[name] = b
		}
		return b
	}
	account := &bookStats{curve: []point{{fromMs, 0}}}
	err := j.eachFill(ctx, "", 0, toMs, func(f *messages.TradeFill) {
		b := get(f.GetStrategy())
		p := b.positions[f.GetSymbol()]
		if p == nil {
			p = &position{}
			b.positions[f.GetSymbol()] = p
		}
		realized := p.apply(f.GetSide(), dec(f.GetQuantity()), dec(f.GetPrice()))
		if f.GetTimeMs() < fromMs {
			return
		}
		fee := feeInQuote(f)
		b.book(f, realized, fee)
		account.book(f, realized, fee)
		account.curve = append(account.curve, point{f.GetTimeMs(), account.net})
	})
	if err != nil {
		return nil, nil, err
	}
	counts, err := j.orderCounts(ctx, fromMs, toMs)
	if err != nil {
		return nil, nil, err
	}
	for name, n := range counts {
		get(name).orders += n
		account.orders += n
	}
	account.curve = append(account.curve, point{toMs, account.net})
	resp := &messages.ReportWeeklyResponse{FromMs: fromMs, ToMs: toMs, Account: account.view("")}
	for _, name := range slices.Sorted(maps.Keys(per)) {
		if b := per[name]; b.trades > 0 || b.orders > 0 {
			resp.Strategies = append(resp.Strategies, b.view(name))
		}
	}
	return resp, account.curve, nil
}

// feeInQuote converts a fill's fee to the quote asset: a fee in the base
// asset is valued at the fill price; another asset (BNB) counts as 0, as in
// the order actor's books.
func feeInQuote(f *messages.TradeFill) float64 {
	fee := dec(f.GetFee())
	sym := f.GetSymbol()
	base, quote := ledger.SplitSymbol(sym)
	switch f.GetFeeAsset() {
	case "", quote:
		return fee
	case base:
		return fee * dec(f.GetPrice())
	}
	return 0
}

// weeklyDoc is the weekly report's content; curve is the account's net
// PnL, charted in the HTML.
func weeklyDoc(r *messages.ReportWeeklyResponse, curve []point) *doc {
	header := []string{"Book", "Orders", "Trades", "Bought (quote)", "Sold (quote)", "Realised PnL", "Fees", "Net PnL", "Max drawdown"}
	row := func(name string, s *messages.ReportBookStats) []string {
		return []string{name, fmt.Sprint(s.GetOrders()), fmt.Sprint(s.GetTrades()), s.GetBuyQuote(), s.GetSellQuote(),
			s.GetRealizedPnl(), s.GetFees(), s.GetNetPnl(), s.GetMaxDrawdown()}
	}
	var rows [][]string
	for _, s := range r.GetStrategies() {
		rows = append(rows, row(s.GetStrategy(), s))
	}
	return &doc{
		Title: "SuperBot weekly trading report",
		Facts: [][2]string{{"From", when(r.GetFromMs())}, {"To", when(r.GetToMs())}},
		Chart: chart("Account net PnL (quote asset)", curve),
		Sections: []section{
			{Heading: "Account", Header: header, Rows: [][]string{row("account", r.GetAccount())}},
			{Heading: "Per strategy", Header: header, Rows: rows},
			{Heading: "How these are computed", Note: "From the trading journal. Trades are the fills in the window. " +
				"Realised PnL is what the window's fills realised against each strategy's average entry price " +
				"(positions opened before the window count at their cost); open positions are not marked. " +
				"Fees are in the quote asset (a fee in another asset such as BNB counts as 0). " +
				"Max drawdown is the largest fall of the cumulative net PnL from a peak, fill by fill. " +
				"The account sums every strategy's book."},
		},
	}
}
