package strategies

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func TestBarsBecomeOrders(t *testing.T) {
	r := newRig(t, Config{ClientIDPrefix: "sb", Strategies: map[string]Spec{
		"btc_trend": spec("sma_cross", "BTCUSDT", map[string]any{"fast": int64(2), "slow": int64(3), "quantity": 0.5}),
	}})
	r.waitSubscribed(t, 3)
	for _, c := range []float64{10, 9, 8} {
		r.bar("BTCUSDT", c, true)
	}
	r.bar("BTCUSDT", 100, false) // an open candle: ignored
	r.bar("ETHUSDT", 100, true)  // another symbol: not subscribed
	r.bar("BTCUSDT", 12, true)   // crosses up
	p := r.orders.nextPlace(t)
	if p.Strategy != "btc_trend" || p.Symbol != "BTCUSDT" || p.Side != "BUY" || p.Type != "MARKET" || p.Quantity != "0.5" ||
		!strings.HasPrefix(p.ClientOrderId, "sb-btc_trend-") || len(p.ClientOrderId) > 36 {
		t.Fatalf("order %v", p)
	}
	// The host learns the child's counts by message: poll.
	actortest.Eventually(t, wait, func() bool {
		in := r.info(t, "btc_trend")
		return in.Bars == 4 && in.Orders == 1 && in.State == StateRunning
	}, "info %v", r.info(t, "btc_trend"))
	// The connector was asked for the kline stream, for the child.
	req := actortest.Expect[*messages.SubscribeStreamRequest](t, r.conn, wait)
	if req.Symbol != "BTCUSDT" || req.Kind != messages.StreamKind_STREAM_KIND_KLINE || req.Interval != "1m" || req.Subscriber == nil {
		t.Fatalf("stream request %v", req)
	}
}

func TestFractionOfTheAvailableAllocation(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{
		"eth": spec("sma_cross", "ETHUSDT", map[string]any{"fast": int64(2), "slow": int64(3), "fraction": 0.5}),
	}})
	r.waitSubscribed(t, 3)
	for _, c := range []float64{10, 9, 8, 12} {
		r.bar("ETHUSDT", c, true)
	}
	// 1000 USDT allocated, nothing used: 0.5 * 1000 / (12 * 1.002), the
	// default fee reserve kept, to 8 decimals.
	if p := r.orders.nextPlace(t); p.Quantity != "41.58349966" {
		t.Fatalf("order %v", p)
	}
}

func TestFillsAndRejectionsReachTheStrategy(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}})
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, true)
	buy := r.orders.nextPlace(t)
	fill := &messages.FillEvent{
		Fill:     &messages.TradeFill{ClientOrderId: buy.ClientOrderId, Strategy: "cnt", Symbol: "BTCUSDT", Side: "BUY", Price: "5", Quantity: "1", TradeId: 7},
		Position: &messages.Position{Strategy: "cnt", Symbol: "BTCUSDT", Quantity: "0.7", AvgPrice: "5"},
	}
	r.sys.Root.Send(r.bus, messages.NewEvent("fill.cnt.BTCUSDT", "orders", fill))
	if sell := r.orders.nextPlace(t); sell.Side != "SELL" || sell.Quantity != "0.7" {
		t.Fatalf("after the fill, want a sell of the position 0.7, got %v", sell)
	}
	// The fake order actor refuses quantity 99: the strategy hears of it
	// (it answers with a 0.001 limit sell) and its actor does not crash.
	for i := 0; i < 98; i++ { // bars 2 to 99
		r.bar("BTCUSDT", 5, true)
	}
	for i := 0; i < 98; i++ {
		r.orders.nextPlace(t)
	}
	if p := r.orders.nextPlace(t); p.Quantity != "0.001" || p.Type != "LIMIT" || p.Price != "1" || p.TimeInForce != "GTC" {
		t.Fatalf("after a rejection: %v", p)
	}
	r.bar("BTCUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Quantity != "100" {
		t.Fatalf("after the rejection the count goes on: %v", p)
	}
}

