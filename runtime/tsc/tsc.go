// Package tsc measures short intervals precisely on machines whose clock is
// coarse. On this project's machines (Firecracker VMs) time.Now advances in
// steps of 4 to 20 ms, which makes latencies of microseconds unmeasurable
// with it. The CPU's time-stamp counter is exact, but each vCPU's counter is
// offset from the others (by seconds, measured), so a measuring goroutine
// first calls Pin: every reading then comes from one counter, and a pair of
// readings from two CPUs is refused (Sub returns Invalid) rather than
// trusted. Used by benchmarks and measuring harnesses only.
package tsc

import (
	"bufio"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Invalid is what Sub returns for two readings from different CPUs.
const Invalid = time.Duration(-1)

// Stamp is a reading of the counter and the CPU it was read on.
type Stamp struct {
	ticks uint64
	cpu   uint32
}

var (
	freqOnce sync.Once
	nsPerTk  float64
)

// Pin locks the calling goroutine to its thread and the thread to one CPU
// (the first it may run on), so that its readings come from one counter.
// Call unpin when done. The CPU number RDTSCP reports is no Linux CPU
// number on these VMs (TSC_AUX reads 153 on vCPU 0): it only tells
// counters apart, so it cannot choose the CPU.
func Pin() (unpin func()) {
	runtime.LockOSThread()
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return runtime.UnlockOSThread
	}
	for cpu := 0; cpu < 1024; cpu++ {
		if old.IsSet(cpu) {
			set.Set(cpu)
			break
		}
	}
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return runtime.UnlockOSThread
	}
	return func() {
		_ = unix.SchedSetaffinity(0, &old)
		runtime.UnlockOSThread()
	}
}

// Now reads the counter.
func Now() Stamp {
	freqOnce.Do(frequency)
	t, c := rdtscp()
	return Stamp{ticks: t, cpu: c}
}

// Since returns the time elapsed since s, or Invalid.
func Since(s Stamp) time.Duration { return Now().Sub(s) }

// Sub returns the time between two readings, or Invalid when they come from
// different CPUs (or run backwards).
func (s Stamp) Sub(earlier Stamp) time.Duration {
	freqOnce.Do(frequency)
	if s.cpu != earlier.cpu || s.ticks < earlier.ticks {
		return Invalid
	}
	return time.Duration(float64(s.ticks-earlier.ticks) * nsPerTk)
}

// frequency takes the counter's rate from /proc/cpuinfo ("cpu MHz", which
// Linux reports as the TSC rate on these VMs), else calibrates it, pinned,
// against the clock over half a second.
func frequency() {
	if !haveTSC {
		nsPerTk = 1
		return
	}
	if mhz := cpuMHz(); mhz > 100 {
		nsPerTk = 1000 / mhz
		return
	}
	unpin := Pin()
	defer unpin()
	t1, c1 := time.Now(), first()
	for time.Since(t1) < 500*time.Millisecond {
	}
	t2, c2 := time.Now(), first()
	nsPerTk = float64(t2.Sub(t1).Nanoseconds()) / float64(c2-c1)
}

func first() uint64 { t, _ := rdtscp(); return t }

func cpuMHz() float64 {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "cpu MHz" {
			mhz, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return mhz
		}
	}
	return 0
}

// Percentiles returns the p-th percentiles (0 < p <= 100) of ds, which it
// sorts; Invalid samples are left out.
func Percentiles(ds []time.Duration, ps ...float64) []time.Duration {
	ds = slices.DeleteFunc(ds, func(d time.Duration) bool { return d == Invalid })
	out := make([]time.Duration, len(ps))
	if len(ds) == 0 {
		return out
	}
	slices.Sort(ds)
	for i, p := range ps {
		k := int(p/100*float64(len(ds))+0.5) - 1
		k = max(0, min(k, len(ds)-1))
		out[i] = ds[k]
	}
	return out
}
