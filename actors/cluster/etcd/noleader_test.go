package etcd_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/cluster/etcd"
)

// member is one process of a 3-member etcd cluster on 127.0.0.1.
type member struct {
	client string
	cmd    *exec.Cmd
	exited chan struct{}
}

func (m *member) kill() {
	_ = m.cmd.Process.Kill()
	<-m.exited
}

// startCluster starts three etcd members on free ports and waits until
// each answers.
func startCluster(t *testing.T) []*member {
	t.Helper()
	clustertest.Available(t)
	dir := t.TempDir()
	names := []string{"m0", "m1", "m2"}
	ms := make([]*member, len(names))
	peers := make([]string, len(names))
	initial := make([]string, len(names))
	for i, n := range names {
		ms[i] = &member{client: "http://" + freeAddr(t), exited: make(chan struct{})}
		peers[i] = "http://" + freeAddr(t)
		initial[i] = n + "=" + peers[i]
	}
	for i, n := range names {
		m := ms[i]
		m.cmd = exec.Command(clustertest.EtcdBinary,
			"--name", n, "--data-dir", filepath.Join(dir, n),
			"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--log-level", "error")
		logf, err := os.Create(filepath.Join(dir, n+".log"))
		if err != nil {
			t.Fatal(err)
		}
		m.cmd.Stdout, m.cmd.Stderr = logf, logf
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = m.cmd.Wait(); _ = logf.Close(); close(m.exited) }()
		t.Cleanup(m.kill)
	}
	for _, m := range ms {
		cli := newClient(t, m.client)
		eventually(t, 30*time.Second, func() bool {
			_, err := cli.Put(ctxT(t), "up", []byte("1"), 0)
			return err == nil
		}, "etcd member "+m.client+" up")
	}
	return ms
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}

// TestWatchEndsWithoutLeader: a watch requires a leader (the
// Grpc-Metadata-Hasleader header): on a member that lost its quorum the
// stream ends with an error, where a plain watch would hang on.
func TestWatchEndsWithoutLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-member etcd cluster")
	}
	ms := startCluster(t)
	cli := newClient(t, ms[0].client)
	rev, err := cli.Put(ctxT(t), "k", []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := cli.Watch(ctxT(t), "k", etcd.WatchOptions{FromRev: rev})
	collect(t, ch, 1)
	ms[1].kill()
	ms[2].kill()
	select {
	case wr, ok := <-ch:
		if !ok || wr.Err == nil {
			t.Fatalf("watch on a member without a leader: %+v %v, want an error", wr, ok)
		}
		t.Logf("watch ended: %v", wr.Err)
	case <-time.After(15 * time.Second):
		t.Fatal("watch still open 15 s after the member lost its leader")
	}
	waitClosed(t, ch)
}
