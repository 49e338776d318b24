package orders

import (
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func buy(strategy, typ, qty, price string) *messages.PlaceTradeOrderRequest {
	return &messages.PlaceTradeOrderRequest{Strategy: strategy, Symbol: "BTCUSDT", Side: "BUY", Type: typ, Quantity: qty, Price: price}
}

// Each risk limit refuses with FAILED_PRECONDITION naming it, publishes
// risk.LIMIT, and journals nothing.
func TestRiskLimits(t *testing.T) {
	cases := []struct {
		name   string
		tune   func(*Config)
		before []*messages.PlaceTradeOrderRequest
		order  *messages.PlaceTradeOrderRequest
		limit  string
	}{
		{"order notional", func(c *Config) { c.Risk.MaxOrderNotional = 1000 }, nil, buy("s1", "LIMIT", "0.1", "50000"), limitNotional},
		{"price band", func(c *Config) { c.Risk.PriceBand = 0.1 }, nil, buy("s1", "LIMIT", "0.01", "40000"), limitPriceBand},
		{"position", func(c *Config) { c.Risk.MaxOrderNotional, c.Risk.MaxPositionNotional = 0, 1000 }, nil, buy("s1", "LIMIT", "0.03", "49500"), limitPosition},
		{"open orders", func(c *Config) { c.Risk.MaxOpenOrders = 1 },
			[]*messages.PlaceTradeOrderRequest{buy("s1", "LIMIT", "0.01", "49000")}, buy("s1", "LIMIT", "0.01", "49000"), limitOpenOrders},
		{"order rate", func(c *Config) { c.Risk.OrderRate = 2 },
			[]*messages.PlaceTradeOrderRequest{buy("s1", "LIMIT", "0.01", "49000"), buy("s1", "LIMIT", "0.01", "49000")}, buy("s1", "LIMIT", "0.01", "49000"), limitOrderRate},
		{"allocation", func(c *Config) { c.Books = map[string]BookConfig{"s1": {Allocation: 100, QuoteAsset: "USDT"}} }, nil, buy("s1", "LIMIT", "0.01", "49000"), limitAllocation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := testCfg(ModePaper)
			c.tune(&cfg)
			f := newFixture(t, cfg)
			f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "50000", Quantity: "1"})
			f.event("book.BTCUSDT.update", book("49990", "50010"))
			for _, b := range c.before {
				if r := f.place(b); r.GetError() != nil {
					t.Fatalf("order before: %v", r.GetError())
				}
			}
			n := len(f.orders(""))
			r := f.place(c.order)
			e := r.GetError()
			if e.GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION || !strings.Contains(e.GetMessage(), c.limit) {
				t.Fatalf("answer = %v, want a refusal naming %s", r, c.limit)
			}
			if len(f.orders("")) != n {
				t.Fatal("a refused order was journaled")
			}
			actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "risk."+c.limit })
		})
	}
}

// A strategy whose loss today passes its limit halts (persisted, with an
// alert); another strategy still trades; resume lifts it.
func TestDailyLossHaltsTheStrategy(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.Books = map[string]BookConfig{"s1": {Allocation: 100000, QuoteAsset: "USDT", DailyLossLimit: 50}}
	cfg.Risk.PriceBand = 0
	f := newFixture(t, cfg)
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "50000", Quantity: "1"})
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	if r := f.place(buy("s1", "MARKET", "0.01", "")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	f.event("book.BTCUSDT.update", book("40000", "40010"))
	sell := &messages.PlaceTradeOrderRequest{Strategy: "s1", Symbol: "BTCUSDT", Side: "SELL", Type: "MARKET", Quantity: "0.01"}
	if r := f.place(sell); r.GetError() != nil || r.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
		t.Fatalf("sell = %v", r)
	}
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "alert.risk.daily_loss" })
	r := f.place(buy("s1", "MARKET", "0.001", ""))
	if !strings.Contains(r.GetError().GetMessage(), "strategy s1 is halted") {
		t.Fatalf("after the loss: %v", r)
	}
	if r := f.place(buy("other", "MARKET", "0.001", "")); r.GetError() != nil {
		t.Fatalf("another strategy refused: %v", r.GetError())
	}
	f.restart()
	if r := f.place(buy("s1", "MARKET", "0.001", "")); r.GetError() == nil {
		t.Fatal("the strategy's halt did not survive a restart")
	}
	res := actortest.Request[*messages.TradingResumeResponse](t, f.sys, f.pid, &messages.TradingResumeRequest{Strategy: "s1"})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool {
		var re messages.RiskEvent
		return e.GetTopic() == "risk.resumed" && e.GetPayload().UnmarshalTo(&re) == nil && re.GetStrategy() == "s1"
	})
	f.event("book.BTCUSDT.update", book("40000", "40010"))
	if r := f.place(buy("s1", "MARKET", "0.001", "")); r.GetError() != nil {
		t.Fatalf("after resume: %v", r.GetError())
	}
}

