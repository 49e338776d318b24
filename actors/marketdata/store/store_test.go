package store

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// minutes makes n 1-minute bars from start, prices rising by one a bar.
func minutes(start int64, n int) []strategy.Bar {
	bars := make([]strategy.Bar, n)
	for i := range bars {
		p := 100 + float64(i)
		bars[i] = strategy.Bar{OpenTimeMs: start + int64(i)*minuteMs, CloseTimeMs: start + int64(i+1)*minuteMs - 1,
			Open: p, High: p + 0.5, Low: p - 0.5, Close: p + 0.25, Volume: float64(i%7) + 0.125}
	}
	return bars
}

func mustLoad(t *testing.T, s *Store, symbol, interval string, from, to int64) []strategy.Bar {
	t.Helper()
	bars, err := s.Load(symbol, interval, from, to)
	if err != nil {
		t.Fatalf("Load(%s, %s, %d, %d): %v", symbol, interval, from, to, err)
	}
	return bars
}

func TestAggregateHandChecked(t *testing.T) {
	s := openTemp(t)
	if _, err := Import(s, filepath.Join("testdata", "BTCUSDT-1m-2024-01-15.csv")); err != nil {
		t.Fatal(err)
	}
	t0 := ms(t, "2024-01-15T00:00:00Z")
	got := mustLoad(t, s, "BTCUSDT", "5m", t0, t0+10*minuteMs)
	// Minutes 0, 1, 2 and 4 (3 is missing), then 5 to 9, from the CSV.
	want := []strategy.Bar{
		{OpenTimeMs: t0, CloseTimeMs: t0 + 5*minuteMs - 1,
			Open: 42000.10, High: 42050.00, Low: 41990.50, Close: 42049.99, Volume: 1.5 + 2.25 + 0.75 + 3.0},
		{OpenTimeMs: t0 + 5*minuteMs, CloseTimeMs: t0 + 10*minuteMs - 1,
			Open: 42049.99, High: 42060.00, Low: 41900.00, Close: 41975.00, Volume: 1.0 + 4.5 + 2.0 + 0.5 + 1.25},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("5m =\n%+v\nwant\n%+v", got, want)
	}
	// The same through Aggregate directly.
	raw := mustLoad(t, s, "BTCUSDT", "1m", 0, 0)
	agg, err := Aggregate(raw, "1m", "5m")
	if err != nil || !reflect.DeepEqual(agg, want) {
		t.Fatalf("Aggregate = %+v, %v", agg, err)
	}
	// A range starting inside a bucket leaves that bucket out; one ending
	// inside a bucket keeps it whole.
	got = mustLoad(t, s, "BTCUSDT", "5m", t0+minuteMs, t0+6*minuteMs)
	if !reflect.DeepEqual(got, want[1:]) {
		t.Fatalf("5m from minute 1 to 6 = %+v, want %+v", got, want[1:])
	}
	// 1h from 1m: one bar from the ten minutes there are.
	h := mustLoad(t, s, "BTCUSDT", "1h", 0, 0)
	if len(h) != 1 || h[0].Open != 42000.10 || h[0].Close != 41975 || h[0].Low != 41900 || h[0].High != 42060 {
		t.Fatalf("1h = %+v", h)
	}
}

func TestAggregateRefusesAndWeeks(t *testing.T) {
	for _, tc := range [][2]string{{"5m", "7m"}, {"1h", "30m"}, {"1m", "1M"}, {"x", "1h"}, {"3d", "1w"}} {
		if _, err := Aggregate(nil, tc[0], tc[1]); err == nil {
			t.Errorf("Aggregate %s -> %s succeeded", tc[0], tc[1])
		}
	}
	// Daily bars from Thursday 2024-01-04 to Tuesday 2024-01-09: weekly
	// bars open on Mondays (2024-01-01 and 2024-01-08).
	var days []strategy.Bar
	for i := 0; i < 6; i++ {
		open := ms(t, "2024-01-04T00:00:00Z") + int64(i)*dayMs
		p := float64(10 + i)
		days = append(days, strategy.Bar{OpenTimeMs: open, Open: p, High: p + 1, Low: p - 1, Close: p, Volume: 1})
	}
	weeks, err := Aggregate(days, "1d", "1w")
	if err != nil {
		t.Fatal(err)
	}
	want := []strategy.Bar{
		{OpenTimeMs: ms(t, "2024-01-01T00:00:00Z"), CloseTimeMs: ms(t, "2024-01-08T00:00:00Z") - 1, Open: 10, High: 14, Low: 9, Close: 13, Volume: 4},
		{OpenTimeMs: ms(t, "2024-01-08T00:00:00Z"), CloseTimeMs: ms(t, "2024-01-15T00:00:00Z") - 1, Open: 14, High: 16, Low: 13, Close: 15, Volume: 2},
	}
	if !reflect.DeepEqual(weeks, want) {
		t.Fatalf("weeks = %+v, want %+v", weeks, want)
	}
	if _, err := Aggregate([]strategy.Bar{days[1], days[0]}, "1d", "1w"); err == nil {
		t.Fatal("Aggregate of bars out of order succeeded")
	}
}

