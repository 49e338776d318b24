package orders

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func book(bid, ask string) *messages.BookUpdate {
	return &messages.BookUpdate{Symbol: "BTCUSDT", Bids: []*messages.PriceLevel{{Price: bid, Quantity: "5"}},
		Asks: []*messages.PriceLevel{{Price: ask, Quantity: "5"}}}
}

func (f *fixture) positions(strategy string) *messages.PositionsResponse {
	f.t.Helper()
	return actortest.Request[*messages.PositionsResponse](f.t, f.sys, f.pid, &messages.PositionsRequest{Strategy: strategy})
}

func TestPaperFillsFromBookAndTrades(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	// A market buy walks the book as taker.
	r := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.1"})
	if r.GetError() != nil || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED || r.GetOrder().GetAvgPrice() != "50010" {
		t.Fatalf("market order = %v", r)
	}
	// A resting limit sell fills as maker when a trade prints through it.
	r = f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "SELL", Type: "LIMIT", Quantity: "0.04", Price: "50500"})
	if r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
		t.Fatalf("limit order = %v", r)
	}
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "50600", Quantity: "1"})
	actortest.Eventually(t, 5*time.Second, func() bool { return len(f.orders("filled")) == 2 }, "limit order filled by a trade")
	p := f.positions("s1").GetPositions()
	if len(p) != 1 || p[0].GetQuantity() != "0.06" || p[0].GetRealizedPnl() != "19.6" {
		t.Fatalf("positions = %v", p)
	}
	fills := actortest.Request[*messages.TradeFillsResponse](t, f.sys, f.pid, &messages.TradeFillsRequest{Strategy: "s1"}).GetFills()
	if len(fills) != 2 || !fills[0].GetMaker() || fills[1].GetMaker() {
		t.Fatalf("fills = %v", fills)
	}
	ev := actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return strings.HasPrefix(e.GetTopic(), "fill.") })
	if ev.GetTopic() != "fill.s1.BTCUSDT" {
		t.Fatalf("fill topic = %s", ev.GetTopic())
	}
	bal := actortest.Request[*messages.BalanceResponse](t, f.sys, f.pid, &messages.BalanceRequest{})
	var usdt, btc string
	for _, b := range bal.GetBalances() {
		switch b.GetAsset() {
		case "USDT":
			usdt = b.GetFree()
		case "BTC":
			btc = b.GetFree()
		}
	}
	// 10000 - 5001 - 5.001 fee + 2020 - 2.02 fee.
	if btc != "0.06" || !strings.HasPrefix(usdt, "7011.97") {
		t.Fatalf("balances = %v", bal.GetBalances())
	}
}

// A restart keeps resting paper orders (in the matcher again), the books,
// the client id sequence, and closes an intent that never reached it.
func TestPaperRestartRestoresOrdersBooksAndSequences(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	if r := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.1"}); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	rest := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.02", Price: "49000"})
	if rest.GetOrder().GetClientOrderId() != "sb-s1-2" {
		t.Fatalf("second id = %s", rest.GetOrder().GetClientOrderId())
	}
	before := f.positions("s1").GetPositions()
	f.restart()
	after := f.positions("s1").GetPositions()
	if len(after) != 1 || after[0].GetQuantity() != before[0].GetQuantity() || after[0].GetAvgPrice() != before[0].GetAvgPrice() {
		t.Fatalf("books before %v after %v", before, after)
	}
	next := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.01", Price: "48000"})
	if next.GetOrder().GetClientOrderId() != "sb-s1-3" {
		t.Fatalf("id after restart = %s, want sb-s1-3", next.GetOrder().GetClientOrderId())
	}
	// The restored resting order fills on the next trade through it.
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "48900", Quantity: "1"})
	actortest.Eventually(t, 5*time.Second, func() bool {
		for _, o := range f.orders("filled") {
			if o.GetClientOrderId() == "sb-s1-2" {
				return true
			}
		}
		return false
	}, "restored order filled")
}

// A burst of placements from many strategies is admitted without waiting
// for each commit: every one is answered, journaled once, with its own id.
func TestBurstOfPlacements(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.Risk = RiskConfig{}
	cfg.Paper.Balances = map[string]string{"USDT": "1000000"}
	f := newFixture(t, cfg)
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	const n = 300
	futures := make([]*actor.Future, n)
	for i := range n {
		req := &messages.PlaceTradeOrderRequest{Strategy: fmt.Sprintf("s%d", i%10), Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT", Quantity: "0.001", Price: "40000"}
		futures[i] = f.sys.Root.RequestFuture(f.pid, req, 20*time.Second)
	}
	ids := map[string]bool{}
	for _, fu := range futures {
		res, err := fu.Result()
		if err != nil {
			t.Fatal(err)
		}
		r := res.(*messages.PlaceTradeOrderResponse)
		if r.GetError() != nil || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
			t.Fatalf("answer = %v", r)
		}
		ids[r.GetOrder().GetClientOrderId()] = true
	}
	if len(ids) != n {
		t.Fatalf("%d distinct ids for %d orders", len(ids), n)
	}
	r := actortest.Request[*messages.TradeOrdersResponse](t, f.sys, f.pid, &messages.TradeOrdersRequest{Status: "open", Limit: 1000})
	if len(r.GetOrders()) != n {
		t.Fatalf("journal holds %d open orders, want %d", len(r.GetOrders()), n)
	}
}

func TestPaperRefusesWhatTheAccountCannotPay(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	r := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "SELL", Type: "LIMIT", Quantity: "0.01", Price: "50000"})
	if !strings.Contains(r.GetError().GetMessage(), "insufficient paper balance") {
		t.Fatalf("sell without BTC = %v", r)
	}
	cfg := testCfg(ModePaper)
	cfg.Risk.MaxOrderNotional = 0
	f2 := newFixture(t, cfg)
	f2.event("book.BTCUSDT.update", book("49990", "50010"))
	if r := f2.place(buy("s1", "LIMIT", "0.3", "49000")); !strings.Contains(r.GetError().GetMessage(), "USDT needed") {
		t.Fatalf("buy over the balance = %v", r)
	}
}

// The first order of a symbol no stream has priced yet is priced from the
// connector's order book (which also primes the paper matcher).
func TestFirstMarketOrderIsPricedFromTheBook(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	r := f.place(&messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET", Quantity: "0.01"})
	if r.GetError() != nil || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED || r.GetOrder().GetAvgPrice() != "50010" {
		t.Fatalf("first market order = %v", r)
	}
}
