// Package strategytest drives a strategy synchronously over bars, for the
// strategy kinds' tests: market orders fill at the bar's close, limit
// orders fill at their price on a later bar whose range reaches it. It is
// no backtester (no fees, no partial fills, no slippage); it only makes
// the strategies' behaviour deterministic and checkable.
package strategytest

import (
	"fmt"
	"sort"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Event is one thing the strategy asked for, as the driver saw it.
type Event struct {
	Bar    int // index of the bar being handled
	Action strategy.Action
}

// String renders the event for comparisons in tests.
func (e Event) String() string {
	a := e.Action
	switch a.Kind {
	case strategy.ActPlace:
		return fmt.Sprintf("bar %d: place #%d %s %s %g @ %g", e.Bar, a.Ref, a.Order.Side, a.Order.Type, a.Order.Quantity, a.Order.Price)
	case strategy.ActCancel:
		return fmt.Sprintf("bar %d: cancel #%d", e.Bar, a.Ref)
	default:
		return fmt.Sprintf("bar %d: timer %d after %s", e.Bar, a.TimerID, a.After)
	}
}

// Driver feeds one strategy. Set Fill to false to acknowledge orders
// without ever filling them.
type Driver struct {
	S      strategy.Strategy
	C      *strategy.Context
	Fill   bool
	Events []Event

	bar  int
	open map[uint64]strategy.Order
	last float64
}

// New returns a driver with allocation in the quote asset; refs start
// after lastRef.
func New(s strategy.Strategy, allocation float64, lastRef uint64) *Driver {
	c := strategy.NewContext("TESTUSDT", lastRef)
	c.Position.Allocation, c.Position.Available = allocation, allocation
	d := &Driver{S: s, C: c, Fill: true, open: map[uint64]strategy.Order{}}
	c.Begin(0)
	s.Start(c)
	d.apply()
	return d
}

// Bar hands the strategy one closed bar, then fills what it reaches.
func (d *Driver) Bar(b strategy.Bar) {
	d.last = b.Close
	if d.Fill {
		d.fillLimits(b)
	}
	d.C.Begin(b.CloseTimeMs)
	d.S.OnBar(d.C, &b)
	d.apply()
	d.bar++
}

// Closes feeds one bar per close (open = high = low = close).
func (d *Driver) Closes(closes ...float64) {
	for _, c := range closes {
		d.Bar(strategy.Bar{Open: c, High: c, Low: c, Close: c, CloseTimeMs: int64(d.bar+1) * 60_000})
	}
}

// Places lists the events that placed orders, rendered.
func (d *Driver) Places() []string {
	var out []string
	for _, e := range d.Events {
		out = append(out, e.String())
	}
	return out
}

// OpenRefs lists the refs of open orders, sorted.
func (d *Driver) OpenRefs() []uint64 {
	var out []uint64
	for r := range d.open {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// apply handles the actions of the last call, and those their answers
// cause, until none are left.
func (d *Driver) apply() {
	for len(d.C.Actions()) > 0 {
		acts := append([]strategy.Action(nil), d.C.Actions()...)
		d.C.Begin(d.C.NowMs)
		for _, a := range acts {
			d.Events = append(d.Events, Event{Bar: d.bar, Action: a})
			switch a.Kind {
			case strategy.ActPlace:
				d.place(a.Ref, a.Order)
			case strategy.ActCancel:
				if o, ok := d.open[a.Ref]; ok {
					delete(d.open, a.Ref)
					d.update(a.Ref, o, strategy.StatusCanceled, 0)
				}
			}
		}
	}
}

func (d *Driver) place(ref uint64, o strategy.Order) {
	if o.Type == strategy.Market && d.Fill {
		d.execute(ref, o, d.last)
		return
	}
	d.open[ref] = o
	d.update(ref, o, strategy.StatusNew, 0)
}

func (d *Driver) fillLimits(b strategy.Bar) {
	for _, ref := range d.OpenRefs() {
		o := d.open[ref]
		if (o.Side == strategy.Buy && b.Low <= o.Price) || (o.Side == strategy.Sell && b.High >= o.Price) {
			delete(d.open, ref)
			d.C.Begin(b.CloseTimeMs)
			d.execute(ref, o, o.Price)
			d.apply()
		}
	}
}

// execute fills o wholly at price: the book, a fill, an update.
func (d *Driver) execute(ref uint64, o strategy.Order, price float64) {
	bk := &d.C.Position
	if o.Side == strategy.Buy {
		bk.AvgPrice = (bk.AvgPrice*bk.Quantity + price*o.Quantity) / (bk.Quantity + o.Quantity)
		bk.Quantity += o.Quantity
		bk.Available -= price * o.Quantity
	} else {
		bk.RealizedPnL += (price - bk.AvgPrice) * o.Quantity
		bk.Quantity -= o.Quantity
		bk.Available += bk.AvgPrice * o.Quantity
		if bk.Quantity <= 1e-12 {
			bk.Quantity, bk.AvgPrice = 0, 0
		}
	}
	d.S.OnFill(d.C, &strategy.Fill{Ref: ref, Side: o.Side, Price: price, Quantity: o.Quantity, TimeMs: d.C.NowMs})
	d.update(ref, o, strategy.StatusFilled, price)
}

func (d *Driver) update(ref uint64, o strategy.Order, st strategy.Status, avg float64) {
	u := strategy.OrderUpdate{Ref: ref, Status: st, Side: o.Side, Type: o.Type, Price: o.Price, Quantity: o.Quantity, AvgPrice: avg}
	if st == strategy.StatusFilled {
		u.Filled = o.Quantity
	}
	d.S.OnOrder(d.C, &u)
}

// Adopt takes over other's open orders and last price (a restart: the
// exchange keeps the orders of the strategy that saved its state).
func (d *Driver) Adopt(other *Driver) {
	for r, o := range other.open {
		d.open[r] = o
	}
	d.last = other.last
}
