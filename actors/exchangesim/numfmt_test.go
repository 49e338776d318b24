package exchangesim

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// The fast 8-decimal rendering equals fmt8 of the decimal value, for every unit shape.
func TestFastFormatMatchesDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	units := []string{"0.01", "0.00001", "1", "0.00000001", "0.5", "10", "0.000000001", "0.25", "123.456"}
	for _, tu := range units {
		for _, su := range units {
			m := &market{tickSz: decimal.RequireFromString(tu), step: decimal.RequireFromString(su)}
			for i := range 2000 {
				n := r.Int64N(1 << 40)
				if i%3 == 0 {
					n = r.Int64N(1000)
				}
				if got, want := string(m.appendPx(nil, n)), fmt8(m.price(n)); got != want {
					t.Fatalf("tick %s px %d: %s, want %s", tu, n, got, want)
				}
				if got, want := string(m.appendQty(nil, n)), fmt8(m.qty(n)); got != want {
					t.Fatalf("step %s qty %d: %s, want %s", su, n, got, want)
				}
				var q u128
				q.addMul(n, r.Int64N(1<<20))
				if got, want := string(m.appendQuote(nil, q)), fmt8(m.quoteDec(q)); got != want {
					t.Fatalf("tick %s step %s quote %v: %s, want %s", tu, su, q, got, want)
				}
			}
		}
	}
}
