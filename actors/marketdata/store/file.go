package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

// A partition file holds the bars of one series whose open times fall in
// one UTC calendar day (intervals under a minute), month (under an hour)
// or year:
//
//	header, 32 bytes, little-endian:
//	  0  magic "SBKL"
//	  4  version uint16 (1)
//	  6  record size uint16 (48)
//	  8  interval int64, ms
//	 16  record count uint64
//	 24  CRC-32C of the records
//	 28  CRC-32C of bytes 0..28
//	records, ascending open time, 48 bytes each:
//	  open time int64 ms, open, high, low, close, volume float64 (IEEE bits)
//
// The close time is not stored: it is open + interval - 1, as Binance's.
const (
	fileMagic   = "SBKL"
	fileVersion = 1
	headerSize  = 32
	recordSize  = 48
	fileExt     = ".bars"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a partition file that is not what the store wrote.
var errCorrupt = errors.New("corrupt candle file")

// partition is one file's span of open times, [startMs, endMs).
type partition struct {
	name           string // file name, e.g. "2024-01.bars"
	startMs, endMs int64
}

// layout is the file name (without extension) of a partition of series
// of ivMs: a day of second bars (86,400), a month of minute bars (44,640)
// or a year of longer ones (8,784 hours).
func layout(ivMs int64) string {
	switch {
	case ivMs < minuteMs:
		return "2006-01-02"
	case ivMs < hourMs:
		return "2006-01"
	}
	return "2006"
}

// partitionOf is the partition holding open time t.
func partitionOf(t, ivMs int64) partition {
	tm := time.UnixMilli(t).UTC()
	l := layout(ivMs)
	var start, end time.Time
	switch l {
	case "2006-01-02":
		start = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 0, 1)
	case "2006-01":
		start = time.Date(tm.Year(), tm.Month(), 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(0, 1, 0)
	default:
		start = time.Date(tm.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
		end = start.AddDate(1, 0, 0)
	}
	return partition{name: start.Format(l) + fileExt, startMs: start.UnixMilli(), endMs: end.UnixMilli()}
}

// parsePartition reads a file name back into its partition (ok false: not
// one of ours, e.g. a temporary file).
func parsePartition(name string, ivMs int64) (partition, bool) {
	base, ok := cutSuffix(name, fileExt)
	if !ok {
		return partition{}, false
	}
	l := layout(ivMs)
	if len(base) != len(l) {
		return partition{}, false
	}
	tm, err := time.Parse(l, base)
	if err != nil {
		return partition{}, false
	}
	p := partitionOf(tm.UnixMilli(), ivMs)
	return p, p.name == name
}

func cutSuffix(s, suffix string) (string, bool) {
	if len(s) <= len(suffix) || s[len(s)-len(suffix):] != suffix {
		return s, false
	}
	return s[:len(s)-len(suffix)], true
}

// maxBars is the most bars a partition can hold.
func (p partition) maxBars(ivMs int64) int64 {
	return (p.endMs-p.startMs)/ivMs + 1
}

// encodeFile lays out bars (ascending, of one partition) as a file.
func encodeFile(bars []strategy.Bar, ivMs int64) []byte {
	buf := make([]byte, headerSize+len(bars)*recordSize)
	putRecords(buf[headerSize:], bars)
	putHeader(buf, ivMs, len(bars), crc32.Checksum(buf[headerSize:], castagnoli))
	return buf
}

// appendFile is old (a valid file of n records, all before bars[0]) with
// bars appended: the download's case, which needs no decoding.
func appendFile(old []byte, n int64, bars []strategy.Bar, ivMs int64) []byte {
	buf := make([]byte, len(old)+len(bars)*recordSize)
	copy(buf, old)
	rec := buf[len(old):]
	putRecords(rec, bars)
	crc := crc32.Update(binary.LittleEndian.Uint32(old[24:]), castagnoli, rec)
	putHeader(buf, ivMs, int(n)+len(bars), crc)
	return buf
}

// lastOpen is the open time of the last of n records of a valid file.
func lastOpen(data []byte, n int64) int64 {
	return int64(binary.LittleEndian.Uint64(data[headerSize+(n-1)*recordSize:]))
}

func putRecords(rec []byte, bars []strategy.Bar) {
	for i := range bars {
		b := &bars[i]
		r := rec[i*recordSize : (i+1)*recordSize]
		binary.LittleEndian.PutUint64(r[0:], uint64(b.OpenTimeMs))
		binary.LittleEndian.PutUint64(r[8:], math.Float64bits(b.Open))
		binary.LittleEndian.PutUint64(r[16:], math.Float64bits(b.High))
		binary.LittleEndian.PutUint64(r[24:], math.Float64bits(b.Low))
		binary.LittleEndian.PutUint64(r[32:], math.Float64bits(b.Close))
		binary.LittleEndian.PutUint64(r[40:], math.Float64bits(b.Volume))
	}
}

func putHeader(buf []byte, ivMs int64, n int, recordsCRC uint32) {
	copy(buf[0:4], fileMagic)
	binary.LittleEndian.PutUint16(buf[4:], fileVersion)
	binary.LittleEndian.PutUint16(buf[6:], recordSize)
	binary.LittleEndian.PutUint64(buf[8:], uint64(ivMs))
	binary.LittleEndian.PutUint64(buf[16:], uint64(n))
	binary.LittleEndian.PutUint32(buf[24:], recordsCRC)
	binary.LittleEndian.PutUint32(buf[28:], crc32.Checksum(buf[:28], castagnoli))
}

// checkFile validates a whole file's header and records checksum (not its
// records one by one) and returns the record count.
func checkFile(data []byte, ivMs int64, p partition) (int64, error) {
	n, err := checkHeader(data, int64(len(data)), ivMs, p)
	if err != nil {
		return 0, err
	}
	if crc32.Checksum(data[headerSize:], castagnoli) != binary.LittleEndian.Uint32(data[24:]) {
		return 0, fmt.Errorf("%w: records checksum mismatch", errCorrupt)
	}
	return n, nil
}

// checkHeader validates a file's header against its size and returns the
// record count.
func checkHeader(hdr []byte, size, ivMs int64, p partition) (int64, error) {
	if size < headerSize || len(hdr) < headerSize {
		return 0, fmt.Errorf("%w: %d bytes, shorter than the header", errCorrupt, size)
	}
	if string(hdr[0:4]) != fileMagic {
		return 0, fmt.Errorf("%w: bad magic %q", errCorrupt, hdr[0:4])
	}
	if crc32.Checksum(hdr[:28], castagnoli) != binary.LittleEndian.Uint32(hdr[28:]) {
		return 0, fmt.Errorf("%w: header checksum mismatch", errCorrupt)
	}
	if v := binary.LittleEndian.Uint16(hdr[4:]); v != fileVersion {
		return 0, fmt.Errorf("%w: version %d, this build reads %d", errCorrupt, v, fileVersion)
	}
	if rs := binary.LittleEndian.Uint16(hdr[6:]); rs != recordSize {
		return 0, fmt.Errorf("%w: record size %d, want %d", errCorrupt, rs, recordSize)
	}
	if iv := int64(binary.LittleEndian.Uint64(hdr[8:])); iv != ivMs {
		return 0, fmt.Errorf("%w: interval %d ms, its directory says %d ms", errCorrupt, iv, ivMs)
	}
	n := binary.LittleEndian.Uint64(hdr[16:])
	if n > uint64(p.maxBars(ivMs)) {
		return 0, fmt.Errorf("%w: %d records, a %s file holds at most %d", errCorrupt, n, p.name, p.maxBars(ivMs))
	}
	if want := headerSize + int64(n)*recordSize; size != want {
		return 0, fmt.Errorf("%w: %d bytes, the header says %d records (%d bytes): truncated or extended", errCorrupt, size, n, want)
	}
	return int64(n), nil
}

// decodeFile appends to dst the bars of data (a whole file of partition p)
// whose open time is in [fromMs, toMs), validating everything it reads.
func decodeFile(dst []strategy.Bar, data []byte, ivMs int64, p partition, fromMs, toMs int64) ([]strategy.Bar, error) {
	n, err := checkFile(data, ivMs, p)
	if err != nil {
		return dst, err
	}
	rec := data[headerSize:]
	prev := p.startMs - 1
	if n > 0 { // the first record is checked in full; so the loop's fast path is sound
		if open := int64(binary.LittleEndian.Uint64(rec)); open < p.startMs || !onGrid(open, ivMs) {
			return dst, fmt.Errorf("%w: record 0: open time %d outside the file's span or off the grid", errCorrupt, open)
		}
	}
	for i := int64(0); i < n; i++ {
		r := rec[i*recordSize:]
		r = r[:recordSize:recordSize]
		open := int64(binary.LittleEndian.Uint64(r[0:]))
		// Consecutive bars are the common case; only a gap pays a division.
		if open-prev != ivMs && (open <= prev || !onGrid(open, ivMs)) || open >= p.endMs {
			return dst, fmt.Errorf("%w: record %d: open time %d out of order, outside the file's span or off the grid", errCorrupt, i, open)
		}
		prev = open
		if open < fromMs || open >= toMs {
			continue
		}
		dst = append(dst, strategy.Bar{
			OpenTimeMs:  open,
			CloseTimeMs: open + ivMs - 1,
			Open:        math.Float64frombits(binary.LittleEndian.Uint64(r[8:])),
			High:        math.Float64frombits(binary.LittleEndian.Uint64(r[16:])),
			Low:         math.Float64frombits(binary.LittleEndian.Uint64(r[24:])),
			Close:       math.Float64frombits(binary.LittleEndian.Uint64(r[32:])),
			Volume:      math.Float64frombits(binary.LittleEndian.Uint64(r[40:])),
		})
	}
	return dst, nil
}

// readFile reads a partition file into buf (grown as needed), checking its
// size against the partition's bound before allocating. A missing file
// gives an empty slice and no error.
func readFile(path string, buf []byte, ivMs int64, p partition) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return buf[:0], nil
	}
	if err != nil {
		return buf[:0], err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return buf[:0], err
	}
	size := st.Size()
	if limit := headerSize + p.maxBars(ivMs)*recordSize; size > limit {
		return buf[:0], fmt.Errorf("%w: %d bytes, a %s file holds at most %d", errCorrupt, size, p.name, limit)
	}
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if _, err := io.ReadFull(f, buf); err != nil {
		return buf[:0], fmt.Errorf("%w: %w", errCorrupt, err)
	}
	return buf, nil
}

// writeTemp writes data to a temporary file beside path and syncs
// it; the caller renames it over path (or removes it).
func writeTemp(dir, name string, data []byte) (string, error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// syncDir makes renames in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// fileError names the file a problem was found in.
func fileError(path string, err error) error {
	return fmt.Errorf("store: %s: %w", filepath.Clean(path), err)
}

// formatMs renders an open time for error messages.
func formatMs(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339) + " (" + strconv.FormatInt(ms, 10) + ")"
}
