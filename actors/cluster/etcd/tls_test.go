package etcd_test

import (
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/cluster/etcd"
)

// TestTLS: with the config's TLS (client certificate), "host:port" is
// dialled over https; without a certificate etcd refuses the client.
func TestTLS(t *testing.T) {
	cert, key := clustertest.WriteCert(t)
	e := clustertest.StartEtcdTLS(t, cert, key)
	tc, err := cluster.TLSFiles{Cert: cert, Key: key, CA: cert}.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	hostPort := e.Endpoint[len("https://"):]
	cli, err := etcd.New(etcd.Config{Endpoints: []string{hostPort}, TLS: tc, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cli.Close() }()
	if _, err := cli.Put(ctxT(t), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Put over TLS: %v", err)
	}
	noCert, err := cluster.TLSFiles{CA: cert}.Load(false)
	if err != nil {
		t.Fatal(err)
	}
	anon, err := etcd.New(etcd.Config{Endpoints: []string{hostPort}, TLS: noCert, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = anon.Close() }()
	if _, err := anon.Get(ctxT(t), "k"); err == nil {
		t.Fatal("etcd answered a client without a certificate")
	}
	plain := newClient(t, hostPort)
	if _, err := plain.Get(ctxT(t), "k"); err == nil {
		t.Fatal("plain http answered by a TLS etcd")
	}
}
