// Package clustertest starts a real etcd for tests: on 127.0.0.1, free
// ports, its data in a test's temporary directory, stopped at the test's
// end.
package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EtcdBinary is where Debian's etcd-server package installs etcd.
const EtcdBinary = "/usr/bin/etcd"

// Etcd is a running etcd.
type Etcd struct {
	// Endpoint is its client URL.
	Endpoint string
	cmd      *exec.Cmd
	exited   chan struct{}
}

// Available skips t when etcd is not installed, and fails it under CI=true
// (where .ci/run installs etcd-server).
func Available(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(EtcdBinary); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and %s is missing (apt-get install -y etcd-server)", EtcdBinary)
		}
		t.Skipf("%s is missing (apt-get install -y etcd-server): skipping the etcd test", EtcdBinary)
	}
}

// StartEtcd starts etcd and waits until it answers; it is killed at the
// test's end.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	Available(t)
	client, peer := freePort(t), freePort(t)
	dir := t.TempDir()
	e := &Etcd{Endpoint: fmt.Sprintf("http://127.0.0.1:%d", client), exited: make(chan struct{})}
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	e.cmd = exec.Command(EtcdBinary,
		"--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", e.Endpoint, "--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test="+peerURL, "--log-level", "error")
	logf, err := os.Create(filepath.Join(dir, "etcd.log"))
	if err != nil {
		t.Fatal(err)
	}
	e.cmd.Stdout, e.cmd.Stderr = logf, logf
	if err := e.cmd.Start(); err != nil {
		t.Fatalf("start etcd: %v", err)
	}
	go func() { _ = e.cmd.Wait(); close(e.exited) }()
	t.Cleanup(func() { e.Stop(); _ = logf.Close() })
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := cli.Get(ctx, "health")
		cancel()
		if err == nil {
			return e
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd did not answer in 20s: %v\n%s", err, b)
		}
		select {
		case <-e.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "etcd.log"))
			t.Fatalf("etcd exited: %s", b)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Stop kills etcd and waits for it.
func (e *Etcd) Stop() {
	_ = e.cmd.Process.Kill()
	<-e.exited
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
