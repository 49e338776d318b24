//go:build soak

package election

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFailoverSoak runs SUPERBOT_FAILOVER_TRIALS (default 100) trials of
// each fault in SUPERBOT_FAILOVER_KINDS (default kill,stop,partition,etcd)
// and reports failover p50/p95/max (fault -> the new leader's first action,
// on the recorder's clock; for etcd: etcd restarted -> first action) and the
// overlaps (target 0). It fails on any overlap, on a missed takeover, and
// when somebody acts later than the TTL after etcd died.
func TestFailoverSoak(t *testing.T) {
	trials := 100
	if v, err := strconv.Atoi(os.Getenv("SUPERBOT_FAILOVER_TRIALS")); err == nil && v > 0 {
		trials = v
	}
	kinds := []string{"kill", "stop", "partition", "etcd"}
	if v := os.Getenv("SUPERBOT_FAILOVER_KINDS"); v != "" {
		kinds = strings.Split(v, ",")
	}
	c := newCluster(t)
	for _, kind := range kinds {
		var fo, gaps []time.Duration
		before := len(c.overlaps())
		acting := 0
		for i := range trials {
			tr, err := c.runTrial(kind)
			if err != nil {
				t.Fatalf("%s trial %d: %v", kind, i+1, err)
			}
			if tr.newToken <= tr.oldToken {
				t.Fatalf("%s trial %d: token %d -> %d", kind, i+1, tr.oldToken, tr.newToken)
			}
			fo, gaps, acting = append(fo, tr.failover()), append(gaps, tr.gap()), acting+tr.acting
			t.Logf("%s %d/%d: token %d -> %d failover %v gap %v (fault took %v)", kind, i+1, trials, tr.oldToken, tr.newToken,
				tr.failover().Round(time.Millisecond), tr.gap().Round(time.Millisecond), tr.faultTook.Round(time.Millisecond))
		}
		overlaps := c.overlaps()[before:]
		t.Logf("FIGURE %s: %d trials, failover p50 %v p95 %v max %v; gap p50 %v max %v; overlaps %d; acting after etcd died %d",
			kind, trials, pct(fo, 50), pct(fo, 95), pct(fo, 100), pct(gaps, 50), pct(gaps, 100), len(overlaps), acting)
		for _, o := range overlaps {
			t.Errorf("%s overlap: %s", kind, o)
		}
		if acting > 0 {
			t.Errorf("%s: %d tokens acted later than the TTL after etcd died", kind, acting)
		}
	}
}

func pct(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))].Round(time.Millisecond)
}
