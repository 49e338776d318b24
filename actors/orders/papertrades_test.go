package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// tradesCfg is paper on trades only, 0.1 % slippage, with a book for s1 on
// BTCUSDT.
func tradesCfg() Config {
	cfg := testCfg(ModePaper)
	cfg.Paper.Fills, cfg.Paper.Slippage = FillsTrades, 0.001
	cfg.Books = map[string]BookConfig{"s1": {Allocation: 100000, QuoteAsset: "USDT", Symbol: "BTCUSDT"}}
	return cfg
}

// drainProbe returns the messages p received until none came for a while.
func drainProbe(p *actortest.Probe) []any {
	var out []any
	for {
		m, ok := p.Next(200 * time.Millisecond)
		if !ok {
			return out
		}
		out = append(out, m)
	}
}

// TestPaperFillsOnTrades: with [trading.paper] fills = "trades" the order
// actor watches the books' symbols from its start, trades only (no book
// stream, no book topic), ignores book updates, and a market order fills
// at the last trade price plus the slippage, as taker, its fee on that
// price: the backtester's model.
func TestPaperFillsOnTrades(t *testing.T) {
	f := newFixture(t, tradesCfg())
	sub := actortest.ExpectMatch(t, f.conn, 5*time.Second, func(m *messages.SubscribeStreamRequest) bool { return true })
	if sub.GetSymbol() != "BTCUSDT" || sub.GetKind() != messages.StreamKind_STREAM_KIND_PRICE {
		t.Fatalf("first stream subscription = %v, want BTCUSDT's trades at start", sub)
	}
	actortest.ExpectMatch(t, f.bus, 5*time.Second, func(m *messages.SubscribeRequest) bool { return m.GetPattern() == "price.BTCUSDT.update" })
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "50000", Quantity: "1"})
	f.event("book.BTCUSDT.update", book("49000", "49001")) // not subscribed; ignored if it came
	buy := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.1"})
	if buy.GetError() != nil || buy.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED || buy.GetOrder().GetAvgPrice() != "50050" {
		t.Fatalf("market buy = %v, want filled at 50000 * 1.001", buy)
	}
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "51000", Quantity: "1"})
	sell := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "SELL", Type: "MARKET", Quantity: "0.1"})
	if sell.GetOrder().GetAvgPrice() != "50949" {
		t.Fatalf("market sell = %v, want filled at 51000 * 0.999", sell)
	}
	fills := actortest.Request[*messages.TradeFillsResponse](t, f.sys, f.pid, &messages.TradeFillsRequest{Strategy: "s1"}).GetFills()
	if len(fills) != 2 || fills[1].GetFee() != "5.005" || fills[0].GetFee() != "5.0949" || fills[0].GetMaker() {
		t.Fatalf("fills = %v, want taker fees of 0.1 %% of 5005 and 5094.9", fills)
	}
	for _, m := range append(drainProbe(f.conn), drainProbe(f.bus)...) {
		switch m := m.(type) {
		case *messages.SubscribeStreamRequest:
			if m.GetKind() == messages.StreamKind_STREAM_KIND_BOOK {
				t.Errorf("the book stream was subscribed: %v", m)
			}
		case *messages.SubscribeRequest:
			if m.GetPattern() == "book.BTCUSDT.update" {
				t.Errorf("the book topic was subscribed")
			}
		case *messages.DepthRequest:
			t.Errorf("the book was asked for: %v", m)
		}
	}
}

// TestPaperOnTradesWarmsFromTheTicker: with no trade seen yet, a market
// order on trades takes the ticker's last price (never the book) and
// fills at it plus the slippage.
func TestPaperOnTradesWarmsFromTheTicker(t *testing.T) {
	cfg := tradesCfg()
	cfg.Books = nil
	f := newFixture(t, cfg)
	r := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s2", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.1"})
	if r.GetError() != nil || r.GetOrder().GetAvgPrice() != "50050" {
		t.Fatalf("market buy = %v, want filled at the ticker's 50000 * 1.001", r)
	}
	actortest.Expect[*messages.TickerRequest](t, f.conn, 5*time.Second)
	for _, m := range drainProbe(f.conn) {
		if _, ok := m.(*messages.DepthRequest); ok {
			t.Errorf("the book was asked for")
		}
	}
}

// TestPaperFillsValidated: fills and slippage are checked.
func TestPaperFillsValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Paper.Fills, cfg.Paper.Slippage = "bars", 1.5
	err := Validate(cfg)
	if err == nil || !strings.Contains(err.Error(), `trading.paper.fills: must be "book" or "trades", got "bars"`) || !strings.Contains(err.Error(), "trading.paper.slippage: is a fraction") {
		t.Fatalf("Validate = %v", err)
	}
	if DefaultConfig().Paper.Fills != FillsBook {
		t.Fatal(`the default is not "book"`)
	}
}
