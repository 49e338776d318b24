// Package metrics is the daemon's Prometheus exposition: module states and
// usage, bus, cache, connector, RPC and trading figures, read from the actors
// that own them at scrape time, plus the RPC latency histograms observed as
// calls are made. The webui module serves Handler at /metrics.
//
// The registry is the package's own (never Prometheus's global one). At each
// scrape the collector asks the owning actors, all at once, along the
// routes of their stats methods (module.list, events.stats, cache.stats,
// connector.status, trading.pnl, trading.strategies) and waits at most the
// scrape timeout: a component that does not answer in time adds one to
// superbot_scrape_errors_total{component} and its series are absent from
// that scrape. A method no route answers (e.g. trading not wired in a test)
// is skipped without an error. The metric names are listed in README.md.
package metrics

import (
	"net/http"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/superbot/superbot/actors/rpc"
)

// DefaultScrapeTimeout bounds the wait for the components' answers in one
// scrape (SetScrapeTimeout changes it).
const DefaultScrapeTimeout = 2 * time.Second

// maxInFlight caps concurrent scrapes; more are answered 503.
const maxInFlight = 4

// Metrics is the daemon's metrics registry.
type Metrics struct {
	reg     *prometheus.Registry
	scrape  *scrapeCollector
	handler http.Handler
}

// New returns the metrics of the daemon whose methods router answers. It
// sets itself as router's observer (rpc.Router.SetObserver), so every call
// sent along a route is counted and timed by method.
func New(sys *actor.ActorSystem, router *rpc.Router) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), scrape: newScrapeCollector(sys, router, DefaultScrapeTimeout)}
	obs := newRPCObserver(router)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.scrape,
		obs.calls, obs.duration,
	)
	router.SetObserver(obs)
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxInFlight,
	})
	return m
}

// Handler serves the Prometheus text exposition (and the protobuf and
// OpenMetrics formats a scraper may ask for).
func (m *Metrics) Handler() http.Handler { return m.handler }

// Registry is the registry Handler serves; a component may register more
// collectors on it.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetScrapeTimeout bounds how long a scrape waits for the components'
// answers (d > 0; DefaultScrapeTimeout until set). Safe while serving.
func (m *Metrics) SetScrapeTimeout(d time.Duration) {
	if d > 0 {
		m.scrape.timeout.Store(int64(d))
	}
}
