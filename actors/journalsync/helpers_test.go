package journalsync_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// wait bounds every wait of these tests (the machine is shared and slow).
const wait = 15 * time.Second

// rig is one actor system with a bus stamped "a" (the leader's node) and a
// follower on node "b".
type rig struct {
	sys      *actor.ActorSystem
	bus      *actor.PID
	path     string
	follower *actor.PID
	alerts   *actortest.Probe
	// cfg and fetch, when set, go to the followers started next.
	cfg    journalsync.FollowerConfig
	fetch  func(context.Context, string, *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error)
	leader func(context.Context) (string, error)
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := newBareRig(t)
	r.follower = r.startFollower(t, "b", r.path)
	return r
}

// newBareRig is a rig without its follower yet.
func newBareRig(t *testing.T) *rig {
	t.Helper()
	sys := actortest.NewSystem(t)
	r := &rig{sys: sys, path: filepath.Join(t.TempDir(), "journal.db")}
	r.bus = actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "a", actortest.Logger(t)))
	r.alerts = actortest.NewProbe(t, sys)
	res := actortest.Request[*messages.SubscribeResponse](t, sys, r.bus,
		&messages.SubscribeRequest{Pattern: journalsync.AlertTopic, Subscriber: r.alerts.PID})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	return r
}

// startFollower spawns a follower for node on path and waits until it
// follows.
func (r *rig) startFollower(t *testing.T, node, path string) *actor.PID {
	t.Helper()
	cfg := r.cfg
	cfg.Path = path
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	pid := actortest.Spawn(t, r.sys, journalsync.FollowerProps(cfg, journalsync.FollowerDeps{
		Bus: r.bus, Node: node, Logger: actortest.Logger(t).With("test_node", node), Fetch: r.fetch, Leader: r.leader}))
	actortest.Eventually(t, wait, func() bool { return r.status(t, pid).Open }, "follower %s open", node)
	return pid
}

// stopFollower stops the follower and waits until it is gone.
func (r *rig) stopFollower(t *testing.T) {
	t.Helper()
	if err := r.sys.Root.StopFuture(r.follower).Wait(); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) status(t *testing.T, pid *actor.PID) journalsync.FollowerStatus {
	return actortest.Request[journalsync.FollowerStatus](t, r.sys, pid, journalsync.FollowerStatusRequest{})
}

// waitApplied waits until the follower has settled n batches (applied or
// refused).
func (r *rig) waitApplied(t *testing.T, applied, failed uint64) journalsync.FollowerStatus {
	t.Helper()
	var st journalsync.FollowerStatus
	actortest.Eventually(t, wait, func() bool {
		st = r.status(t, r.follower)
		return st.Applied >= applied && st.Failed >= failed && st.Pending == 0
	}, "follower applied %d and refused %d batches (last status %+v)", applied, failed, st)
	if st.Applied != applied || st.Failed != failed {
		t.Fatalf("follower status %+v; want applied %d, failed %d", st, applied, failed)
	}
	return st
}

// send publishes a hand-made batch as the leader's bus would carry it.
func (r *rig) send(b *messages.JournalOps) {
	r.sys.Root.Send(r.bus, messages.NewEvent(journalsync.Topic, "test", b))
}

// alert waits for the next alert.
func (r *rig) alert(t *testing.T) *messages.JournalSyncAlert {
	t.Helper()
	ev := actortest.Expect[*messages.Event](t, r.alerts, wait)
	a := &messages.JournalSyncAlert{}
	if err := ev.GetPayload().UnmarshalTo(a); err != nil {
		t.Fatalf("alert payload: %v", err)
	}
	if ev.Topic != journalsync.AlertTopic || a.Node != "b" {
		t.Fatalf("alert on %s from %q; want %s from b", ev.Topic, a.Node, journalsync.AlertTopic)
	}
	return a
}

func order(id string, status messages.TradeOrderStatus, executed string, ms int64) *messages.TradeOrder {
	return &messages.TradeOrder{ClientOrderId: id, Strategy: "grid", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT",
		Quantity: "0.5", Price: "30000", TimeInForce: "GTC", Status: status, ExecutedQty: executed,
		CreatedMs: ms, UpdatedMs: ms, Mode: "live", ExchangeOrderId: ms}
}

func fill(id string, tradeID, ms int64) *messages.TradeFill {
	return &messages.TradeFill{ClientOrderId: id, Strategy: "grid", Symbol: "BTCUSDT", Side: "BUY", Price: "30000",
		Quantity: "0.25", QuoteQty: "7500", Fee: "0.01", FeeAsset: "BNB", TradeId: tradeID, TimeMs: ms, Maker: true}
}

