// Package metrics is the daemon's Prometheus exposition: module states and
// usage, bus, cache, connector, RPC and trading figures, read from the actors
// that own them at scrape time, plus the RPC latency histograms observed as
// calls are made. The webui module serves Handler at /metrics.
package metrics

import (
	"net/http"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/rpc"
)

// Metrics is the daemon's metrics registry.
type Metrics struct {
	sys    *actor.ActorSystem
	router *rpc.Router
}

// New returns the metrics of the daemon whose methods router answers.
func New(sys *actor.ActorSystem, router *rpc.Router) *Metrics {
	return &Metrics{sys: sys, router: router}
}

// Handler serves the Prometheus text exposition.
func (m *Metrics) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "metrics: not implemented yet", http.StatusNotImplemented)
	})
}
