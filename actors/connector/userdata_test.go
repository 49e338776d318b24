package connector

import (
	"context"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// expectReport waits for the execution report of clientID with execType.
func expectReport(t *testing.T, p *actortest.Probe, clientID, execType string) *messages.ExecutionReport {
	t.Helper()
	return actortest.ExpectMatch(t, p, 10*time.Second, func(r *messages.ExecutionReport) bool {
		return r.GetClientOrderId() == clientID && r.GetExecutionType() == execType
	})
}

// expectState waits for the next UserDataStreamState with up.
func expectState(t *testing.T, p *actortest.Probe, up bool) *messages.UserDataStreamState {
	t.Helper()
	return actortest.ExpectMatch(t, p, 10*time.Second, func(s *messages.UserDataStreamState) bool { return s.GetUp() == up })
}

// TestUserDataStream: orders placed with go-binance directly show up as
// execution reports; a cut of the exchange's WebSocket connections is seen
// as down, then up with reconnects 1, and reports flow again; a subscriber
// that stops is dropped and the stream closes with it.
func TestUserDataStream(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	sub := actortest.NewProbe(t, f.sys)
	res := actortest.Request[*messages.SubscribeUserDataResponse](t, f.sys, f.pid, &messages.SubscribeUserDataRequest{Subscriber: sub.PID})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	if s := expectState(t, sub, true); s.GetReconnects() != 0 {
		t.Fatalf("first up = %v", s)
	}
	if st := f.status(t).GetUserData(); st == nil || !st.GetConnected() || st.GetRefcount() != 1 || st.GetTopic() != "userdata" {
		t.Fatalf("status user_data = %v", st)
	}

	direct := directClient(t, ex)
	bg := context.Background()
	place := func(id string, typ binance.OrderType, price string) {
		t.Helper()
		s := direct.NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(typ).Quantity("0.001").NewClientOrderID(id)
		if price != "" {
			s.Price(price).TimeInForce(binance.TimeInForceTypeGTC)
		}
		if _, err := s.Do(bg); err != nil {
			t.Fatal(err)
		}
	}
	place("ud-resting", binance.OrderTypeLimit, "50000")
	if r := expectReport(t, sub, "ud-resting", "NEW"); r.GetStatus() != "NEW" || r.GetSymbol() != "BTCUSDT" || r.GetOrderId() == 0 ||
		r.GetPrice() != "50000.00000000" || r.GetSide() != "BUY" || r.GetType() != "LIMIT" {
		t.Fatalf("NEW report = %v", r)
	}
	place("ud-taker", binance.OrderTypeMarket, "")
	if r := expectReport(t, sub, "ud-taker", "TRADE"); r.GetStatus() != "FILLED" || r.GetTradeId() <= 0 || r.GetLastFilledQty() != "0.00100000" ||
		r.GetLastFilledPrice() == "" || r.GetCommission() == "" || r.GetCommissionAsset() != "BTC" || r.GetMaker() || r.GetTransactionTimeMs() == 0 {
		t.Fatalf("TRADE report = %v", r)
	}

	ex.CloseStreams(false)
	if s := expectState(t, sub, false); s.GetReason() == "" {
		t.Fatalf("down = %v", s)
	}
	if s := expectState(t, sub, true); s.GetReconnects() != 1 {
		t.Fatalf("up after the cut = %v, want reconnects 1", s)
	}
	if _, err := direct.NewCancelOrderService().Symbol("BTCUSDT").OrigClientOrderID("ud-resting").Do(bg); err != nil {
		t.Fatal(err)
	}
	if r := expectReport(t, sub, "ud-resting", "CANCELED"); r.GetStatus() != "CANCELED" || r.GetOrigClientOrderId() != "ud-resting" {
		t.Fatalf("CANCELED report = %v", r)
	}
	if st := f.status(t).GetUserData(); st.GetReconnects() != 1 || !st.GetConnected() {
		t.Fatalf("status user_data = %v", st)
	}
	if n := f.status(t).GetStreamReconnects(); n < 1 {
		t.Fatalf("stream_reconnects = %d after one user data reconnect", n)
	}

	_ = f.sys.Root.StopFuture(sub.PID).Wait()
	actortest.Eventually(t, 5*time.Second, func() bool { return f.status(t).GetUserData() == nil }, "user data stream closed")
}

// TestUserDataSubscribeRefused: a key the exchange does not know never
// brings the stream up; the subscriber hears nothing and the status says
// not connected.
func TestUserDataSubscribeRefused(t *testing.T) {
	ex := startSim(t, simConfig())
	cfg := testConfig(ex)
	cfg.APIKey = "unknown-key"
	f := startConnector(t, cfg)
	sub := actortest.NewProbe(t, f.sys)
	actortest.Request[*messages.SubscribeUserDataResponse](t, f.sys, f.pid, &messages.SubscribeUserDataRequest{Subscriber: sub.PID})
	actortest.Eventually(t, 10*time.Second, func() bool { return f.status(t).GetHealth() == "degraded" }, "degraded: user data stream reconnecting")
	if st := f.status(t).GetUserData(); st == nil || st.GetConnected() {
		t.Fatalf("status user_data = %v", st)
	}
	if m, ok := sub.Next(100 * time.Millisecond); ok {
		t.Fatalf("subscriber got %T %v", m, m)
	}
}

func TestUserDataSubscribeValidation(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	res := actortest.Request[*messages.SubscribeUserDataResponse](t, f.sys, f.pid, &messages.SubscribeUserDataRequest{})
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT || f.status(t).GetUserData() != nil {
		t.Fatalf("res = %v", res)
	}
}

// restartConnector makes the supervisor's restart happen to the connector:
// the old instance gets Restarting, a new one Started.
func restartConnector(t *testing.T, f *fixture) {
	t.Helper()
	proc, ok := f.sys.ProcessRegistry.Get(f.pid)
	if !ok {
		t.Fatal("connector process not found")
	}
	proc.SendSystemMessage(f.pid, &actor.Restart{})
}

// TestSubscriptionsSurviveRestart: after a restart the user data
// subscriber is told down, then up with reconnects > 0 (it reconciles), and
// reports flow again; the daemon's market.subscribe stream is open again.
func TestSubscriptionsSurviveRestart(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	sub := actortest.NewProbe(t, f.sys)
	actortest.Request[*messages.SubscribeUserDataResponse](t, f.sys, f.pid, &messages.SubscribeUserDataRequest{Subscriber: sub.PID})
	expectState(t, sub, true)
	ms := actortest.Request[*messages.MarketSubscribeResponse](t, f.sys, f.pid,
		&messages.MarketSubscribeRequest{Symbol: "BTCUSDT", Kind: messages.StreamKind_STREAM_KIND_BOOK})
	if ms.GetError() != nil {
		t.Fatal(ms.GetError())
	}
	restartConnector(t, f)
	if s := expectState(t, sub, false); s.GetReason() != "connector stopping" {
		t.Fatalf("down = %v", s)
	}
	if s := expectState(t, sub, true); s.GetReconnects() != 1 {
		t.Fatalf("up after the restart = %v, want reconnects 1", s)
	}
	if _, err := directClient(t, ex).NewCreateOrderService().Symbol("BTCUSDT").Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Price("50000").Quantity("0.001").NewClientOrderID("after-restart").Do(context.Background()); err != nil {
		t.Fatal(err)
	}
	expectReport(t, sub, "after-restart", "NEW")
	if s := streamStatus(t, f, "book.BTCUSDT.update"); s.GetRefcount() != 1 {
		t.Fatalf("book stream after the restart = %v", s)
	}
}
