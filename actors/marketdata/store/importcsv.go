package store

import (
	"archive/zip"
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// Imported is what an import added for one series.
type Imported struct {
	Symbol, Interval string
	// Files read, bars added, bars already stored.
	Files, Added, Duplicates int
}

// Limits on what Import reads: a month of 1-second klines is about 2.7
// million lines of some 150 bytes.
const (
	maxCSVBytes = 2 << 30
	maxLineLen  = 4096
	// microsAbove: open times above it are microseconds (2025 files on).
	microsAbove = 1e14
)

// klineName matches Binance's public-data file names: monthly
// BTCUSDT-1m-2024-01 and daily BTCUSDT-1m-2024-01-15, .csv or .zip.
var klineName = regexp.MustCompile(`^([A-Z0-9]{1,20})-([0-9]{1,3}[smhdw])-([0-9]{4})-([0-9]{2})(-[0-9]{2})?\.(csv|zip)$`)

// Import reads Binance public-data kline files into s: path is a .csv, a
// .zip holding one, or a directory of them (not recursive). Files are named
// as Binance names them (BTCUSDT-1m-2024-01.csv or .zip, or the daily
// BTCUSDT-1m-2024-01-15), which gives the symbol and interval. Rows have 12
// columns and no header (a header line is skipped); open times above 1e14
// are microseconds (2025 files on) and are converted to milliseconds. A bad
// file is an error naming the file and line, and nothing of that file is
// written.
//
// In a directory, other files (Binance's .CHECKSUM ones) are skipped and
// files are read in name order; the first bad one stops the import, and
// what the files before it added is returned with the error.
func Import(s *Store, path string) ([]Imported, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	files := []string{path}
	if st.IsDir() {
		if files, err = klineFiles(path); err != nil {
			return nil, err
		}
	}
	var out []Imported
	for _, f := range files {
		got, err := importFile(s, f)
		if err != nil {
			return sortImported(out), err
		}
		out = addImported(out, got)
	}
	return sortImported(out), nil
}

func sortImported(out []Imported) []Imported {
	slices.SortFunc(out, func(a, b Imported) int {
		if c := strings.Compare(a.Symbol, b.Symbol); c != 0 {
			return c
		}
		return strings.Compare(a.Interval, b.Interval)
	})
	return out
}

// klineFiles lists the kline files of dir, sorted by name.
func klineFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() && klineName.MatchString(e.Name()) {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("store: import: %s: no kline files (named like BTCUSDT-1m-2024-01.zip)", dir)
	}
	return files, nil
}

func addImported(out []Imported, got Imported) []Imported {
	for i := range out {
		if out[i].Symbol == got.Symbol && out[i].Interval == got.Interval {
			out[i].Files += got.Files
			out[i].Added += got.Added
			out[i].Duplicates += got.Duplicates
			return out
		}
	}
	return append(out, got)
}

// importFile parses one .csv or .zip whole, then writes its bars.
func importFile(s *Store, path string) (Imported, error) {
	m := klineName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return Imported{}, fmt.Errorf("store: import: %s: not a Binance kline file name (like BTCUSDT-1m-2024-01.csv or .zip)", path)
	}
	symbol, interval := m[1], m[2]
	ivMs, err := IntervalMs(interval)
	if err != nil {
		return Imported{}, fmt.Errorf("store: import: %s: %w", path, err)
	}
	days := int64(31) // a monthly file; a daily one has a day's bars
	if m[5] != "" {
		days = 1
	}
	maxRows := int(days*dayMs/ivMs) + 1
	var bars []strategy.Bar
	if m[6] == "zip" {
		bars, err = parseZip(path, ivMs, maxRows)
	} else {
		bars, err = parseCSVFile(path, ivMs, maxRows)
	}
	if err != nil {
		return Imported{}, err
	}
	unique := len(sortUnique(bars))
	added, err := s.Write(symbol, interval, bars)
	if err != nil {
		return Imported{}, fmt.Errorf("store: import: %s: %w", path, err)
	}
	return Imported{Symbol: symbol, Interval: interval, Files: 1, Added: added, Duplicates: unique - added}, nil
}

func parseCSVFile(path string, ivMs int64, maxRows int) ([]strategy.Bar, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("store: import: %w", err)
	}
	defer f.Close()
	return ParseKlines(io.LimitReader(f, maxCSVBytes+1), path, ivMs, maxRows)
}

