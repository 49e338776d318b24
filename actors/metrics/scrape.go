package metrics

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/rpc"
)

// source is one component asked at scrape time: the method whose route
// names the actor, and what its answer becomes.
type source struct {
	component string
	method    string
	emit      func(ch chan<- prometheus.Metric, res proto.Message)
}

// sources lists the components a scrape asks, in exposition order.
var sources = []source{
	{component: "modules", method: "module.list", emit: emitModules},
	{component: "bus", method: "events.stats", emit: emitBus},
	{component: "cache", method: "cache.stats", emit: emitCache},
	{component: "connector", method: "connector.status", emit: emitConnector},
	{component: "orders", method: "trading.pnl", emit: emitPnl},
	{component: "strategies", method: "trading.strategies", emit: emitStrategies},
}

// scrapeCollector asks the components for their stats at each scrape
// (prometheus.Collector; Collect runs on the scraping HTTP goroutine).
type scrapeCollector struct {
	sys     *actor.ActorSystem
	router  *rpc.Router
	timeout atomic.Int64 // time.Duration
	errors  *prometheus.CounterVec
}

func newScrapeCollector(sys *actor.ActorSystem, router *rpc.Router, timeout time.Duration) *scrapeCollector {
	c := &scrapeCollector{sys: sys, router: router, errors: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "superbot_scrape_errors_total",
		Help: "Scrapes in which a component did not answer its stats method in time, or answered an error (its series are then absent).",
	}, []string{"component"})}
	c.timeout.Store(int64(timeout))
	for _, s := range sources {
		c.errors.WithLabelValues(s.component) // every component's series exists from the start
	}
	return c
}

// Describe implements prometheus.Collector.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector: it sends every request at once,
// each with the scrape's deadline, then reads the answers in order, so the
// whole wait is bounded by one timeout. The requests go straight to the
// routes' actors, not through Router.Send: scrapes are not RPC calls.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	d := time.Duration(c.timeout.Load())
	futures := make([]*actor.Future, len(sources))
	for i, s := range sources {
		rt, ok := c.router.Lookup(s.method)
		if !ok {
			continue
		}
		futures[i] = c.sys.Root.RequestFuture(rt.Target, rt.New(), d)
	}
	for i, f := range futures {
		if f == nil {
			continue
		}
		res, err := rpc.Reply(f.Result())
		if err != nil {
			c.errors.WithLabelValues(sources[i].component).Inc()
			continue
		}
		sources[i].emit(ch, res)
	}
	c.errors.Collect(ch)
}