func TestIntervalMs(t *testing.T) {
	good := map[string]int64{"1s": 1000, "1m": 60_000, "3m": 180_000, "15m": 900_000, "1h": 3_600_000,
		"4h": 14_400_000, "12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000, "1w": 604_800_000}
	for iv, want := range good {
		if got, err := IntervalMs(iv); err != nil || got != want {
			t.Errorf("IntervalMs(%q) = %d, %v; want %d", iv, got, err, want)
		}
	}
	for _, iv := range []string{"1M", "", "m", "0m", "-1m", "+1m", "01m", "1y", "1.5h", "99999w", "1 m"} {
		if got, err := IntervalMs(iv); err == nil {
			t.Errorf("IntervalMs(%q) = %d, want an error", iv, got)
		}
	}
}

func TestLoadRanges(t *testing.T) {
	s := openTemp(t)
	// Across a month boundary, so two files.
	start := ms(t, "2024-01-31T23:50:00Z")
	bars := minutes(start, 20)
	if added, err := s.Write("BTCUSDT", "1m", bars); err != nil || added != 20 {
		t.Fatalf("Write = %d, %v", added, err)
	}
	if files, _ := filepath.Glob(filepath.Join(s.Dir(), "BTCUSDT", "1m", "*.bars")); len(files) != 2 {
		t.Fatalf("series directory holds %v, want 2 month files", files)
	}
	cases := []struct {
		name     string
		from, to int64
		first, n int
	}{
		{"all", 0, 0, 0, 20},
		{"from inside", start + 5*minuteMs, 0, 5, 15},
		{"to exclusive", 0, start + 5*minuteMs, 0, 5},
		{"across months", start + 8*minuteMs, start + 12*minuteMs, 8, 4},
		{"mid-bar bounds", start + 8*minuteMs + 1, start + 12*minuteMs + 1, 9, 4},
		{"after the end", start + 30*minuteMs, 0, 0, 0},
		{"before the start", 0, start, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mustLoad(t, s, "BTCUSDT", "1m", tc.from, tc.to)
			if len(got) != tc.n {
				t.Fatalf("%d bars, want %d", len(got), tc.n)
			}
			if tc.n > 0 && !reflect.DeepEqual(got, bars[tc.first:tc.first+tc.n]) {
				t.Fatalf("got %+v, want %+v", got, bars[tc.first:tc.first+tc.n])
			}
		})
	}
	if _, err := s.Load("BTCUSDT", "1m", 10, 10); err == nil {
		t.Fatal("an empty range loaded")
	}
	// A second Store on the same directory sees the same.
	s2, err := Open(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if got := mustLoad(t, s2, "BTCUSDT", "1m", 0, 0); !reflect.DeepEqual(got, bars) {
		t.Fatal("a reopened store loads other bars")
	}
	if last, ok, err := s2.Last("BTCUSDT", "1m"); err != nil || !ok || last != bars[19].OpenTimeMs {
		t.Fatalf("Last = %d, %v, %v; want %d", last, ok, err, bars[19].OpenTimeMs)
	}
	if _, ok, err := s2.Last("ETHUSDT", "1m"); err != nil || ok {
		t.Fatalf("Last of nothing = %v, %v", ok, err)
	}
}

func TestLoadNothingNamesWhatIsThere(t *testing.T) {
	s := openTemp(t)
	if _, err := s.Load("BTCUSDT", "1m", 0, 0); !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Load from an empty store: %v", err)
	}
	if _, err := s.Write("BTCUSDT", "1h", []strategy.Bar{{OpenTimeMs: 0, Open: 1, High: 1, Low: 1, Close: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err := s.Load("BTCUSDT", "1m", 0, 0)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "stored for BTCUSDT: 1h") {
		t.Fatalf("Load of a finer interval: %v", err)
	}
	_, err = s.Load("ETHUSDT", "1h", 0, 0)
	if !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "stored symbols: BTCUSDT") {
		t.Fatalf("Load of another symbol: %v", err)
	}
	if got := mustLoad(t, s, "BTCUSDT", "4h", 0, 0); len(got) != 1 || got[0].CloseTimeMs != 4*hourMs-1 {
		t.Fatalf("4h from 1h = %+v", got)
	}
}

func TestWriteReplacesAndRefuses(t *testing.T) {
	s := openTemp(t)
	start := ms(t, "2024-03-01T00:00:00Z")
	bars := minutes(start, 5)
	if added, err := s.Write("BTCUSDT", "1m", bars); err != nil || added != 5 {
		t.Fatalf("Write = %d, %v", added, err)
	}
	// Out of order, a duplicate within the batch (the last wins), one new.
	upd := []strategy.Bar{bars[2], bars[5-1], bars[0], minutes(start+5*minuteMs, 1)[0]}
	upd[0].Close = 101.75
	upd = append(upd, upd[0])
	upd[len(upd)-1].Close = 102.0
	if added, err := s.Write("BTCUSDT", "1m", upd); err != nil || added != 1 {
		t.Fatalf("second Write = %d, %v; want 1 added", added, err)
	}
	got := mustLoad(t, s, "BTCUSDT", "1m", 0, 0)
	if len(got) != 6 || got[2].Close != 102.0 {
		t.Fatalf("after replace: %d bars, bar 2 closes %v", len(got), got[2].Close)
	}

	good := minutes(start+time30d, 1)[0]
	bad := map[string]func(b *strategy.Bar){
		"zero price":     func(b *strategy.Bar) { b.Low = 0 },
		"NaN":            func(b *strategy.Bar) { b.Close = math.NaN() },
		"infinite":       func(b *strategy.Bar) { b.High = math.Inf(1) },
		"negative vol":   func(b *strategy.Bar) { b.Volume = -1 },
		"low above high": func(b *strategy.Bar) { b.Low, b.High = b.High, b.Low },
		"open above":     func(b *strategy.Bar) { b.Open = b.High + 1 },
		"off the grid":   func(b *strategy.Bar) { b.OpenTimeMs += 1000 },
		"negative time":  func(b *strategy.Bar) { b.OpenTimeMs = -minuteMs },
	}
	for name, spoil := range bad {
		b := good
		spoil(&b)
		if _, err := s.Write("BTCUSDT", "1m", []strategy.Bar{good, b}); err == nil || !strings.Contains(err.Error(), "bar 1") {
			t.Errorf("%s: Write = %v, want an error naming bar 1", name, err)
		}
	}
	for _, sym := range []string{"", "btcusdt", "../x", "BTC/USDT", strings.Repeat("A", 21)} {
		if _, err := s.Write(sym, "1m", []strategy.Bar{good}); err == nil {
			t.Errorf("Write to symbol %q succeeded", sym)
		}
	}
	if got := mustLoad(t, s, "BTCUSDT", "1m", 0, 0); len(got) != 6 {
		t.Fatalf("refused writes changed the store: %d bars", len(got))
	}
}

const time30d = 30 * dayMs

func TestListRangesGapsAndSize(t *testing.T) {
	s := openTemp(t)
	if _, err := Import(s, "testdata"); err != nil {
		t.Fatal(err)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []Series{
		{Symbol: "BNBUSDT", Interval: "1h", FromMs: ms(t, "2024-02-01T00:00:00Z"), ToMs: ms(t, "2024-02-01T03:00:00Z") - 1,
			Bars: 3, Bytes: headerSize + 3*recordSize},
		{Symbol: "BTCUSDT", Interval: "1m", FromMs: ms(t, "2024-01-15T00:00:00Z"), ToMs: ms(t, "2024-01-16T00:05:00Z") - 1,
			Bars: 14, Bytes: headerSize + 14*recordSize, Gaps: []Gap{
				{FromMs: ms(t, "2024-01-15T00:03:00Z"), ToMs: ms(t, "2024-01-15T00:04:00Z")},
				{FromMs: ms(t, "2024-01-15T00:10:00Z"), ToMs: ms(t, "2024-01-16T00:00:00Z")},
			}},
		{Symbol: "ETHUSDT", Interval: "1m", FromMs: ms(t, "2025-01-02T00:00:00Z"), ToMs: ms(t, "2025-01-03T00:03:00Z") - 1,
			Bars: 6, Bytes: headerSize + 6*recordSize, Gaps: []Gap{
				{FromMs: ms(t, "2025-01-02T00:03:00Z"), ToMs: ms(t, "2025-01-03T00:00:00Z")},
			}},
	}
	if !reflect.DeepEqual(list, want) {
		t.Fatalf("List =\n%+v\nwant\n%+v", list, want)
	}
}

func TestCorruptFilesAreNamedErrors(t *testing.T) {
	cases := map[string]func(t *testing.T, path string){
		"truncated": func(t *testing.T, path string) {
			st, _ := os.Stat(path)
			if err := os.Truncate(path, st.Size()-10); err != nil {
				t.Fatal(err)
			}
		},
		"header only half": func(t *testing.T, path string) {
			if err := os.Truncate(path, 20); err != nil {
				t.Fatal(err)
			}
		},
		"flipped byte": func(t *testing.T, path string) { flip(t, path, headerSize+50) },
		"bad header":   func(t *testing.T, path string) { flip(t, path, 17) },
		"grown": func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write(make([]byte, recordSize)); err != nil {
				t.Fatal(err)
			}
		},
		"huge": func(t *testing.T, path string) {
			if err := os.Truncate(path, 1<<30); err != nil { // sparse
				t.Fatal(err)
			}
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			s := openTemp(t)
			if _, err := s.Write("BTCUSDT", "1m", minutes(ms(t, "2024-05-01T00:00:00Z"), 10)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(s.Dir(), "BTCUSDT", "1m", "2024-05.bars")
			spoil(t, path)
			_, errLoad := s.Load("BTCUSDT", "1m", 0, 0)
			_, errList := s.List()
			_, _, errLast := s.Last("BTCUSDT", "1m")
			_, errWrite := s.Write("BTCUSDT", "1m", minutes(ms(t, "2024-05-02T00:00:00Z"), 1))
			for _, err := range []error{errLoad, errList, errLast, errWrite} {
				if err == nil || !strings.Contains(err.Error(), path) || !errors.Is(err, errCorrupt) {
					t.Fatalf("on a %s file: %v; want an error naming %s", name, err, path)
				}
			}
		})
	}
}

func flip(t *testing.T, path string, at int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[at] ^= 0x40
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestWriteAcrossFilesIsAllOrNothing(t *testing.T) {
	s := openTemp(t)
	jan, feb := ms(t, "2024-01-10T00:00:00Z"), ms(t, "2024-02-10T00:00:00Z")
	if _, err := s.Write("BTCUSDT", "1m", append(minutes(jan, 3), minutes(feb, 3)...)); err != nil {
		t.Fatal(err)
	}
	flip(t, filepath.Join(s.Dir(), "BTCUSDT", "1m", "2024-02.bars"), headerSize+1)
	// New bars in both months: February's file is corrupt, so January's
	// must not change either.
	if _, err := s.Write("BTCUSDT", "1m", append(minutes(jan+time30d/30, 3), minutes(feb+time30d/30, 3)...)); err == nil {
		t.Fatal("Write over a corrupt file succeeded")
	}
	got, err := s.Load("BTCUSDT", "1m", 0, ms(t, "2024-02-01T00:00:00Z"))
	if err != nil || len(got) != 3 {
		t.Fatalf("January after a failed write: %d bars, %v; want 3", len(got), err)
	}
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), "BTCUSDT", "1m"))
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Fatalf("a failed write left %s behind", e.Name())
		}
	}
}

