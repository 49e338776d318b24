package matcher

import "testing"

func TestBarTradesPath(t *testing.T) {
	up := BarTrades(100, 110, 90, 105, 8)
	if want := [4]Level{{100, 2}, {90, 2}, {110, 2}, {105, 2}}; up != want {
		t.Errorf("up bar: %v, want %v", up, want)
	}
	down := BarTrades(100, 110, 90, 95, 8)
	if want := [4]Level{{100, 2}, {110, 2}, {90, 2}, {95, 2}}; down != want {
		t.Errorf("down bar: %v, want %v", down, want)
	}
}

func TestMarketSlippageWithoutBook(t *testing.T) {
	m, err := New(Config{TakerFee: 0.001, Slippage: 0.002})
	if err != nil {
		t.Fatal(err)
	}
	m.OnTrade("BTCUSDT", 100, 1, 1)
	for _, c := range []struct {
		side  string
		price float64
	}{{SideBuy, 100.2}, {SideSell, 99.8}} {
		u, fills := m.Submit(Order{ID: c.side, Symbol: "BTCUSDT", Side: c.side, Type: TypeMarket, Qty: 2}, 2)
		if u.Status != StatusFilled || len(fills) != 1 {
			t.Fatalf("%s: %+v %+v", c.side, u, fills)
		}
		if f := fills[0]; f.Price != c.price || f.Qty != 2 || f.Maker {
			t.Errorf("%s: fill %+v, want 2 at %v as taker", c.side, f, c.price)
		}
	}
	if _, err := New(Config{Slippage: 1}); err == nil {
		t.Error("slippage 1 accepted")
	}
}
