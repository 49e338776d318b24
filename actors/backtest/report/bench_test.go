package report

import (
	"io"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user and system time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkComputeAndHTML is the report's share of a year of 1-minute
// bars (525,600 equity points and bars, 5,418 fills): Compute then
// WriteHTML. cpu-ms/op is the process's CPU time (GC included), which a
// loaded machine inflates less than the wall time.
func BenchmarkComputeAndHTML(b *testing.B) {
	r := yearResult()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		m := Compute(r)
		if err := WriteHTML(io.Discard, r, m, "year"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkCompute is Compute alone on the same year (a sweep computes
// it once per run to score).
func BenchmarkCompute(b *testing.B) {
	r := yearResult()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	for b.Loop() {
		Compute(r)
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}

// BenchmarkFloorSumEquity is a floor to read the others against on a
// loaded machine: one bare pass over the same year's equity points.
func BenchmarkFloorSumEquity(b *testing.B) {
	r := yearResult()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	sum := 0.0
	for b.Loop() {
		for _, p := range r.Equity {
			sum += p.Equity
		}
	}
	b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
	if sum == 0 {
		b.Fatal("no equity")
	}
}
