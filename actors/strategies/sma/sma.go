// Package sma is the sma_cross strategy: it buys with a MARKET order when
// the fast simple moving average of closes crosses above the slow one, and
// sells its whole position when it crosses below.
//
// Params ([trading.strategies.NAME] params):
//
//	fast      bars in the fast average; default 10 (1-10000)
//	slow      bars in the slow average, > fast; default 30 (2-10000)
//	quantity  base asset bought on a cross up (fixed), or
//	fraction  of the allocation still available spent on a cross up, (0, 1];
//	          the default when quantity is absent is fraction = 1
//	fee_reserve  with fraction: the part of the amount left for the taker
//	          fee and the price moving before the fill, so that an all-in
//	          buy is not refused for want of cash; default 0.002 (0-0.1)
//	step      the quantity is rounded down to a multiple of step (the
//	          exchange's lot size); default 0.00000001
//
// While one of its orders is in flight it sends no other.
package sma

import (
	"fmt"
	"math"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Kind is the registered kind name.
const Kind = "sma_cross"

func init() { strategy.Register(Kind, New) }

// stateVersion is the first byte of a saved state.
const stateVersion = 1

// Cross is the sma_cross strategy. Build it with New.
type Cross struct {
	strategy.Base
	fast, slow         int
	quantity, fraction float64
	feeReserve         float64
	step               float64

	closes   []float64 // ring of the last slow closes
	idx      int       // where the next close goes
	count    int       // closes seen, capped at slow
	sumFast  float64
	sumSlow  float64
	sign     int    // last non-zero sign of fast-slow (0: none yet)
	inFlight uint64 // ref of the order not done yet (0: none)
}

// New builds a Cross from params.
func New(params map[string]any) (strategy.Strategy, error) {
	p := strategy.ReadParams(params)
	fast, err := p.Int("fast", 10, 1, 10000)
	if err != nil {
		return nil, err
	}
	slow, err := p.Int("slow", 30, 2, 10000)
	if err != nil {
		return nil, err
	}
	if slow <= fast {
		return nil, fmt.Errorf("slow: must be > fast (%d), got %d", fast, slow)
	}
	c := &Cross{fast: fast, slow: slow, closes: make([]float64, slow)}
	if c.quantity, err = p.Float("quantity", 0, 0, math.MaxFloat64); err != nil {
		return nil, err
	}
	if c.fraction, err = p.Float("fraction", 0, 0, 1); err != nil {
		return nil, err
	}
	if c.feeReserve, err = p.Float("fee_reserve", 0.002, 0, 0.1); err != nil {
		return nil, err
	}
	if c.step, err = p.Float("step", 1e-8, 0, math.MaxFloat64); err != nil {
		return nil, err
	}
	switch {
	case p.Has("quantity") && p.Has("fraction"):
		return nil, fmt.Errorf("quantity: set quantity or fraction, not both")
	case p.Has("quantity") && c.quantity <= 0:
		return nil, fmt.Errorf("quantity: must be > 0")
	case p.Has("fraction") && c.fraction <= 0:
		return nil, fmt.Errorf("fraction: must be > 0")
	case !p.Has("quantity") && !p.Has("fraction"):
		c.fraction = 1
	}
	if c.step <= 0 {
		return nil, fmt.Errorf("step: must be > 0")
	}
	if err := p.Done(); err != nil {
		return nil, err
	}
	return c, nil
}

// OnBar updates both averages and acts on a cross.
func (s *Cross) OnBar(c *strategy.Context, b *strategy.Bar) {
	price := b.Close
	old := s.closes[s.idx]
	if s.count >= s.fast {
		s.sumFast -= s.closes[(s.idx-s.fast+s.slow)%s.slow]
	}
	if s.count >= s.slow {
		s.sumSlow -= old
	}
	s.closes[s.idx] = price
	s.sumFast += price
	s.sumSlow += price
	s.idx++
	if s.idx == s.slow {
		s.idx = 0
	}
	if s.count < s.slow {
		s.count++
		if s.count < s.slow {
			return
		}
	}
	diff := s.sumFast/float64(s.fast) - s.sumSlow/float64(s.slow)
	sign := 0
	switch {
	case diff > 0:
		sign = 1
	case diff < 0:
		sign = -1
	default:
		return
	}
	prev := s.sign
	s.sign = sign
	if prev == 0 || prev == sign || s.inFlight != 0 {
		return
	}
	if sign > 0 {
		s.buy(c, price)
	} else {
		s.sell(c)
	}
}

func (s *Cross) buy(c *strategy.Context, price float64) {
	if c.Position.Quantity > 0 || price <= 0 {
		return
	}
	q := s.quantity
	if q == 0 {
		q = s.fraction * c.Position.Available / (price * (1 + s.feeReserve))
	}
	if q = s.round(q); q > 0 {
		s.inFlight = c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Market, Quantity: q})
	}
}