func TestHaltIsPersistedAcrossARestart(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	rest := f.place(buy("s1", "LIMIT", "0.01", "49000"))
	h := actortest.Request[*messages.TradingHaltResponse](t, f.sys, f.pid, &messages.TradingHaltRequest{Reason: "maintenance", CancelOrders: true})
	if h.GetError() != nil || h.GetState().GetGate() != gateHalted || len(h.GetCanceled()) != 1 {
		t.Fatalf("halt = %v", h)
	}
	r := f.place(buy("s1", "LIMIT", "0.01", "49000"))
	if r.GetError().GetMessage() != "trading is halted: maintenance" {
		t.Fatalf("placed while halted: %v", r)
	}
	actortest.Eventually(t, 5*time.Second, func() bool {
		o := f.orders("canceled")
		return len(o) == 1 && o[0].GetClientOrderId() == rest.GetOrder().GetClientOrderId()
	}, "halt canceled the open order")
	f.restart()
	if g := f.gate(); g.GetGate() != gateHalted || g.GetHaltedReason() != "maintenance" {
		t.Fatalf("after restart: %v", g)
	}
	res := actortest.Request[*messages.TradingResumeResponse](t, f.sys, f.pid, &messages.TradingResumeRequest{})
	if res.GetState().GetGate() != gateOpen {
		t.Fatalf("resume = %v", res)
	}
	f.restart()
	if g := f.gate(); g.GetGate() != gateOpen {
		t.Fatalf("resume not persisted: %v", g)
	}
	if r := f.place(buy("s1", "LIMIT", "0.01", "49000")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
}

// The unrealised part counts: a price drop alone halts the strategy.
func TestDailyLossCountsUnrealisedPnL(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.Books = map[string]BookConfig{"s1": {Allocation: 100000, QuoteAsset: "USDT", DailyLossLimit: 50}}
	f := newFixture(t, cfg)
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	if r := f.place(buy("s1", "MARKET", "0.01", "")); r.GetError() != nil {
		t.Fatal(r.GetError())
	}
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "49900", Quantity: "1"})
	if r := f.place(buy("s1", "LIMIT", "0.001", "49000")); r.GetError() != nil {
		t.Fatalf("a loss of 1 halted: %v", r.GetError())
	}
	f.event("price.BTCUSDT.update", &messages.PriceUpdate{Symbol: "BTCUSDT", Price: "40000", Quantity: "1"})
	actortest.ExpectMatch[*messages.Event](t, f.bus, 5*time.Second, func(e *messages.Event) bool { return e.GetTopic() == "alert.risk.daily_loss" })
	if r := f.place(buy("s1", "LIMIT", "0.001", "40000")); !strings.Contains(r.GetError().GetMessage(), "daily loss") {
		t.Fatalf("after the drop: %v", r)
	}
}

// trading.halt with flatten closes every position with market orders even
// though the gate is closed for everyone else.
func TestHaltFlattens(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	f.place(buy("a", "MARKET", "0.01", ""))
	f.place(buy("b", "MARKET", "0.02", ""))
	h := actortest.Request[*messages.TradingHaltResponse](t, f.sys, f.pid, &messages.TradingHaltRequest{Flatten: true})
	if len(h.GetFlattening()) != 2 || h.GetState().GetGate() != gateHalted {
		t.Fatalf("halt = %v", h)
	}
	actortest.Eventually(t, 5*time.Second, func() bool {
		_, account := f.positions("").GetPositions(), f.positions("").GetAccount()
		return len(account) == 1 && account[0].GetQuantity() == "0"
	}, "positions flat")
}
