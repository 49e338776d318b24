// Package netns is a test harness for multi-node tests on one machine with
// real network separation: it creates network namespaces joined by veth pairs
// to a bridge that lives in a namespace of its own, gives each node an
// address in a private /24 that exists only inside those namespaces, runs
// commands inside a namespace, opens sockets from the test process inside a
// namespace, starts etcd, and partitions a node with iptables. Everything it
// creates is removed by t.Cleanup, and New sweeps namespaces left behind by
// killed runs (their names carry the pid of the process that made them).
//
// It needs root, iproute2 and iptables; Available skips a test without them
// (and fails it under CI=true).
package netns

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every namespace this package creates; the pid of
// the creating process follows it, so a sweep can tell stale ones apart.
const Prefix = "sbt"

// Subnet is the /24 (first three octets) every Net uses. It exists only
// inside the namespaces, so parallel Nets (each in its own namespaces) never
// collide.
const Subnet = "10.77.1"

var netSeq atomic.Int64

// Available skips the test with a clear message unless the process is root
// and ip, iptables and etcd are installed; under CI=true it fails instead.
func Available(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root")
	}
	for _, bin := range []string{"ip", "iptables", "etcd"} {
		if _, err := exec.LookPath(bin); err != nil {
			missing = append(missing, bin)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := "network namespace tests need " + strings.Join(missing, ", ") +
		" (run as root; apt-get install -y iproute2 iptables etcd-server)"
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: %s", msg)
	}
	t.Skip(msg)
}

// Net is a set of namespaces on one bridge.
type Net struct {
	t      testing.TB
	id     string
	bridge string
	nodes  map[string]*NS
	order  []string
}

// NS is one namespace with one address on the Net's bridge.
type NS struct {
	// Name is the namespace name given to `ip netns`.
	Name string
	// Node is the short name the test gave it.
	Node string
	// IP is the node's address (no mask).
	IP  string
	net *Net
}

// New creates a bridge namespace and one namespace per node name, each with
// a veth into the bridge and the address Subnet.(i+1)/24, loopback up.
// Everything is deleted when the test ends, even when it fails.
func New(t testing.TB, nodes ...string) *Net {
	t.Helper()
	if len(nodes) == 0 || len(nodes) > 250 {
		t.Fatalf("netns: need 1..250 nodes, got %d", len(nodes))
	}
	Sweep()
	n := &Net{t: t, id: fmt.Sprintf("%s%d_%d", Prefix, os.Getpid(), netSeq.Add(1)), nodes: map[string]*NS{}}
	n.bridge = n.id + "_br"
	t.Cleanup(n.destroy)
	n.must("ip", "netns", "add", n.bridge)
	n.must("ip", "-n", n.bridge, "link", "add", "br0", "type", "bridge")
	n.must("ip", "-n", n.bridge, "link", "set", "br0", "up")
	for i, node := range nodes {
		if _, dup := n.nodes[node]; dup || node == "" {
			t.Fatalf("netns: bad or duplicate node name %q", node)
		}
		ns := &NS{Name: fmt.Sprintf("%s_%d", n.id, i), Node: node, IP: fmt.Sprintf("%s.%d", Subnet, i+1), net: n}
		n.must("ip", "netns", "add", ns.Name)
		n.nodes[node] = ns
		n.order = append(n.order, node)
		peer := fmt.Sprintf("v%d", i)
		n.must("ip", "-n", ns.Name, "link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", n.bridge)
		n.must("ip", "-n", n.bridge, "link", "set", peer, "master", "br0")
		n.must("ip", "-n", n.bridge, "link", "set", peer, "up")
		n.must("ip", "-n", ns.Name, "addr", "add", ns.IP+"/24", "dev", "eth0")
		n.must("ip", "-n", ns.Name, "link", "set", "eth0", "up")
		n.must("ip", "-n", ns.Name, "link", "set", "lo", "up")
	}
	return n
}

// Node returns the namespace the test named node (fails the test if none).
func (n *Net) Node(node string) *NS {
	ns, ok := n.nodes[node]
	if !ok {
		n.t.Fatalf("netns: no node %q", node)
	}
	return ns
}

