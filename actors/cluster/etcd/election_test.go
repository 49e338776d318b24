package etcd_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/cluster/clustertest"
	"github.com/superbot/superbot/actors/cluster/etcd"
)

type won struct {
	key string
	rev int64
	err error
}

func campaign(ctx context.Context, cli *etcd.Client, lease etcd.LeaseID, value string) <-chan won {
	ch := make(chan won, 1)
	go func() {
		k, r, err := cli.Campaign(ctx, lease, "/el/x", []byte(value))
		ch <- won{k, r, err}
	}()
	return ch
}

func grant(t *testing.T, cli *etcd.Client) etcd.LeaseID {
	t.Helper()
	id, _, err := cli.Grant(ctxT(t), 30)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitKeys waits until n candidates' keys are under the election prefix.
func waitKeys(t *testing.T, cli *etcd.Client, n int) {
	t.Helper()
	eventually(t, 10*time.Second, func() bool {
		res, err := cli.GetPrefix(ctxT(t), "/el/x/")
		return err == nil && len(res.Kvs) == n
	}, fmt.Sprintf("%d election keys", n))
}

func result(t *testing.T, ch <-chan won) won {
	t.Helper()
	select {
	case w := <-ch:
		if w.err != nil {
			t.Fatalf("campaign: %v", w.err)
		}
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("campaign did not win in 10s")
	}
	return won{}
}

// notYet fails when the campaign returned.
func notYet(t *testing.T, ch <-chan won, who string) {
	t.Helper()
	select {
	case w := <-ch:
		t.Fatalf("%s won while another leads: %+v", who, w)
	default:
	}
}

// TestCampaignOrder: the second candidate waits while the first leads, and
// wins when it resigns; a third wins when the second's lease is revoked.
// The key layout is concurrency's (prefix/lease-in-hex) and the tokens
// strictly increase.
func TestCampaignOrder(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	la, lb, lc := grant(t, cli), grant(t, cli), grant(t, cli)
	a := result(t, campaign(ctx, cli, la, "a"))
	if a.key != fmt.Sprintf("/el/x/%x", int64(la)) {
		t.Fatalf("key %q, want /el/x/<lease hex>", a.key)
	}
	res, err := cli.Get(ctx, a.key)
	if err != nil || len(res.Kvs) != 1 || res.Kvs[0].CreateRevision != a.rev || string(res.Kvs[0].Value) != "a" || res.Kvs[0].Lease != int64(la) {
		t.Fatalf("a's key %+v %v (rev %d)", res, err, a.rev)
	}
	bch := campaign(ctx, cli, lb, "b")
	waitKeys(t, cli, 2)
	notYet(t, bch, "b")
	cch := campaign(ctx, cli, lc, "c")
	waitKeys(t, cli, 3)
	notYet(t, bch, "b")
	if err := cli.Resign(ctx, a.key, a.rev); err != nil {
		t.Fatal(err)
	}
	b := result(t, bch)
	notYet(t, cch, "c")
	if v, ok, err := cli.Leader(ctx, "/el/x"); err != nil || !ok || string(v) != "b" {
		t.Fatalf("Leader = %q %v %v, want b", v, ok, err)
	}
	if err := cli.Revoke(ctx, lb); err != nil {
		t.Fatal(err)
	}
	c := result(t, cch)
	if err := cli.Resign(ctx, c.key, c.rev); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := cli.Leader(ctx, "/el/x"); err != nil || ok {
		t.Fatalf("Leader = %q %v %v with nobody campaigning", v, ok, err)
	}
	if !(a.rev < b.rev && b.rev < c.rev) {
		t.Fatalf("tokens %d %d %d, want increasing", a.rev, b.rev, c.rev)
	}
}

// TestCampaignAgainOnTheSameLease: a second campaign on the same lease
// finds its key and answers the same token, with the new value.
func TestCampaignAgainOnTheSameLease(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	l := grant(t, cli)
	first := result(t, campaign(ctx, cli, l, "v1"))
	again := result(t, campaign(ctx, cli, l, "v2"))
	if again != first {
		t.Fatalf("again %+v, first %+v", again, first)
	}
	res, _ := cli.Get(ctx, first.key)
	if len(res.Kvs) != 1 || string(res.Kvs[0].Value) != "v2" {
		t.Fatalf("value after the second campaign: %+v", res)
	}
}

// TestCampaignCancelled: a waiting candidate whose ctx ends answers the
// error and deletes its key, so it cannot become leader unknowingly.
func TestCampaignCancelled(t *testing.T) {
	cli := newClient(t, clustertest.StartEtcd(t).Endpoint)
	ctx := ctxT(t)
	la, lb := grant(t, cli), grant(t, cli)
	a := result(t, campaign(ctx, cli, la, "a"))
	bctx, cancel := context.WithCancel(ctx)
	bch := campaign(bctx, cli, lb, "b")
	waitKeys(t, cli, 2)
	cancel()
	select {
	case w := <-bch:
		if w.err == nil {
			t.Fatalf("cancelled campaign won: %+v", w)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled campaign did not return")
	}
	res, err := cli.GetPrefix(ctx, "/el/x/")
	if err != nil || len(res.Kvs) != 1 || string(res.Kvs[0].Key) != a.key {
		t.Fatalf("keys after the cancelled campaign: %+v %v", res, err)
	}
}
