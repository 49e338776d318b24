package daemon_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/netns"
)

// startDaemonIn is startDaemon with the daemon inside a network namespace
// (its Unix socket is a file: the test reaches it from outside).
func startDaemonIn(t *testing.T, ns *netns.NS, dir, extra string) *proc {
	t.Helper()
	conf := writeConf(t, dir, extra)
	return launch(t, dir, ns.Command(context.Background(), binary, "-c", conf), "daemon "+ns.Node)
}

// expectEvent publishes test.NAME on from until to's subscription has it
// (to learns from's patterns through etcd), within d.
func expectEvent(t *testing.T, from *client.Client, sub *client.Subscription, node, topic string, d time.Duration) {
	t.Helper()
	deadline := time.After(d)
	for {
		call(t, from, "events.publish", map[string]any{"topic": topic})
		select {
		case n := <-sub.C():
			var ev struct {
				Topic, Node string
			}
			if err := json.Unmarshal(n.Params, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Topic == topic && ev.Node == node {
				return
			}
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatalf("%s from node %s never arrived", topic, node)
		}
	}
}

// TestClusterPartition: two nodes and etcd, each in its own network
// namespace. Cut off by iptables, node b leaves a's member list within the
// lease TTL (and a stops sending to it); healed, b registers again and
// events flow both ways again.
func TestClusterPartition(t *testing.T) {
	netns.Available(t)
	net := netns.New(t, "etcd", "a", "b")
	etcd := netns.StartEtcd(t, net.Node("etcd"))
	conf := func(node string) string {
		ip := net.Node(node).IP
		return strings.Replace(clusterConf(node, etcd.Endpoint, ""), `listen = "127.0.0.1:0"`, `listen = "`+ip+`:7946"`, 1)
	}
	pa := startDaemonIn(t, net.Node("a"), t.TempDir(), conf("a"))
	pb := startDaemonIn(t, net.Node("b"), t.TempDir(), conf("b"))
	ca, cb := pa.client(), pb.client()
	waitNodes(t, ca, 20*time.Second, "a", "b")
	waitNodes(t, cb, 20*time.Second, "a", "b")
	onA, err := ca.Subscribe(context.Background(), "events.subscribe", map[string]string{"pattern": "test.>"}, "events.event")
	if err != nil {
		t.Fatal(err)
	}
	expectEvent(t, cb, onA, "b", "test.before", 15*time.Second)

	if err := net.Partition("b"); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	waitNodes(t, ca, 2*time.Second+time.Second, "a")
	t.Logf("a dropped b %s after the cut", time.Since(cut).Round(time.Millisecond))
	waitNodes(t, cb, 10*time.Second, "b") // b cannot prove the others alive

	if err := net.Heal("b"); err != nil {
		t.Fatal(err)
	}
	waitNodes(t, ca, 20*time.Second, "a", "b")
	waitNodes(t, cb, 20*time.Second, "a", "b")
	expectEvent(t, cb, onA, "b", "test.after", 15*time.Second)
}
