package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// ladderConfig is a grid strategy around BTCUSDT's price on ex: its first
// bar places a buy below and a sell above the price on every level.
func ladderConfig(ex *exchangesim.Exchange) string {
	p := decimal.RequireFromString(ex.Price("BTCUSDT"))
	lower, upper := p.Mul(decimal.RequireFromString("0.9")).Round(0), p.Mul(decimal.RequireFromString("1.1")).Round(0)
	return fmt.Sprintf(`[trading.strategies.ladder]
kind = "grid"
symbol = "BTCUSDT"
interval = "1s"
allocation = "100000 USDT"
params = { lower = %s, upper = %s, levels = 41, quantity = 0.0001 }
`, lower, upper)
}

// TestClusterStrategyFailover: a grid strategy trades on the cluster's
// trading leader, and the strategy host's client ids carry the leader's
// term. The leader is SIGKILLed as soon as the grid's first order reaches
// the exchange, while the grid places the rest; the standby takes over,
// reconciles without a halt (grid orders whose journal rows the kill cut
// off are adopted by their earlier term), and its journal matches the
// exchange.
func TestClusterStrategyFailover(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	ex := liveSim(t)
	procs := map[string]*proc{}
	clients := map[string]*client.Client{}
	for _, n := range []string{"a", "b"} {
		procs[n] = startDaemon(t, t.TempDir(), liveConfig(ex, clusterTrading(n, etcd.Endpoint)+ladderConfig(ex)))
		clients[n] = procs[n].client()
	}
	first := leaderOf(t, clients, 20*time.Second)
	second := map[string]string{"a": "b", "b": "a"}[first]
	waitReconciled(t, clients[first], 30*time.Second)

	l := &load{ex: ex, rng: rand.New(rand.NewPCG(7, 8))}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.step(stop) })
	defer func() { close(stop); wg.Wait() }()
	var firstIDs []string
	until(t, 30*time.Second, "the grid's first order on the exchange", func() bool {
		firstIDs = exchangeIDs(t, ex)
		return len(firstIDs) > 0
	})
	oc := failOver(t, procs[first], clients[second], second)
	res := waitReconciled(t, oc, 60*time.Second)
	// Every grid order carries a term: the old leader's, then the new one's.
	oldTerm := termOf(t, firstIDs[0])
	until(t, 30*time.Second, "the new leader's grid orders on the exchange", func() bool {
		for _, id := range exchangeIDs(t, ex) {
			if termOf(t, id) > oldTerm {
				return true
			}
		}
		return false
	})
	a := waitAligned(t, oc, ex)
	t.Logf("old term %d; the new leader's reconciliation adopted %d orders of the earlier term; exchange %d orders, journal %d",
		oldTerm, res.GetReport().GetAdoptedFromEarlierTerm(), a.exOrders, a.jOrders)
	if !a.ok() {
		t.Fatalf("after the failover the new leader's journal and the exchange differ:\n%s", a)
	}
	var orders messages.TradeOrdersResponse
	if err := rpcCall(context.Background(), oc, "trading.orders", map[string]any{"strategy": "ladder", "limit": 10000}, &orders); err != nil {
		t.Fatal(err)
	}
	for _, o := range orders.GetOrders() {
		if term := termOf(t, o.GetClientOrderId()); term != o.GetTerm() {
			t.Errorf("journal order %s: term %d, its id says %d", o.GetClientOrderId(), o.GetTerm(), term)
		}
	}
}

// exchangeIDs are the client ids of the orders the exchange holds.
func exchangeIDs(t *testing.T, ex *exchangesim.Exchange) []string {
	t.Helper()
	orders, err := ex.AccountOrders(exchangesim.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range orders {
		ids = append(ids, o.ClientOrderID)
	}
	return ids
}

// termOf reads the term of one of the strategy host's client ids.
func termOf(t *testing.T, id string) int64 {
	t.Helper()
	got, ok := clientid.Parse("sb", id)
	if !ok || got.Life == 0 || got.Term <= 0 {
		t.Fatalf("client id %q is not the strategy host's with a term (%+v)", id, got)
	}
	return got.Term
}
