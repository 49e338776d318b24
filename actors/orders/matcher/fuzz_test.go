package matcher

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// FuzzMatcher drives a matcher with random sequences of orders, cancels,
// books, trades and bars, and checks after every call that: no order fills
// beyond its quantity; no fill lies outside its limit price (a market
// order's outside the slippage cap); maker fills are at the limit price;
// quote = price*qty and fee = quote*rate; updates agree with the fills; a
// closed order never fills again; trade ids increase by one; Open lists
// exactly the orders left open.
func FuzzMatcher(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{2, 5, 9, 9, 9, 0, 0, 3, 0, 7, 1, 1, 4, 8, 4, 2, 3, 200, 5, 5, 5})
	f.Add([]byte{3, 10, 10, 0, 1, 15, 4, 4, 4, 0, 2, 8, 8, 8, 1, 1, 1, 1, 5, 0, 3, 3})
	f.Add([]byte("a long sequence of ops that exercises many paths in the matcher, twice over"))
	for seed := range uint64(4) { // long random runs, so plain go test reaches every path
		rng := rand.New(rand.NewPCG(seed, 42))
		b := make([]byte, 3000)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t)
		r := &byteReader{data: data}
		for step := 0; r.more() && step < 500; step++ {
			h.step(r)
		}
	})
}

// byteReader hands out the fuzz input a byte at a time (0 once it runs out).
type byteReader struct {
	data []byte
	pos  int
}

func (r *byteReader) more() bool { return r.pos < len(r.data) }

func (r *byteReader) next() int {
	if r.pos >= len(r.data) {
		return 0
	}
	b := r.data[r.pos]
	r.pos++
	return int(b)
}

// price returns a price on a small grid around 100, or a bad value.
func (r *byteReader) price() float64 {
	b := r.next()
	switch b {
	case 255:
		return math.NaN()
	case 254:
		return -1
	case 253:
		return 0
	}
	return 90 + float64(b%40)*0.5
}

func (r *byteReader) qty() float64 {
	b := r.next()
	switch b {
	case 255:
		return math.Inf(1)
	case 254:
		return 0
	}
	return float64(b%16+1) * 0.1
}

// model is what the harness knows of one order.
type model struct {
	o              Order
	filled, quote  float64
	closed, rested bool
}

type harness struct {
	t      *testing.T
	m      *Matcher
	orders map[string]*model
	nextID int
	trade  int64
	now    int64
	record []string // what every call returned, when not nil
}

func newHarness(t *testing.T) *harness {
	m, err := New(testCfg)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, m: m, orders: map[string]*model{}}
}

var fuzzSymbols = [...]string{"BTCUSDT", "ETHUSDT"}

func (h *harness) step(r *byteReader) {
	h.now++
	op := r.next()
	symbol := fuzzSymbols[op>>7]
	switch op % 6 {
	case 0, 1:
		h.submit(r, symbol)
	case 2:
		h.cancel(r)
	case 3:
		h.book(r, symbol)
	case 4:
		price, qty := r.price(), r.qty()
		ups, fills := h.m.OnTrade(symbol, price, qty, h.now)
		h.check(ups, fills, h.printed(price, price, qty))
	case 5:
		lo, hi, vol := r.price(), r.price(), r.qty()*float64(r.next()%3)
		ups, fills := h.m.OnBar(symbol, lo, hi, lo, hi, vol, h.now)
		h.check(ups, fills, h.printed(lo, hi, vol))
	}
	h.checkOpen()
}

func (h *harness) submit(r *byteReader, symbol string) {
	types := [...]string{TypeMarket, TypeLimit, TypeLimit, TypeLimitMaker, "BAD"}
	tifs := [...]string{"", GTC, IOC, FOK, "BAD"}
	sides := [...]string{SideBuy, SideSell, "BAD"}
	b := r.next()
	h.nextID++
	id := fmt.Sprint("o", h.nextID)
	if b%17 == 0 && h.nextID > 1 {
		id = fmt.Sprint("o", h.nextID-1) // maybe a duplicate of an open order
	}
	o := Order{ID: id, Symbol: symbol, Side: sides[b%3], Type: types[(b/3)%5], TimeInForce: tifs[(b/15)%5],
		Price: r.price(), Qty: r.qty()}
	s := h.m.symbol(symbol)
	var best float64 // the best opposite price a market order may slip from
	if s.hasBook {
		if ls := *s.opposite(o.Side == SideBuy); len(ls) > 0 {
			best = ls[0].Price
		}
	}
	if prev := h.orders[id]; prev != nil && !prev.closed {
		u, fills := h.m.Submit(o, h.now)
		if u.Status != StatusRejected || fills != nil {
			h.t.Fatalf("duplicate open id %s accepted: %+v", id, u)
		}
		return
	}
	md := &model{o: o}
	h.orders[id] = md
	u, fills := h.m.Submit(o, h.now)
	h.check([]Update{u}, fills, func(f Fill) {
		if o.Type == TypeMarket && best > 0 {
			if (f.Side == SideBuy && f.Price > best*(1+testCfg.SlippageCap)*(1+1e-12)) ||
				(f.Side == SideSell && f.Price < best*(1-testCfg.SlippageCap)*(1-1e-12)) {
				h.t.Fatalf("market fill %+v beyond the cap from best %v", f, best)
			}
		}
		if f.Maker {
			h.t.Fatalf("an arriving order filled as maker: %+v", f)
		}
	})
	if u.Status == StatusNew || u.Status == StatusPartiallyFilled {
		md.rested = true
	}
}