func TestPanicRestartsFromState(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{
		"cnt":   spec("test_counter", "BTCUSDT", nil),
		"other": spec("test_counter", "ETHUSDT", nil),
	}})
	alerts := actortest.NewProbe(t, r.sys)
	actortest.Request[*messages.SubscribeResponse](t, r.sys, r.bus, &messages.SubscribeRequest{Pattern: "alert.>", Subscriber: alerts.PID})
	r.waitSubscribed(t, 7)
	for i := 1; i <= 3; i++ {
		r.bar("BTCUSDT", 5, true)
		if p := r.orders.nextPlace(t); p.Quantity != strconv.Itoa(i) {
			t.Fatalf("bar %d: %v", i, p)
		}
	}
	r.bar("BTCUSDT", -1, true) // panics: the child restarts
	r.bar("BTCUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Quantity != "4" {
		t.Fatalf("after a restart the count must go on from 3: %v", p)
	}
	if in := r.info(t, "cnt"); in.State != StateRunning {
		t.Fatalf("info %v", in)
	}
	// Three more panics within the window: failed; the other goes on.
	for i := 0; i < 3; i++ {
		r.bar("BTCUSDT", -1, true)
	}
	actortest.Eventually(t, wait, func() bool { return r.info(t, "cnt").State == StateFailed }, "cnt failed")
	ev := actortest.Expect[*messages.Event](t, alerts, wait)
	var failed messages.ChildFailed
	if ev.Topic != "alert.strategy.failed" || ev.Payload.UnmarshalTo(&failed) != nil || failed.Child != "cnt" || failed.Restarts != 3 {
		t.Fatalf("alert %v (%v)", ev, &failed)
	}
	if in := r.info(t, "cnt"); !strings.Contains(in.HaltedReason, "negative close") {
		t.Fatalf("reason %q", in.HaltedReason)
	}
	r.bar("ETHUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Strategy != "other" || p.Quantity != "1" {
		t.Fatalf("the other strategy: %v", p)
	}
	// Started again, it resumes from the state it saved when it stopped.
	res := actortest.Request[*messages.StrategyStartResponse](t, r.sys, r.host, &messages.StrategyStartRequest{Name: "cnt"})
	if res.Error != nil || res.Strategy.State != StateRunning {
		t.Fatalf("start: %v", res)
	}
	r.waitSubscribed(t, 6)
	r.bar("BTCUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Quantity != "5" {
		t.Fatalf("after a start: %v", p)
	}
}

func TestPauseSendsNoOrders(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}})
	r.waitSubscribed(t, 3)
	res := actortest.Request[*messages.StrategyPauseResponse](t, r.sys, r.host, &messages.StrategyPauseRequest{Name: "cnt"})
	if res.Error != nil || res.Strategy.State != StatePaused {
		t.Fatalf("pause: %v", res)
	}
	actortest.Eventually(t, wait, func() bool { return r.orders.saveCount() == 1 }, "a pause saves the state")
	r.bar("BTCUSDT", 5, true)
	r.bar("BTCUSDT", 5, true)
	actortest.Eventually(t, wait, func() bool { return r.info(t, "cnt").Bars == 2 }, "2 bars seen")
	r.orders.noPlace(t)
	if in := r.info(t, "cnt"); in.Orders != 0 {
		t.Fatalf("orders while paused: %v", in)
	}
	actortest.Request[*messages.StrategyStartResponse](t, r.sys, r.host, &messages.StrategyStartRequest{Name: "cnt"})
	r.bar("BTCUSDT", 5, true)
	// The paused bars' orders were refused locally; the strategy answers
	// each refusal with a 0.001 sell (refused too while paused, at most
	// maxLocalRejects in a row; one may be sent once resumed). The first
	// buy sent is the third bar's.
	p := r.orders.nextPlace(t)
	for p.Quantity == "0.001" {
		p = r.orders.nextPlace(t)
	}
	if p.Quantity != "3" || p.Side != "BUY" {
		t.Fatalf("after resuming: %v", p)
	}
}

func TestStopSavesStateAndStartLoadsIt(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}})
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, true)
	r.bar("BTCUSDT", 5, true)
	r.orders.nextPlace(t)
	r.orders.nextPlace(t)
	res := actortest.Request[*messages.StrategyStopResponse](t, r.sys, r.host, &messages.StrategyStopRequest{Name: "cnt"})
	if res.Error != nil || res.Strategy.State != StateStopped || res.Strategy.StateSavedMs == 0 {
		t.Fatalf("stop: %v", res)
	}
	if r.orders.saveCount() == 0 {
		t.Fatal("no state saved")
	}
	actortest.Eventually(t, wait, func() bool {
		return actortest.Request[*messages.BusStatsResponse](t, r.sys, r.bus, &messages.BusStatsRequest{}).Subscriptions == 1
	}, "the stopped child's subscriptions dropped (the host's risk.> stays)")
	actortest.Request[*messages.StrategyStartResponse](t, r.sys, r.host, &messages.StrategyStartRequest{Name: "cnt"})
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, true)
	if p := r.orders.nextPlace(t); p.Quantity != "3" {
		t.Fatalf("after stop and start the count must go on from 2: %v", p)
	}
}

