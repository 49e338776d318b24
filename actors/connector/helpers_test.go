package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// simConfig is the simulator's default on an ephemeral port, with a short
// backfill, no automatic ticks and fast pings.
func simConfig() exchangesim.Config {
	cfg := exchangesim.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = 0
	cfg.Backfill = 10 * time.Minute
	cfg.PingInterval = 200 * time.Millisecond
	return cfg
}

// startSim starts a private simulated exchange for one test.
func startSim(t testing.TB, cfg exchangesim.Config, opts ...exchangesim.Option) *exchangesim.Exchange {
	t.Helper()
	ex, err := exchangesim.New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// testConfig points a connector at ex with short timers.
func testConfig(ex *exchangesim.Exchange) Config {
	cfg := DefaultConfig()
	cfg.BaseURL = ex.BaseURL()
	cfg.WSBaseURL = ex.WSBaseURL()
	cfg.RequestTimeout = 3 * time.Second
	cfg.Retry = RetryConfig{Attempts: 3, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
	cfg.ReconnectBackoff = 50 * time.Millisecond
	cfg.ReconnectMaxBackoff = 500 * time.Millisecond
	return cfg
}

// fixture is one connector under test with its collaborators.
type fixture struct {
	sys   *actor.ActorSystem
	pid   *actor.PID
	bus   *actortest.Probe
	cache *fakeCache
	// cachePID is the real cache actor (startDaemon).
	cachePID *actor.PID
}

// startConnector spawns a connector with a probe bus and a fake cache and
// waits until it knows the exchange's limits.
func startConnector(t testing.TB, cfg Config) *fixture {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sys := actortest.NewSystem(t)
	f := &fixture{sys: sys, bus: actortest.NewProbe(t, sys), cache: newFakeCache(t, sys)}
	f.pid = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: f.bus.PID, Cache: f.cache.pid, Logger: actortest.Logger(t)}))
	actortest.Eventually(t, 5*time.Second, func() bool { return f.status(t).GetHealth() == "up" }, "connector up")
	return f
}

func (f *fixture) status(t testing.TB) *messages.ConnectorStatusResponse {
	t.Helper()
	return actortest.Request[*messages.ConnectorStatusResponse](t, f.sys, f.pid, &messages.ConnectorStatusRequest{})
}

// fakeCache is a cache actor with the production TTL classes.
type fakeCache struct {
	pid        *actor.PID
	hits, sets atomic.Int64
}

func newFakeCache(t testing.TB, sys *actor.ActorSystem) *fakeCache {
	fc := &fakeCache{}
	ttl := map[string]time.Duration{"ticker": 5 * time.Second, "orderbook": time.Second, "klines": time.Minute}
	type entry struct {
		v   []byte
		exp time.Time
	}
	m := map[string]entry{}
	fc.pid = actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		switch msg := ctx.Message().(type) {
		case *messages.CacheGetRequest:
			e, ok := m[msg.Key]
			if ok && time.Now().Before(e.exp) {
				fc.hits.Add(1)
				ctx.Respond(&messages.CacheGetResponse{Found: true, Value: e.v})
				return
			}
			ctx.Respond(&messages.CacheGetResponse{})
		case *messages.CacheSetRequest:
			fc.sets.Add(1)
			m[msg.Key] = entry{v: msg.Value, exp: time.Now().Add(ttl[msg.TtlClass])}
			ctx.Respond(&messages.CacheSetResponse{})
		}
	}))
	return fc
}

// directClient is a go-binance client of the simulator's default account,
// outside the connector, for checking what the exchange holds.
func directClient(t testing.TB, ex *exchangesim.Exchange) *binance.Client {
	t.Helper()
	c := binance.NewClient(exchangesim.DefaultAPIKey, exchangesim.DefaultSecretKey)
	c.BaseURL = ex.BaseURL()
	tr := &http.Transport{}
	c.HTTPClient = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	if _, err := c.NewSetServerTimeService().Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	return c
}

// requestAll sends n requests concurrently and returns the replies.
func requestAll[T any](t testing.TB, sys *actor.ActorSystem, pid *actor.PID, msgs []any, timeout time.Duration) []T {
	t.Helper()
	out := make([]T, len(msgs))
	errs := make([]error, len(msgs))
	var wg sync.WaitGroup
	for i, m := range msgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = actortest.TryRequest[T](sys, pid, m, timeout)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d (%T): %v", i, msgs[i], err)
		}
	}
	return out
}

// rpcCall runs method through the JSON-RPC router (the caller is a future, as
// for every RPC client) and decodes the answer into out.
func rpcCall(t *testing.T, f *fixture, router *rpc.Router, method, params string, out any) {
	t.Helper()
	p, err := router.Call(f.sys.Root, method, json.RawMessage(params))
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Result()
	if err != nil {
		t.Fatalf("%s %s: %v", method, params, err)
	}
	if r, ok := res.(messages.Responder); ok && r.GetError() != nil && out != nil {
		t.Fatalf("%s %s: %v", method, params, r.GetError())
	}
	if out == nil {
		return
	}
	b, err := rpc.Encode(res)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
}
