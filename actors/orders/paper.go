package orders

import (
	"fmt"
	"maps"
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/messages"
)

// startPaper builds the paper matcher, closes the intents a crash left
// (they never reached it), restores the resting orders and opens the gate.
func (a *orderActor) startPaper(ctx actor.Context, l *loaded) {
	a.paperBal = l.paperBal
	m, err := matcher.New(matcher.Config{MakerFee: a.cfg.Paper.MakerFee, TakerFee: a.cfg.Paper.TakerFee,
		SlippageCap: a.cfg.Paper.SlippageCap, Slippage: a.cfg.Paper.Slippage})
	if err != nil { // Validate checked the config: the actor's state cannot be trusted
		panic(fmt.Errorf("orders: paper matcher: %w", err))
	}
	a.match = m
	for _, t := range a.orders {
		o := t.o
		a.ensureMarket(ctx, o.GetSymbol())
		switch o.GetStatus() {
		case messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW, messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED:
			if err := a.match.Restore(paperOrder(o), dec(o.GetExecutedQty()), dec(o.GetCumulativeQuoteQty())); err != nil {
				a.log.Error("paper order not restored", "client_order_id", o.GetClientOrderId(), "err", err)
			}
		default: // INTENT, SENT, UNKNOWN, LOST: the matcher never held them
			o.Status, o.Reason, o.UpdatedMs = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT, "closed at restart: never reached the paper matcher", a.nowMs()
			a.commit(ctx, t, nil)
		}
	}
	// Watch the strategies' symbols from the start: with fills on trades
	// every trade counts, and with fills on the book the matcher has the
	// book before the first order. The streams open once, at start, not
	// one symbol at a time over the first hours of trading.
	for _, name := range slices.Sorted(maps.Keys(a.cfg.Books)) {
		if sym := a.cfg.Books[name].Symbol; sym != "" {
			a.ensureMarket(ctx, sym)
		}
	}
	a.settle()
}

// onTrades reports paper fills on trades only (no book): the backtester's
// model.
func (a *orderActor) onTrades() bool {
	return a.cfg.Mode == ModePaper && a.cfg.Paper.Fills == FillsTrades
}

// paperBook reports paper fills on the order book.
func (a *orderActor) paperBook() bool {
	return a.cfg.Mode == ModePaper && !a.onTrades()
}

func paperOrder(o *messages.TradeOrder) matcher.Order {
	return matcher.Order{ID: o.GetClientOrderId(), Symbol: o.GetSymbol(), Side: o.GetSide(), Type: o.GetType(),
		TimeInForce: o.GetTimeInForce(), Price: dec(o.GetPrice()), Qty: dec(o.GetQuantity())}
}

// sendPaper hands a journaled intent to the matcher.
func (a *orderActor) sendPaper(ctx actor.Context, t *tracked) {
	u, fills := a.match.Submit(paperOrder(t.o), a.nowMs())
	a.applyPaper(ctx, []matcher.Update{u}, fills)
}

// applyPaper applies the matcher's updates and fills to the orders, books
// and balances and journals them, one commit per order.
func (a *orderActor) applyPaper(ctx actor.Context, updates []matcher.Update, fills []matcher.Fill) {
	byOrder := map[string][]*messages.TradeFill{}
	var ids []string
	seen := map[string]bool{}
	note := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for _, f := range fills {
		t := a.orders[f.OrderID]
		if t == nil {
			continue
		}
		_, quote := splitSymbol(f.Symbol)
		tf := &messages.TradeFill{ClientOrderId: f.OrderID, Strategy: t.o.GetStrategy(), Symbol: f.Symbol, Side: f.Side,
			Price: fmtDec(f.Price), Quantity: fmtDec(f.Qty), QuoteQty: fmtDec(f.Quote), Fee: fmtDec(f.Fee), FeeAsset: quote,
			TimeMs: f.TimeMs, Maker: f.Maker}
		a.recordFill(t, tf)
		byOrder[f.OrderID] = append(byOrder[f.OrderID], tf)
		note(f.OrderID)
	}
	now := a.nowMs()
	for _, u := range updates {
		t := a.orders[u.OrderID]
		if t == nil {
			continue
		}
		o := t.o
		if s := exchangeStatus(u.Status); s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED {
			o.Status = s
		}
		o.ExecutedQty, o.CumulativeQuoteQty, o.Reason, o.UpdatedMs = fmtDec(u.Executed), fmtDec(u.Quote), u.Reason, now
		if u.Executed > 0 {
			o.AvgPrice = fmtDec(u.Quote / u.Executed)
		}
		note(u.OrderID)
	}
	for _, id := range ids {
		if t := a.orders[id]; t != nil {
			a.commit(ctx, t, byOrder[id])
		}
	}
}

