package store

// Imported is what an import added for one series.
type Imported struct {
	Symbol, Interval string
	// Files read, bars added, bars already stored.
	Files, Added, Duplicates int
}

// Import reads Binance public-data kline files into s: path is a .csv, a
// .zip holding one, or a directory of them (not recursive). Files are named
// as Binance names them (BTCUSDT-1m-2024-01.csv or .zip, or the daily
// BTCUSDT-1m-2024-01-15), which gives the symbol and interval. Rows have 12
// columns and no header (a header line is skipped); open times above 1e14
// are microseconds (2025 files on) and are converted to milliseconds. A bad
// file is an error naming the file and line, and nothing of that file is
// written.
func Import(s *Store, path string) ([]Imported, error) {
	return nil, ErrNotImplemented
}