func (h *harness) cancel(r *byteReader) {
	id := fmt.Sprint("o", h.nextID-r.next()%4)
	md := h.orders[id]
	u, ok := h.m.Cancel(id, h.now)
	if want := md != nil && !md.closed; ok != want {
		h.t.Fatalf("Cancel(%s) = %v, want %v", id, ok, want)
	}
	if ok {
		if u.Status != StatusCanceled || !approxEq(u.Executed, md.filled) {
			h.t.Fatalf("Cancel(%s) = %+v, model %+v", id, u, md)
		}
		md.closed = true
	}
}

func (h *harness) book(r *byteReader, symbol string) {
	mid := r.price()
	var bids, asks []Level
	for i := range r.next() % 5 {
		bids = append(bids, Level{mid - 0.5*float64(i+1), r.qty()})
		asks = append(asks, Level{mid + 0.5*float64(i), r.qty()})
	}
	ups, fills := h.m.OnBook(symbol, bids, asks, h.now)
	h.check(ups, fills, nil)
}

// check holds fills and updates to the invariants; extra checks each fill
// of an arriving order.
func (h *harness) check(ups []Update, fills []Fill, extra func(Fill)) {
	t := h.t
	if h.record != nil {
		h.record = append(h.record, fmt.Sprintf("%+v %+v", ups, fills))
	}
	for _, f := range fills {
		md := h.orders[f.OrderID]
		if md == nil || md.closed {
			t.Fatalf("fill of an unknown or closed order: %+v", f)
		}
		h.trade++
		if f.TradeID != h.trade {
			t.Fatalf("trade id %d, want %d", f.TradeID, h.trade)
		}
		rate := testCfg.TakerFee
		if f.Maker {
			rate = testCfg.MakerFee
			if !md.rested || f.Price != md.o.Price {
				t.Fatalf("maker fill %+v of an order not resting or not at its price %v", f, md.o.Price)
			}
		}
		if !(f.Qty > 0) || !approxEq(f.Quote, f.Price*f.Qty) || !approxEq(f.Fee, f.Quote*rate) || f.TimeMs != h.now {
			t.Fatalf("fill %+v: qty, quote, fee or time wrong", f)
		}
		if md.o.Type != TypeMarket && !within(f.Price, md.o.Side == SideBuy, md.o.Price*(1+sign(md.o.Side)*1e-12)) {
			t.Fatalf("fill %+v outside the limit %v", f, md.o.Price)
		}
		md.filled += f.Qty
		md.quote += f.Quote
		if md.filled > md.o.Qty*(1+1e-9) {
			t.Fatalf("order %s filled %v of %v", f.OrderID, md.filled, md.o.Qty)
		}
		if extra != nil {
			extra(f)
		}
	}
	for _, u := range ups {
		md := h.orders[u.OrderID]
		if md == nil {
			t.Fatalf("update of an unknown order: %+v", u)
		}
		if !approxEq(u.Executed, md.filled) || !approxEq(u.Quote, md.quote) {
			t.Fatalf("update %+v disagrees with the fills: %v, %v", u, md.filled, md.quote)
		}
		switch u.Status {
		case StatusFilled, StatusCanceled, StatusExpired, StatusRejected:
			md.closed = true
		}
		if u.Status == StatusFilled && !approxEq(md.filled, md.o.Qty) {
			t.Fatalf("FILLED with %v of %v", md.filled, md.o.Qty)
		}
	}
}

// printed returns a check that maker fills come from a print between low
// and high of up to vol: a buy's limit is >= low, a sell's <= high, and
// each side fills at most vol.
func (h *harness) printed(low, high, vol float64) func(Fill) {
	var bought, sold float64
	return func(f Fill) {
		if f.Side == SideBuy {
			bought += f.Qty
		} else {
			sold += f.Qty
		}
		if (f.Side == SideBuy && f.Price < low) || (f.Side == SideSell && f.Price > high) ||
			bought > vol*(1+1e-9) || sold > vol*(1+1e-9) {
			h.t.Fatalf("fill %+v not justified by a print in [%v, %v] of %v", f, low, high, vol)
		}
	}
}

// sign is +1 for a buy (its limit is an upper bound) and -1 for a sell.
func sign(side string) float64 {
	if side == SideBuy {
		return 1
	}
	return -1
}

// checkOpen compares Open with the model's open orders.
func (h *harness) checkOpen() {
	open := h.m.Open()
	n := 0
	for _, md := range h.orders {
		if md.rested && !md.closed {
			n++
		}
	}
	if len(open) != n {
		h.t.Fatalf("Open has %d orders, the model %d", len(open), n)
	}
	for _, o := range open {
		md := h.orders[o.ID]
		if md == nil || md.closed || !approxEq(o.Executed, md.filled) {
			h.t.Fatalf("open order %+v: model %+v", o, md)
		}
	}
}

// TestDeterministic runs one long random sequence twice: the matcher must
// return the same updates and fills, in the same order, both times.
func TestDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	data := make([]byte, 6000)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	run := func() []string {
		h := newHarness(t)
		h.record = []string{}
		for r := (&byteReader{data: data}); r.more(); {
			h.step(r)
		}
		for _, o := range h.m.Open() {
			h.record = append(h.record, fmt.Sprintf("%+v", o))
		}
		return h.record
	}
	a, b := run(), run()
	if len(a) < 1000 {
		t.Fatalf("only %d calls recorded", len(a))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("call %d differs:\n%s\n%s", i, a[i], b[i])
		}
	}
}