func TestFormatSize(t *testing.T) {
	for in, want := range map[int64]string{0: "0 B", 512: "512 B", 1023: "1023 B", 1024: "1.0 KiB",
		1536: "1.5 KiB", 25_228_832: "24.1 MiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB"} {
		if got := FormatSize(in); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", in, got, want)
		}
	}
}

// TestAppendedFileIsTheOneShotFile: a month written page by page (the
// download's fast path, which appends without decoding) is byte for byte
// the file one Write of the whole month makes.
func TestAppendedFileIsTheOneShotFile(t *testing.T) {
	bars := minutes(ms(t, "2024-08-01T00:00:00Z"), 2500)
	paged, whole := openTemp(t), openTemp(t)
	for i := 0; i < len(bars); i += 1000 {
		if added, err := paged.Write("BTCUSDT", "1m", bars[i:min(i+1000, len(bars))]); err != nil || added != min(1000, len(bars)-i) {
			t.Fatalf("page %d: Write = %d, %v", i/1000, added, err)
		}
	}
	if _, err := whole.Write("BTCUSDT", "1m", bars); err != nil {
		t.Fatal(err)
	}
	a, errA := os.ReadFile(filepath.Join(paged.Dir(), "BTCUSDT", "1m", "2024-08.bars"))
	b, errB := os.ReadFile(filepath.Join(whole.Dir(), "BTCUSDT", "1m", "2024-08.bars"))
	if errA != nil || errB != nil || !bytes.Equal(a, b) {
		t.Fatalf("paged file (%d bytes, %v) differs from the one-shot file (%d bytes, %v)", len(a), errA, len(b), errB)
	}
	if got := mustLoad(t, paged, "BTCUSDT", "1m", 0, 0); !reflect.DeepEqual(got, bars) {
		t.Fatal("the paged series loads other bars")
	}
}

