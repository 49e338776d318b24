package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/cluster/etcd"
)

func newClient(t *testing.T, endpoints ...string) *etcd.Client {
	t.Helper()
	cli, err := etcd.New(etcd.Config{Endpoints: endpoints, DialTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// eventually polls cond every 20 ms until it holds or d passed.
func eventually(t *testing.T, d time.Duration, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		<-time.After(20 * time.Millisecond)
	}
}

func TestLeaseGrantKeepAliveRevoke(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	id, ttl, err := cli.Grant(ctx, 5)
	if err != nil || id == 0 || ttl != 5 {
		t.Fatalf("Grant = %d %d %v", id, ttl, err)
	}
	if ttl, err := cli.KeepAliveOnce(ctx, id); err != nil || ttl != 5 {
		t.Fatalf("KeepAliveOnce = %d %v, want 5", ttl, err)
	}
	if _, err := cli.Put(ctx, "leased", []byte("v"), id); err != nil {
		t.Fatal(err)
	}
	if err := cli.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.KeepAliveOnce(ctx, id); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("KeepAliveOnce after revoke: %v, want ErrLeaseNotFound", err)
	}
	if err := cli.Revoke(ctx, id); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("Revoke twice: %v, want ErrLeaseNotFound", err)
	}
	res, err := cli.Get(ctx, "leased")
	if err != nil || len(res.Kvs) != 0 {
		t.Fatalf("leased key after revoke: %+v %v", res, err)
	}
	if _, err := cli.Put(ctx, "k", []byte("v"), id); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("Put on a revoked lease: %v", err)
	}
}

func TestLeaseExpires(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	id, _, err := cli.Grant(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "short", []byte("v"), id); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() bool {
		res, err := cli.Get(ctx, "short")
		return err == nil && len(res.Kvs) == 0
	}, "the key of a lease of 1 s not gone")
	if _, err := cli.KeepAliveOnce(ctx, id); !errors.Is(err, etcd.ErrLeaseNotFound) {
		t.Fatalf("KeepAliveOnce on an expired lease: %v", err)
	}
}

func TestPutGetPrefixDelete(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	id, _, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	r1, err := cli.Put(ctx, "a/1", []byte("one"), id)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := cli.Put(ctx, "a/2", []byte{0, 0xff, '\n'}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "b", []byte("other"), 0); err != nil {
		t.Fatal(err)
	}
	r3, err := cli.Put(ctx, "a/1", []byte("uno"), id)
	if err != nil || !(r1 < r2 && r2 < r3) {
		t.Fatalf("revisions %d %d %d %v", r1, r2, r3, err)
	}
	res, err := cli.GetPrefix(ctx, "a/")
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != r3 || len(res.Kvs) != 2 {
		t.Fatalf("GetPrefix = rev %d %+v, want rev %d and 2 keys", res.Revision, res.Kvs, r3)
	}
	k1, k2 := res.Kvs[0], res.Kvs[1]
	if string(k1.Key) != "a/1" || string(k1.Value) != "uno" || k1.CreateRevision != r1 || k1.ModRevision != r3 || k1.Lease != int64(id) || k1.Version != 2 {
		t.Fatalf("a/1 = %+v", k1)
	}
	if string(k2.Key) != "a/2" || string(k2.Value) != "\x00\xff\n" || k2.CreateRevision != r2 || k2.Lease != 0 {
		t.Fatalf("a/2 = %+v", k2)
	}
	one, err := cli.Get(ctx, "b")
	if err != nil || len(one.Kvs) != 1 || string(one.Kvs[0].Value) != "other" {
		t.Fatalf("Get b = %+v %v", one, err)
	}
	if n, err := cli.Delete(ctx, "a/2"); err != nil || n != 1 {
		t.Fatalf("Delete = %d %v", n, err)
	}
	if n, err := cli.Delete(ctx, "a/2"); err != nil || n != 0 {
		t.Fatalf("Delete again = %d %v", n, err)
	}
	if res, err := cli.GetPrefix(ctx, "a/"); err != nil || len(res.Kvs) != 1 {
		t.Fatalf("after delete: %+v %v", res, err)
	}
}

