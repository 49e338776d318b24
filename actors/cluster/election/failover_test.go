package election

import (
	"testing"
	"time"
)

// TestFailover runs each fault once against three node processes in their
// own network namespaces (etcd and the recorder in two more): SIGKILL of
// the leader, SIGSTOP for 10 s then SIGCONT, an iptables partition of the
// leader (it still reaches the recorder) then heal, and etcd down. Tokens
// must strictly increase and no old token may act after a newer one did.
// The figures (100 trials each) are the soak test's.
func TestFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("failover scenarios take ~30 s")
	}
	c := newCluster(t)
	for _, kind := range []string{"kill", "stop", "partition", "etcd"} {
		tr, err := c.runTrial(kind)
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		t.Logf("%s: token %d -> %d, failover %v (gap after the old leader's last action %v)",
			kind, tr.oldToken, tr.newToken, tr.failover(), tr.gap())
		if tr.newToken <= tr.oldToken {
			t.Errorf("%s: token %d -> %d", kind, tr.oldToken, tr.newToken)
		}
		if kind == "etcd" && tr.acting > 0 {
			t.Errorf("etcd down: %d tokens still acted later than the TTL after etcd died", tr.acting)
		}
		// Generous bound for a loaded 2-vCPU machine; the figure is the soak's.
		if kind != "etcd" && tr.failover() > 5*time.Second {
			t.Errorf("%s: failover %v", kind, tr.failover())
		}
	}
	if o := c.overlaps(); len(o) > 0 {
		t.Errorf("%d overlapping actions, first: %s", len(o), o[0])
	}
}
