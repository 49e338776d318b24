package exchangesim

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
)

// The integer random-walk step is the decimal one, to the tick: the same
// seed still gives the same path.
func TestIntWalkMatchesDecimal(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	vols := []string{"0.0005", "0", "0.1", "1", "0.05", "0.123456789", "0.000000000000001", "2.5", "1e3", "0.0000000000000001"}
	pxs := []int64{0, 1, 2, 999, 1000, 1001, 6500000, 1 << 40, math.MaxInt64 / 1000}
	for _, v := range vols {
		vol := decimal.RequireFromString(v)
		w := newIntWalk(vol)
		for i := 0; i < 20000; i++ {
			px := pxs[r.IntN(len(pxs))]
			if i%2 == 0 {
				px = r.Int64N(1 << 33)
			}
			k := int64(r.IntN(2001) - 1000)
			want := decimal.New(px, 0).Mul(vol).Mul(decimal.New(k, -3)).Round(0).IntPart()
			got, ok := w.move(px, k)
			if !ok {
				if px <= w.maxPx && w.div != 0 {
					t.Fatalf("vol %s px %d: refused within its range", v, px)
				}
				continue
			}
			if got != want {
				t.Fatalf("vol %s px %d k %d: int %d, decimal %d", v, px, k, got, want)
			}
		}
	}
	if w := newIntWalk(decimal.RequireFromString("0.0005")); w.div == 0 {
		t.Fatal("the default volatility takes the decimal path")
	}
}
