package daemon

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/tsc"
)

// BenchmarkMetricsScrape100Modules (go test -run '^$' -bench MetricsScrape
// -benchtime 200x ./runtime/daemon/): one /metrics scrape of a daemon in
// this process with 100 running thread modules (heartbeat), the simulator,
// the connector and paper trading, every component answering; the issue's
// bound is 20 ms. Its floor, measured in the same loop, is one module.list
// request to the modules supervisor. Intervals are read from the CPU's
// counter on a pinned goroutine (runtime/tsc).
func BenchmarkMetricsScrape100Modules(b *testing.B) {
	dir := b.TempDir()
	var conf strings.Builder
	fmt.Fprintf(&conf, "[daemon]\nstate_dir = %q\nlog_dir = %q\nautostart = [\"exchange-sim\"", filepath.Join(dir, "state"), filepath.Join(dir, "logs"))
	for i := range 100 {
		fmt.Fprintf(&conf, ", \"hb%03d\"", i)
	}
	conf.WriteString("]\n[daemon.logging]\nconsole = false\nfile = \"\"\n[exchange_sim]\nlisten = \"127.0.0.1:0\"\n")
	conf.WriteString(metricsConf)
	for i := range 100 {
		fmt.Fprintf(&conf, "[daemon.modules.hb%03d]\ntype = \"thread\"\nmodule = \"heartbeat\"\nstart_seconds = \"0s\"\n", i)
	}
	path := filepath.Join(dir, "c.toml")
	if err := os.WriteFile(path, []byte(conf.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	d, err := New(Options{ConfigPath: path, Stderr: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Start(); err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown("benchmark done", false)
	scrape := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("scrape: %d", rec.Code)
		}
		return rec
	}
	// Every module running, and the order actor's series present.
	deadline := time.Now().Add(30 * time.Second)
	for {
		body := scrape().Body.String()
		running := strings.Count(body, "state=\"running\"} 1")
		if running >= 101 && strings.Contains(body, "superbot_trading_open_orders{") {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d modules running after 30 s", running)
		}
		tick := time.NewTimer(20 * time.Millisecond)
		<-tick.C
	}
	mods := d.pids[modules.Kind]
	scrapes := make([]time.Duration, 0, b.N)
	floors := make([]time.Duration, 0, b.N)
	var size int
	unpin := tsc.Pin()
	defer unpin()
	b.ResetTimer()
	for range b.N {
		t0 := tsc.Now()
		if _, err := d.sys.Root.RequestFuture(mods, &messages.ModuleListRequest{}, 5*time.Second).Result(); err != nil {
			b.Fatal(err)
		}
		floors = append(floors, tsc.Since(t0))
		t1 := tsc.Now()
		size = scrape().Body.Len()
		scrapes = append(scrapes, tsc.Since(t1))
	}
	b.StopTimer()
	sp := tsc.Percentiles(scrapes, 50, 95, 99)
	fp := tsc.Percentiles(floors, 50, 95)
	msf := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(msf(sp[0]), "scrape-p50-ms")
	b.ReportMetric(msf(sp[1]), "scrape-p95-ms")
	b.ReportMetric(msf(sp[2]), "scrape-p99-ms")
	b.ReportMetric(msf(fp[0]), "floor-p50-ms")
	b.ReportMetric(msf(fp[1]), "floor-p95-ms")
	b.ReportMetric(float64(sp[0])/float64(max(fp[0], 1)), "p50-ratio")
	b.ReportMetric(float64(size), "body-bytes")
}