// TestDeleteIfCreated: the delete happens only while the key is the one
// created at the revision given.
func TestDeleteIfCreated(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	rev, err := cli.Put(ctx, "k", []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := cli.DeleteIfCreated(ctx, "k", rev-1); err != nil || ok {
		t.Fatalf("DeleteIfCreated(wrong rev) = %v %v", ok, err)
	}
	if ok, err := cli.DeleteIfCreated(ctx, "k", rev); err != nil || !ok {
		t.Fatalf("DeleteIfCreated = %v %v", ok, err)
	}
	if res, _ := cli.Get(ctx, "k"); len(res.Kvs) != 0 {
		t.Fatal("key still there")
	}
}

// collect reads events from ch until n arrived.
func collect(t *testing.T, ch <-chan etcd.WatchResponse, n int) []etcd.Event {
	t.Helper()
	var out []etcd.Event
	timeout := time.After(10 * time.Second)
	for len(out) < n {
		select {
		case wr, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed after %d events", len(out))
			}
			if wr.Err != nil {
				t.Fatalf("watch: %v", wr.Err)
			}
			out = append(out, wr.Events...)
		case <-timeout:
			t.Fatalf("%d events of %d in 10s", len(out), n)
		}
	}
	return out
}

func TestWatchFromRevision(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	r1, err := cli.Put(ctx, "w/1", []byte("a"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "w/2", []byte("b"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "x", []byte("not watched"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "w/1"); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	evs := collect(t, cli.Watch(wctx, "w/", etcd.WatchOptions{Prefix: true, FromRev: r1}), 3)
	got := []string{}
	for _, ev := range evs {
		got = append(got, map[etcd.EventType]string{etcd.EventPut: "put", etcd.EventDelete: "delete"}[ev.Type]+" "+string(ev.Kv.Key)+"="+string(ev.Kv.Value))
	}
	if want := "put w/1=a,put w/2=b,delete w/1="; strings.Join(got, ",") != want {
		t.Fatalf("events %v, want %s", got, want)
	}
	// NoPut: only the deletion, then live events.
	nctx, ncancel := context.WithCancel(ctx)
	defer ncancel()
	noPut := cli.Watch(nctx, "w/", etcd.WatchOptions{Prefix: true, FromRev: r1, NoPut: true})
	evs = collect(t, noPut, 1)
	if len(evs) != 1 || evs[0].Type != etcd.EventDelete || string(evs[0].Kv.Key) != "w/1" || evs[0].Kv.ModRevision <= r1 {
		t.Fatalf("NoPut events %+v", evs)
	}
	if _, err := cli.Put(ctx, "w/3", []byte("c"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Delete(ctx, "w/3"); err != nil {
		t.Fatal(err)
	}
	evs = collect(t, noPut, 1)
	if evs[0].Type != etcd.EventDelete || string(evs[0].Kv.Key) != "w/3" {
		t.Fatalf("live NoPut event %+v (the put must be filtered)", evs[0])
	}
}

// TestWatchEndsWithCtx: cancelling ctx, or closing the client, closes the
// channel (goleak checks the goroutines are gone).
func TestWatchEndsWithCtx(t *testing.T) {
	endpoint := clustertest.StartEtcd(t).Endpoint
	cli := newClient(t, endpoint)
	rev, err := cli.Put(ctxT(t), "k", []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ch := cli.Watch(ctx, "k", etcd.WatchOptions{FromRev: rev})
	collect(t, ch, 1)
	cancel()
	waitClosed(t, ch)

	other, err := etcd.New(etcd.Config{Endpoints: []string{endpoint}})
	if err != nil {
		t.Fatal(err)
	}
	ch = other.Watch(context.Background(), "k", etcd.WatchOptions{FromRev: rev})
	collect(t, ch, 1)
	_ = other.Close()
	waitClosed(t, ch)
}

func waitClosed(t *testing.T, ch <-chan etcd.WatchResponse) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("watch channel not closed in 10s")
		}
	}
}

// TestWatchEndsOnEtcdExit: the stream's end is an error, then the close.
func TestWatchEndsOnEtcdExit(t *testing.T) {
	e := clustertest.StartEtcd(t)
	cli := newClient(t, e.Endpoint)
	rev, err := cli.Put(ctxT(t), "k", []byte("v"), 0)
	if err != nil {
		t.Fatal(err)
	}
	ch := cli.Watch(ctxT(t), "k", etcd.WatchOptions{FromRev: rev})
	collect(t, ch, 1)
	e.Stop()
	select {
	case wr, ok := <-ch:
		if !ok || wr.Err == nil {
			t.Fatalf("after etcd's exit: %+v %v, want an error", wr, ok)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not end in 10s after etcd exited")
	}
	waitClosed(t, ch)
}

// TestEndpointFailover: a dead first endpoint is skipped.
func TestEndpointFailover(t *testing.T) {
	e := clustertest.StartEtcd(t)
	cli := newClient(t, "127.0.0.1:1", e.Endpoint)
	if _, err := cli.Put(ctxT(t), "k", []byte("v"), 0); err != nil {
		t.Fatalf("Put with a dead first endpoint: %v", err)
	}
	if _, err := etcd.New(etcd.Config{Endpoints: []string{"ftp://x:1"}}); err == nil {
		t.Fatal("ftp endpoint accepted")
	}
	if _, err := etcd.New(etcd.Config{}); err == nil {
		t.Fatal("no endpoint accepted")
	}
}

// TestKeepAlive: the lease outlives its TTL while KeepAlive runs; the
// channel closes when the lease is revoked.
func TestKeepAlive(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	id, _, err := cli.Grant(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "kept", []byte("v"), id); err != nil {
		t.Fatal(err)
	}
	lost := cli.KeepAlive(ctx, id, 2*time.Second)
	select {
	case <-lost:
		t.Fatal("keepalive ended on a live lease")
	case <-time.After(5 * time.Second): // two and a half TTLs
	}
	if res, err := cli.Get(ctx, "kept"); err != nil || len(res.Kvs) != 1 {
		t.Fatalf("kept key after 2.5 TTLs: %+v %v", res, err)
	}
	if err := cli.Revoke(ctx, id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("keepalive did not end after the revoke")
	}
}

// TestWatchCompacted: a watch from a compacted revision ends with an error
// naming the compact revision.
func TestWatchCompacted(t *testing.T) {
	e := clustertest.StartEtcd(t)
	cli := newClient(t, e.Endpoint)
	first, err := cli.Put(ctxT(t), "c", []byte("1"), 0)
	if err != nil {
		t.Fatal(err)
	}
	last, err := cli.Put(ctxT(t), "c", []byte("2"), 0)
	if err != nil {
		t.Fatal(err)
	}
	body := strings.NewReader(fmt.Sprintf(`{"revision":"%d","physical":true}`, last))
	resp, err := http.Post(e.Endpoint+"/v3/kv/compaction", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("compaction: http %d", resp.StatusCode)
	}
	var last2 error
	for wr := range cli.Watch(ctxT(t), "c", etcd.WatchOptions{FromRev: first}) {
		if len(wr.Events) > 0 {
			t.Fatalf("events from a compacted revision: %+v", wr.Events)
		}
		last2 = wr.Err
	}
	if last2 == nil || !strings.Contains(last2.Error(), fmt.Sprintf("compact revision %d", last)) {
		t.Fatalf("watch from a compacted revision ended with %v", last2)
	}
}