// batches is a trading session's committed batches, every op kind in
// values and pointers: orders placed, updated and filled, exchange and
// paper fills, strategy state saved twice, meta keys set and changed.
func batches() [][]journal.Op {
	const (
		intent = messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT
		open   = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW
		part   = messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED
		filled = messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED
	)
	var out [][]journal.Op
	for i := range 5 {
		id := fmt.Sprintf("sb-7-%d", i)
		ms := int64(1000 + i*10)
		out = append(out,
			[]journal.Op{journal.PutOrder{Order: order(id, intent, "0", ms)}, &journal.PutMeta{Key: "seq.grid", Value: fmt.Sprint(i + 1)}},
			[]journal.Op{&journal.PutOrder{Order: order(id, open, "0", ms+1)}},
			[]journal.Op{
				journal.PutOrder{Order: order(id, part, "0.25", ms+2)}, journal.AddFill{Fill: fill(id, int64(100+2*i), ms+2)},
				&journal.PutOrder{Order: order(id, filled, "0.5", ms+3)}, &journal.AddFill{Fill: fill(id, int64(101+2*i), ms+3)},
				journal.PutState{Strategy: "grid", State: []byte{byte(i), 0, 1, 2}, SavedMs: ms + 3},
			})
	}
	paper := order("paper-1", filled, "0.5", 5000)
	paper.Mode = "paper"
	out = append(out, []journal.Op{
		journal.PutOrder{Order: paper}, journal.AddFill{Fill: fill("paper-1", 0, 5000)}, journal.AddFill{Fill: fill("paper-1", 0, 5001)},
		&journal.PutState{Strategy: "sma", State: []byte("state of sma"), SavedMs: 5001},
		journal.PutMeta{Key: "halt", Value: "manual: test"}, journal.PutMeta{Key: "paper.USDT", Value: "10000"},
	})
	return out
}

// reference writes batches straight into a journal at path, as the leader
// did, and returns it open.
func reference(t *testing.T, path string, bs [][]journal.Op) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	for _, ops := range bs {
		done := make(chan error, 1)
		j.Write(ops, func(err error) { done <- err })
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// sameJournal fails unless got holds what want holds: orders, each one's
// history, fills, the given strategies' states and meta keys.
func sameJournal(t *testing.T, got, want *journal.Journal, strategies, keys []string) {
	t.Helper()
	wo, err := want.Orders(journal.OrderFilter{})
	must(t, err)
	gotOrders, err := got.Orders(journal.OrderFilter{})
	must(t, err)
	if len(wo) == 0 || !equalMessages(gotOrders, wo) {
		t.Fatalf("orders:\n got %v\nwant %v", gotOrders, wo)
	}
	for _, o := range wo {
		we, err := want.OrderEvents(o.ClientOrderId)
		must(t, err)
		ge, err := got.OrderEvents(o.ClientOrderId)
		must(t, err)
		if fmt.Sprint(ge) != fmt.Sprint(we) {
			t.Fatalf("events of %s:\n got %v\nwant %v", o.ClientOrderId, ge, we)
		}
	}
	wf, err := want.Fills(journal.FillFilter{Ascending: true})
	must(t, err)
	gf, err := got.Fills(journal.FillFilter{Ascending: true})
	must(t, err)
	if len(wf) == 0 || !equalMessages(gf, wf) {
		t.Fatalf("fills:\n got %v\nwant %v", gf, wf)
	}
	for _, s := range strategies {
		ws, wms, err := want.State(s)
		must(t, err)
		gs, gms, err := got.State(s)
		must(t, err)
		if ws == nil || string(gs) != string(ws) || gms != wms {
			t.Fatalf("state of %s: got %q at %d, want %q at %d", s, gs, gms, ws, wms)
		}
	}
	for _, k := range keys {
		wv, wok, err := want.Meta(k)
		must(t, err)
		gv, gok, err := got.Meta(k)
		must(t, err)
		if !wok || gv != wv || gok != wok {
			t.Fatalf("meta %s: got %q (%v), want %q (%v)", k, gv, gok, wv, wok)
		}
	}
}

func equalMessages[M proto.Message](a, b []M) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !proto.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// openJournal opens the journal at path (the follower must have closed it).
func openJournal(t *testing.T, path string) *journal.Journal {
	t.Helper()
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}
