package orders

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// testClock is an injected clock tests move by hand.
type testClock struct{ ms atomic.Int64 }

func newClock() *testClock {
	c := &testClock{}
	c.ms.Store(time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC).UnixMilli())
	return c
}

func (c *testClock) now() time.Time { return time.UnixMilli(c.ms.Load()) }

// fakeExchange is a scripted connector: place answers what place says (or
// ACCEPTED as NEW), get answers per client id, and it counts every request.
type fakeExchange struct {
	mu      sync.Mutex
	places  map[string]int
	gets    map[string]int
	cancels map[string]int
	// place decides a PlaceOrderRequest's answer (nil: no answer at all).
	place func(*messages.PlaceOrderRequest) *messages.OrderResult
	// get decides a GetOrderRequest's answer.
	get         func(*messages.GetOrderRequest) *messages.OrderResult
	open        []*messages.Order
	openQueries int
	// cancel, when set, decides a CancelOrderRequest's answer.
	cancel func(*messages.CancelOrderRequest) *messages.OrderResult
	// holdTicker, when set (before the actor starts), holds every
	// TickerRequest's answer until it is closed.
	holdTicker chan struct{}
	// holdPlace, when set, holds every PlaceOrderRequest's answer (the
	// request is counted first) until it is closed.
	holdPlace chan struct{}
	trades    []*messages.ExchangeTrade
	// transient is answered to the next openOnce OpenOrdersRequests.
	transient []*messages.Order
	openOnce  int
	// accountErrors AccountRequests are answered with an error first.
	accountErrors int
	accounts      int
}

func newFakeExchange() *fakeExchange {
	fx := &fakeExchange{places: map[string]int{}, gets: map[string]int{}, cancels: map[string]int{}}
	fx.place = func(m *messages.PlaceOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: exchangeOrder(m, "NEW", 7)}
	}
	fx.get = func(*messages.GetOrderRequest) *messages.OrderResult {
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED, ExchangeCode: -2013,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "exchange: order does not exist (-2013)")}
	}
	return fx
}

func exchangeOrder(m *messages.PlaceOrderRequest, status string, id int64) *messages.Order {
	executed := "0"
	if status == "FILLED" {
		executed = m.GetQuantity()
	}
	return &messages.Order{Symbol: m.GetSymbol(), OrderId: id, ClientOrderId: m.GetClientOrderId(), Side: m.GetSide(), Type: m.GetType(),
		Price: m.GetPrice(), OrigQty: m.GetQuantity(), ExecutedQty: executed, Status: status}
}

func (fx *fakeExchange) count(m map[string]int, id string) int {
	fx.mu.Lock()
	defer fx.mu.Unlock()
	return m[id]
}

func (fx *fakeExchange) reply(msg any) any {
	fx.mu.Lock()
	if _, ok := msg.(*messages.TickerRequest); ok && fx.holdTicker != nil {
		fx.mu.Unlock()
		<-fx.holdTicker
		fx.mu.Lock()
	}
	if m, ok := msg.(*messages.PlaceOrderRequest); ok && fx.holdPlace != nil {
		fx.places[m.GetClientOrderId()]++
		fx.mu.Unlock()
		<-fx.holdPlace
		fx.mu.Lock()
		fx.places[m.GetClientOrderId()]--
	}
	defer fx.mu.Unlock()
	switch m := msg.(type) {
	case *messages.PlaceOrderRequest:
		fx.places[m.GetClientOrderId()]++
		if r := fx.place(m); r != nil {
			return r
		}
	case *messages.GetOrderRequest:
		fx.gets[m.GetClientOrderId()]++
		return fx.get(m)
	case *messages.CancelOrderRequest:
		fx.cancels[m.GetClientOrderId()]++
		if fx.cancel != nil {
			return fx.cancel(m)
		}
		return &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED,
			Order: &messages.Order{Symbol: m.GetSymbol(), ClientOrderId: m.GetClientOrderId(), Status: "CANCELED"}}
	case *messages.OpenOrdersRequest:
		fx.openQueries++
		if fx.openOnce > 0 {
			fx.openOnce--
			return &messages.OpenOrdersResponse{Orders: fx.transient}
		}
		return &messages.OpenOrdersResponse{Orders: fx.open}
	case *messages.AccountRequest:
		fx.accounts++
		if fx.accountErrors > 0 {
			fx.accountErrors--
			return &messages.AccountResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "weight budget spent")}
		}
		return &messages.AccountResponse{Balances: []*messages.AssetBalance{{Asset: "USDT", Free: "1000", Locked: "0"}}}
	case *messages.MyTradesRequest:
		var out []*messages.ExchangeTrade
		for _, tr := range fx.trades {
			if tr.GetSymbol() == m.GetSymbol() && tr.GetId() >= m.GetFromId() {
				out = append(out, tr)
			}
		}
		return &messages.MyTradesResponse{Trades: out}
	case *messages.SubscribeUserDataRequest:
		return &messages.SubscribeUserDataResponse{}
	case *messages.SubscribeStreamRequest:
		return &messages.SubscribeStreamResponse{}
	case *messages.TickerRequest:
		return &messages.TickerResponse{Symbol: m.GetSymbol(), LastPrice: "50000"}
	case *messages.DepthRequest:
		return &messages.DepthResponse{Symbol: m.GetSymbol(), Bids: []*messages.PriceLevel{{Price: "49990", Quantity: "5"}},
			Asks: []*messages.PriceLevel{{Price: "50010", Quantity: "5"}}}
	}
	return nil
}

