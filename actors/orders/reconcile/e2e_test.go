package reconcile

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/connector"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestRunnerAgainstTheSimulator reconciles a journal with the simulated
// exchange through the real connector (go-binance over HTTP).
func TestRunnerAgainstTheSimulator(t *testing.T) {
	_, c, sys, conn := simConnector(t)
	bg := context.Background()
	place := func(cid string, typ binance.OrderType, price string) int64 {
		s := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(typ).Quantity("0.001").NewClientOrderID(cid)
		if price != "" {
			s.TimeInForce(binance.TimeInForceTypeGTC).Price(price)
		}
		o, err := s.Do(bg)
		if err != nil {
			t.Fatal(err)
		}
		return o.OrderID
	}
	place("sb-s1-1", binance.OrderTypeLimit, "50000")       // open; the journal says SENT
	filled := place("sb-s1-2", binance.OrderTypeMarket, "") // the journal says NEW
	place("web_ext", binance.OrderTypeLimit, "50000")       // only the exchange knows it

	now := time.Now().UnixMilli()
	journal := []*messages.TradeOrder{jo("sb-s1-1", stSent, 0, ""), jo("sb-s1-2", stNew, filled, "0"), jo("sb-s1-3", stIntent, 0, "")}
	for _, j := range journal {
		j.CreatedMs, j.UpdatedMs, j.Quantity = now-60_000, now-60_000, "0.001"
	}
	out := make(chan *Result, 1)
	actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Spawn(Props(conn, Request{Journal: journal, Symbols: []string{sym}, External: ExternalAdopt, Prefix: "sb-",
				NowMs: now, RecvWindowMs: 5000}))
		case *Result:
			out <- m
		}
	}))
	res := waitResult(t, out)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	p := res.Plan
	s := summarize(p)
	if len(p.Mismatches) != 0 || len(s.Updates) != 2 || !strings.HasPrefix(s.Updates[0], "sb-s1-1:NEW:0:") ||
		!strings.HasPrefix(s.Updates[1], "sb-s1-2:FILLED:0.001:") ||
		len(s.Adopt) != 1 || s.Adopt[0] != "web_ext:external:NEW" || len(s.Close) != 1 || s.Close[0] != "sb-s1-3:NOT_SENT" {
		t.Fatalf("plan: %+v, mismatches %q", s, p.Mismatches)
	}
	for _, f := range p.Fills {
		if f.GetClientOrderId() != "sb-s1-2" || f.GetStrategy() != "s1" {
			t.Fatalf("fill %v", f)
		}
	}
	if len(p.Fills) == 0 || p.Report.GetRequests() != 5 {
		t.Fatalf("fills %d, report %v", len(p.Fills), p.Report)
	}
}

// TestRunnerFindsMissedFillsWithoutAJournalTrade: the journal has one
// resting order and no trade of the symbol; while the daemon was down the
// exchange (exchangesim Seed) filled it with 2,500 fills, more than one
// page. The run must record all of them through the real connector.
func TestRunnerFindsMissedFillsWithoutAJournalTrade(t *testing.T) {
	ex, c, sys, conn := simConnector(t)
	now := time.Now().UnixMilli()
	o, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeLimit).
		TimeInForce(binance.TimeInForceTypeGTC).Price("50000").Quantity("0.05").NewClientOrderID("sb-s1-1").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const fills = 2500
	seeded, err := ex.Seed(exchangesim.Seed{APIKey: exchangesim.DefaultAPIKey, Symbol: sym, FillOpen: fills, ClientIDPrefix: "ext"})
	if err != nil || seeded.Filled != 1 || seeded.Trades != fills {
		t.Fatalf("seed: %+v, %v", seeded, err)
	}
	j := jo("sb-s1-1", stNew, o.OrderID, "0")
	j.CreatedMs, j.UpdatedMs, j.Quantity, j.Price = now, now, "0.05", "50000"
	res := waitResult(t, startRun(t, sys, conn, Request{Journal: []*messages.TradeOrder{j}, Symbols: []string{sym},
		External: ExternalAdopt, Prefix: "sb-", NowMs: now, RecvWindowMs: 5000}))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	p := res.Plan
	s := summarize(p)
	if len(p.Mismatches) != 0 || len(p.Fills) != fills || len(s.Updates) != 1 || !strings.HasPrefix(s.Updates[0], "sb-s1-1:FILLED:0.05:") {
		t.Fatalf("fills %d of %d, updates %q, mismatches %q", len(p.Fills), fills, s.Updates, p.Mismatches)
	}
	total := dec("0")
	for _, f := range p.Fills {
		if f.GetClientOrderId() != "sb-s1-1" {
			t.Fatalf("fill %v", f)
		}
		total = total.Add(dec(f.GetQuantity()))
	}
	if !total.Equal(dec("0.05")) {
		t.Fatalf("fills add up to %s, want 0.05", total)
	}
}

