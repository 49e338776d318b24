package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// clusterTrading is the [cluster] section of a trading node (liveConfig's extra).
func clusterTrading(node, etcd string) string {
	return fmt.Sprintf("[cluster]\nenabled = true\nnode = %q\nlisten = \"127.0.0.1:0\"\netcd = [%q]\n", node, etcd)
}

// leads reports whether c's node (named node) runs trading now:
// trading.reconcile pinned to it is answered (a standby refuses it with
// UNAVAILABLE; without the node param it would relay it to the leader).
func leads(c *client.Client, node string) (bool, error) {
	var res messages.ReconcileResponse
	err := rpcCall(context.Background(), c, "trading.reconcile", map[string]any{"node": node}, &res)
	switch {
	case err == nil:
		return true, nil
	case isRPCError(err) && strings.Contains(err.Error(), "lead"):
		return false, nil
	case isRPCError(err) && strings.Contains(err.Error(), "retry shortly"):
		return false, nil
	}
	return false, err
}

// failOver SIGKILLs the trading leader's process and waits until the node
// named next (reached through c) leads; it returns c.
func failOver(t *testing.T, leader *proc, c *client.Client, next string) *client.Client {
	t.Helper()
	if err := leader.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if got := leaderOf(t, map[string]*client.Client{next: c}, 15*time.Second); got != next {
		t.Fatalf("leader %s", got)
	}
	return c
}

// leaderOf waits until exactly one of the nodes leads trading and returns it.
func leaderOf(t *testing.T, nodes map[string]*client.Client, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var leading []string
		for name, c := range nodes {
			ok, err := leads(c, name)
			if err != nil {
				t.Fatalf("node %s: %v", name, err)
			}
			if ok {
				leading = append(leading, name)
			}
		}
		if len(leading) > 1 {
			t.Fatalf("two nodes run trading at once: %v", leading)
		}
		if len(leading) == 1 {
			return leading[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no node leads trading after %s", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// load places orders on the simulator through a daemon: market orders and
// limit orders near the price (filled as the test steps the exchange) or far
// from it (left open).
type load struct {
	ex  *exchangesim.Exchange
	mu  sync.Mutex
	rng *rand.Rand
	// answered, refused and cut count the placements: answered by the
	// daemon, refused by it (an RPC error), cut (the connection died).
	answered, refused, cut int
}

func (l *load) params() map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	sym := []string{"BTCUSDT", "ETHUSDT"}[l.rng.IntN(2)]
	side := []string{"BUY", "SELL"}[l.rng.IntN(2)]
	p := map[string]any{"symbol": sym, "side": side, "type": "MARKET", "quantity": map[string]string{"BTCUSDT": "0.001", "ETHUSDT": "0.02"}[sym]}
	if k := l.rng.IntN(3); k > 0 {
		off := 0.0005 // near: crossed within a few steps
		if k == 2 {
			off = 0.05 // far: stays open
		}
		if side == "BUY" {
			off = -off
		}
		px := decimal.RequireFromString(l.ex.Price(sym)).Mul(decimal.NewFromFloat(1 + off))
		p["type"], p["price"], p["time_in_force"] = "LIMIT", px.Round(2).String(), "GTC"
	}
	return p
}

// place sends n orders one after the other; it stops at the first one the
// connection loses (the daemon died).
func (l *load) place(c *client.Client, n int) {
	for range n {
		var res messages.PlaceTradeOrderResponse
		err := rpcCall(context.Background(), c, "trading.order.place", l.params(), &res)
		l.mu.Lock()
		switch {
		case err == nil:
			l.answered++
		case isRPCError(err):
			l.refused++
		default:
			l.cut++
		}
		l.mu.Unlock()
		if err != nil && !isRPCError(err) {
			return
		}
	}
}

// step moves every price one step every 20 ms until stop closes.
func (l *load) step(stop <-chan struct{}) {
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			l.ex.Step()
		}
	}
}