// fixture is one order actor under test.
type fixture struct {
	t     *testing.T
	sys   *actor.ActorSystem
	dir   string
	cfg   Config
	clock *testClock
	fx    *fakeExchange
	conn  *actortest.Probe
	bus   *actortest.Probe
	pid   *actor.PID
	// deps, when set, adds to the actor's Deps (Fence, Term, OnCommit).
	deps func(*Deps)
}

func testCfg(mode string) Config {
	cfg := DefaultConfig()
	cfg.Mode = mode
	cfg.InFlightCheck = 100 * time.Millisecond
	cfg.LostAfter = 3
	cfg.Risk.OrderRate = 0
	return cfg
}

func newFixture(t *testing.T, cfg Config) *fixture {
	t.Helper()
	return newFixtureWith(t, cfg, nil)
}

// newFixtureWith lets script set up the exchange before the actor starts.
func newFixtureWith(t *testing.T, cfg Config, script func(*fakeExchange)) *fixture {
	t.Helper()
	return newFixtureDeps(t, cfg, script, nil)
}

// newFixtureDeps also lets deps add to the actor's Deps.
func newFixtureDeps(t *testing.T, cfg Config, script func(*fakeExchange), deps func(*Deps)) *fixture {
	t.Helper()
	if err := Validate(cfg); err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	f := &fixture{t: t, sys: sys, dir: t.TempDir(), cfg: cfg, clock: newClock(), fx: newFakeExchange(), deps: deps}
	if script != nil {
		script(f.fx)
	}
	f.conn = actortest.NewReplyingProbe(t, sys, f.fx.reply)
	f.bus = actortest.NewProbe(t, sys)
	f.start()
	return f
}

// start spawns the actor and waits until its gate is open.
func (f *fixture) start() {
	f.t.Helper()
	deps := Deps{Bus: f.bus.PID, Connector: f.conn.PID, StateDir: f.dir, Logger: actortest.Logger(f.t), Now: f.clock.now}
	if f.deps != nil {
		f.deps(&deps)
	}
	f.pid = f.sys.Root.Spawn(Props(f.cfg, deps))
	pid := f.pid
	f.t.Cleanup(func() { _ = f.sys.Root.StopFuture(pid).Wait() })
	actortest.Eventually(f.t, 10*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ReconcileResponse](f.sys, f.pid, &messages.ReconcileRequest{}, time.Second)
		return err == nil && r.GetState().GetGate() != gateReconciling
	}, "gate leaves reconciling")
}

// restart stops the actor and spawns a new one on the same journal.
func (f *fixture) restart() {
	f.t.Helper()
	if err := f.sys.Root.StopFuture(f.pid).Wait(); err != nil {
		f.t.Fatal(err)
	}
	f.start()
}

func (f *fixture) place(req *messages.PlaceTradeOrderRequest) *messages.PlaceTradeOrderResponse {
	f.t.Helper()
	return actortest.Request[*messages.PlaceTradeOrderResponse](f.t, f.sys, f.pid, req)
}

func (f *fixture) orders(status string) []*messages.TradeOrder {
	f.t.Helper()
	r := actortest.Request[*messages.TradeOrdersResponse](f.t, f.sys, f.pid, &messages.TradeOrdersRequest{Status: status})
	if r.GetError() != nil {
		f.t.Fatal(r.GetError())
	}
	return r.GetOrders()
}

func (f *fixture) gate() *messages.TradingState {
	f.t.Helper()
	return actortest.Request[*messages.ReconcileResponse](f.t, f.sys, f.pid, &messages.ReconcileRequest{}).GetState()
}

// event sends a market data event to the actor as the bus would.
func (f *fixture) event(topic string, payload proto.Message) {
	f.sys.Root.Send(f.pid, messages.NewEvent(topic, "test", payload))
}
