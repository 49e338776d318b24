package daemon_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDataDownloadInDaemon: data.download runs as a job in the daemon
// through its connector and its simulator, data.status follows it,
// data.list shows the series in the default data directory
// (.superbot/data), and a bad download is refused with nothing written.
func TestDataDownloadInDaemon(t *testing.T) {
	dir := t.TempDir()
	p := startDaemon(t, dir, "")
	c := p.client()
	p.waitReady()
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	to := from + 2*86_400_000

	var bad struct{}
	err := c.Call(context.Background(), "data.download", map[string]any{"symbols": []string{"NOPEUSDT"}, "interval": "1m", "from_ms": from}, &bad)
	if err == nil || !strings.Contains(err.Error(), "symbol NOPEUSDT: exchange: Invalid symbol. (-1121)") {
		t.Fatalf("unknown symbol: %v", err)
	}

	var job string
	deadline := time.Now().Add(30 * time.Second)
	for job == "" { // the simulator module may still be starting: the connector answers UNAVAILABLE until then
		res := map[string]any{}
		err := c.Call(context.Background(), "data.download", map[string]any{"symbols": []string{"BTCUSDT"}, "interval": "1m", "from_ms": from, "to_ms": to}, &res)
		if err == nil {
			job, _ = res["job"].(string)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("data.download: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	var st map[string]any
	until(t, 60*time.Second, "the download ends", func() bool {
		st = call(t, c, "data.status", map[string]any{"job": job})["jobs"].([]any)[0].(map[string]any)
		return st["state"] != "queued" && st["state"] != "running"
	})
	if st["state"] != "done" || st["percent"] != 100.0 {
		t.Fatalf("job = %v", st)
	}
	series := call(t, c, "data.list", nil)
	if !strings.HasSuffix(series["dir"].(string), filepath.Join(".superbot", "data")) {
		t.Errorf("data dir = %v", series["dir"])
	}
	rows := series["series"].([]any)
	if len(rows) != 1 {
		t.Fatalf("data.list = %v", series)
	}
	s := rows[0].(map[string]any)
	if s["symbol"] != "BTCUSDT" || s["bars"] != float64(2880) || len(s["gaps"].([]any)) != 0 {
		t.Fatalf("series = %v", s)
	}
	if _, err := os.Stat(filepath.Join(dir, ".superbot", "data")); err != nil {
		t.Errorf("the data directory is not under the state directory: %v", err)
	}
}
