package metrics

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// otherMethod labels calls along a route the router does not list, so no
// caller can mint label values.
const otherMethod = "other"

// rpcBuckets span a local actor's answer (~50 µs) to a slow exchange call.
var rpcBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// rpcObserver counts and times the router's calls (rpc.Observer). It runs
// on the callers' goroutines and the futures' completions.
type rpcObserver struct {
	router   *rpc.Router
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// byMethod caches a method's histogram and per-code counters: the hot
	// path is a map read and two atomic adds.
	byMethod sync.Map // method -> *methodMetrics
}

type methodMetrics struct {
	duration prometheus.Observer
	codes    sync.Map // code label -> prometheus.Counter
	method   string
	calls    *prometheus.CounterVec
}

func newRPCObserver(router *rpc.Router) *rpcObserver {
	return &rpcObserver{
		router: router,
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "superbot_rpc_calls_total",
			Help: "Calls sent along the router's routes (Unix socket, WebSocket, scheduler), by method and outcome (ok or the error code).",
		}, []string{"method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "superbot_rpc_duration_seconds",
			Help:    "Time from sending a call to its answer (or its deadline), by method.",
			Buckets: rpcBuckets,
		}, []string{"method"}),
	}
}

// ObserveCall implements rpc.Observer.
func (o *rpcObserver) ObserveCall(method string, err error, d time.Duration) {
	mm := o.method(method)
	mm.duration.Observe(d.Seconds())
	mm.counter(codeOf(err)).Inc()
}

func (o *rpcObserver) method(method string) *methodMetrics {
	if v, ok := o.byMethod.Load(method); ok {
		return v.(*methodMetrics)
	}
	if _, known := o.router.Lookup(method); !known {
		method = otherMethod
		if v, ok := o.byMethod.Load(method); ok {
			return v.(*methodMetrics)
		}
	}
	mm := &methodMetrics{duration: o.duration.WithLabelValues(method), method: method, calls: o.calls}
	v, _ := o.byMethod.LoadOrStore(method, mm)
	return v.(*methodMetrics)
}

func (mm *methodMetrics) counter(code string) prometheus.Counter {
	if v, ok := mm.codes.Load(code); ok {
		return v.(prometheus.Counter)
	}
	v, _ := mm.codes.LoadOrStore(code, mm.calls.WithLabelValues(mm.method, code))
	return v.(prometheus.Counter)
}

// codeOf is a call's outcome label: "ok", the error code's name
// ("not_found", "timeout"...), or "error" for an error without a code.
func codeOf(err error) string {
	if err == nil {
		return "ok"
	}
	var me *messages.Error
	if !errors.As(err, &me) {
		return "error"
	}
	if l, ok := codeLabels[me.Code]; ok {
		return l
	}
	return "error"
}

// codeLabels names each error code as codeOf does.
var codeLabels = func() map[messages.ErrorCode]string {
	m := map[messages.ErrorCode]string{}
	for n, name := range messages.ErrorCode_name {
		m[messages.ErrorCode(n)] = strings.ToLower(strings.TrimPrefix(name, "ERROR_CODE_"))
	}
	return m
}()
