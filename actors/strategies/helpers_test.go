package strategies

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

const wait = 10 * time.Second

// counter is a test kind: it counts bars (its state) and buys count on each
// bar; a negative close panics; a fill makes it sell its whole position; a
// rejected order makes it sell 0.001.
type counter struct {
	strategy.Base
	bars uint64
}

func init() {
	strategy.Register("test_counter", func(map[string]any) (strategy.Strategy, error) { return &counter{}, nil })
}

func (s *counter) OnBar(c *strategy.Context, b *strategy.Bar) {
	if b.Close < 0 {
		panic("test_counter: negative close")
	}
	s.bars++
	c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: float64(s.bars)})
}

func (s *counter) OnFill(c *strategy.Context, f *strategy.Fill) {
	c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Market, Quantity: c.Position.Quantity})
}

func (s *counter) OnOrder(c *strategy.Context, u *strategy.OrderUpdate) {
	if u.Status == strategy.StatusRejected && u.Ref != 0 {
		c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: 1, Quantity: 0.001})
	}
}

func (s *counter) Save() ([]byte, error) {
	var e strategy.Encoder
	e.Uint64(s.bars)
	return e.B, nil
}

func (s *counter) Restore(b []byte) error {
	d := strategy.Decoder{B: b}
	s.bars = d.Uint64()
	return d.Finish()
}

// fakeOrders stands in for the order actor: it answers and records
// PlaceTradeOrderRequest (rejecting quantity "99"), and keeps saved states.
type fakeOrders struct {
	mu     sync.Mutex
	states map[string][]byte
	saves  int
	// opening is how many more state loads answer "the journal is still
	// opening", as the order actor does until its journal is open.
	opening int
	loads   int
	places  chan *messages.PlaceTradeOrderRequest
}

func newFakeOrders(t *testing.T, sys *actor.ActorSystem) (*fakeOrders, *actor.PID) {
	f := &fakeOrders{states: map[string][]byte{}, places: make(chan *messages.PlaceTradeOrderRequest, 1000)}
	pid := actortest.Spawn(t, sys, actor.PropsFromFunc(f.receive))
	return f, pid
}

func (f *fakeOrders) receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *messages.PlaceTradeOrderRequest:
		f.places <- m
		if m.Quantity == "99" {
			ctx.Respond(&messages.PlaceTradeOrderResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "max_order_notional: over 10000")})
			return
		}
		ctx.Respond(&messages.PlaceTradeOrderResponse{Order: &messages.TradeOrder{
			ClientOrderId: m.ClientOrderId, Strategy: m.Strategy, Symbol: m.Symbol, Side: m.Side, Type: m.Type,
			Quantity: m.Quantity, Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW,
		}})
	case *messages.SaveStrategyStateRequest:
		f.mu.Lock()
		f.states[m.Strategy] = m.State
		f.saves++
		f.mu.Unlock()
		ctx.Respond(&messages.SaveStrategyStateResponse{SavedMs: time.Now().UnixMilli()})
	case *messages.LoadStrategyStateRequest:
		f.mu.Lock()
		st := f.states[m.Strategy]
		f.loads++
		opening := f.opening > 0
		f.opening--
		f.mu.Unlock()
		if opening {
			ctx.Respond(&messages.LoadStrategyStateResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the trading journal is still opening")})
			return
		}
		ctx.Respond(&messages.LoadStrategyStateResponse{State: st})
	case *messages.PositionsRequest:
		ctx.Respond(&messages.PositionsResponse{})
	case *messages.CancelTradeOrderRequest:
		ctx.Respond(&messages.CancelTradeOrderResponse{})
	}
}

func (f *fakeOrders) saveCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.saves
}

// nextPlace waits for the next order.
func (f *fakeOrders) nextPlace(t *testing.T) *messages.PlaceTradeOrderRequest {
	t.Helper()
	select {
	case p := <-f.places:
		return p
	case <-time.After(wait):
		t.Fatal("no order placed")
		return nil
	}
}

func (f *fakeOrders) noPlace(t *testing.T) {
	t.Helper()
	select {
	case p := <-f.places:
		t.Fatalf("unexpected order %v", p)
	default:
	}
}

// rig is a host with the real bus, a fake order actor and a connector
// probe that accepts every stream.
type rig struct {
	sys    *actor.ActorSystem
	bus    *actor.PID
	orders *fakeOrders
	conn   *actortest.Probe
	host   *actor.PID
}

func newRig(t *testing.T, cfg Config) *rig {
	t.Helper()
	return newRigWith(t, cfg, nil)
}

