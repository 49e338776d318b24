// Package strategy is the interface a trading strategy implements, and the
// registry of strategy kinds.
//
// A strategy is plain code: it receives bars, ticks, book updates, its own
// order updates and fills, and timers, and answers by adding actions (place,
// cancel, set a timer) to the Context it is handed. It never calls the
// exchange, never blocks and holds no goroutines, so the same code runs
// unchanged in three drivers:
//
//   - backtest: a synchronous loop over stored bars (millions per second);
//   - paper and live: the strategy host actor (actors/strategies), which
//     feeds it from the bus and sends its actions to the order actor.
//
// The hot path allocates nothing: events are plain float64 structs passed
// by value or pointer, and the driver reuses one Context (and its action
// buffer) for every call. A driver calls Begin before each event, calls the
// strategy, then reads Actions.
//
// A strategy sees its own book (position, average price, allocation still
// available) in Context.Position, kept by the driver from its fills. It saves
// its state (indicators, custom fields) as bytes with Save and gets it back
// with Restore, after a crash or a restart of the daemon.
//
// Writing one: embed Base (no-op handlers), implement what you need, and
// register a Factory under a kind name in an init function:
//
//	func init() { strategy.Register("my_kind", New) }
//
//	func New(params map[string]any) (strategy.Strategy, error) {
//		p := strategy.ReadParams(params)
//		n, err := p.Int("period", 20, 1, 10000)
//		if err != nil {
//			return nil, err // "period: must be within [1, 10000], got 0"
//		}
//		if err := p.Done(); err != nil {
//			return nil, err // "perid: unknown param"
//		}
//		return &myStrategy{period: n}, nil
//	}
package strategy

import (
	"time"
)

// Strategy is what a strategy kind implements. Every method runs on the
// driver's goroutine, one at a time; none may block.
type Strategy interface {
	// Start is called once the strategy is built (and restored, when a
	// saved state exists), before any event: a place to arm timers. After
	// a restart (a panic) it is called again, and timers armed before are
	// gone.
	Start(c *Context)
	// OnBar is called for each closed bar of the strategy's interval.
	OnBar(c *Context, b *Bar)
	// OnTick is called for each trade, when Feeds asks for FeedTicks.
	OnTick(c *Context, t *Tick)
	// OnBook is called for each book update, when Feeds asks for FeedBook.
	OnBook(c *Context, b *Book)
	// OnOrder is called when one of its orders changes (acknowledged,
	// rejected, filled, canceled...).
	OnOrder(c *Context, u *OrderUpdate)
	// OnFill is called for each execution of one of its orders; c.Position
	// already includes it.
	OnFill(c *Context, f *Fill)
	// OnTimer is called when a timer set with Context.After fires.
	OnTimer(c *Context, id int)
	// Save returns the strategy's state; Restore of those bytes on a fresh
	// strategy built with the same params must give identical behaviour.
	Save() ([]byte, error)
	// Restore loads a state Save returned. An error leaves the strategy as
	// it was built (the driver logs it and starts fresh).
	Restore(state []byte) error
}

// Feeder is implemented by a strategy that needs more than bars.
type Feeder interface {
	// Feeds says which market data the strategy receives.
	Feeds() Feeds
}

// Feeds is a set of market data kinds.
type Feeds uint8

// The market data a strategy may ask for. Bars are always delivered.
const (
	FeedTicks Feeds = 1 << iota
	FeedBook
)

// FeedsOf returns what s asks for: its Feeds, or none beyond bars.
func FeedsOf(s Strategy) Feeds {
	if f, ok := s.(Feeder); ok {
		return f.Feeds()
	}
	return 0
}

// Base implements every handler of Strategy as a no-op, to embed.
type Base struct{}

// Start does nothing.
func (Base) Start(*Context) {}

// OnBar does nothing.
func (Base) OnBar(*Context, *Bar) {}

// OnTick does nothing.
func (Base) OnTick(*Context, *Tick) {}

// OnBook does nothing.
func (Base) OnBook(*Context, *Book) {}

// OnOrder does nothing.
func (Base) OnOrder(*Context, *OrderUpdate) {}

// OnFill does nothing.
func (Base) OnFill(*Context, *Fill) {}

// OnTimer does nothing.
func (Base) OnTimer(*Context, int) {}

// Bar is one closed candle. Times are Unix milliseconds.
type Bar struct {
	OpenTimeMs, CloseTimeMs        int64
	Open, High, Low, Close, Volume float64
}

// Tick is one trade of the symbol.
type Tick struct {
	TimeMs          int64
	TradeID         int64
	Price, Quantity float64
}

// Level is one price level of a book.
type Level struct {
	Price, Quantity float64
}

// Book is a partial order book, best levels first. The driver reuses its
// slices: copy what must outlive the call.
type Book struct {
	TimeMs     int64
	Bids, Asks []Level
}

// Side is an order's side.
type Side uint8

// Sides.
const (
	Buy Side = iota + 1
	Sell
)