// journalTerms returns how many of c's journal orders carry each term.
func journalTerms(t *testing.T, c *client.Client) map[int64]int {
	t.Helper()
	var res messages.TradeOrdersResponse
	if err := rpcCall(context.Background(), c, "trading.orders", map[string]any{"limit": 10000}, &res); err != nil {
		t.Fatalf("trading.orders: %v", err)
	}
	out := map[int64]int{}
	for _, o := range res.GetOrders() {
		out[o.GetTerm()]++
	}
	return out
}

// TestClusterTradingFailover: two clustered daemons trade live on one
// simulated exchange. Exactly one leads trading; the other refuses
// trading.* (UNAVAILABLE) and follows the leader's journal. Orders are
// placed through the leader while it is SIGKILLed; the other node takes
// over, reconciles, and its journal matches the exchange: no duplicate,
// nothing missing, fills and positions equal. Its own orders carry a
// higher fencing term than the old leader's.
func TestClusterTradingFailover(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	ex := liveSim(t)
	procs := map[string]*proc{}
	clients := map[string]*client.Client{}
	for _, n := range []string{"a", "b"} {
		procs[n] = startDaemon(t, t.TempDir(), liveConfig(ex, clusterTrading(n, etcd.Endpoint)))
		clients[n] = procs[n].client()
	}
	first := leaderOf(t, clients, 20*time.Second)
	second := map[string]string{"a": "b", "b": "a"}[first]
	lc := clients[first]
	waitReconciled(t, lc, 30*time.Second)

	l := &load{ex: ex, rng: rand.New(rand.NewPCG(1, 2))}
	var res messages.PlaceTradeOrderResponse
	pinned := l.params()
	pinned["node"] = second
	err := rpcCall(context.Background(), clients[second], "trading.order.place", pinned, &res)
	if !isRPCError(err) || !strings.Contains(err.Error(), "does not lead") {
		t.Fatalf("a place pinned to the standby: %v, want UNAVAILABLE (does not lead)", err)
	}
	// Without the node param the standby relays it to the leader, once
	// its copy of the leader's record says it leads (a refusal until then).
	until(t, 10*time.Second, "a place through the standby reaches the leader", func() bool {
		err := rpcCall(context.Background(), clients[second], "trading.order.place", l.params(), &res)
		if err != nil && !isRPCError(err) {
			t.Fatal(err)
		}
		return err == nil && res.GetOrder().GetTerm() > 0
	})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.step(stop) })
	// Twenty orders while all is well, then three placers racing the kill.
	l.place(lc, 20)
	for range 3 {
		wg.Go(func() { l.place(lc, 30) })
	}
	time.Sleep(150 * time.Millisecond) // the kill lands in the middle of placement
	oc := failOver(t, procs[first], clients[second], second)
	waitReconciled(t, oc, 60*time.Second)
	l.place(oc, 10) // the new leader trades too: orders of its own term
	close(stop)
	wg.Wait()
	// The exchange is quiescent now; the last fills reach the journal
	// through the user data stream.
	a := waitAligned(t, oc, ex)
	t.Logf("placed: %d answered, %d refused, %d cut by the kill; exchange %d orders %d trades, journal %d orders %d fills",
		l.answered, l.refused, l.cut, a.exOrders, a.exTrades, a.jOrders, a.jFills)
	if !a.ok() {
		t.Fatalf("after failover the new leader's journal and the exchange differ:\n%s", a)
	}
	terms := journalTerms(t, oc)
	t.Logf("journal orders by term: %v", terms)
	var ts []int64
	for term := range terms {
		ts = append(ts, term)
	}
	if len(ts) != 2 || min(ts[0], ts[1]) <= 0 {
		t.Fatalf("want the orders of two terms (> 0), got %v", terms)
	}
}

