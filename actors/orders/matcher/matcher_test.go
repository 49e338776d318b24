package matcher

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const sym = "BTCUSDT"

var testCfg = Config{MakerFee: 0.001, TakerFee: 0.002, SlippageCap: 0.01}

// approx compares floats to 1e-9 (relative) so sums of fills compare.
var approx = cmpopts.EquateApprox(1e-9, 1e-12)

func newMatcher(t testing.TB) *Matcher {
	t.Helper()
	m, err := New(testCfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// book: bids 99 (1), 98 (2), 97 (3); asks 100 (1), 101 (2), 102 (3).
func withBook(t testing.TB) *Matcher {
	m := newMatcher(t)
	m.OnBook(sym,
		[]Level{{99, 1}, {98, 2}, {97, 3}},
		[]Level{{100, 1}, {101, 2}, {102, 3}}, 1)
	return m
}

func limit(id, side, tif string, price, qty float64) Order {
	return Order{ID: id, Symbol: sym, Side: side, Type: TypeLimit, TimeInForce: tif, Price: price, Qty: qty}
}

func market(id, side string, qty float64) Order {
	return Order{ID: id, Symbol: sym, Side: side, Type: TypeMarket, Qty: qty}
}

// pq is a fill's price and quantity, what most cases check.
type pq struct {
	Price, Qty float64
	Maker      bool
}

func pqs(fs []Fill) []pq {
	var out []pq
	for _, f := range fs {
		out = append(out, pq{f.Price, f.Qty, f.Maker})
	}
	return out
}

func TestSubmit(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(t testing.TB) *Matcher
		order      Order
		status     string
		executed   float64
		fills      []pq
		reason     string // a substring of Update.Reason
		stillOpen  bool
		bookAfterA float64 // the best ask after the order (0: skip)
	}{
		{"market buy walks the book", withBook, market("a", SideBuy, 2.5), StatusFilled, 2.5,
			[]pq{{100, 1, false}, {101, 1.5, false}}, "", false, 101},
		{"market sell stops at the slippage cap", withBook, market("a", SideSell, 1.5), StatusExpired, 1,
			[]pq{{99, 1, false}}, ReasonSlippage, false, 0},
		{"market buy expires beyond the slippage cap", withBook, market("a", SideBuy, 5), StatusExpired, 3,
			[]pq{{100, 1, false}, {101, 2, false}}, ReasonSlippage, false, 102},
		{"market buy expires beyond the depth", func(t testing.TB) *Matcher {
			m := newMatcher(t)
			m.OnBook(sym, nil, []Level{{100, 1}}, 1)
			return m
		}, market("a", SideBuy, 2), StatusExpired, 1, []pq{{100, 1, false}}, ReasonSlippage, false, 0},
		{"market on an empty side expires unfilled", func(t testing.TB) *Matcher {
			m := newMatcher(t)
			m.OnBook(sym, []Level{{99, 1}}, nil, 1)
			m.OnTrade(sym, 100, 1, 1)
			return m
		}, market("a", SideBuy, 1), StatusExpired, 0, nil, ReasonSlippage, false, 0},
		{"market without a book fills at the last trade", func(t testing.TB) *Matcher {
			m := newMatcher(t)
			m.OnTrade(sym, 100, 0.1, 1)
			return m
		}, market("a", SideBuy, 3), StatusFilled, 3, []pq{{100, 3, false}}, "", false, 0},
		{"market after a bar fills at its close", func(t testing.TB) *Matcher {
			m := newMatcher(t)
			m.OnBar(sym, 100, 103, 99, 102, 10, 1)
			return m
		}, market("a", SideSell, 2), StatusFilled, 2, []pq{{102, 2, false}}, "", false, 0},
		{"market without data is rejected", newMatcher, market("a", SideBuy, 1), StatusRejected, 0,
			nil, "no market data for BTCUSDT", false, 0},
		{"limit buy below the book rests", withBook, limit("a", SideBuy, GTC, 99.5, 1), StatusNew, 0,
			nil, "", true, 100},
		{"crossing GTC fills as taker within its price and rests the rest", withBook, limit("a", SideBuy, "", 101, 5),
			StatusPartiallyFilled, 3, []pq{{100, 1, false}, {101, 2, false}}, "", true, 102},
		{"crossing limit sell walks bids within its price", withBook, limit("a", SideSell, GTC, 98, 2),
			StatusFilled, 2, []pq{{99, 1, false}, {98, 1, false}}, "", false, 0},
		{"IOC remainder expires", withBook, limit("a", SideBuy, IOC, 100, 3), StatusExpired, 1,
			[]pq{{100, 1, false}}, ReasonIOC, false, 101},
		{"IOC that does not cross expires", withBook, limit("a", SideBuy, IOC, 90, 3), StatusExpired, 0,
			nil, ReasonIOC, false, 100},
		{"FOK short of liquidity fills nothing", withBook, limit("a", SideBuy, FOK, 101, 3.5), StatusExpired, 0,
			nil, ReasonFOK, false, 100},
		{"FOK with enough liquidity fills whole", withBook, limit("a", SideBuy, FOK, 101, 3), StatusFilled, 3,
			[]pq{{100, 1, false}, {101, 2, false}}, "", false, 102},
		{"limit crossing the last trade without a book fills at it", func(t testing.TB) *Matcher {
			m := newMatcher(t)
			m.OnTrade(sym, 100, 1, 1)
			return m
		}, limit("a", SideBuy, GTC, 105, 2), StatusFilled, 2, []pq{{100, 2, false}}, "", false, 0},
		{"LIMIT_MAKER that would cross is rejected", withBook,
			Order{ID: "a", Symbol: sym, Side: SideBuy, Type: TypeLimitMaker, Price: 100, Qty: 1},
			StatusRejected, 0, nil, ReasonWouldTake, false, 100},
		{"LIMIT_MAKER that does not cross rests", withBook,
			Order{ID: "a", Symbol: sym, Side: SideSell, Type: TypeLimitMaker, Price: 100, Qty: 1},
			StatusNew, 0, nil, "", true, 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.setup(t)
			u, fills := m.Submit(tc.order, 7)
			if u.OrderID != tc.order.ID || u.Status != tc.status || !approxEq(u.Executed, tc.executed) {
				t.Fatalf("update = %+v, want status %s executed %v", u, tc.status, tc.executed)
			}
			if !strings.Contains(u.Reason, tc.reason) || (tc.reason == "" && u.Reason != "") {
				t.Errorf("reason = %q, want %q", u.Reason, tc.reason)
			}
			if d := cmp.Diff(tc.fills, pqs(fills), approx); d != "" {
				t.Errorf("fills (-want +got):\n%s", d)
			}
			quote := 0.0
			for _, f := range fills {
				quote += f.Quote
				if f.TimeMs != 7 || f.OrderID != "a" || f.Symbol != sym || f.Side != tc.order.Side {
					t.Errorf("fill %+v: wrong identity or time", f)
				}
				if !approxEq(f.Fee, f.Quote*testCfg.TakerFee) {
					t.Errorf("fill %+v: fee, want quote*taker fee", f)
				}
			}
			if !approxEq(u.Quote, quote) {
				t.Errorf("update quote = %v, want the fills' %v", u.Quote, quote)
			}
			if open := len(m.Open()) == 1; open != tc.stillOpen {
				t.Errorf("open = %v, want %v", m.Open(), tc.stillOpen)
			}
			if tc.bookAfterA != 0 {
				if got := m.symbol(sym).asks[0].Price; got != tc.bookAfterA {
					t.Errorf("best ask after = %v, want %v (the order's take cut from the book)", got, tc.bookAfterA)
				}
			}
		})
	}
}