func TestSaveAllAndPeriodicSave(t *testing.T) {
	r := newRig(t, Config{SaveEvery: 20 * time.Millisecond, Strategies: map[string]Spec{
		"a": spec("test_counter", "BTCUSDT", nil),
		"b": spec("test_counter", "ETHUSDT", nil),
	}})
	r.waitSubscribed(t, 6)
	r.bar("BTCUSDT", 5, true)
	r.orders.nextPlace(t)
	actortest.Eventually(t, wait, func() bool { return r.info(t, "a").StateSavedMs != 0 }, "a periodic save")
	res := actortest.Request[*SaveAllResult](t, r.sys, r.host, &SaveAll{})
	if res.Err != nil || res.Saved != 2 {
		t.Fatalf("save all: %+v", res)
	}
}

func TestUnknownStrategy(t *testing.T) {
	r := newRig(t, Config{})
	for _, msg := range []any{&messages.StrategyStartRequest{Name: "x"}, &messages.StrategyPauseRequest{Name: "x"}, &messages.StrategyStopRequest{Name: "x"}} {
		res, err := actortest.TryRequest[messages.Responder](r.sys, r.host, msg, wait)
		if err != nil || res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Fatalf("%T: %v %v", msg, res, err)
		}
	}
}

func TestValidate(t *testing.T) {
	off := false
	good := spec("sma_cross", "BTCUSDT", map[string]any{"fast": int64(10), "slow": int64(30)})
	good.Enabled = &off
	if err := (Config{Strategies: map[string]Spec{"btc_trend": good}}).Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]Spec{
		"k":        {Kind: "nope", Symbol: "BTCUSDT", Interval: "1m", Allocation: "1000 USDT"},
		"p":        spec("sma_cross", "BTCUSDT", map[string]any{"fast": int64(0)}),
		"s":        spec("grid", "btc-usdt", map[string]any{"lower": 1.0, "upper": 2.0, "levels": int64(3), "quantity": 1.0}),
		"i":        {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "7m", Allocation: "1000 USDT"},
		"a":        {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1m", Allocation: "1000"},
		"n":        {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1m", Allocation: "NaN USDT"},
		"Bad.Name": good,
	}
	err := (Config{Strategies: bad, ClientIDPrefix: "sb-x"}).Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"strategies.k.kind: unknown strategy kind \"nope\"",
		"strategies.p.params.fast: must be within",
		"strategies.s.symbol: must match",
		"strategies.i.interval: must be a Binance kline interval",
		"strategies.a.allocation: must be \"AMOUNT ASSET\"",
		"strategies.n.allocation:",
		"strategies.Bad.Name: the name must match",
		"client_id_prefix: must be at most 8",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestRoutes(t *testing.T) {
	var got []string
	for _, rt := range Routes(nil) {
		got = append(got, rt.Method)
		if rt.New == nil {
			t.Fatalf("%s: no request", rt.Method)
		}
	}
	if strings.Join(got, " ") != "trading.strategies trading.strategy.start trading.strategy.stop trading.strategy.pause" {
		t.Fatalf("routes %v", got)
	}
}

func TestOrderEventsAndTimers(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"echo": spec("test_echo", "BTCUSDT", nil)}})
	if p := r.orders.nextPlace(t); p.Price != "7" || p.Quantity != "0.007" {
		t.Fatalf("the start timer's order: %v", p)
	}
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, true)
	buy := r.orders.nextPlace(t) // ref 2
	if p := r.orders.nextPlace(t); p.Side != "SELL" || p.Price != "2" || p.Quantity != "2" {
		t.Fatalf("the answer NEW reaches the strategy with its ref: %v", p)
	}
	filled := &messages.OrderEvent{Order: &messages.TradeOrder{
		ClientOrderId: buy.ClientOrderId, Strategy: "echo", Symbol: "BTCUSDT", Side: "BUY", Type: "MARKET",
		Quantity: "1", ExecutedQty: "1", Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED,
	}}
	r.sys.Root.Send(r.bus, messages.NewEvent("order.echo.BTCUSDT.filled", "orders", filled))
	r.sys.Root.Send(r.bus, messages.NewEvent("order.echo.BTCUSDT.filled", "orders", filled)) // a repeat: no new update
	if p := r.orders.nextPlace(t); p.Side != "SELL" || p.Price != "4" || p.Quantity != "2" {
		t.Fatalf("the FILLED event: %v", p)
	}
	// A fill that comes after its order ended still carries the ref.
	fill := &messages.FillEvent{Fill: &messages.TradeFill{ClientOrderId: buy.ClientOrderId, Strategy: "echo", Symbol: "BTCUSDT", Side: "BUY", Price: "5", Quantity: "1"}}
	r.sys.Root.Send(r.bus, messages.NewEvent("fill.echo.BTCUSDT", "orders", fill))
	if p := r.orders.nextPlace(t); p.Price != "9" || p.Quantity != "2" {
		t.Fatalf("the late fill: %v", p)
	}
	r.bar("BTCUSDT", 5, true)
	r.orders.nextPlace(t)
	if p := r.orders.nextPlace(t); p.Price != "2" {
		t.Fatalf("after the next bar: %v (a repeated event made an update)", p)
	}
}

