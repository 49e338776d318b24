package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// singletonConf is a node's config with the singleton module "solo": each
// start appends "NODE TOKEN" to starts and runs until killed.
func singletonConf(node, etcd, starts, marker string) string {
	return clusterConf(node, etcd, fmt.Sprintf(`[daemon]
autostart = ["solo"]
[daemon.modules.solo]
type = "exec"
command = ["sh", "-c", "echo %s $SUPERBOT_FENCING_TOKEN >> %s; exec sleep 600"]
singleton = true
start_seconds = "0s"
env = { SUPERBOT_TEST_MARKER = %q }
`, node, starts, marker))
}

// TestClusterSingletonModule: two clustered daemons define the singleton
// module "solo"; exactly one runs it, with its election's token, and a
// module call without a node param on the other reaches it there. The
// leader's daemon is SIGKILLed (its module dies with it): the other node
// starts the module with a higher token, and at no time do two copies run.
func TestClusterSingletonModule(t *testing.T) {
	etcd := clustertest.StartEtcd(t)
	marker := fmt.Sprintf("singleton-%d-%d", os.Getpid(), time.Now().UnixNano())
	killAllWith(t, "SUPERBOT_TEST_MARKER="+marker)
	starts := filepath.Join(t.TempDir(), "starts")
	procs := map[string]*proc{}
	clients := map[string]*client.Client{}
	for _, n := range []string{"a", "b"} {
		procs[n] = startDaemon(t, t.TempDir(), singletonConf(n, etcd.Endpoint, starts, marker))
		clients[n] = procs[n].client()
	}
	until(t, 20*time.Second, "one copy of solo runs", func() bool { return len(processesWith(marker)) == 1 && len(startLines(t, starts)) == 1 })
	first := startLines(t, starts)[0]
	leader, other := first.node, map[string]string{"a": "b", "b": "a"}[first.node]
	if first.token <= 0 {
		t.Fatalf("started without a fencing token: %+v", first)
	}
	// Without node, module.status on the other node is the leader's answer
	// (once the leader's record, which says it leads, has reached it).
	until(t, 10*time.Second, "module.status through the other node answered by the leader", func() bool {
		st := statusOn(t, clients[other], map[string]any{"module": "solo"})
		return st.GetState() == "running" && st.GetNode() == leader
	})
	if st := statusOn(t, clients[other], map[string]any{"module": "solo", "node": other}); st.GetState() == "running" {
		t.Fatalf("solo runs on %s too", other)
	}

	if err := procs[leader].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	most := 0
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		n := len(processesWith(marker))
		most = max(most, n)
		if lines := startLines(t, starts); len(lines) == 2 && n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no second start within 20 s of the kill: %v", startLines(t, starts))
		}
	}
	took := time.Since(killed)
	second := startLines(t, starts)[1]
	t.Logf("solo on %s (token %d); its daemon SIGKILLed; on %s (token %d) %s later; most copies seen at once: %d",
		first.node, first.token, second.node, second.token, took.Round(time.Millisecond), most)
	if second.node != other || second.token <= first.token || most > 1 {
		t.Fatalf("after the kill: %+v after %+v, %d copies at once", second, first, most)
	}
}

type startLine struct {
	node  string
	token int64
}

// startLines reads the module's "NODE TOKEN" lines.
func startLines(t *testing.T, path string) []startLine {
	t.Helper()
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []startLine
	for _, l := range strings.Split(string(bytes.TrimSpace(b)), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 {
			continue // a line being written
		}
		tok, _ := strconv.ParseInt(f[1], 10, 64)
		out = append(out, startLine{f[0], tok})
	}
	return out
}

// statusOn calls module.status with params through c.
func statusOn(t *testing.T, c *client.Client, params map[string]any) *messages.ModuleStatus {
	t.Helper()
	var res messages.ModuleStatusResponse
	if err := rpcCall(context.Background(), c, "module.status", params, &res); err != nil {
		t.Fatalf("module.status %v: %v", params, err)
	}
	return res.GetStatus()
}
