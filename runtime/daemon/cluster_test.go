package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/runtime/client"
)

// clusterConf is a node's config: clustering on, remote on a free port,
// the test's etcd; extra is appended.
func clusterConf(node, etcd, extra string) string {
	return fmt.Sprintf(`[daemon.logging]
file = ""
[cluster]
enabled = true
node = %q
listen = "127.0.0.1:0"
etcd = [%q]
%s`, node, etcd, extra)
}

// memberNames calls cluster.members and returns the node names.
func memberNames(t *testing.T, c *client.Client) []string {
	t.Helper()
	var res struct {
		Members []struct {
			Node    string   `json:"node"`
			Modules []string `json:"modules"`
		} `json:"members"`
		Self string `json:"self"`
	}
	if err := c.Call(context.Background(), "cluster.members", nil, &res); err != nil {
		t.Fatalf("cluster.members: %v", err)
	}
	out := []string{}
	for _, m := range res.Members {
		out = append(out, m.Node)
	}
	return out
}

func waitNodes(t *testing.T, c *client.Client, within time.Duration, want ...string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got := memberNames(t, c)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members %v after %s, want %v", got, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClusterMembership runs three superbotd processes against a real etcd:
// each lists all three; a SIGKILLed node leaves the list within the lease
// TTL (2 s); a stopped one leaves at once.
func TestClusterMembership(t *testing.T) {
	etcd := clustertest.StartEtcd(t).Endpoint
	var procs []*proc
	var clients []*client.Client
	for _, n := range []string{"a", "b", "c"} {
		p := startDaemon(t, t.TempDir(), clusterConf(n, etcd, ""))
		procs = append(procs, p)
		clients = append(clients, p.client())
	}
	for _, c := range clients {
		waitNodes(t, c, 15*time.Second, "a", "b", "c")
	}
	if err := procs[2].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, clients[0], 2*time.Second+time.Second, "a", "b")
	if err := procs[1].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, clients[0], 5*time.Second, "a")
	procs[1].wait(15 * time.Second)
}

