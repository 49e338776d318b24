package connector

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestRateLimitHoldsEveryone: after a 429 (or 418) with Retry-After,
// nothing at all is sent until it has passed; then the held requests go.
func TestRateLimitHoldsEveryone(t *testing.T) {
	cases := []struct {
		name   string
		kind   exchangesim.FaultKind
		status int32
		health string
	}{
		{"429", exchangesim.FaultRateLimit, 429, "degraded"},
		{"418", exchangesim.FaultBan, 418, "down"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex := startSim(t, simConfig())
			f := startConnector(t, testConfig(ex))
			if err := ex.InjectFault(exchangesim.Fault{Kind: tc.kind, Route: "/api/v3/ticker/24hr", RetryAfter: 3 * time.Second}); err != nil {
				t.Fatal(err)
			}
			first := f.sys.Root.RequestFuture(f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"}, 15*time.Second)
			var st *messages.ConnectorStatusResponse
			actortest.Eventually(t, 5*time.Second, func() bool { st = f.status(t); return st.GetBanned() }, "banned")
			if st.GetBanStatus() != tc.status || st.GetRateLimited() != 1 {
				t.Fatalf("status = %v", st)
			}
			if n429, n418 := st.GetTooManyRequests(), st.GetIpBans(); tc.status == 429 && (n429 != 1 || n418 != 0) || tc.status == 418 && (n429 != 0 || n418 != 1) {
				t.Fatalf("429 answers %d, 418 answers %d after one %d", n429, n418, tc.status)
			}
			until := time.UnixMilli(st.GetBannedUntilMs())
			up := st.GetUpstreamRequests()
			second := f.sys.Root.RequestFuture(f.pid, &messages.DepthRequest{Symbol: "ETHUSDT", Limit: 5}, 15*time.Second)
			order := f.sys.Root.RequestFuture(f.pid, restingBuy("held-1"), 15*time.Second)
			if got := f.status(t).GetUpstreamRequests(); got != up {
				t.Fatalf("sent %d requests while banned", got-up)
			}
			if h := expectTopic[*messages.ConnectorHealth](t, f, "connector."+tc.health, 5*time.Second); h.GetReason() == "" {
				t.Fatalf("health = %v", h)
			}
			for _, fut := range []interface {
				Result() (any, error)
			}{first, second, order} {
				res, err := fut.Result()
				if err != nil {
					t.Fatal(err)
				}
				if r, ok := res.(messages.Responder); ok && r.GetError() != nil {
					t.Fatalf("reply %v", res)
				}
			}
			// The connector reads its clock on another goroutine, often on
			// the other vCPU, whose clock can differ from ours by tens of
			// ms (and time.Now moves in 4-20 ms steps): allow 100 ms of a
			// 3 s ban (3 s: the checks made while it lasts must not
			// outlast it on a loaded machine). A request that was not held
			// would be answered seconds early.
			if now := time.Now(); now.Before(until.Add(-100 * time.Millisecond)) {
				t.Fatalf("answered %s before the ban ended", until.Sub(now))
			}
			if got := f.status(t).GetUpstreamRequests() - up; got != 3 {
				t.Fatalf("after the ban %d requests went upstream, want 3 (held ticker, depth, order)", got)
			}
			expectTopic[*messages.ConnectorHealth](t, f, "connector.up", 5*time.Second)
		})
	}
}

func TestIdempotentGetRetriedOn5xx(t *testing.T) {
	ex := startSim(t, simConfig())
	f := startConnector(t, testConfig(ex))
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultError, Route: "/api/v3/ticker/24hr", Status: 502, Count: 2}); err != nil {
		t.Fatal(err)
	}
	res := actortest.Request[*messages.TickerResponse](t, f.sys, f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"})
	if res.GetError() != nil || res.GetLastPrice() == "" {
		t.Fatalf("res = %v", res)
	}
	if st := f.status(t); st.GetRetries() != 2 {
		t.Fatalf("retries = %d, want 2", st.GetRetries())
	}
	// A dropped answer (connection closed) is retried too (by net/http
	// itself when the connection was a reused one, else by the connector).
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultDrop, Route: "/api/v3/klines"}); err != nil {
		t.Fatal(err)
	}
	k := actortest.Request[*messages.KlinesResponse](t, f.sys, f.pid, &messages.KlinesRequest{Symbol: "BTCUSDT", Interval: "1m", Limit: 2})
	if k.GetError() != nil || len(k.GetKlines()) != 2 {
		t.Fatalf("klines = %v, retries %d", k, f.status(t).GetRetries())
	}
	// Three failures exhaust the three attempts.
	if err := ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultError, Route: "/api/v3/depth", Count: 3}); err != nil {
		t.Fatal(err)
	}
	d := actortest.Request[*messages.DepthResponse](t, f.sys, f.pid, &messages.DepthRequest{Symbol: "BTCUSDT"})
	if d.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE {
		t.Fatalf("depth = %v", d)
	}
}