// String returns "BUY" or "SELL".
func (s Side) String() string {
	switch s {
	case Buy:
		return "BUY"
	case Sell:
		return "SELL"
	}
	return "?"
}

// OrderType is an order's type.
type OrderType uint8

// Order types.
const (
	Market OrderType = iota + 1
	Limit
)

// String returns "MARKET" or "LIMIT".
func (t OrderType) String() string {
	switch t {
	case Market:
		return "MARKET"
	case Limit:
		return "LIMIT"
	}
	return "?"
}

// Status is where an order is, as the strategy sees it.
type Status uint8

// Order statuses. Unknown means the answer was lost and the order actor is
// resolving it; an update follows.
const (
	StatusPending Status = iota + 1
	StatusNew
	StatusPartiallyFilled
	StatusFilled
	StatusCanceled
	StatusRejected
	StatusExpired
	StatusUnknown
	StatusLost
)

// Done reports whether the order can no longer fill (filled, canceled,
// rejected or expired).
func (s Status) Done() bool {
	return s == StatusFilled || s == StatusCanceled || s == StatusRejected || s == StatusExpired
}

// Order is what a strategy asks to place. Price is ignored for Market.
type Order struct {
	Side     Side
	Type     OrderType
	Price    float64
	Quantity float64
}

// OrderUpdate tells a strategy that one of its orders changed.
type OrderUpdate struct {
	// Ref is what Context.Place returned (0 for an order the driver does
	// not know, e.g. placed by hand under the strategy's name).
	Ref           uint64
	ClientOrderID string
	Status        Status
	Side          Side
	Type          OrderType
	Price         float64
	Quantity      float64
	// Filled is the executed quantity so far, at AvgPrice.
	Filled   float64
	AvgPrice float64
	// Reason says why it was rejected, canceled or lost.
	Reason string
}

// Fill is one execution of one of the strategy's orders.
type Fill struct {
	Ref           uint64
	ClientOrderID string
	Side          Side
	Price         float64
	Quantity      float64
	Fee           float64
	FeeAsset      string
	TimeMs        int64
	Maker         bool
}

// Position is the strategy's own book inside the shared account.
type Position struct {
	// Quantity of the base asset held (negative: short, paper only).
	Quantity float64
	// AvgPrice is the average entry price of Quantity.
	AvgPrice float64
	// Allocation is the most quote asset the strategy may use.
	Allocation float64
	// Available is Allocation minus what positions and open buy orders use.
	Available   float64
	RealizedPnL float64
	Fees        float64
	// OpenOrders counts its orders not done yet.
	OpenOrders int
}

// ActionKind says what an Action asks for.
type ActionKind uint8

// Action kinds.
const (
	ActPlace ActionKind = iota + 1
	ActCancel
	ActTimer
)

// Action is one request of a strategy to its driver.
type Action struct {
	Kind ActionKind
	// Ref names the order (ActPlace, ActCancel).
	Ref uint64
	// Order is what to place (ActPlace).
	Order Order
	// TimerID and After arm a timer (ActTimer).
	TimerID int
	After   time.Duration
}

// Context is handed to every call: what the strategy may read (its symbol,
// the time, its book) and where its actions go. The driver owns it and
// reuses it; a strategy must not keep it past the call.
type Context struct {
	// Symbol is the traded symbol, e.g. "BTCUSDT".
	Symbol string
	// NowMs is the event's time (Unix ms): the bar's close in backtest.
	NowMs int64
	// Position is the strategy's own book: position, allocation left.
	Position Position

	nextRef uint64
	actions []Action
}

// NewContext returns a context for symbol whose refs start after lastRef
// (0 for a new strategy; a restored driver passes the last ref it gave).
func NewContext(symbol string, lastRef uint64) *Context {
	return &Context{Symbol: symbol, nextRef: lastRef, actions: make([]Action, 0, 16)}
}

// Place asks for an order and returns its ref, which every update and fill
// of that order carries.
func (c *Context) Place(o Order) uint64 {
	c.nextRef++
	c.actions = append(c.actions, Action{Kind: ActPlace, Ref: c.nextRef, Order: o})
	return c.nextRef
}

// Cancel asks to cancel the order ref.
func (c *Context) Cancel(ref uint64) {
	c.actions = append(c.actions, Action{Kind: ActCancel, Ref: ref})
}

// After asks for OnTimer(id) after d; arming id again replaces it.
func (c *Context) After(id int, d time.Duration) {
	c.actions = append(c.actions, Action{Kind: ActTimer, TimerID: id, After: d})
}

// Begin is called by the driver before each event: it sets the time and
// empties the action buffer (keeping its memory).
func (c *Context) Begin(nowMs int64) {
	c.NowMs = nowMs
	c.actions = c.actions[:0]
}

// Actions are the actions added since Begin. The slice is reused by the
// next Begin.
func (c *Context) Actions() []Action { return c.actions }

// LastRef is the last ref Place gave, for a driver to save.
func (c *Context) LastRef() uint64 { return c.nextRef }