func (s *Cross) sell(c *strategy.Context) {
	if q := s.round(c.Position.Quantity); q > 0 {
		s.inFlight = c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Market, Quantity: q})
	}
}

// round rounds q down to a multiple of step, tolerating float noise, and
// to 8 decimals (the exchange's precision).
func (s *Cross) round(q float64) float64 {
	return math.Round(math.Floor(q/s.step+1e-9)*s.step*1e8) / 1e8
}

// OnOrder frees the strategy to act again once its order is done.
func (s *Cross) OnOrder(_ *strategy.Context, u *strategy.OrderUpdate) {
	if u.Ref != 0 && u.Ref == s.inFlight && (u.Status.Done() || u.Status == strategy.StatusLost) {
		s.inFlight = 0
	}
}

// Save encodes the averages, the ring of closes and the order in flight.
func (s *Cross) Save() ([]byte, error) {
	e := strategy.Encoder{B: make([]byte, 0, 1+8*(8+s.slow))}
	e.B = append(e.B, stateVersion)
	e.Uint64(uint64(s.fast))
	e.Uint64(uint64(s.slow))
	e.Uint64(uint64(s.idx))
	e.Uint64(uint64(s.count))
	e.Float64(s.sumFast)
	e.Float64(s.sumSlow)
	e.Int64(int64(s.sign))
	e.Uint64(s.inFlight)
	for _, v := range s.closes {
		e.Float64(v)
	}
	return e.B, nil
}

// Restore loads a state Save wrote with the same fast and slow.
func (s *Cross) Restore(state []byte) error {
	if len(state) == 0 || state[0] != stateVersion {
		return fmt.Errorf("sma_cross: %w: unknown version", strategy.ErrBadState)
	}
	d := strategy.Decoder{B: state[1:]}
	fast, slow := d.Uint64(), d.Uint64()
	idx, count := d.Uint64(), d.Uint64()
	sumFast, sumSlow := d.Float64(), d.Float64()
	sign, inFlight := d.Int64(), d.Uint64()
	if d.Err != nil {
		return fmt.Errorf("sma_cross: %w", d.Err)
	}
	if fast != uint64(s.fast) || slow != uint64(s.slow) {
		return fmt.Errorf("sma_cross: state is for fast=%d slow=%d, params say fast=%d slow=%d", fast, slow, s.fast, s.slow)
	}
	if idx >= slow || count > slow || sign < -1 || sign > 1 {
		return fmt.Errorf("sma_cross: %w: fields out of range", strategy.ErrBadState)
	}
	closes := make([]float64, s.slow)
	for i := range closes {
		closes[i] = d.Float64()
	}
	if err := d.Finish(); err != nil {
		return fmt.Errorf("sma_cross: %w", err)
	}
	s.closes, s.idx, s.count = closes, int(idx), int(count)
	s.sumFast, s.sumSlow, s.sign, s.inFlight = sumFast, sumSlow, int(sign), inFlight
	return nil
}