func TestFilesPerDayMonthYear(t *testing.T) {
	s := openTemp(t)
	start := ms(t, "2024-12-31T23:59:58Z")
	for _, tc := range []struct {
		interval string
		step     int64
		want     []string
	}{
		{"1s", secondMs, []string{"2024-12-31.bars", "2025-01-01.bars"}},
		{"1m", minuteMs, []string{"2024-12.bars", "2025-01.bars"}},
		{"1h", hourMs, []string{"2024.bars", "2025.bars"}},
	} {
		open := start - floorMod(start, tc.step)
		bars := []strategy.Bar{{OpenTimeMs: open, Open: 1, High: 1, Low: 1, Close: 1},
			{OpenTimeMs: open + 2*tc.step, Open: 2, High: 2, Low: 2, Close: 2}}
		if _, err := s.Write("BTCUSDT", tc.interval, bars); err != nil {
			t.Fatal(err)
		}
		files, _ := filepath.Glob(filepath.Join(s.Dir(), "BTCUSDT", tc.interval, "*.bars"))
		for i := range files {
			files[i] = filepath.Base(files[i])
		}
		if !reflect.DeepEqual(files, tc.want) {
			t.Errorf("%s: files %v, want %v", tc.interval, files, tc.want)
		}
		got := mustLoad(t, s, "BTCUSDT", tc.interval, 0, 0)
		if len(got) != 2 || got[1].OpenTimeMs != open+2*tc.step {
			t.Errorf("%s: loaded %+v", tc.interval, got)
		}
	}
}