// TestClusterTradingEtcdDown: with etcd gone nobody may lead, so the
// leader stops trading (a place is refused) and says so on the bus
// (alert.cluster.election) rather than trading on without a lease.
func TestClusterTradingEtcdDown(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	ex := liveSim(t)
	p := startDaemon(t, t.TempDir(), liveConfig(ex, clusterTrading("a", etcd.Endpoint)))
	c := p.client()
	leaderOf(t, map[string]*client.Client{"a": c}, 20*time.Second)
	waitReconciled(t, c, 30*time.Second)
	sub, err := c.Subscribe(context.Background(), "events.subscribe", map[string]string{"pattern": "alert.cluster.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	l := &load{ex: ex, rng: rand.New(rand.NewPCG(3, 4))}
	var res messages.PlaceTradeOrderResponse
	if err := rpcCall(context.Background(), c, "trading.order.place", l.params(), &res); err != nil {
		t.Fatalf("place while leading: %v", err)
	}
	etcd.Stop()
	// The leader may trade on while its lease is provably alive (at most
	// the TTL, 2 s); then every place is refused.
	stopped := time.Now()
	for {
		err := rpcCall(context.Background(), c, "trading.order.place", l.params(), &res)
		if isRPCError(err) && (strings.Contains(err.Error(), "may not trade now") || strings.Contains(err.Error(), "does not lead")) {
			break
		}
		if err != nil && !isRPCError(err) {
			t.Fatal(err)
		}
		if time.Since(stopped) > 2*time.Second+time.Second {
			t.Fatalf("still trading %s after etcd stopped (last: %v)", time.Since(stopped), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	before, err := ex.AccountOrders(exchangesim.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		err := rpcCall(context.Background(), c, "trading.order.place", l.params(), &res)
		if !isRPCError(err) {
			t.Fatalf("a place with etcd down: %v, want a refusal", err)
		}
	}
	select {
	case n := <-sub.C():
		if !strings.Contains(string(n.Params), "alert.cluster") {
			t.Fatalf("unexpected event %s", n.Params)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no alert.cluster.* event after etcd stopped")
	}
	ok, err := leads(c, "a")
	if err != nil || ok {
		t.Fatalf("leads = %v, %v with etcd down", ok, err)
	}
	after, err := ex.AccountOrders(exchangesim.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("the exchange got %d orders after the first refusal", len(after)-len(before))
	}
}

// TestClusterRollingRestart: three clustered daemons trade live on one
// simulated exchange; each node in turn is stopped (SIGTERM) and started
// again while the leader trades. Every node rejoins, exactly one leads at
// any time, leadership moves with strictly increasing terms when the
// leader restarts, and the leader's journal in the end matches the
// exchange.
func TestClusterRollingRestart(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	ex := liveSim(t)
	names := []string{"a", "b", "c"}
	dirs := map[string]string{}
	procs := map[string]*proc{}
	clients := map[string]*client.Client{}
	for _, n := range names {
		dirs[n] = t.TempDir()
		procs[n] = startDaemon(t, dirs[n], liveConfig(ex, clusterTrading(n, etcd.Endpoint)))
		clients[n] = procs[n].client()
	}
	for _, c := range clients {
		waitNodes(t, c, 20*time.Second, names...)
	}
	l := &load{ex: ex, rng: rand.New(rand.NewPCG(5, 6))}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.step(stop) })
	defer func() { close(stop); wg.Wait() }()
	var leaders []string
	for _, n := range names {
		lead := leaderOf(t, clients, 20*time.Second)
		leaders = append(leaders, lead)
		waitReconciled(t, clients[lead], 60*time.Second)
		l.place(clients[lead], 10)
		if err := procs[n].cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		if code := procs[n].wait(60 * time.Second); code != 0 {
			t.Fatalf("node %s exited %d on SIGTERM", n, code)
		}
		procs[n] = startDaemon(t, dirs[n], liveConfig(ex, clusterTrading(n, etcd.Endpoint)))
		clients[n] = procs[n].client()
		for _, c := range clients {
			waitNodes(t, c, 20*time.Second, names...)
		}
	}
	lead := leaderOf(t, clients, 20*time.Second)
	waitReconciled(t, clients[lead], 60*time.Second)
	l.place(clients[lead], 10)
	a := waitAligned(t, clients[lead], ex)
	t.Logf("leaders %v then %s; placed %d answered, %d refused, %d cut; exchange %d orders, journal %d", leaders, lead,
		l.answered, l.refused, l.cut, a.exOrders, a.jOrders)
	if !a.ok() {
		t.Fatalf("after a rolling restart the leader's journal and the exchange differ:\n%s", a)
	}
	if l.cut > 0 {
		t.Fatalf("%d placements lost their answer although every stop was graceful", l.cut)
	}
}
