package engine

import (
	"math"
	"math/rand/v2"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// minute is a 1m bar's length in ms.
const minute = int64(60_000)

// t0 is 2024-01-01T00:00:00Z.
const t0 = int64(1_704_067_200_000)

// walk returns n 1m bars of a seeded random walk around start.
func walk(n int, seed uint64, start float64) []strategy.Bar {
	rng := rand.New(rand.NewPCG(seed, 7))
	bars := make([]strategy.Bar, n)
	price := start
	for i := range bars {
		open := price
		close := open * math.Exp(rng.NormFloat64()*0.001)
		hi := max(open, close) * (1 + rng.Float64()*0.0005)
		lo := min(open, close) * (1 - rng.Float64()*0.0005)
		bars[i] = strategy.Bar{OpenTimeMs: t0 + int64(i)*minute, CloseTimeMs: t0 + int64(i)*minute + minute - 1,
			Open: open, High: hi, Low: lo, Close: close, Volume: 1 + rng.Float64()*10}
		price = close
	}
	return bars
}

// bar builds one 1m bar at index i.
func bar(i int, o, h, l, c, v float64) strategy.Bar {
	return strategy.Bar{OpenTimeMs: t0 + int64(i)*minute, CloseTimeMs: t0 + int64(i)*minute + minute - 1,
		Open: o, High: h, Low: l, Close: c, Volume: v}
}
