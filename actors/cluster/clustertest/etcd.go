// Package clustertest starts a real etcd for tests: on 127.0.0.1, free
// ports, its data in a test's temporary directory, stopped at the test's
// end.
package clustertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/etcd"
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
	return startEtcd(t, nil)
}

// StartEtcdTLS starts etcd serving its clients over TLS with the key pair
// cert/key, requiring client certificates signed by cert (WriteCert's
// self-signed CA). A client dials it with the same pair and CA.
func StartEtcdTLS(t testing.TB, cert, key string) *Etcd {
	t.Helper()
	return startEtcd(t, &tlsFiles{cert: cert, key: key})
}

type tlsFiles struct{ cert, key string }

func startEtcd(t testing.TB, tf *tlsFiles) *Etcd {
	t.Helper()
	Available(t)
	client, peer := freePort(t), freePort(t)
	dir := t.TempDir()
	scheme := "http"
	if tf != nil {
		scheme = "https"
	}
	e := &Etcd{Endpoint: fmt.Sprintf("%s://127.0.0.1:%d", scheme, client), exited: make(chan struct{})}
	peerURL := fmt.Sprintf("http://127.0.0.1:%d", peer)
	args := []string{
		"--name", "test", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", e.Endpoint, "--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", peerURL, "--initial-advertise-peer-urls", peerURL,
		"--initial-cluster", "test=" + peerURL, "--log-level", "error",
	}
	var tc *tls.Config
	if tf != nil {
		args = append(args, "--cert-file", tf.cert, "--key-file", tf.key, "--trusted-ca-file", tf.cert, "--client-cert-auth")
		tc = clientTLS(t, tf)
	}
	e.cmd = exec.Command(EtcdBinary, args...)
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
	cli, err := etcd.New(etcd.Config{Endpoints: []string{e.Endpoint}, TLS: tc, DialTimeout: time.Second})
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

// clientTLS is the client side of tf: its key pair, and its cert as the CA.
func clientTLS(t testing.TB, tf *tlsFiles) *tls.Config {
	t.Helper()
	pair, err := tls.LoadX509KeyPair(tf.cert, tf.key)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(tf.cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("clustertest: no certificate in " + tf.cert)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}, RootCAs: pool}
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