// TestUsedWeightResync: weight spent by someone else on the same IP shows
// up in the connector's budget through X-MBX-USED-WEIGHT-1M.
func TestUsedWeightResync(t *testing.T) {
	cfg := simConfig()
	cfg.WeightWindow = time.Hour // no rollover during the test
	ex := startSim(t, cfg)
	f := startConnector(t, testConfig(ex))
	before := f.status(t).GetBudgetUsed()
	other := directClient(t, ex) // time sync: weight 1
	for range 5 {
		if _, err := other.NewExchangeInfoService().Do(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	actortest.Request[*messages.TickerResponse](t, f.sys, f.pid, &messages.TickerRequest{Symbol: "BTCUSDT"})
	if got, want := f.status(t).GetBudgetUsed(), before+1+5*20+2; got != want {
		t.Fatalf("budget used = %d, want %d", got, want)
	}
}

func TestUnreachableExchange(t *testing.T) {
	ex := startSim(t, simConfig())
	cfg := testConfig(ex)
	_ = ex.Close() // nothing listens there any more
	cfg.QueueTimeout = time.Second
	sys := actortest.NewSystem(t)
	pid := actortest.Spawn(t, sys, Props(cfg, Deps{Logger: actortest.Logger(t)}))
	actortest.Eventually(t, 3*time.Second, func() bool {
		r := actortest.Request[*messages.TickerResponse](t, sys, pid, &messages.TickerRequest{Symbol: "BTCUSDT"})
		return r.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_UNAVAILABLE
	}, "ticker answered UNAVAILABLE")
	st := actortest.Request[*messages.ConnectorStatusResponse](t, sys, pid, &messages.ConnectorStatusRequest{})
	if st.GetHealth() != "down" {
		t.Fatalf("status = %v", st)
	}
}

// TestBudgetHoldsAndSheds: with the window's budget spent, requests wait
// (nothing is sent, so no 429), the queue is bounded, and waiting requests
// are answered RATE_LIMITED after queue_timeout.
func TestBudgetHoldsAndSheds(t *testing.T) {
	sc := tenSymbols()
	// Init costs 41 (time, and exchangeInfo twice: these symbols have no
	// BTCUSDT to ask about); usable 57.
	sc.WeightLimit, sc.WeightWindow = 60, time.Hour
	ex := startSim(t, sc)
	cfg := testConfig(ex)
	// The held request must still be queued when the test looks and when
	// the next one comes: long beside a loaded machine's stalls.
	cfg.MaxQueue, cfg.QueueTimeout = 1, 2*time.Second
	f := startConnector(t, cfg)
	for i := range 8 { // 16 weight: 57 of 57
		if r := actortest.Request[*messages.TickerResponse](t, f.sys, f.pid, &messages.TickerRequest{Symbol: fmt.Sprintf("C%dUSDT", i)}); r.GetError() != nil {
			t.Fatal(r.GetError())
		}
	}
	held := f.sys.Root.RequestFuture(f.pid, &messages.TickerRequest{Symbol: "C8USDT"}, 5*time.Second)
	actortest.Eventually(t, 2*time.Second, func() bool { return f.status(t).GetPool().GetQueued() == 1 }, "one request queued")
	full := actortest.Request[*messages.TickerResponse](t, f.sys, f.pid, &messages.TickerRequest{Symbol: "C9USDT"})
	if full.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("queue full: %v", full)
	}
	res, err := held.Result()
	if err != nil || res.(*messages.TickerResponse).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_RATE_LIMITED {
		t.Fatalf("held: %v, %v", res, err)
	}
	if st := f.status(t); st.GetRateLimited() != 0 || st.GetBudgetUsed() != 57 {
		t.Fatalf("status = %v", st)
	}
}

func TestOrdersLeaveBeforeMarketData(t *testing.T) {
	var q jobQueue
	q.push(&job{id: 1, prio: prioMarket})
	q.push(&job{id: 2, prio: prioOrder, signed: true})
	q.push(&job{id: 3, prio: prioSystem})
	if j, _, _ := q.next(false, false); j.id != 3 {
		t.Fatalf("before the limits are known only system jobs leave, got %d", j.id)
	}
	q.q[prioSystem] = nil
	if j, _, _ := q.next(false, false); j != nil {
		t.Fatalf("got %d before ready", j.id)
	}
	if j, _, _ := q.next(true, false); j.id != 2 {
		t.Fatalf("next = %d, want the order", j.id)
	}
	if j, _, _ := q.next(true, true); j.id != 1 {
		t.Fatalf("while the clock syncs signed jobs wait: next = %d", j.id)
	}
}
