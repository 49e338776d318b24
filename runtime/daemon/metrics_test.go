package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/superbot/superbot/runtime/client"
)

const metricsConf = `[trading]
mode = "paper"
[trading.strategies.btc_trend]
kind = "sma_cross"
symbol = "BTCUSDT"
interval = "1m"
allocation = "1000 USDT"
params = { fast = 10, slow = 30 }
[daemon.modules.trading]
type = "thread"
`

// TestMetricsOfARealDaemon: the daemon's /metrics handler (called
// directly: the webui module mounts it) answers with every component's
// series, no scrape errors, and counts the calls made over the Unix socket
// and by a scheduler job.
func TestMetricsOfARealDaemon(t *testing.T) {
	d, _ := newTestDaemon(t, metricsConf+withJob)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	scrape := func() map[string]*dto.MetricFamily {
		rec := httptest.NewRecorder()
		d.metrics.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := p.TextToMetricFamilies(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}
	components := []string{"modules", "bus", "cache", "connector", "orders", "strategies"}
	var fams map[string]*dto.MetricFamily
	// The order actor answers "unavailable" until its journal is loaded.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(20 * time.Second)
	for fams = scrape(); seriesValue(fams, "superbot_trading_open_orders", "strategy", "btc_trend") != 0; fams = scrape() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("no superbot_trading_open_orders{strategy=btc_trend} within 20 s")
		}
	}
	for _, name := range []string{"superbot_module_state", "superbot_bus_published_total", "superbot_cache_hits_total",
		"superbot_connector_weight_limit", "superbot_trading_fills_total", "superbot_strategy_state", "go_goroutines"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if v := seriesValue(fams, "superbot_module_state", "module", "trading", "state", "stopped"); v != 1 {
		t.Errorf("trading module stopped = %v", v)
	}
	if v := seriesValue(fams, "superbot_strategy_state", "strategy", "btc_trend", "state", "stopped"); v < 0 {
		t.Errorf("no strategy state for btc_trend")
	}
	for _, c := range components {
		v := seriesValue(fams, "superbot_scrape_errors_total", "component", c)
		if v < 0 || v > 0 && c != "orders" { // orders: "unavailable" while its journal loads
			t.Errorf("scrape errors{%s} = %v", c, v)
		}
	}
	before := seriesValue(fams, "superbot_rpc_calls_total", "method", "daemon.status", "code", "ok")

	c, err := client.Dial(context.Background(), client.Options{Socket: d.SocketPath(), StateDir: filepath.Dir(d.SocketPath())})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	for range 3 {
		if err := c.Call(context.Background(), "daemon.status", nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	fams = scrape()
	if got := seriesValue(fams, "superbot_rpc_calls_total", "method", "daemon.status", "code", "ok"); got-max(before, 0) != 3 {
		t.Fatalf("calls{daemon.status,ok} went %v -> %v over 3 calls on the socket", before, got)
	}
	if n := seriesValue(fams, "superbot_rpc_duration_seconds", "method", "daemon.status"); n < 3 {
		t.Fatalf("duration{daemon.status} count %v", n)
	}

	// The job "ping" calls daemon.status through the router (Router.Send).
	if err := c.Call(context.Background(), "scheduler.run", map[string]string{"name": "ping"}, nil); err != nil {
		t.Fatal(err)
	}
	deadline = time.After(20 * time.Second)
	for fams = scrape(); seriesValue(fams, "superbot_rpc_calls_total", "method", "daemon.status", "code", "ok")-max(before, 0) != 4; fams = scrape() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("the scheduler job's daemon.status call was not counted within 20 s")
		}
	}
	if v := seriesValue(fams, "superbot_rpc_calls_total", "method", "scheduler.run", "code", "ok"); v != 1 {
		t.Fatalf("calls{scheduler.run,ok} = %v", v)
	}
}

// seriesValue is the value of name{labels} (a histogram's count), -1 when
// absent.
func seriesValue(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
next:
	for _, m := range fams[name].GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	return -1
}
