package store

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

func ms(t *testing.T, s string) int64 {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm.UnixMilli()
}

func openTemp(t *testing.T) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestImportTestdata(t *testing.T) {
	s := openTemp(t)
	got, err := Import(s, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := []Imported{
		{Symbol: "BNBUSDT", Interval: "1h", Files: 1, Added: 3},
		{Symbol: "BTCUSDT", Interval: "1m", Files: 2, Added: 14},
		{Symbol: "ETHUSDT", Interval: "1m", Files: 2, Added: 6},
	}
	if !equalImported(got, want) {
		t.Fatalf("Import = %+v, want %+v", got, want)
	}

	// The first row of the plain millisecond file, every field exact.
	bars, err := s.Load("BTCUSDT", "1m", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := strategy.Bar{OpenTimeMs: 1705276800000, CloseTimeMs: 1705276859999,
		Open: 42000.10, High: 42010.00, Low: 41990.50, Close: 42005.25, Volume: 1.5}
	if len(bars) != 14 || bars[0] != first {
		t.Fatalf("BTCUSDT 1m: %d bars, first %+v; want 14, first %+v", len(bars), bars[0], first)
	}
	// The zipped file's last row.
	last := strategy.Bar{OpenTimeMs: ms(t, "2024-01-16T00:04:00Z"), CloseTimeMs: ms(t, "2024-01-16T00:04:59.999Z"),
		Open: 43060, High: 43070, Low: 43055, Close: 43065, Volume: 0.3}
	if bars[13] != last {
		t.Fatalf("last BTCUSDT bar %+v, want %+v", bars[13], last)
	}

	// Microsecond open times (plain and zipped) are stored in milliseconds.
	eth, err := s.Load("ETHUSDT", "1m", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantOpens := []int64{1735776000000, 1735776060000, 1735776120000, 1735862400000, 1735862460000, 1735862520000}
	if len(eth) != len(wantOpens) {
		t.Fatalf("ETHUSDT: %d bars, want %d", len(eth), len(wantOpens))
	}
	for i, b := range eth {
		if b.OpenTimeMs != wantOpens[i] || b.CloseTimeMs != wantOpens[i]+59_999 {
			t.Fatalf("ETHUSDT bar %d opens %d closes %d, want %d", i, b.OpenTimeMs, b.CloseTimeMs, wantOpens[i])
		}
	}
	if eth[2].Low != 3395.5 || eth[2].Volume != 30 {
		t.Fatalf("ETHUSDT bar 2 = %+v", eth[2])
	}

	// The header line is skipped, the CRLF endings too.
	bnb, err := s.Load("BNBUSDT", "1h", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(bnb) != 3 || bnb[0].OpenTimeMs != ms(t, "2024-02-01T00:00:00Z") || bnb[2].Close != 298.5 {
		t.Fatalf("BNBUSDT 1h = %+v", bnb)
	}
}

func equalImported(a, b []Imported) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImportTwiceAddsNothingAndRewritesNothing(t *testing.T) {
	s := openTemp(t)
	if _, err := Import(s, "testdata"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(s.Dir(), "BTCUSDT", "1m", "2024-01.bars")
	before, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Import(s, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := []Imported{
		{Symbol: "BNBUSDT", Interval: "1h", Files: 1, Duplicates: 3},
		{Symbol: "BTCUSDT", Interval: "1m", Files: 2, Duplicates: 14},
		{Symbol: "ETHUSDT", Interval: "1m", Files: 2, Duplicates: 6},
	}
	if !equalImported(got, want) {
		t.Fatalf("second Import = %+v, want %+v", got, want)
	}
	after, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("re-importing the same bars replaced the file")
	}
	bars, err := s.Load("BTCUSDT", "1m", 0, 0)
	if err != nil || len(bars) != 14 {
		t.Fatalf("after re-import: %d bars, %v; want 14", len(bars), err)
	}
}

func TestImportOneFile(t *testing.T) {
	s := openTemp(t)
	got, err := Import(s, filepath.Join("testdata", "ETHUSDT-1m-2025-01-03.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []Imported{{Symbol: "ETHUSDT", Interval: "1m", Files: 1, Added: 3}}; !equalImported(got, want) {
		t.Fatalf("Import = %+v, want %+v", got, want)
	}
}

func TestImportBadLineWritesNothing(t *testing.T) {
	s := openTemp(t)
	_, err := Import(s, filepath.Join("testdata", "bad"))
	if err == nil {
		t.Fatal("import of a file with a bad line succeeded")
	}
	for _, want := range []string{"SOLUSDT-1m-2024-01-15.csv:4:", "low 42050 above high 42000"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not contain %q", err, want)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 0 {
		t.Fatalf("after a bad import, List = %+v, %v; want nothing", list, err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "SOLUSDT")); !os.IsNotExist(err) {
		t.Fatalf("a bad import created the series directory (%v)", err)
	}
}

func TestImportRefuses(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	row := "1705276800000,1,2,0.5,1.5,10,1705276859999,15,3,5,7.5,0\n"
	cases := []struct {
		name, file, body, want string
	}{
		{"unknown name", "klines.csv", row, "not a Binance kline file name"},
		{"monthly interval", "BTCUSDT-1M-2024-01.csv", row, "not a Binance kline file name"},
		{"eleven columns", "BTCUSDT-1m-2024-01.csv", "1705276800000,1,2,0.5,1.5,10,1705276859999,15,3,5,7.5\n", ":1: want 12"},
		{"thirteen columns", "BTCUSDT-1m-2024-02.csv", strings.TrimSuffix(row, "\n") + ",9\n", ":1: want 12"},
		{"off the grid", "BTCUSDT-1m-2024-03.csv", row + "1705276801000,1,2,0.5,1.5,10,1705276859999,15,3,5,7.5,0\n", ":2: open 2024-01-15T00:00:01Z"},
		{"header not first", "BTCUSDT-1m-2024-04.csv", row + "open_time,open,high,low,close,volume,a,b,c,d,e,f\n", `:2: open_time "open_time"`},
		{"not a number", "BTCUSDT-1m-2024-05.csv", "1705276800000,1,2,x,1.5,10,1705276859999,15,3,5,7.5,0\n", `:1: low "x"`},
		{"NaN", "BTCUSDT-1m-2024-06.csv", "1705276800000,NaN,2,0.5,1.5,10,1705276859999,15,3,5,7.5,0\n", "positive and finite"},
		{"micros off a ms", "BTCUSDT-1m-2024-07.csv", "1705276800000001,1,2,0.5,1.5,10,1705276859999,15,3,5,7.5,0\n", "microseconds"},
		{"long line", "BTCUSDT-1m-2024-08.csv", row + strings.Repeat("1", maxLineLen+1) + "\n", ":2: line longer"},
		{"more rows than a day", "BTCUSDT-1d-2024-01-15.csv", "1705276800000,1,2,0.5,1.5,10,1705363199999,15,3,5,7.5,0\n1705363200000,1,2,0.5,1.5,10,1705449599999,15,3,5,7.5,0\n1705449600000,1,2,0.5,1.5,10,1705535999999,15,3,5,7.5,0\n", ":3: more than 2 rows"},
		{"not a zip", "BTCUSDT-1m-2024-09.zip", "not a zip", "BTCUSDT-1m-2024-09.zip"},
		{"zip, bad line", "BTCUSDT-1m-2024-10.zip", zipOf(t, "BTCUSDT-1m-2024-10.csv", row+"1705276860000,1,2,3,1.5,10,0,0,0,0,0,0\n"),
			"BTCUSDT-1m-2024-10.zip:BTCUSDT-1m-2024-10.csv:2: open 2024-01-15T00:01:00Z (1705276860000): low 3 above high 2"},
		{"zip, two csvs", "BTCUSDT-1m-2024-11.zip", zipOf(t, "a.csv", row, "b.csv", row), "more than one .csv"},
		{"zip, no csv", "BTCUSDT-1m-2024-12.zip", zipOf(t, "a.txt", row), "no .csv inside"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := openTemp(t)
			p := write(tc.file, tc.body)
			_, err := Import(s, p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Import(%s) = %v, want an error containing %q", tc.file, err, tc.want)
			}
			if list, _ := s.List(); len(list) != 0 {
				t.Fatalf("a refused import stored %+v", list)
			}
		})
	}
}

// zipOf makes a zip of name, body pairs.
func zipOf(t *testing.T, nameBody ...string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := 0; i < len(nameBody); i += 2 {
		w, err := zw.Create(nameBody[i])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(nameBody[i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestParseKlinesBlankLinesAndUnits(t *testing.T) {
	in := "\ufeff1705276800000,1,2,0.5,1.5,10,1705276859999,15,3,5,7.5,0\n\n" +
		"1705276860000000,1.5,2,1,1,0,1705276919999999,0,0,0,0,0\n"
	bars, err := ParseKlines(strings.NewReader(in), "x.csv", 60_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(bars) != 2 || bars[1].OpenTimeMs != 1705276860000 || bars[1].Volume != 0 {
		t.Fatalf("bars = %+v", bars)
	}
}

func FuzzParseKlines(f *testing.F) {
	for _, name := range []string{"BTCUSDT-1m-2024-01-15.csv", "ETHUSDT-1m-2025-01-02.csv", "BNBUSDT-1h-2024-02.csv", "bad/SOLUSDT-1m-2024-01-15.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("1,2,3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		bars, err := ParseKlines(strings.NewReader(string(data)), "fuzz.csv", 60_000, 100)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for i := range bars {
			if err := checkBar(&bars[i], 60_000); err != nil {
				t.Fatalf("parsed a bar the store refuses: %v", err)
			}
		}
	})
}