// TestClusterEventsAndControl: events.subscribe on one node sees events
// published on another, tagged with that node; module calls with a node
// param, or naming a module only another node defines, are answered there;
// daemon.status with cluster = true shows both nodes.
func TestClusterEventsAndControl(t *testing.T) {
	etcd := clustertest.StartEtcd(t).Endpoint
	pa := startDaemon(t, t.TempDir(), clusterConf("a", etcd, ""))
	pb := startDaemon(t, t.TempDir(), clusterConf("b", etcd, `
[daemon.modules.beat-b]
type = "thread"
module = "heartbeat"
start_seconds = "0s"
`))
	ca, cb := pa.client(), pb.client()
	waitNodes(t, ca, 15*time.Second, "a", "b")
	waitNodes(t, cb, 15*time.Second, "a", "b")

	// Events: a tails test.>; b publishes.
	sub, err := ca.Subscribe(context.Background(), "events.subscribe", map[string]string{"pattern": "test.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Topic string `json:"topic"`
		Node  string `json:"node"`
	}
	deadline := time.After(15 * time.Second)
	for got := false; !got; {
		// b learns a's pattern through etcd: publish until it arrives.
		call(t, cb, "events.publish", map[string]any{"topic": "test.hello", "payload": map[string]int{"n": 1}})
		select {
		case n := <-sub.C():
			if err := json.Unmarshal(n.Params, &ev); err != nil {
				t.Fatal(err)
			}
			got = true
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("a never saw b's event")
		}
	}
	if ev.Topic != "test.hello" || ev.Node != "b" {
		t.Fatalf("a got %+v, want test.hello from node b", ev)
	}

	// Control with node = "b": heartbeat on b, not on a.
	state := func(c *client.Client, params map[string]any) string {
		res := call(t, c, "module.status", params)
		return res["status"].(map[string]any)["state"].(string)
	}
	call(t, ca, "module.stop", map[string]any{"module": "heartbeat", "node": "b"})
	if s := state(cb, map[string]any{"module": "heartbeat"}); s == "running" {
		t.Fatalf("b's heartbeat is %s after module.stop from a", s)
	}
	if s := state(ca, map[string]any{"module": "heartbeat"}); s != "running" {
		t.Fatalf("a's heartbeat is %s: the call for b reached a", s)
	}
	if s := state(ca, map[string]any{"module": "heartbeat", "node": "b"}); s == "running" {
		t.Fatalf("module.status for b from a: %s", s)
	}
	call(t, ca, "module.start", map[string]any{"module": "heartbeat", "node": "b"})
	if s := state(cb, map[string]any{"module": "heartbeat"}); s != "running" {
		t.Fatalf("b's heartbeat is %s after module.start from a", s)
	}

	// A module only b defines is found by name.
	deadlineB := time.Now().Add(10 * time.Second)
	for {
		var res map[string]any
		err := ca.Call(context.Background(), "module.status", map[string]any{"module": "beat-b"}, &res)
		if err == nil {
			break
		}
		if time.Now().After(deadlineB) {
			t.Fatalf("module.status beat-b from a: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	call(t, ca, "module.start", map[string]any{"module": "beat-b"})
	if s := state(cb, map[string]any{"module": "beat-b"}); s != "running" {
		t.Fatalf("beat-b on b is %s after module.start from a", s)
	}

	// An unknown node is an error; daemon.status for the cluster has both.
	var res map[string]any
	if err := ca.Call(context.Background(), "module.status", map[string]any{"module": "heartbeat", "node": "zz"}, &res); err == nil {
		t.Fatal("module.status on node zz: no error")
	}
	st := call(t, ca, "daemon.status", map[string]any{"cluster": true})
	nodes, _ := st["nodes"].(map[string]any)
	if len(nodes) != 2 || nodes["a"] == nil || nodes["b"] == nil {
		t.Fatalf("daemon.status cluster: %v", st)
	}
	if nb := nodes["b"].(map[string]any); nb["node"] != "b" || len(nb["tree"].([]any)) == 0 {
		t.Fatalf("b's status: %v", nb)
	}

	// The CLI talks to a and reaches b through it.
	cli := filepath.Join(filepath.Dir(binary), "superbot-cluster")
	if out, err := exec.Command("go", "build", "-o", cli, "github.com/superbot/superbot/cmd/superbot").CombinedOutput(); err != nil {
		t.Fatalf("build superbot: %v\n%s", err, out)
	}
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, args...)
		cmd.Dir = pa.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("superbot %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	members := run("cluster", "members")
	if !regexp.MustCompile(`(?m)^\*\s+a\s+127\.0\.0\.1:\d+`).MatchString(members) || !regexp.MustCompile(`(?m)^\s+b\s+127\.0\.0\.1:\d+.*beat-b\*`).MatchString(members) {
		t.Fatalf("superbot cluster members:\n%s", members)
	}
	run("module", "stop", "beat-b", "--node", "b")
	if s := state(cb, map[string]any{"module": "beat-b"}); s == "running" {
		t.Fatalf("beat-b on b is %s after superbot module stop beat-b --node b", s)
	}
}

// TestClusterTLS: two nodes whose remote connections use TLS with client
// certificates (one self-signed CA) carry events and relayed calls.
func TestClusterTLS(t *testing.T) {
	etcd := clustertest.StartEtcd(t).Endpoint
	cert, key := clustertest.WriteCert(t)
	tls := fmt.Sprintf("[cluster.tls]\ncert = %q\nkey = %q\nca = %q\n", cert, key, cert)
	pa := startDaemon(t, t.TempDir(), clusterConf("a", etcd, tls))
	pb := startDaemon(t, t.TempDir(), clusterConf("b", etcd, tls))
	ca, cb := pa.client(), pb.client()
	waitNodes(t, ca, 15*time.Second, "a", "b")
	waitNodes(t, cb, 15*time.Second, "a", "b")
	res := call(t, ca, "module.status", map[string]any{"module": "heartbeat", "node": "b"})
	if res["status"].(map[string]any)["name"] != "heartbeat" {
		t.Fatalf("module.status on b over TLS: %v", res)
	}
	// A node without TLS is in etcd, but a's TLS dial cannot reach it.
	pc := startDaemon(t, t.TempDir(), clusterConf("c", etcd, ""))
	waitNodes(t, pc.client(), 15*time.Second, "a", "b", "c")
	var out map[string]any
	err := ca.Call(context.Background(), "module.status", map[string]any{"module": "heartbeat", "node": "c"}, &out)
	if err == nil {
		t.Fatalf("a reached c (no TLS) over its TLS remote: %v", out)
	}
}

// TestClusterRemotePortRetry: a taken remote port (as right after a
// SIGKILLed predecessor) is retried with backoff, and the node joins once
// the port is free.
func TestClusterRemotePortRetry(t *testing.T) {
	etcd := clustertest.StartEtcd(t).Endpoint
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(clusterConf("a", etcd, ""), `listen = "127.0.0.1:0"`, fmt.Sprintf("listen = %q", held.Addr().String()), 1)
	p := startDaemon(t, t.TempDir(), conf)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(p.out.String(), "cluster remote port taken; retrying") {
		if time.Now().After(deadline) {
			t.Fatalf("no retry logged:\n%s", p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = held.Close()
	waitNodes(t, p.client(), 15*time.Second, "a")
}

// TestSingleNodeNeedsNoCluster: with [cluster] off (the default) there is
// no cluster actor and no cluster.members; a node param may name this node
// only.
func TestSingleNodeNeedsNoCluster(t *testing.T) {
	p := startDaemon(t, t.TempDir(), "[daemon]\nnode = \"solo\"\n")
	c := p.client()
	var methods struct {
		Methods []string `json:"methods"`
	}
	if err := c.Call(context.Background(), "rpc.methods", nil, &methods); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(methods.Methods, "cluster.members") {
		t.Fatal("cluster.members is served with clustering off")
	}
	for _, ch := range call(t, c, "daemon.status", nil)["tree"].([]any) {
		if ch.(map[string]any)["name"] == "cluster" {
			t.Fatal("a cluster actor runs with clustering off")
		}
	}
	call(t, c, "module.status", map[string]any{"module": "heartbeat", "node": "solo"})
	var res map[string]any
	err := c.Call(context.Background(), "module.status", map[string]any{"module": "heartbeat", "node": "other"}, &res)
	if err == nil || !strings.Contains(err.Error(), "not clustered") {
		t.Fatalf("module.status on node other: %v", err)
	}
	if strings.Contains(p.out.String(), "cluster remote listening") {
		t.Fatal("remote started with clustering off")
	}
}