// ensureMarket subscribes the market data of a symbol in play: the
// connector's streams (trades, and the book when paper fills on it) and
// their bus topics, which feed the last prices and the matcher.
func (a *orderActor) ensureMarket(ctx actor.Context, symbol string) {
	if a.subscribed[symbol] {
		return
	}
	a.subscribed[symbol] = true
	if a.deps.Connector != nil {
		ctx.Request(a.deps.Connector, &messages.SubscribeStreamRequest{Symbol: symbol, Kind: messages.StreamKind_STREAM_KIND_PRICE, Subscriber: ctx.Self()})
		if a.paperBook() {
			ctx.Request(a.deps.Connector, &messages.SubscribeStreamRequest{Symbol: symbol, Kind: messages.StreamKind_STREAM_KIND_BOOK, Subscriber: ctx.Self()})
		}
	}
	if a.acker != nil {
		a.acker.Subscribe(ctx, "price."+symbol+".update", 0)
		if a.paperBook() {
			a.acker.Subscribe(ctx, "book."+symbol+".update", 0)
		}
	}
}

// onEvent takes a market data event from the bus.
func (a *orderActor) onEvent(ctx actor.Context, ev *messages.Event) {
	if a.acker != nil {
		a.acker.Handled(ctx)
	}
	if ev.GetPayload() == nil || !a.loaded {
		return
	}
	if msg, err := ev.GetPayload().UnmarshalNew(); err == nil {
		a.onMarket(ctx, msg)
	}
}

// onMarket applies market data: the last price, and in paper mode the
// matcher's fills.
func (a *orderActor) onMarket(ctx actor.Context, msg any) {
	now := a.nowMs()
	switch m := msg.(type) {
	case *messages.PriceUpdate:
		price := dec(m.GetPrice())
		if price <= 0 {
			return
		}
		a.books.last[m.GetSymbol()] = price
		a.checkLossAt(ctx, m.GetSymbol())
		if a.match != nil {
			u, f := a.match.OnTrade(m.GetSymbol(), price, dec(m.GetQuantity()), now)
			a.applyPaper(ctx, u, f)
		}
	case *messages.BookUpdate:
		if a.onTrades() {
			return // fills on trades only: no book, even one another subscriber opened
		}
		if a.books.last[m.GetSymbol()] == 0 && len(m.GetBids()) > 0 && len(m.GetAsks()) > 0 {
			a.books.last[m.GetSymbol()] = (dec(m.GetBids()[0].GetPrice()) + dec(m.GetAsks()[0].GetPrice())) / 2
		}
		if a.match != nil {
			u, f := a.match.OnBook(m.GetSymbol(), levels(m.GetBids()), levels(m.GetAsks()), now)
			a.applyPaper(ctx, u, f)
		}
	}
}

func levels(ls []*messages.PriceLevel) []matcher.Level {
	out := make([]matcher.Level, 0, len(ls))
	for _, l := range ls {
		out = append(out, matcher.Level{Price: dec(l.GetPrice()), Qty: dec(l.GetQuantity())})
	}
	return out
}

// paperFunds refuses a paper order the paper account cannot pay for, as
// the exchange would (-2010): a buy needs its quote amount and the taker
// fee free, a sell its base quantity.
func (a *orderActor) paperFunds(r *messages.PlaceTradeOrderRequest) *messages.Error {
	if a.cfg.Mode != ModePaper {
		return nil
	}
	base, quote := splitSymbol(r.GetSymbol())
	free := map[string]float64{}
	for _, b := range a.paperBalances() {
		free[b.GetAsset()] = dec(b.GetFree())
	}
	qty, price := dec(r.GetQuantity()), dec(r.GetPrice())
	if price == 0 {
		price = a.books.last[r.GetSymbol()]
		if a.onTrades() {
			price *= 1 + a.cfg.Paper.Slippage
		}
	}
	need, asset := qty, base
	if r.GetSide() == "BUY" {
		need, asset = qty*price*(1+a.cfg.Paper.TakerFee), quote
	}
	if need > free[asset]*(1+1e-9) {
		return precondition("insufficient paper balance: %s %s needed, %s free", fmtDec(need), asset, fmtDec(free[asset]))
	}
	return nil
}

// warm prices a symbol no stream has priced yet, once: the order book
// (paper on the book: it also primes the matcher) or the ticker (live; and
// paper on trades, where its last price primes the matcher's, though the
// connector's cache may make it a few seconds old). then runs on the actor
// goroutine whatever the answer.
func (a *orderActor) warm(ctx actor.Context, symbol string, then func(actor.Context)) {
	a.warmed[symbol] = true
	var req any = &messages.TickerRequest{Symbol: symbol}
	if a.paperBook() {
		req = &messages.DepthRequest{Symbol: symbol, Limit: 20}
	}
	f := ctx.RequestFuture(a.deps.Connector, req, queryTimeout)
	a.reenter(ctx, f, func(res any, err error) {
		switch r := res.(type) {
		case *messages.TickerResponse:
			if p := dec(r.GetLastPrice()); p > 0 && a.books.last[symbol] == 0 {
				a.books.last[symbol] = p
				if a.match != nil { // a bar of no volume: the last price, and no fill
					u, f := a.match.OnBar(symbol, p, p, p, p, 0, a.nowMs())
					a.applyPaper(ctx, u, f)
				}
			}
		case *messages.DepthResponse:
			if r.GetError() == nil {
				a.onMarket(ctx, &messages.BookUpdate{Symbol: symbol, Bids: r.GetBids(), Asks: r.GetAsks()})
			}
		default:
			a.log.Warn("no price for a symbol", "symbol", symbol, "err", err)
		}
		then(ctx)
	})
}
