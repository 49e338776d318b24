package marketdata

import (
	"testing"
	"time"

	"github.com/superbot/superbot/messages"
)

// TestCheckDownloadGrid: from and to go on the interval's grid (bars whose
// open time is in [from, to)), to defaults to the last closed bar, and
// symbols are upper-cased once each.
func TestCheckDownloadGrid(t *testing.T) {
	now := time.Date(2024, 3, 10, 12, 34, 56, 0, time.UTC)
	ms := func(s string) int64 {
		tm, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMilli()
	}
	for _, tt := range []struct {
		name, iv       string
		from, to       int64
		wantFrom, want int64
	}{
		{"on the grid", "1m", ms("2024-03-01 00:00:00"), ms("2024-03-02 00:00:00"), ms("2024-03-01 00:00:00"), ms("2024-03-02 00:00:00")},
		{"off the grid", "1h", ms("2024-03-01 00:00:30"), ms("2024-03-01 05:10:00"), ms("2024-03-01 01:00:00"), ms("2024-03-01 06:00:00")},
		{"to now", "1m", ms("2024-03-10 00:00:00"), 0, ms("2024-03-10 00:00:00"), ms("2024-03-10 12:34:00")},
		{"to past now", "1d", ms("2024-03-01 00:00:00"), ms("2024-04-01 00:00:00"), ms("2024-03-01 00:00:00"), ms("2024-03-10 00:00:00")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, e := checkDownload(&messages.DataDownloadRequest{Symbols: []string{"btcusdt", "BTCUSDT", "ethusdt"}, Interval: tt.iv, FromMs: tt.from, ToMs: tt.to}, now)
			if e != nil {
				t.Fatal(e)
			}
			if d.from != tt.wantFrom || d.to != tt.want || len(d.symbols) != 2 || d.symbols[0] != "BTCUSDT" || d.symbols[1] != "ETHUSDT" {
				t.Fatalf("download = %+v, want from %d to %d", d, tt.wantFrom, tt.want)
			}
		})
	}
}