// newRigWith is newRig with prepare called on the fake order actor before
// the host starts.
func newRigWith(t *testing.T, cfg Config, prepare func(*fakeOrders)) *rig {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	r := &rig{sys: sys}
	r.bus = actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test", actortest.Logger(t)))
	var ordersPID *actor.PID
	r.orders, ordersPID = newFakeOrders(t, sys)
	if prepare != nil {
		r.orders.mu.Lock()
		prepare(r.orders)
		r.orders.mu.Unlock()
	}
	r.conn = actortest.NewReplyingProbe(t, sys, func(msg any) any {
		if _, ok := msg.(*messages.SubscribeStreamRequest); ok {
			return &messages.SubscribeStreamResponse{Refcount: 1}
		}
		return nil
	})
	r.host = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: r.bus, Orders: ordersPID, Connector: r.conn.PID, Logger: actortest.Logger(t)}))
	return r
}

// waitSubscribed waits until the bus holds n subscriptions of the
// children, and the host's own (risk.>).
func (r *rig) waitSubscribed(t *testing.T, n uint32) {
	t.Helper()
	n++
	actortest.Eventually(t, wait, func() bool {
		return actortest.Request[*messages.BusStatsResponse](t, r.sys, r.bus, &messages.BusStatsRequest{}).Subscriptions >= n
	}, "%d bus subscriptions", n)
}

func (r *rig) bar(symbol string, close float64, closed bool) {
	k := &messages.KlineUpdate{Symbol: symbol, Interval: "1m", Closed: closed, Kline: &messages.Kline{
		OpenTimeMs: 0, CloseTimeMs: 60_000, Open: fmt.Sprint(close), High: fmt.Sprint(close), Low: fmt.Sprint(close), Close: fmt.Sprint(close), Volume: "1",
	}}
	r.sys.Root.Send(r.bus, messages.NewEvent("kline."+symbol+".1m", "test", k))
}

func (r *rig) info(t *testing.T, name string) *messages.StrategyInfo {
	t.Helper()
	for _, s := range actortest.Request[*messages.StrategiesResponse](t, r.sys, r.host, &messages.StrategiesRequest{}).Strategies {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no strategy %q", name)
	return nil
}

func spec(kind, symbol string, params map[string]any) Spec {
	return Spec{Kind: kind, Symbol: symbol, Interval: "1m", Allocation: "1000 USDT", Params: params}
}

// echo is a test kind: it arms timer 7 at start (placing a 0.007 buy at 7
// when it fires), buys 1 on each bar, answers each update of a buy with a
// limit sell priced at the update's status, of quantity its ref, and each
// fill with a limit sell at 9 of quantity the fill's ref.
type echo struct{ strategy.Base }

func init() {
	strategy.Register("test_echo", func(map[string]any) (strategy.Strategy, error) { return &echo{}, nil })
}

func (*echo) Start(c *strategy.Context) { c.After(7, 10*time.Millisecond) }

func (*echo) OnTimer(c *strategy.Context, id int) {
	c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: float64(id), Quantity: 0.007})
}

func (*echo) OnBar(c *strategy.Context, _ *strategy.Bar) {
	c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: 1})
}

func (*echo) OnOrder(c *strategy.Context, u *strategy.OrderUpdate) {
	if u.Side == strategy.Buy && u.Quantity == 1 {
		c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: float64(u.Status), Quantity: float64(u.Ref)})
	}
}

func (*echo) OnFill(c *strategy.Context, f *strategy.Fill) {
	c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: 9, Quantity: float64(f.Ref)})
}

func (*echo) Save() ([]byte, error) { return []byte{}, nil }
func (*echo) Restore([]byte) error  { return nil }

// ticker is a test kind that asks for ticks and the book: each trade
// places a limit buy at its price, each book update one at the best bid.
type ticker struct{ strategy.Base }

func init() {
	strategy.Register("test_ticker", func(map[string]any) (strategy.Strategy, error) { return &ticker{}, nil })
}

func (*ticker) Feeds() strategy.Feeds { return strategy.FeedTicks | strategy.FeedBook }

func (*ticker) OnTick(c *strategy.Context, t *strategy.Tick) {
	c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: t.Price, Quantity: t.Quantity})
}

func (*ticker) OnBook(c *strategy.Context, b *strategy.Book) {
	if len(b.Bids) > 0 {
		c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: b.Bids[0].Price, Quantity: float64(len(b.Asks))})
	}
}

func (*ticker) Save() ([]byte, error) { return nil, nil }
func (*ticker) Restore([]byte) error  { return nil }
