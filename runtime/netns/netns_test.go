package netns

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// dialFrom dials addr from inside ns with a short timeout.
func dialFrom(ns *NS, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	c, err := ns.DialContext(ctx, "tcp", addr)
	if err == nil {
		_ = c.Close()
	}
	return err
}

func TestNetConnectsPartitionsAndHeals(t *testing.T) {
	Available(t)
	n := New(t, "a", "b", "c")
	a, b, c := n.Node("a"), n.Node("b"), n.Node("c")
	if a.IP == b.IP || !strings.HasPrefix(a.IP, Subnet+".") {
		t.Fatalf("addresses %s %s", a.IP, b.IP)
	}
	// The address exists only inside the namespaces, not on the host.
	if l, err := net.Listen("tcp", a.IP+":0"); err == nil {
		_ = l.Close()
		t.Fatalf("host can bind %s: the address leaked out of the namespace", a.IP)
	}
	l, err := b.Listen("tcp", b.IP+":7000")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			_ = conn.Close()
		}
	}()
	addr := b.IP + ":7000"
	if err := dialFrom(a, addr); err != nil {
		t.Fatalf("a -> b before partition: %v", err)
	}
	if out, err := exec.Command("ip", "netns", "exec", a.Name, "ping", "-c", "1", "-W", "2", b.IP).CombinedOutput(); err != nil {
		if _, lookErr := exec.LookPath("ping"); lookErr == nil {
			t.Fatalf("ping a -> b: %v: %s", err, out)
		}
	}
	if err := n.Partition("b", "c"); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(a, addr); err == nil {
		t.Fatal("a reached b through the partition")
	}
	if err := dialFrom(c, addr); err != nil {
		t.Fatalf("c (excepted) cannot reach b: %v", err)
	}
	if err := n.Heal("b"); err != nil {
		t.Fatal(err)
	}
	if err := dialFrom(a, addr); err != nil {
		t.Fatalf("a -> b after heal: %v", err)
	}
}

func TestCommandRunsInsideNamespace(t *testing.T) {
	Available(t)
	n := New(t, "a")
	out, err := n.Node("a").Command(context.Background(), "ip", "-4", "-o", "addr", "show", "dev", "eth0").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !strings.Contains(string(out), n.Node("a").IP+"/24") {
		t.Fatalf("eth0 inside the namespace: %s", out)
	}
}

func TestEtcdInNamespaceAndRestart(t *testing.T) {
	Available(t)
	n := New(t, "etcd", "node")
	e := StartEtcd(t, n.Node("etcd"))
	if !strings.Contains(e.Endpoint, n.Node("etcd").IP) {
		t.Fatalf("endpoint %s", e.Endpoint)
	}
	hostPort := strings.TrimPrefix(e.Endpoint, "http://")
	if err := dialFrom(n.Node("node"), hostPort); err != nil {
		t.Fatalf("node cannot reach etcd: %v", err)
	}
	e.Kill()
	if err := dialFrom(n.Node("node"), hostPort); err == nil {
		t.Fatal("etcd still answers after Kill")
	}
	if err := e.Start(); err != nil {
		t.Fatalf("restart: %v", err)
	}
}

func TestTeardownAndSweep(t *testing.T) {
	Available(t)
	var names []string
	t.Run("inner", func(t *testing.T) {
		n := New(t, "a", "b")
		for _, ns := range n.Nodes() {
			names = append(names, ns.Name)
		}
		names = append(names, n.bridge)
	})
	for _, name := range names {
		if _, err := os.Stat("/var/run/netns/" + name); err == nil {
			t.Errorf("namespace %s survived its test", name)
		}
	}
	// A namespace named after a dead pid is swept; ours (live pid) is not.
	stale := Prefix + "999999999_1_x"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	n := New(t, "live")
	if _, err := os.Stat("/var/run/netns/" + stale); err == nil {
		_ = exec.Command("ip", "netns", "del", stale).Run()
		t.Fatal("stale namespace not swept")
	}
	if _, err := os.Stat("/var/run/netns/" + n.Node("live").Name); err != nil {
		t.Fatalf("sweep deleted a live namespace: %v", err)
	}
}

func TestOwnerPid(t *testing.T) {
	for name, want := range map[string]int{"sbt123_4": 123, "sbt123_4_br": 123, "sbtx_1": 0, "other": 0, "sbt123": 0} {
		got, ok := ownerPid(name)
		if got != want || ok != (want > 0) {
			t.Errorf("ownerPid(%q) = %d %v, want %d", name, got, ok, want)
		}
	}
}

func TestLocalEtcd(t *testing.T) {
	Available(t)
	e := StartEtcd(t, nil)
	if !strings.HasPrefix(e.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("endpoint %s", e.Endpoint)
	}
}