// Nodes returns the namespaces in creation order.
func (n *Net) Nodes() []*NS {
	out := make([]*NS, 0, len(n.order))
	for _, name := range n.order {
		out = append(out, n.nodes[name])
	}
	return out
}

// Partition cuts node off from every other address of the subnet, both
// ways, with iptables inside its namespace (one atomic iptables-restore, so
// the cut has one instant); the nodes named in except stay reachable.
func (n *Net) Partition(node string, except ...string) error {
	ns := n.Node(node)
	var rules strings.Builder
	rules.WriteString("*filter\n")
	for _, e := range except {
		ip := n.Node(e).IP
		fmt.Fprintf(&rules, "-A INPUT -s %s -j ACCEPT\n-A OUTPUT -d %s -j ACCEPT\n", ip, ip)
	}
	fmt.Fprintf(&rules, "-A INPUT -s %s.0/24 -j DROP\n-A OUTPUT -d %s.0/24 -j DROP\nCOMMIT\n", Subnet, Subnet)
	cmd := exec.Command("ip", "netns", "exec", ns.Name, "iptables-restore", "--noflush", "-w")
	cmd.Stdin = strings.NewReader(rules.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("partition %s: %w: %s", node, err, out)
	}
	return nil
}

// Heal removes every iptables rule Partition added in node's namespace.
func (n *Net) Heal(node string) error {
	ns := n.Node(node)
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		if out, err := run("ip", "netns", "exec", ns.Name, "iptables", "-w", "-F", chain); err != nil {
			return fmt.Errorf("heal %s: %w: %s", node, err, out)
		}
	}
	return nil
}

// Command returns a command that runs name with args inside the namespace
// (through `ip netns exec`, which execs it: its pid is the program's).
func (ns *NS) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// Do runs fn on an OS thread switched into the namespace. Sockets fn opens
// stay in the namespace after it returns. The thread is discarded afterwards.
func (ns *NS) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: a goroutine that exits locked takes its thread
		// (now in another namespace) down with it.
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns.Name)
		if err != nil {
			errc <- err
			return
		}
		err = unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
		_ = f.Close()
		if err != nil {
			errc <- fmt.Errorf("setns %s: %w", ns.Name, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// Listen opens a listener inside the namespace.
func (ns *NS) Listen(network, addr string) (net.Listener, error) {
	var l net.Listener
	err := ns.Do(func() (err error) { l, err = net.Listen(network, addr); return err })
	return l, err
}

// ListenPacket opens a packet socket inside the namespace.
func (ns *NS) ListenPacket(network, addr string) (net.PacketConn, error) {
	var c net.PacketConn
	err := ns.Do(func() (err error) { c, err = net.ListenPacket(network, addr); return err })
	return c, err
}

// DialContext dials from inside the namespace (usable as an http.Transport
// or gRPC dialer).
func (ns *NS) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var c net.Conn
	err := ns.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, addr)
		return err
	})
	return c, err
}

func (n *Net) must(name string, args ...string) {
	n.t.Helper()
	if out, err := run(name, args...); err != nil {
		n.t.Fatalf("netns: %s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
}

func (n *Net) destroy() {
	for _, name := range n.order {
		if out, err := run("ip", "netns", "del", n.nodes[name].Name); err != nil {
			n.t.Logf("netns: delete %s: %v: %s", n.nodes[name].Name, err, out)
		}
	}
	if out, err := run("ip", "netns", "del", n.bridge); err != nil && !strings.Contains(string(out), "No such file") {
		n.t.Logf("netns: delete %s: %v: %s", n.bridge, err, out)
	}
}

func run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// Sweep deletes namespaces with our prefix whose creating process is gone
// (left by a killed test run), and returns how many it deleted.
func Sweep() int {
	out, err := run("ip", "netns", "list")
	if err != nil {
		return 0
	}
	deleted := 0
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		pid, ok := ownerPid(name)
		if !ok || processAlive(pid) {
			continue
		}
		if _, err := run("ip", "netns", "del", name); err == nil {
			deleted++
		}
	}
	return deleted
}

// ownerPid parses sbt<pid>_<seq>[_...] names.
func ownerPid(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "_")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
