package matcher

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Sides, as Binance spells them.
const (
	SideBuy  = "BUY"
	SideSell = "SELL"
)

// Order types, as Binance spells them.
const (
	TypeMarket     = "MARKET"
	TypeLimit      = "LIMIT"
	TypeLimitMaker = "LIMIT_MAKER"
)

// Times in force of a LIMIT order ("" means GTC).
const (
	GTC = "GTC"
	IOC = "IOC"
	FOK = "FOK"
)

// Statuses an Update reports, as Binance spells them.
const (
	StatusNew             = "NEW"
	StatusPartiallyFilled = "PARTIALLY_FILLED"
	StatusFilled          = "FILLED"
	StatusCanceled        = "CANCELED"
	StatusExpired         = "EXPIRED"
	StatusRejected        = "REJECTED"
)

// Reasons an Update carries besides a validation message.
const (
	// ReasonWouldTake rejects a LIMIT_MAKER order that would cross.
	ReasonWouldTake = "order would immediately match and take"
	// ReasonSlippage expires what a MARKET order could not fill within the
	// slippage cap and the book's depth.
	ReasonSlippage = "no liquidity within the slippage cap"
	// ReasonIOC expires the unfilled part of an IOC order.
	ReasonIOC = "immediate or cancel: remainder expired"
	// ReasonFOK expires a FOK order that could not fill whole.
	ReasonFOK = "fill or kill: not enough liquidity"
)

// ErrInvalid wraps every error Config.Validate and Restore return.
var ErrInvalid = errors.New("matcher: invalid input")

// Config sets the fees and the market orders' slippage cap.
type Config struct {
	// MakerFee is the fee of a maker fill, a fraction of its quote amount.
	MakerFee float64
	// TakerFee is the fee of a taker fill, a fraction of its quote amount.
	TakerFee float64
	// SlippageCap is the furthest a MARKET order walks the book, a fraction
	// of the best price (0.01: 1 %). The rest expires.
	SlippageCap float64
	// Slippage is what a MARKET order pays beyond the last trade price when
	// the matcher has no book for its symbol (backtests, and paper trading
	// on trades only), a fraction: a buy fills at last*(1+Slippage), a sell
	// at last*(1-Slippage). 0: at the last trade price.
	Slippage float64
}