// TestAggregatedLoadIsAggregateOfLoad: an aggregated load across files and
// ranges gives the buckets Aggregate makes of the whole finer series,
// those opening in the range.
func TestAggregatedLoadIsAggregateOfLoad(t *testing.T) {
	s := openTemp(t)
	start := ms(t, "2024-01-31T22:47:00Z")
	bars := minutes(start, 200)
	bars = append(bars[:50], bars[53:]...) // a gap
	if _, err := s.Write("BTCUSDT", "1m", bars); err != nil {
		t.Fatal(err)
	}
	for _, iv := range []string{"5m", "15m", "1h"} {
		all, err := Aggregate(bars, "1m", iv)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range [][2]int64{{0, 0}, {start + 7*minuteMs, 0}, {0, start + 100*minuteMs},
			{start + 13*minuteMs, start + 77*minuteMs + 1}, {ms(t, "2024-02-01T00:00:00Z"), ms(t, "2024-02-01T01:00:00Z")}} {
			var want []strategy.Bar
			for _, b := range all {
				if b.OpenTimeMs >= r[0] && (r[1] == 0 || b.OpenTimeMs < r[1]) {
					want = append(want, b)
				}
			}
			got := mustLoad(t, s, "BTCUSDT", iv, r[0], r[1])
			if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
				t.Fatalf("%s in [%d, %d): %d bars, want %d", iv, r[0], r[1], len(got), len(want))
			}
		}
	}
}
