package connector

import (
	"fmt"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/cache"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// startDaemon wires the connector as superbotd does: the real bus and
// cache actors; f.bus is subscribed to connector.> on the bus.
func startDaemon(t *testing.T, ex interface{ BaseURL() string }, cfg Config) *fixture {
	t.Helper()
	sys := actortest.NewSystem(t)
	log := actortest.Logger(t)
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test-node", log))
	cachePID := actortest.Spawn(t, sys, cache.Props(cache.DefaultConfig(), busPID, log))
	f := &fixture{sys: sys, bus: actortest.NewProbe(t, sys)}
	sub := actortest.Request[*messages.SubscribeResponse](t, sys, busPID, &messages.SubscribeRequest{Pattern: "connector.>", Subscriber: f.bus.PID})
	if sub.GetError() != nil {
		t.Fatal(sub.GetError())
	}
	f.pid = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: busPID, Cache: cachePID, Logger: log}))
	f.cachePID = cachePID
	return f
}

func TestWithRealBusCacheAndRPC(t *testing.T) {
	ex := startSim(t, tenSymbols())
	f := startDaemon(t, ex, testConfig(ex))
	up := actortest.Expect[*messages.Event](t, f.bus, 5*time.Second)
	if up.GetTopic() != "connector.up" {
		t.Fatalf("first health event = %s", up.GetTopic())
	}
	router := rpc.NewRouter(5 * time.Second)
	router.MustAdd(Routes(f.pid)...)
	var tk struct {
		Symbol    string `json:"symbol"`
		LastPrice string `json:"last_price"`
	}
	if rpcCall(t, f, router, "market.ticker", `["C1USDT"]`, &tk); tk.Symbol != "C1USDT" || tk.LastPrice == "" {
		t.Fatalf("ticker = %+v", tk)
	}
	var d struct{ Bids []any }
	if rpcCall(t, f, router, "market.depth", `["C2USDT", 5]`, &d); len(d.Bids) != 5 {
		t.Fatalf("depth = %+v", d)
	}
	var k struct{ Klines []any }
	if rpcCall(t, f, router, "market.klines", `{"symbol":"C3USDT","interval":"1m","limit":2}`, &k); len(k.Klines) != 2 {
		t.Fatalf("klines = %+v", k)
	}
	var st struct {
		Health      string
		BudgetLimit int64 `json:"budget_limit"` // 64-bit integers are JSON numbers
	}
	if rpcCall(t, f, router, "connector.status", ``, &st); st.Health != "up" || st.BudgetLimit != 6000 {
		t.Fatalf("status = %+v", st)
	}

	// The coalescing figure through the real cache: 1,000 concurrent ticker
	// requests over 10 symbols, twice within the ticker TTL.
	base := f.status(t).GetUpstreamRequests()
	msgs := make([]any, 1000)
	for i := range msgs {
		msgs[i] = &messages.TickerRequest{Symbol: fmt.Sprintf("C%dUSDT", i%10)}
	}
	for range 2 {
		for _, r := range requestAll[*messages.TickerResponse](t, f.sys, f.pid, msgs, 5*time.Second) {
			if r.GetError() != nil {
				t.Fatal(r.GetError())
			}
		}
	}
	s := f.status(t)
	cs := actortest.Request[*messages.CacheStatsResponse](t, f.sys, f.cachePID, &messages.CacheStatsRequest{})
	upstream := s.GetUpstreamRequests() - base
	t.Logf("real cache: 2000 ticker requests over 10 symbols: upstream %d, coalesced %d, connector cache hits %d, hit rate %.2f%%; cache.stats hits %d misses %d",
		upstream, s.GetCoalesced(), s.GetCacheHits(), 100*float64(2000-upstream)/2000, cs.GetHits(), cs.GetMisses())
	// C1 was fetched by market.ticker above and is still cached.
	if upstream != 9 {
		t.Fatalf("upstream = %d, want 9", upstream)
	}
}
