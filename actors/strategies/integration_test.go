package strategies

import (
	"testing"
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestRealConnectorKlines runs a strategy on the real connector and bus,
// fed by the simulated exchange's 1 s klines over WebSocket: the child
// opens the stream itself, and each closed kline becomes an order.
func TestRealConnectorKlines(t *testing.T) {
	sc := exchangesim.DefaultConfig()
	sc.Listen = "127.0.0.1:0"
	sc.TickInterval = 20 * time.Millisecond
	sc.Backfill = 10 * time.Minute
	ex, err := exchangesim.New(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })

	sys := actortest.NewSystem(t)
	busPID := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "test", actortest.Logger(t)))
	cc := connector.DefaultConfig()
	cc.BaseURL, cc.WSBaseURL = ex.BaseURL(), ex.WSBaseURL()
	if err := cc.Validate(); err != nil {
		t.Fatal(err)
	}
	connPID := actortest.Spawn(t, sys, connector.Props(cc, connector.Deps{Bus: busPID, Logger: actortest.Logger(t)}))
	orders, ordersPID := newFakeOrders(t, sys)

	cfg := Config{Strategies: map[string]Spec{"live": {Kind: "test_counter", Symbol: "BTCUSDT", Interval: "1s", Allocation: "100 USDT"}}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	host := actortest.Spawn(t, sys, Props(cfg, Deps{Bus: busPID, Orders: ordersPID, Connector: connPID, Logger: actortest.Logger(t)}))
	for i := 1; i <= 2; i++ {
		p := orders.nextPlace(t)
		if p.Strategy != "live" || p.Symbol != "BTCUSDT" || p.Side != "BUY" || p.Quantity != []string{"", "1", "2"}[i] {
			t.Fatalf("order %d: %v", i, p)
		}
	}
	st := actortest.Request[*messages.ConnectorStatusResponse](t, sys, connPID, &messages.ConnectorStatusRequest{})
	var found bool
	for _, s := range st.GetStreams() {
		found = found || (s.GetTopic() == "kline.BTCUSDT.1s" && s.GetRefcount() == 1)
	}
	if !found {
		t.Fatalf("the connector has no kline stream held by the strategy: %v", st.GetStreams())
	}
	// Stopping the strategy releases the stream (the connector watches it).
	actortest.Request[*messages.StrategyStopResponse](t, sys, host, &messages.StrategyStopRequest{Name: "live"})
	actortest.Eventually(t, wait, func() bool {
		st := actortest.Request[*messages.ConnectorStatusResponse](t, sys, connPID, &messages.ConnectorStatusRequest{})
		return len(st.GetStreams()) == 0
	}, "the stream closed after the strategy stopped")
}
