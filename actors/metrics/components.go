package metrics

import (
	"sort"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// maxFamilies caps the bus's family label values (topic and pattern first
// segments); the rest are summed under "other".
const maxFamilies = 32

// allDescs lists every descriptor the scrape collector may send.
var allDescs []*prometheus.Desc

func desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(name, help, labels, nil)
	allDescs = append(allDescs, d)
	return d
}

// Module states as module.list reports them (superbot_module_state).
var moduleStates = []string{"stopped", "starting", "running", "stopping", "backoff", "failed", "exited", "disabled"}

var (
	modState    = desc("superbot_module_state", "1 for the module's current state, 0 for the others.", "module", "state")
	modRestarts = desc("superbot_module_restarts_total", "Crash restarts of the module since the daemon started.", "module")
	modUptime   = desc("superbot_module_uptime_seconds", "Time since the module last started (0 when not running).", "module")
	modCPU      = desc("superbot_module_cpu_ratio", "CPU the module's process tree used over the last sampling interval, in CPUs (process modules).", "module")
	modRSS      = desc("superbot_module_resident_memory_bytes", "Resident memory of the module's process tree (process modules).", "module")
)

func emitModules(ch chan<- prometheus.Metric, res proto.Message) {
	for _, m := range res.(*messages.ModuleListResponse).GetModules() {
		name := m.GetName()
		for _, s := range moduleStates {
			ch <- gauge(modState, b2f(m.GetState() == s), name, s)
		}
		ch <- counter(modRestarts, float64(m.GetRestarts()), name)
		ch <- gauge(modUptime, m.GetUptimeSeconds(), name)
		if m.GetPid() > 0 && m.GetType() != "thread" {
			ch <- gauge(modCPU, m.GetCpuPercent()/100, name)
			ch <- gauge(modRSS, float64(m.GetRssBytes()), name)
		}
	}
}

var (
	busPublished     = desc("superbot_bus_published_total", "Events published, by topic family (the topic's first segment).", "family")
	busDelivered     = desc("superbot_bus_delivered_total", "Events delivered to subscribers, by the family of their subscription pattern.", "family")
	busDropped       = desc("superbot_bus_dropped_total", "Events dropped for slow subscribers (oldest first), by the family of their subscription pattern.", "family")
	busRejected      = desc("superbot_bus_rejected_total", "Publications refused (a pattern, a reserved topic...).")
	busSubscriptions = desc("superbot_bus_subscriptions", "Current subscriptions.")
)

func emitBus(ch chan<- prometheus.Metric, res proto.Message) {
	st := res.(*messages.BusStatsResponse)
	pub := families{}
	for _, t := range st.GetTopics() {
		pub.add(t.GetTopic(), float64(t.GetPublished()))
	}
	del, drop := families{}, families{}
	for _, p := range st.GetPatterns() {
		del.add(p.GetPattern(), float64(p.GetDelivered()))
		drop.add(p.GetPattern(), float64(p.GetDropped()))
	}
	pub.emit(ch, busPublished)
	del.emit(ch, busDelivered)
	drop.emit(ch, busDropped)
	ch <- counter(busRejected, float64(st.GetRejected()))
	ch <- gauge(busSubscriptions, float64(st.GetSubscriptions()))
}

// families sums counts by a topic's or pattern's first segment.
type families map[string]float64

func (f families) add(topic string, v float64) {
	fam, _, _ := strings.Cut(topic, ".")
	if _, ok := f[fam]; !ok && len(f) >= maxFamilies {
		fam = "other"
	}
	f[fam] += v
}

func (f families) emit(ch chan<- prometheus.Metric, d *prometheus.Desc) {
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ch <- counter(d, f[n], n)
	}
}

var (
	cacheHits      = desc("superbot_cache_hits_total", "Cache lookups that found a live entry.")
	cacheMisses    = desc("superbot_cache_misses_total", "Cache lookups that found nothing.")
	cacheSets      = desc("superbot_cache_sets_total", "Cache entries written.")
	cacheDeletes   = desc("superbot_cache_deletes_total", "Cache entries deleted.")
	cacheEvictions = desc("superbot_cache_evictions_total", "Cache entries evicted for room.")
	cacheExpired   = desc("superbot_cache_expired_total", "Cache entries dropped because their TTL passed.")
	cacheEntries   = desc("superbot_cache_entries", "Entries in the cache.")
	cacheFallback  = desc("superbot_cache_fallback", "1 while the configured backend is down and memory serves instead.", "backend")
)

func emitCache(ch chan<- prometheus.Metric, res proto.Message) {
	st := res.(*messages.CacheStatsResponse)
	ch <- counter(cacheHits, float64(st.GetHits()))
	ch <- counter(cacheMisses, float64(st.GetMisses()))
	ch <- counter(cacheSets, float64(st.GetSets()))
	ch <- counter(cacheDeletes, float64(st.GetDeletes()))
	ch <- counter(cacheEvictions, float64(st.GetEvictions()))
	ch <- counter(cacheExpired, float64(st.GetExpired()))
	ch <- gauge(cacheEntries, float64(st.GetEntries()))
	ch <- gauge(cacheFallback, b2f(st.GetFallback()), st.GetBackend())
}

// Connector health values (superbot_connector_health).
var connectorHealth = []string{"up", "degraded", "down"}

