package engine

import (
	"context"
	"syscall"
	"testing"
	"time"
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

// cpuTime is the process's CPU time so far (user and system, all
// threads: the GC's too). On this shared machine the wall clock of a
// benchmark stretches with the other processes' load; the CPU time much
// less so. Both are reported.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds candles/s by the wall clock and by CPU time.
func report(b *testing.B, candles float64, cpu time.Duration) {
	b.ReportMetric(candles/b.Elapsed().Seconds(), "candles/s")
	if cpu > 0 {
		b.ReportMetric(candles/cpu.Seconds(), "candles/cpu-s")
	}
}

// BenchmarkRunSMA is the figure: one sma_cross (10/30, trading
// about once every 27 bars on this walk) on a year of 1m bars, single
// goroutine (run it with -cpu 1 for a single core).
func BenchmarkRunSMA(b *testing.B) {
	cfg := smaConfig(yearOf1m)
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		if _, err := Run(context.Background(), cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	report(b, float64(b.N)*yearOf1m, cpuTime()-c0)
}

// BenchmarkRunSMANoTrades is the bar path alone: sma_cross with nothing
// to spend never places an order.
func BenchmarkRunSMANoTrades(b *testing.B) {
	cfg := smaConfig(yearOf1m)
	cfg.Legs[0].Allocation = 0
	b.ReportAllocs()
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		if _, err := Run(context.Background(), cfg, nil); err != nil {
			b.Fatal(err)
		}
	}
	report(b, float64(b.N)*yearOf1m, cpuTime()-c0)
}

// BenchmarkFloorSumCloses is the floor the figures are measured against:
// a bare loop over the same bars summing their closes.
func BenchmarkFloorSumCloses(b *testing.B) {
	bars := walk(yearOf1m, 1, 40_000)
	b.ResetTimer()
	c0 := cpuTime()
	sum := 0.0
	for range b.N {
		for i := range bars {
			sum += bars[i].Close
		}
	}
	report(b, float64(b.N)*yearOf1m, cpuTime()-c0)
	if sum == 0 {
		b.Fatal("no closes")
	}
}

// BenchmarkSweep100 is the other figure: a 100-point sweep (fast
// 3..12 x slow 20..65) over a year of 1m bars on 2 workers. Its score is
// the final equity (the report package's scores cost one pass over the
// equity curve more per point).
func BenchmarkSweep100(b *testing.B) {
	sc := SweepConfig{Base: smaConfig(yearOf1m), Score: finalEquity, Workers: 2}
	var fast, slow []float64
	for i := range 10 {
		fast, slow = append(fast, float64(3+i)), append(slow, float64(20+5*i))
	}
	sc.Params = []Param{{Name: "fast", Values: fast}, {Name: "slow", Values: slow}}
	b.ResetTimer()
	c0 := cpuTime()
	for range b.N {
		got, err := Sweep(context.Background(), sc, nil)
		if err != nil || len(got) != 100 {
			b.Fatal(len(got), err)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/sweep")
	b.ReportMetric((cpuTime()-c0).Seconds()/float64(b.N), "cpu-s/sweep")
	report(b, float64(b.N)*100*yearOf1m, cpuTime()-c0)
}