func approxEq(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestSubmitRejectsBadInput(t *testing.T) {
	ok := limit("a", SideBuy, GTC, 90, 1)
	tests := []struct {
		name   string
		edit   func(o *Order)
		reason string
	}{
		{"empty id", func(o *Order) { o.ID = "" }, "empty order id"},
		{"empty symbol", func(o *Order) { o.Symbol = "" }, "empty symbol"},
		{"unknown side", func(o *Order) { o.Side = "buy" }, `unknown side "buy"`},
		{"unknown type", func(o *Order) { o.Type = "STOP_LOSS" }, `unknown order type "STOP_LOSS"`},
		{"unknown time in force", func(o *Order) { o.TimeInForce = "GTX" }, `unknown time in force "GTX"`},
		{"zero quantity", func(o *Order) { o.Qty = 0 }, "invalid quantity"},
		{"negative quantity", func(o *Order) { o.Qty = -1 }, "invalid quantity"},
		{"NaN quantity", func(o *Order) { o.Qty = math.NaN() }, "invalid quantity"},
		{"infinite quantity", func(o *Order) { o.Qty = math.Inf(1) }, "invalid quantity"},
		{"zero price", func(o *Order) { o.Price = 0 }, "invalid price"},
		{"NaN price", func(o *Order) { o.Price = math.NaN() }, "invalid price"},
		{"infinite price", func(o *Order) { o.Price = math.Inf(1) }, "invalid price"},
		{"overflowing notional", func(o *Order) { o.Price, o.Qty = 1e300, 1e300 }, "price * quantity overflows"},
		{"duplicate open id", func(o *Order) { o.ID = "open" }, `duplicate order id "open"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := withBook(t)
			if u, _ := m.Submit(limit("open", SideBuy, GTC, 80, 1), 1); u.Status != StatusNew {
				t.Fatalf("setup: %+v", u)
			}
			o := ok
			tc.edit(&o)
			u, fills := m.Submit(o, 2)
			if u.Status != StatusRejected || !strings.HasPrefix(u.Reason, tc.reason) || fills != nil {
				t.Fatalf("got %+v %v, want REJECTED %q", u, fills, tc.reason)
			}
			if n := len(m.Open()); n != 1 {
				t.Fatalf("open orders = %d, want 1 (a rejected order changes nothing)", n)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for _, c := range []Config{{MakerFee: -0.1}, {TakerFee: 1}, {SlippageCap: math.NaN()}} {
		if _, err := New(c); !errors.Is(err, ErrInvalid) {
			t.Errorf("New(%+v) = %v, want ErrInvalid", c, err)
		}
	}
	if err := testCfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestRejectedMarketOrderKeepsNoState(t *testing.T) {
	m := newMatcher(t)
	for i := range 3 {
		sym := fmt.Sprint("NOPE", i)
		if u, _ := m.Submit(Order{ID: "a", Symbol: sym, Side: SideBuy, Type: TypeMarket, Qty: 1}, 1); u.Reason != "no market data for "+sym {
			t.Fatalf("got %+v", u)
		}
	}
	if len(m.symbols) != 0 {
		t.Fatalf("symbols kept for orders that never had data: %d", len(m.symbols))
	}
}