// TestRunnerBackfillsAgainstTheSimulator: two market orders fill one after
// the other; the journal recorded the second's trade but not the first's
// (the first's user data event was lost). Trades are fetched after the
// journal's last trade id, so the first's trades come by order id through
// the real connector, and nothing halts.
func TestRunnerBackfillsAgainstTheSimulator(t *testing.T) {
	_, c, sys, conn := simConnector(t)
	bg := context.Background()
	var ids [2]int64
	for i, cid := range []string{"sb-s1-1", "sb-s1-2"} {
		o, err := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(binance.OrderTypeMarket).
			Quantity("0.001").NewClientOrderID(cid).Do(bg)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = o.OrderID
	}
	second, err := c.NewListTradesService().Symbol(sym).OrderId(ids[1]).Do(bg)
	if err != nil || len(second) == 0 {
		t.Fatalf("trades of the second order: %v, %v", second, err)
	}
	now := time.Now().UnixMilli()
	journal := []*messages.TradeOrder{jo("sb-s1-1", stNew, ids[0], "0"), jo("sb-s1-2", stNew, ids[1], "0")}
	recorded := map[string][]int64{}
	for _, tr := range second {
		recorded["sb-s1-2"] = append(recorded["sb-s1-2"], tr.ID)
	}
	for _, j := range journal {
		j.CreatedMs, j.UpdatedMs, j.Quantity = now-60_000, now-60_000, "0.001"
	}
	res := waitResult(t, startRun(t, sys, conn, Request{Journal: journal, LastTradeIDs: map[string]int64{sym: second[len(second)-1].ID},
		Recorded: map[string]string{"sb-s1-1": "0", "sb-s1-2": "0.001"}, RecordedTrades: recorded,
		Prefix: "sb-", NowMs: now, RecvWindowMs: 5000}))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	p := res.Plan
	s := summarize(p)
	if len(p.Mismatches) != 0 || len(s.Updates) != 2 || !strings.HasPrefix(s.Updates[0], "sb-s1-1:FILLED:0.001:") ||
		!strings.HasPrefix(s.Updates[1], "sb-s1-2:FILLED:0.001:") || len(p.Fills) == 0 {
		t.Fatalf("plan: %+v, mismatches %q", s, p.Mismatches)
	}
	total := dec("0")
	for _, f := range p.Fills {
		if f.GetClientOrderId() != "sb-s1-1" || f.GetTradeId() >= second[0].ID {
			t.Fatalf("fill %v", f)
		}
		total = total.Add(dec(f.GetQuantity()))
	}
	if !total.Equal(dec("0.001")) {
		t.Fatalf("backfilled %s, want 0.001", total)
	}
}

// simConnector starts a simulated exchange and a real connector to it
// (go-binance over HTTP), and a go-binance client of the same account. It
// skips (fails under CI) when the connector does not answer account calls.
func simConnector(t *testing.T) (*exchangesim.Exchange, *binance.Client, *actor.ActorSystem, *actor.PID) {
	t.Helper()
	cfg := exchangesim.DefaultConfig()
	cfg.Listen, cfg.TickInterval, cfg.Backfill = "127.0.0.1:0", 0, 10*time.Minute
	ex, err := exchangesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	c := binance.NewClient(exchangesim.DefaultAPIKey, exchangesim.DefaultSecretKey)
	c.BaseURL = ex.BaseURL()
	htr := &http.Transport{}
	c.HTTPClient = &http.Client{Transport: htr, Timeout: 5 * time.Second}
	t.Cleanup(htr.CloseIdleConnections)
	bg := context.Background()
	if _, err := c.NewSetServerTimeService().Do(bg); err != nil {
		t.Fatal(err)
	}
	ccfg := connector.DefaultConfig()
	ccfg.BaseURL, ccfg.WSBaseURL = ex.BaseURL(), ex.WSBaseURL()
	sys := actortest.NewSystem(t)
	bus := actortest.NewProbe(t, sys)
	cache := actortest.NewReplyingProbe(t, sys, func(msg any) any {
		switch msg.(type) {
		case *messages.CacheGetRequest:
			return &messages.CacheGetResponse{}
		case *messages.CacheSetRequest:
			return &messages.CacheSetResponse{}
		}
		return nil
	})
	conn := actortest.Spawn(t, sys, connector.Props(ccfg, connector.Deps{Bus: bus.PID, Cache: cache.PID, Logger: actortest.Logger(t)}))
	actortest.Eventually(t, 10*time.Second, func() bool {
		st, err := actortest.TryRequest[*messages.ConnectorStatusResponse](sys, conn, &messages.ConnectorStatusRequest{}, time.Second)
		return err == nil && st.GetHealth() == "up"
	}, "connector up")
	// The connector's account calls come with its branch of issue 10; before
	// that merge the connector does not answer them.
	if _, err := actortest.TryRequest[*messages.AccountResponse](sys, conn, &messages.AccountRequest{}, 3*time.Second); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the connector does not answer AccountRequest: %v", err)
		}
		t.Skipf("the connector does not answer AccountRequest yet (%v): merge its account calls", err)
	}
	return ex, c, sys, conn
}
