package connector

import (
	"testing"
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// busFixture is a connector publishing on the real bus, with f.bus
// subscribed to price.>, kline.> and book.>, and the connector's routes.
func busFixture(t *testing.T, cfg Config) (*fixture, *rpc.Router) {
	t.Helper()
	sys := actortest.NewSystem(t)
	log := actortest.Logger(t)
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test-node", log))
	f := &fixture{sys: sys, bus: actortest.NewProbe(t, sys)}
	for _, p := range []string{"price.>", "kline.>", "book.>"} {
		if r := actortest.Request[*messages.SubscribeResponse](t, sys, busPID, &messages.SubscribeRequest{Pattern: p, Subscriber: f.bus.PID}); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	f.pid = actortest.Spawn(t, sys, Props(cfg, Deps{Bus: busPID, Logger: log}))
	router := rpc.NewRouter(5 * time.Second)
	router.MustAdd(Routes(f.pid)...)
	return f, router
}

// TestDaemonStreamsReachTheBus: price and kline events from the simulator
// reach a bus subscriber after market.subscribe over JSON-RPC and after
// [connector] streams. Before, a subscription needed a subscriber PID that
// outlives it; an RPC caller's is a future, gone with the answer.
func TestDaemonStreamsReachTheBus(t *testing.T) {
	sc := simConfig()
	sc.TickInterval = 20 * time.Millisecond
	ex := startSim(t, sc)
	t.Run("config", func(t *testing.T) {
		cfg := testConfig(ex)
		cfg.Streams = []string{"price:BTCUSDT", "kline:BTCUSDT:1m", "book:BTCUSDT"}
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		f, _ := busFixture(t, cfg)
		expectTopic[*messages.PriceUpdate](t, f, "price.BTCUSDT.update", 10*time.Second)
		expectTopic[*messages.KlineUpdate](t, f, "kline.BTCUSDT.1m", 10*time.Second)
		expectTopic[*messages.BookUpdate](t, f, "book.BTCUSDT.update", 10*time.Second)
		if s := streamStatus(t, f, "kline.BTCUSDT.1m"); s.GetRefcount() != 1 {
			t.Fatalf("kline stream = %v", s)
		}
	})
	t.Run("market.subscribe", func(t *testing.T) {
		f, router := busFixture(t, testConfig(ex))
		var sub struct {
			Topic    string
			Refcount uint32
		}
		rpcCall(t, f, router, "market.subscribe", `["BTCUSDT", "STREAM_KIND_PRICE"]`, &sub)
		if sub.Topic != "price.BTCUSDT.update" || sub.Refcount != 1 {
			t.Fatalf("subscribe = %+v", sub)
		}
		rpcCall(t, f, router, "market.subscribe", `{"symbol":"btcusdt","kind":"STREAM_KIND_KLINE","interval":"1m"}`, &sub)
		if sub.Topic != "kline.BTCUSDT.1m" {
			t.Fatalf("subscribe = %+v", sub)
		}
		rpcCall(t, f, router, "market.subscribe", `["BTCUSDT", "STREAM_KIND_PRICE"]`, &sub) // the daemon holds one reference
		if sub.Refcount != 1 {
			t.Fatalf("second subscribe = %+v", sub)
		}
		expectTopic[*messages.PriceUpdate](t, f, "price.BTCUSDT.update", 10*time.Second)
		expectTopic[*messages.KlineUpdate](t, f, "kline.BTCUSDT.1m", 10*time.Second)

		var un struct{ Refcount uint32 }
		rpcCall(t, f, router, "market.unsubscribe", `["BTCUSDT", "STREAM_KIND_PRICE"]`, &un)
		if un.Refcount != 0 || streamStatus(t, f, "price.BTCUSDT.update") != nil {
			t.Fatalf("unsubscribe = %+v, stream %v", un, streamStatus(t, f, "price.BTCUSDT.update"))
		}
		again := actortest.Request[*messages.MarketUnsubscribeResponse](t, f.sys, f.pid,
			&messages.MarketUnsubscribeRequest{Symbol: "BTCUSDT", Kind: messages.StreamKind_STREAM_KIND_PRICE})
		if again.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
			t.Fatalf("second unsubscribe = %v", again)
		}
		bad := actortest.Request[*messages.MarketSubscribeResponse](t, f.sys, f.pid,
			&messages.MarketSubscribeRequest{Symbol: "BTCUSDT", Kind: messages.StreamKind_STREAM_KIND_KLINE})
		if bad.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
			t.Fatalf("kline without interval = %v", bad)
		}
	})
}
