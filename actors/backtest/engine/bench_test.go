package engine

import (
	"context"
	"testing"
)

// yearOf1m is a year of 1m bars.
const yearOf1m = 525_600

func smaConfig(n int) Config {
	return Config{
		Legs: []Leg{{Name: "bench", Kind: "sma_cross", Params: map[string]any{"fast": 10, "slow": 30},
			Symbol: "BTCUSDT", Interval: "1m", Allocation: 10_000, Bars: walk(n, 1, 40_000)}},
		MakerFee: 0.001, TakerFee: 0.001, Slippage: 0.0005,
	}
}

// BenchmarkRunSMA is the figure: one sma_cross on a year of 1m
// bars, single core. It reports candles/s, and the floor: a bare loop that
// reads the same bars and sums their closes.
func BenchmarkRunSMA(b *testing.B) {
	cfg := smaConfig(yearOf1m)
	b.ReportAllocs()
	b.ResetTimer()
	var bars int64
	for range b.N {
		res, err := Run(context.Background(), cfg, nil)
		if err != nil {
			b.Fatal(err)
		}
		bars += res.Bars
	}
	b.ReportMetric(float64(bars)/b.Elapsed().Seconds(), "candles/s")
}

// BenchmarkFloorSumCloses is the floor the figures are measured against:
// a bare loop over the same bars summing their closes.
func BenchmarkFloorSumCloses(b *testing.B) {
	bars := walk(yearOf1m, 1, 40_000)
	b.ResetTimer()
	sum := 0.0
	for range b.N {
		for i := range bars {
			sum += bars[i].Close
		}
	}
	b.ReportMetric(float64(b.N)*yearOf1m/b.Elapsed().Seconds(), "candles/s")
	if sum == 0 {
		b.Fatal("no closes")
	}
}

// BenchmarkRunSMANoTrades is the bar path alone: sma_cross with nothing
// to spend never places an order.
func BenchmarkRunSMANoTrades(b *testing.B) {
	cfg := smaConfig(yearOf1m)
	cfg.Legs[0].Allocation = 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := Run(context.Background(), cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)*yearOf1m/b.Elapsed().Seconds(), "candles/s")
}