func TestRiskHaltShows(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}})
	r.waitSubscribed(t, 3)
	halt := &messages.RiskEvent{Strategy: "cnt", Symbol: "BTCUSDT", Limit: "daily_loss", Message: "loss 120 over 100", Halted: true}
	r.sys.Root.Send(r.bus, messages.NewEvent("risk.daily_loss", "orders", halt))
	actortest.Eventually(t, wait, func() bool { return r.info(t, "cnt").State == StateHalted }, "halted")
	if in := r.info(t, "cnt"); in.HaltedReason != "daily_loss: loss 120 over 100" {
		t.Fatalf("reason %q", in.HaltedReason)
	}
	r.sys.Root.Send(r.bus, messages.NewEvent("risk.resumed", "orders", &messages.RiskEvent{Strategy: "cnt", Limit: "resumed"}))
	actortest.Eventually(t, wait, func() bool { return r.info(t, "cnt").State == StateRunning }, "running again")
}

func TestTicksAndBook(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"tk": spec("test_ticker", "SOLUSDT", nil)}})
	r.waitSubscribed(t, 5)
	kinds := map[messages.StreamKind]bool{}
	for len(kinds) < 3 {
		kinds[actortest.Expect[*messages.SubscribeStreamRequest](t, r.conn, wait).Kind] = true
	}
	r.sys.Root.Send(r.bus, messages.NewEvent("price.SOLUSDT.update", "connector",
		&messages.PriceUpdate{Symbol: "SOLUSDT", Price: "150.25", Quantity: "2", TradeTimeMs: 1, TradeId: 9}))
	if p := r.orders.nextPlace(t); p.Price != "150.25" || p.Quantity != "2" {
		t.Fatalf("tick order %v", p)
	}
	r.sys.Root.Send(r.bus, messages.NewEvent("book.SOLUSDT.update", "connector", &messages.BookUpdate{Symbol: "SOLUSDT",
		Bids: []*messages.PriceLevel{{Price: "150.1", Quantity: "3"}},
		Asks: []*messages.PriceLevel{{Price: "150.3", Quantity: "1"}, {Price: "150.4", Quantity: "1"}}}))
	if p := r.orders.nextPlace(t); p.Price != "150.1" || p.Quantity != "2" {
		t.Fatalf("book order %v", p)
	}
	// A malformed price is dropped (and logged); the actor goes on.
	r.sys.Root.Send(r.bus, messages.NewEvent("price.SOLUSDT.update", "connector", &messages.PriceUpdate{Symbol: "SOLUSDT", Price: "x"}))
	r.sys.Root.Send(r.bus, messages.NewEvent("price.SOLUSDT.update", "connector", &messages.PriceUpdate{Symbol: "SOLUSDT", Price: "151", Quantity: "1"}))
	if p := r.orders.nextPlace(t); p.Price != "151" {
		t.Fatalf("after a bad tick: %v", p)
	}
}

// TestEventsCountsHandledBusEvents: trading.strategies' events counts
// every bus event the strategy handled (an open bar too, which is no bar),
// equal to what the bus delivered to it once it is done.
func TestEventsCountsHandledBusEvents(t *testing.T) {
	r := newRig(t, Config{Strategies: map[string]Spec{"cnt": spec("test_counter", "BTCUSDT", nil)}})
	r.waitSubscribed(t, 3)
	r.bar("BTCUSDT", 5, false)
	r.bar("BTCUSDT", 5, true)
	actortest.Eventually(t, wait, func() bool { return r.info(t, "cnt").Events == 2 }, "2 events handled")
	if in := r.info(t, "cnt"); in.Bars != 1 {
		t.Fatalf("bars = %d, want the closed one only", in.Bars)
	}
	var delivered uint64
	for _, p := range actortest.Request[*messages.BusStatsResponse](t, r.sys, r.bus, &messages.BusStatsRequest{}).Patterns {
		if p.Pattern == "kline.BTCUSDT.1m" {
			delivered = p.Delivered
		}
	}
	if delivered != 2 {
		t.Fatalf("the bus delivered %d kline events, the strategy handled 2", delivered)
	}
}
