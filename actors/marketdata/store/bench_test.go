package store

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's CPU time so far (user and system, all threads).
// On this shared machine wall time mostly measures the other tenants: the
// benchmarks report both.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportLoad reports wall and CPU milliseconds per iteration.
func reportLoad(b *testing.B, cpu0 time.Duration) {
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/load")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/load")
}

// yearOfMinutes is 2023 in 1-minute bars: 525,600 of them.
const yearOfMinutes = 525_600

// benchStore writes a year of 1-minute bars into a fresh store (not timed).
func benchStore(b *testing.B) *Store {
	b.Helper()
	s, err := Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	if added, err := s.Write("BTCUSDT", "1m", minutes(start, yearOfMinutes)); err != nil || added != yearOfMinutes {
		b.Fatalf("Write = %d, %v", added, err)
	}
	return s
}

// BenchmarkLoadYear1m is the figure "load of one year of 1-minute candles
// from the store: <= 50 ms" (ms/op). BenchmarkLoadYear1mFloor, in the same
// run, reads the same files' bytes with os.ReadFile: the floor.
func BenchmarkLoadYear1m(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		bars, err := s.Load("BTCUSDT", "1m", 0, 0)
		if err != nil || len(bars) != yearOfMinutes {
			b.Fatalf("Load = %d bars, %v", len(bars), err)
		}
	}
	reportLoad(b, cpu0)
}

// BenchmarkLoadYear1mFloor reads the bytes BenchmarkLoadYear1m decodes.
func BenchmarkLoadYear1mFloor(b *testing.B) {
	s := benchStore(b)
	dir := filepath.Join(s.Dir(), "BTCUSDT", "1m")
	files, err := filepath.Glob(filepath.Join(dir, "*"+fileExt))
	if err != nil || len(files) != 12 {
		b.Fatalf("%d files, %v", len(files), err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		n := 0
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			n += len(data)
		}
		if n != 12*headerSize+yearOfMinutes*recordSize {
			b.Fatalf("read %d bytes", n)
		}
	}
	reportLoad(b, cpu0)
}

// BenchmarkLoadYear5m loads the same year aggregated to 5 minutes.
func BenchmarkLoadYear5m(b *testing.B) {
	s := benchStore(b)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		bars, err := s.Load("BTCUSDT", "5m", 0, 0)
		if err != nil || len(bars) != yearOfMinutes/5 {
			b.Fatalf("Load = %d bars, %v", len(bars), err)
		}
	}
	reportLoad(b, cpu0)
}

// BenchmarkLoadYear1mFloorReuse reads the same bytes into one reused
// buffer: the cost of the reads alone, no allocation.
func BenchmarkLoadYear1mFloorReuse(b *testing.B) {
	s := benchStore(b)
	files, err := filepath.Glob(filepath.Join(s.Dir(), "BTCUSDT", "1m", "*"+fileExt))
	if err != nil || len(files) != 12 {
		b.Fatalf("%d files, %v", len(files), err)
	}
	buf := make([]byte, 0, 3<<20)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		n := 0
		for _, path := range files {
			f, err := os.Open(path)
			if err != nil {
				b.Fatal(err)
			}
			st, err := f.Stat()
			if err != nil {
				b.Fatal(err)
			}
			buf = buf[:st.Size()]
			if _, err := io.ReadFull(f, buf); err != nil {
				b.Fatal(err)
			}
			_ = f.Close()
			n += len(buf)
		}
		if n != 12*headerSize+yearOfMinutes*recordSize {
			b.Fatalf("read %d bytes", n)
		}
	}
	reportLoad(b, cpu0)
}

// BenchmarkWriteYearInPages writes a year of 1-minute bars the way a
// download does, 1000 bars a page, each page merged into its month file.
func BenchmarkWriteYearInPages(b *testing.B) {
	start := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	bars := minutes(start, yearOfMinutes)
	b.ReportAllocs()
	cpu0 := cpuTime(b)
	for b.Loop() {
		b.StopTimer()
		s, err := Open(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		for i := 0; i < len(bars); i += 1000 {
			if _, err := s.Write("BTCUSDT", "1m", bars[i:min(i+1000, len(bars))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	cpu := cpuTime(b) - cpu0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/year")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/year")
}
