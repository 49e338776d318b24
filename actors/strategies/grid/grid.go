// Package grid is the grid strategy: a ladder of LIMIT orders between a
// lower and an upper price. The range is cut into levels-1 slots; slot i
// buys at level i and sells what it bought at level i+1. When a slot's buy
// fills, its counterpart (the sell one level up) is placed; when that sell
// fills, the buy is placed again, and so on.
//
// Params ([trading.strategies.NAME] params):
//
//	lower     the lowest level's price (> 0)
//	upper     the highest level's price (> lower)
//	levels    number of price levels, 2-1000, evenly spaced
//	quantity  base asset bought (and sold) per slot (> 0)
//
// A slot is armed (its buy placed) on a bar whose close is above its buy
// price; on the first bar every such slot is armed. A buy that is
// canceled, rejected or expires leaves the slot idle until a later bar
// re-arms it; a sell that ends so keeps the bought quantity, and a later
// bar places the sell again.
package grid

import (
	"fmt"
	"math"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Kind is the registered kind name.
const Kind = "grid"

func init() { strategy.Register(Kind, New) }

const stateVersion = 1

// maxLevels bounds levels (and a restored state's size).
const maxLevels = 1000

// Slot states.
const (
	idle    = iota // nothing open, nothing held
	buying         // its buy is open
	held           // bought, its sell is not open (to place on the next bar)
	selling        // its sell is open
)

type slot struct {
	state int
	ref   uint64  // the open order's ref
	qty   float64 // held or being sold
}

// Grid is the grid strategy. Build it with New.
type Grid struct {
	strategy.Base
	prices   []float64 // levels, lowest first
	quantity float64
	slots    []slot
}

// New builds a Grid from params.
func New(params map[string]any) (strategy.Strategy, error) {
	p := strategy.ReadParams(params)
	lower, err := p.Float("lower", 0, 0, math.MaxFloat64)
	if err != nil {
		return nil, err
	}
	upper, err := p.Float("upper", 0, 0, math.MaxFloat64)
	if err != nil {
		return nil, err
	}
	levels, err := p.Int("levels", 0, 2, maxLevels)
	if err != nil {
		return nil, err
	}
	qty, err := p.Float("quantity", 0, 0, math.MaxFloat64)
	if err != nil {
		return nil, err
	}
	switch {
	case lower <= 0:
		return nil, fmt.Errorf("lower: must be > 0 (required)")
	case upper <= lower:
		return nil, fmt.Errorf("upper: must be > lower (%g), got %g", lower, upper)
	case levels == 0:
		return nil, fmt.Errorf("levels: required, 2-%d", maxLevels)
	case qty <= 0:
		return nil, fmt.Errorf("quantity: must be > 0 (required)")
	}
	if err := p.Done(); err != nil {
		return nil, err
	}
	g := &Grid{quantity: qty, prices: make([]float64, levels), slots: make([]slot, levels-1)}
	step := (upper - lower) / float64(levels-1)
	for i := range g.prices {
		g.prices[i] = math.Round((lower+step*float64(i))*1e8) / 1e8
	}
	return g, nil
}

// OnBar arms the idle slots below the close and re-places held sells.
func (g *Grid) OnBar(c *strategy.Context, b *strategy.Bar) {
	for i := range g.slots {
		s := &g.slots[i]
		switch {
		case s.state == idle && g.prices[i] < b.Close:
			g.buy(c, i)
		case s.state == held:
			g.sell(c, i)
		}
	}
}

func (g *Grid) buy(c *strategy.Context, i int) {
	s := &g.slots[i]
	s.state, s.qty = buying, 0
	s.ref = c.Place(strategy.Order{Side: strategy.Buy, Type: strategy.Limit, Price: g.prices[i], Quantity: g.quantity})
}

func (g *Grid) sell(c *strategy.Context, i int) {
	s := &g.slots[i]
	s.state = selling
	s.ref = c.Place(strategy.Order{Side: strategy.Sell, Type: strategy.Limit, Price: g.prices[i+1], Quantity: s.qty})
}

// OnOrder replaces a filled order with its counterpart.
func (g *Grid) OnOrder(c *strategy.Context, u *strategy.OrderUpdate) {
	i := g.slotOf(u.Ref)
	if i < 0 {
		return
	}
	s := &g.slots[i]
	switch {
	case u.Status == strategy.StatusFilled && s.state == buying:
		s.qty = u.Filled
		g.sell(c, i)
	case u.Status == strategy.StatusFilled && s.state == selling:
		g.buy(c, i)
	case u.Status.Done() || u.Status == strategy.StatusLost:
		// Ended unfilled, or partly: keep what was bought.
		s.ref = 0
		if s.state == buying {
			s.qty = u.Filled
		}
		if s.state == selling {
			s.qty -= u.Filled
		}
		s.state = idle
		if s.qty > 0 {
			s.state = held
		}
	}
}

func (g *Grid) slotOf(ref uint64) int {
	if ref == 0 {
		return -1
	}
	for i := range g.slots {
		if g.slots[i].ref == ref && (g.slots[i].state == buying || g.slots[i].state == selling) {
			return i
		}
	}
	return -1
}

// Save encodes every slot.
func (g *Grid) Save() ([]byte, error) {
	e := strategy.Encoder{B: make([]byte, 0, 1+8+len(g.slots)*24)}
	e.B = append(e.B, stateVersion)
	e.Uint64(uint64(len(g.slots)))
	for _, s := range g.slots {
		e.Uint64(uint64(s.state))
		e.Uint64(s.ref)
		e.Float64(s.qty)
	}
	return e.B, nil
}

// Restore loads a state Save wrote with the same number of levels.
func (g *Grid) Restore(state []byte) error {
	if len(state) == 0 || state[0] != stateVersion {
		return fmt.Errorf("grid: %w: unknown version", strategy.ErrBadState)
	}
	d := strategy.Decoder{B: state[1:]}
	n := d.Len(maxLevels, 24)
	if d.Err != nil {
		return fmt.Errorf("grid: %w", d.Err)
	}
	if n != len(g.slots) {
		return fmt.Errorf("grid: state has %d levels, params say %d", n+1, len(g.slots)+1)
	}
	slots := make([]slot, n)
	for i := range slots {
		slots[i] = slot{state: int(d.Uint64()), ref: d.Uint64(), qty: d.Float64()}
		if slots[i].state > selling || slots[i].qty < 0 || math.IsNaN(slots[i].qty) {
			return fmt.Errorf("grid: %w: slot %d out of range", strategy.ErrBadState, i)
		}
	}
	if err := d.Finish(); err != nil {
		return fmt.Errorf("grid: %w", err)
	}
	g.slots = slots
	return nil
}