// parseZip parses the one .csv a Binance .zip holds.
func parseZip(path string, ivMs int64, maxRows int) ([]strategy.Bar, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("store: import: %s: %w", path, err)
	}
	defer func() { _ = zr.Close() }()
	var csv *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(strings.ToLower(f.Name), ".csv") {
			if csv != nil {
				return nil, fmt.Errorf("store: import: %s: more than one .csv inside", path)
			}
			csv = f
		}
	}
	if csv == nil {
		return nil, fmt.Errorf("store: import: %s: no .csv inside", path)
	}
	if csv.UncompressedSize64 > maxCSVBytes {
		return nil, fmt.Errorf("store: import: %s: %s is %d bytes, more than %d", path, csv.Name, csv.UncompressedSize64, int64(maxCSVBytes))
	}
	rc, err := csv.Open()
	if err != nil {
		return nil, fmt.Errorf("store: import: %s: %w", path, err)
	}
	defer rc.Close()
	return ParseKlines(io.LimitReader(rc, maxCSVBytes+1), path+":"+csv.Name, ivMs, maxRows)
}

// ParseKlines parses Binance kline CSV rows of bars of ivMs from r; name
// is used in errors ("name:line: ..."). A first line that does not start
// with a number is a header and is skipped; blank lines are skipped.
// Every bar is checked as Store.Write checks it. More than maxRows rows
// (0: no limit) is an error: a file holds one day's or one month's bars.
func ParseKlines(r io.Reader, name string, ivMs int64, maxRows int) ([]strategy.Bar, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 512), maxLineLen)
	var bars []strategy.Bar
	var read int64
	line := 0
	for sc.Scan() {
		line++
		text := sc.Bytes()
		read += int64(len(text)) + 1
		if read > maxCSVBytes {
			return nil, fmt.Errorf("store: import: %s: more than %d bytes", name, int64(maxCSVBytes))
		}
		if line == 1 {
			text = bytes.TrimPrefix(text, []byte("\ufeff"))
		}
		text = bytes.TrimSpace(text)
		if len(text) == 0 || (line == 1 && (text[0] < '0' || text[0] > '9')) {
			continue
		}
		b, err := parseRow(text)
		if err == nil {
			err = checkBar(&b, ivMs)
		}
		if err == nil && maxRows > 0 && len(bars) == maxRows {
			err = fmt.Errorf("more than %d rows, more than the file's period holds", maxRows)
		}
		if err != nil {
			return nil, fmt.Errorf("store: import: %s:%d: %w", name, line, err)
		}
		b.CloseTimeMs = b.OpenTimeMs + ivMs - 1
		bars = append(bars, b)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("store: import: %s:%d: line longer than %d bytes", name, line+1, maxLineLen)
		}
		return nil, fmt.Errorf("store: import: %s: %w", name, err)
	}
	return bars, nil
}

// parseRow parses one 12-column row: open_time, open, high, low, close,
// volume, close_time, quote_volume, trades, taker_buy_base,
// taker_buy_quote, ignore.
func parseRow(row []byte) (strategy.Bar, error) {
	var f [12][]byte
	n := 0
	for n < len(f) {
		i := bytes.IndexByte(row, ',')
		if i < 0 {
			f[n] = row
			n++
			row = nil
			break
		}
		f[n], row = row[:i], row[i+1:]
		n++
	}
	if n != 12 || row != nil {
		return strategy.Bar{}, fmt.Errorf("want 12 comma-separated columns")
	}
	open, err := strconv.ParseInt(string(bytes.TrimSpace(f[0])), 10, 64)
	if err != nil || open < 0 {
		return strategy.Bar{}, fmt.Errorf("open_time %q: not a non-negative integer", f[0])
	}
	if open > microsAbove {
		if open%1000 != 0 {
			return strategy.Bar{}, fmt.Errorf("open_time %d: microseconds not on a millisecond", open)
		}
		open /= 1000
	}
	b := strategy.Bar{OpenTimeMs: open}
	for i, dst := range [...]*float64{&b.Open, &b.High, &b.Low, &b.Close, &b.Volume} {
		v, err := strconv.ParseFloat(string(bytes.TrimSpace(f[i+1])), 64)
		if err != nil {
			return strategy.Bar{}, fmt.Errorf("%s %q: not a number", columns[i+1], f[i+1])
		}
		*dst = v
	}
	return b, nil
}

var columns = [...]string{"open_time", "open", "high", "low", "close", "volume"}