var (
	connHealth      = desc("superbot_connector_health", "1 for the connector's current health, 0 for the others.", "health")
	connWeightUsed  = desc("superbot_connector_weight_used", "Request weight used in the exchange's current window.")
	connWeightLimit = desc("superbot_connector_weight_limit", "The exchange's request weight limit per window.")
	connBanned      = desc("superbot_connector_banned", "1 while nothing is sent because of a 429 or 418 answer.")
	connLimited     = desc("superbot_connector_rate_limited_total", "Exchange answers refusing a request for rate: 429 (too many requests) and 418 (IP banned).", "status")
	connReconnects  = desc("superbot_connector_stream_reconnects_total", "Market and user data stream reconnects.")
	connStreams     = desc("superbot_connector_streams", "Open market streams, by whether they are connected.", "connected")
	connUpstream    = desc("superbot_connector_upstream_requests_total", "REST requests sent to the exchange.")
	connCoalesced   = desc("superbot_connector_coalesced_total", "Requests answered by an identical request already in flight.")
	connRetries     = desc("superbot_connector_retries_total", "REST requests sent again after a transient failure.")
)

func emitConnector(ch chan<- prometheus.Metric, res proto.Message) {
	st := res.(*messages.ConnectorStatusResponse)
	for _, h := range connectorHealth {
		ch <- gauge(connHealth, b2f(st.GetHealth() == h), h)
	}
	ch <- gauge(connWeightUsed, float64(st.GetBudgetUsed()))
	ch <- gauge(connWeightLimit, float64(st.GetBudgetLimit()))
	ch <- gauge(connBanned, b2f(st.GetBanned()))
	ch <- counter(connLimited, float64(st.GetTooManyRequests()), "429")
	ch <- counter(connLimited, float64(st.GetIpBans()), "418")
	ch <- counter(connReconnects, float64(st.GetStreamReconnects()))
	var up, down float64
	for _, s := range st.GetStreams() {
		if s.GetConnected() {
			up++
		} else {
			down++
		}
	}
	ch <- gauge(connStreams, up, "true")
	ch <- gauge(connStreams, down, "false")
	ch <- counter(connUpstream, float64(st.GetUpstreamRequests()))
	ch <- counter(connCoalesced, float64(st.GetCoalesced()))
	ch <- counter(connRetries, float64(st.GetRetries()))
}

var (
	tradeRealized   = desc("superbot_trading_realized_pnl", "Realised PnL of the strategy's book, in its quote asset, before fees.", "strategy", "quote")
	tradeUnrealized = desc("superbot_trading_unrealized_pnl", "Unrealised PnL of the strategy's positions at the last price, in its quote asset.", "strategy", "quote")
	tradeFees       = desc("superbot_trading_fees", "Fees the strategy paid, in its quote asset.", "strategy", "quote")
	tradeOpen       = desc("superbot_trading_open_orders", "The strategy's open orders.", "strategy")
	tradeFills      = desc("superbot_trading_fills_total", "Fills booked for the strategy (the journal's).", "strategy")
	tradeHalted     = desc("superbot_trading_halted", "1 while trading is halted for everyone (trading.halt), or for the strategy (a risk limit).", "strategy")
)

func emitPnl(ch chan<- prometheus.Metric, res proto.Message) {
	st := res.(*messages.PnlResponse)
	for _, b := range st.GetStrategies() {
		s, q := b.GetStrategy(), b.GetQuoteAsset()
		ch <- gauge(tradeRealized, dec(b.GetRealizedPnl()), s, q)
		ch <- gauge(tradeUnrealized, dec(b.GetUnrealizedPnl()), s, q)
		ch <- gauge(tradeFees, dec(b.GetFees()), s, q)
		ch <- gauge(tradeOpen, float64(b.GetOpenOrders()), s)
		ch <- counter(tradeFills, float64(b.GetFills()), s)
		ch <- gauge(tradeHalted, b2f(b.GetHalted() != ""), s)
	}
	ch <- gauge(tradeHalted, b2f(st.GetAccount().GetHalted() != ""), "")
}

// Strategy states as trading.strategies reports them.
var strategyStates = []string{"running", "paused", "stopped", "halted", "failed"}

var (
	stratState  = desc("superbot_strategy_state", "1 for the strategy's current state, 0 for the others.", "strategy", "state")
	stratOrders = desc("superbot_strategy_orders_total", "Orders the strategy sent.", "strategy")
	stratBars   = desc("superbot_strategy_bars_total", "Bars the strategy was fed.", "strategy")
	stratEvents = desc("superbot_strategy_events_total", "Bus events the strategy's actor handled.", "strategy")
)

func emitStrategies(ch chan<- prometheus.Metric, res proto.Message) {
	for _, s := range res.(*messages.StrategiesResponse).GetStrategies() {
		name := s.GetName()
		for _, st := range strategyStates {
			ch <- gauge(stratState, b2f(s.GetState() == st), name, st)
		}
		ch <- counter(stratOrders, float64(s.GetOrders()), name)
		ch <- counter(stratBars, float64(s.GetBars()), name)
		ch <- counter(stratEvents, float64(s.GetEvents()), name)
	}
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return constMetric(d, prometheus.GaugeValue, v, labels)
}

func counter(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return constMetric(d, prometheus.CounterValue, v, labels)
}

// constMetric never panics: a label value that is not valid UTF-8 (a topic
// someone published) makes an invalid metric, which the handler reports
// and skips.
func constMetric(d *prometheus.Desc, t prometheus.ValueType, v float64, labels []string) prometheus.Metric {
	m, err := prometheus.NewConstMetric(d, t, v, labels...)
	if err != nil {
		return prometheus.NewInvalidMetric(d, err)
	}
	return m
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// dec parses a decimal string of an answer ("" or garbage: 0).
func dec(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}
