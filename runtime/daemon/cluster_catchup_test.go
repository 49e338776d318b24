package daemon_test

import (
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/runtime/client"
)

// TestClusterTradingRollingRestart: the standby is stopped while the
// leader trades and restarted with the same state directory: its journal
// copy missed what was traded meanwhile, so its follower catches up from
// a snapshot of the leader's journal (journal.snapshot relayed to the
// leader's node). Then the leader is SIGKILLed while placing: the standby
// takes over and its journal matches the exchange, orders closed while it
// was down included.
func TestClusterTradingRollingRestart(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	ex := liveSim(t)
	dirs := map[string]string{"a": t.TempDir(), "b": t.TempDir()}
	procs := map[string]*proc{}
	clients := map[string]*client.Client{}
	for _, n := range []string{"a", "b"} {
		procs[n] = startDaemon(t, dirs[n], liveConfig(ex, clusterTrading(n, etcd.Endpoint)))
		clients[n] = procs[n].client()
	}
	first := leaderOf(t, clients, 20*time.Second)
	second := map[string]string{"a": "b", "b": "a"}[first]
	lc := clients[first]
	waitReconciled(t, lc, 30*time.Second)

	l := &load{ex: ex, rng: rand.New(rand.NewPCG(5, 6))}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { l.step(stop) })
	l.place(lc, 10)
	// The rolling restart of the standby: down while the leader trades.
	if err := procs[second].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := procs[second].wait(30 * time.Second); code != 0 {
		t.Fatalf("the standby exited %d on SIGTERM", code)
	}
	l.place(lc, 15) // missed by the standby's copy
	procs[second] = startDaemon(t, dirs[second], liveConfig(ex, clusterTrading(second, etcd.Endpoint)))
	oc := procs[second].client()
	// Its first batch after the restart is not the next one: it catches up.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(procs[second].out.String(), "journal sync caught up") {
		if time.Now().After(deadline) {
			t.Fatal("the restarted standby did not catch up")
		}
		l.place(lc, 1)
	}
	l.place(lc, 10)
	for range 3 {
		wg.Go(func() { l.place(lc, 30) })
	}
	time.Sleep(150 * time.Millisecond) // the kill lands in the middle of placement
	failOver(t, procs[first], oc, second)
	waitReconciled(t, oc, 60*time.Second)
	l.place(oc, 5)
	close(stop)
	wg.Wait()
	a := waitAligned(t, oc, ex)
	t.Logf("placed: %d answered, %d refused, %d cut by the kill; exchange %d orders %d trades, journal %d orders %d fills",
		l.answered, l.refused, l.cut, a.exOrders, a.exTrades, a.jOrders, a.jFills)
	if !a.ok() {
		t.Fatalf("after the rolling restart and the failover the new leader's journal and the exchange differ:\n%s", a)
	}
}