// Validate reports fees or a cap outside [0, 1).
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    float64
	}{{"maker_fee", c.MakerFee}, {"taker_fee", c.TakerFee}, {"slippage_cap", c.SlippageCap}, {"slippage", c.Slippage}} {
		if !(f.v >= 0 && f.v < 1) { // also catches NaN
			errs = append(errs, fmt.Errorf("%w: %s: must be in [0, 1), got %v", ErrInvalid, f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// Order is an order given to Submit or Restore.
type Order struct {
	// ID is the caller's id (the client order id), unique among open orders.
	ID string
	// Symbol is the traded symbol, e.g. "BTCUSDT".
	Symbol string
	// Side is SideBuy or SideSell.
	Side string
	// Type is TypeMarket, TypeLimit or TypeLimitMaker.
	Type string
	// TimeInForce is GTC (or ""), IOC or FOK for a LIMIT order; ignored
	// otherwise.
	TimeInForce string
	// Price is the limit price; ignored for a MARKET order.
	Price float64
	// Qty is the quantity in the base asset.
	Qty float64
}

// Fill is one execution of an order.
type Fill struct {
	OrderID, Symbol, Side string
	// Price and Qty of this execution; Quote is Price*Qty.
	Price, Qty, Quote float64
	// Fee is Quote times the maker or taker fee, in the quote asset.
	Fee float64
	// Maker is true for a resting order's fill.
	Maker bool
	// TradeID increases by one per fill of the Matcher.
	TradeID int64
	// TimeMs is the nowMs of the call that made the fill.
	TimeMs int64
}

// Update is an order's state after a call changed it.
type Update struct {
	OrderID string
	// Status is one of the Status constants.
	Status string
	// Executed is the cumulative quantity filled; Quote its cumulative
	// quote amount.
	Executed, Quote float64
	// Reason says why the order was rejected or expired.
	Reason string
}

// Level is one price level of a book.
type Level struct{ Price, Qty float64 }

// OpenOrder is a resting order and what it has filled so far.
type OpenOrder struct {
	Order
	Executed, Quote float64
}

// Matcher matches orders on the market data it is given. Use New.
type Matcher struct {
	cfg     Config
	symbols map[string]*symbolState
	cached  *symbolState // the last symbol looked up
	open    map[string]*resting
	tradeID int64
	seq     uint64
}

// New returns a Matcher with no orders and no market data.
func New(cfg Config) (*Matcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Matcher{cfg: cfg, symbols: map[string]*symbolState{}, open: map[string]*resting{}}, nil
}

// Submit places an order: it fills what crosses now (as taker) and rests a
// GTC remainder. The Update is the order's state after the call. An order
// reusing the id of an open order is REJECTED; the open order is unchanged.
func (m *Matcher) Submit(o Order, nowMs int64) (Update, []Fill) {
	if reason := m.check(o); reason != "" {
		return Update{OrderID: o.ID, Status: StatusRejected, Reason: reason}, nil
	}
	if o.Type == TypeMarket {
		return m.submitMarket(m.lookup(o.Symbol), o, nowMs)
	}
	return m.submitLimit(m.symbol(o.Symbol), &resting{order: o, buy: o.Side == SideBuy}, nowMs)
}

// Cancel cancels an open order. It returns false, and changes nothing, for
// an id that is unknown or whose order is closed.
func (m *Matcher) Cancel(id string, nowMs int64) (Update, bool) {
	r, ok := m.open[id]
	if !ok {
		return Update{}, false
	}
	s := m.symbol(r.order.Symbol)
	side := s.side(r.buy)
	if i := slices.Index(*side, r); i >= 0 {
		*side = slices.Delete(*side, i, i+1)
	}
	delete(m.open, id)
	return r.update(StatusCanceled, ""), true
}

// Open returns the resting orders, oldest first.
func (m *Matcher) Open() []OpenOrder {
	rs := make([]*resting, 0, len(m.open))
	for _, r := range m.open {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *resting) int { return cmpUint(a.seq, b.seq) })
	out := make([]OpenOrder, len(rs))
	for i, r := range rs {
		out[i] = OpenOrder{Order: r.order, Executed: r.executed, Quote: r.quote}
	}
	return out
}

// Restore rests an order again after a restart, with what it had filled
// (executed, and its quote amount). It does not match the order now: the
// next market data does. Only LIMIT GTC and LIMIT_MAKER orders rest.
func (m *Matcher) Restore(o Order, executed, quote float64) error {
	if reason := m.check(o); reason != "" {
		return fmt.Errorf("%w: order %q: %s", ErrInvalid, o.ID, reason)
	}
	if o.Type == TypeMarket || (o.Type == TypeLimit && o.TimeInForce != "" && o.TimeInForce != GTC) {
		return fmt.Errorf("%w: order %q: a %s %s order never rests", ErrInvalid, o.ID, o.Type, o.TimeInForce)
	}
	if !(executed >= 0 && executed < o.Qty) || !(quote >= 0) || math.IsInf(quote, 0) {
		return fmt.Errorf("%w: order %q: executed %v (quote %v) of %v", ErrInvalid, o.ID, executed, quote, o.Qty)
	}
	r := &resting{order: o, buy: o.Side == SideBuy, executed: executed, quote: quote}
	m.rest(m.symbol(o.Symbol), r)
	return nil
}

// ResumeTradeIDs makes the next fill's trade id last+1 (a no-op when the
// ids are already past last). Call it after a restart with the highest
// trade id recorded.
func (m *Matcher) ResumeTradeIDs(last int64) {
	m.tradeID = max(m.tradeID, last)
}

// check returns why o is invalid ("" when it is valid).
func (m *Matcher) check(o Order) string {
	switch {
	case o.ID == "":
		return "empty order id"
	case m.open[o.ID] != nil:
		return fmt.Sprintf("duplicate order id %q", o.ID)
	case o.Symbol == "":
		return "empty symbol"
	case o.Side != SideBuy && o.Side != SideSell:
		return fmt.Sprintf("unknown side %q", o.Side)
	case !positive(o.Qty):
		return fmt.Sprintf("invalid quantity %v", o.Qty)
	}
	switch o.Type {
	case TypeMarket:
		return ""
	case TypeLimit:
		switch o.TimeInForce {
		case "", GTC, IOC, FOK:
		default:
			return fmt.Sprintf("unknown time in force %q", o.TimeInForce)
		}
	case TypeLimitMaker:
	default:
		return fmt.Sprintf("unknown order type %q", o.Type)
	}
	if !positive(o.Price) {
		return fmt.Sprintf("invalid price %v", o.Price)
	}
	if math.IsInf(o.Price*o.Qty, 1) {
		return "price * quantity overflows"
	}
	return ""
}

// positive reports whether v is a positive finite number.
func positive(v float64) bool { return v > 0 && !math.IsInf(v, 1) }

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
