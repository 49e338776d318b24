package journalsync_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

var (
	strategies = []string{"grid", "sma"}
	metaKeys   = []string{"seq.grid", "halt", "paper.USDT"}
)

// TestFollowerCopiesTheLeadersJournal: what a publisher on node a
// publishes, a follower on node b applies, so b's journal holds what a's
// does (orders, their histories, fills, states, meta); when it stops it
// closes the file (the WAL is checkpointed away) so the order actor can
// open it.
func TestFollowerCopiesTheLeadersJournal(t *testing.T) {
	r := newRig(t)
	pub := journalsync.NewPublisher(r.sys.Root, r.bus, "a", 7).Publish
	bs := batches()
	for _, ops := range bs {
		pub(ops)
	}
	st := r.waitApplied(t, uint64(len(bs)), 0)
	if st.Term != 7 || st.Seq != uint64(len(bs)) || st.Gaps != 0 || st.Bad != 0 {
		t.Fatalf("status %+v: want term 7, seq %d, no gap", st, len(bs))
	}
	r.alerts.ExpectNoMessage(0)
	if fi, err := os.Stat(r.path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("while following, the WAL holds the commits: %v", err)
	}

	r.stopFollower(t)
	if fi, err := os.Stat(r.path + "-wal"); err == nil && fi.Size() > 0 {
		t.Fatalf("after stop the WAL still holds %d bytes: the journal was not closed", fi.Size())
	}
	got := openJournal(t, r.path)
	want := reference(t, filepath.Join(t.TempDir(), "leader.db"), bs)
	sameJournal(t, got, want, strategies, metaKeys)
	if pos, _, err := got.Meta(journalsync.PositionKey); err != nil || pos != "7/16" {
		t.Fatalf("position %q (%v), want 7/16", pos, err)
	}
}

// TestFollowerIgnoresItsOwnNode: a batch a node published itself (by the
// payload's node or the event's) is not applied again.
func TestFollowerIgnoresItsOwnNode(t *testing.T) {
	r := newRig(t)
	onA := r.startFollower(t, "a", filepath.Join(t.TempDir(), "a.db")) // the bus stamps events "a"
	bs := batches()
	r.send(&messages.JournalOps{Term: 1, Seq: 1, Node: "b", Ops: journalsync.Encode(bs[0])[0]})
	journalsync.NewPublisher(r.sys.Root, r.bus, "a", 1).Publish(bs[1])
	r.waitApplied(t, 1, 0)
	if st := r.status(t, onA); st.Applied != 0 || st.Seq != 0 {
		t.Fatalf("follower on a applied its own node's batches: %+v", st)
	}
	if st := r.status(t, r.follower); st.Seq != 1 {
		t.Fatalf("follower on b followed its own batch: %+v", st)
	}
}

// TestFollowerReportsGapsAndOldTerms: a sequence gap, a term that starts
// past seq 1 and a batch of an older term are each reported once on
// AlertTopic, and every batch is still applied.
func TestFollowerReportsGapsAndOldTerms(t *testing.T) {
	r := newRig(t)
	bs := batches()
	batch := func(term int64, seq uint64, ops []journal.Op) *messages.JournalOps {
		return &messages.JournalOps{Term: term, Seq: seq, Node: "a", Ops: journalsync.Encode(ops)[0]}
	}
	journalsync.NewPublisher(r.sys.Root, r.bus, "a", 5).Publish(bs[0]) // 5/1
	r.send(batch(5, 3, bs[1]))
	if a := r.alert(t); a.Kind != journalsync.AlertGap || a.Term != 5 || a.Seq != 3 || a.ExpectedSeq != 2 || a.Leader != "a" {
		t.Fatalf("alert %v: want a gap at 5/3, expected 2, from a", a)
	}
	r.send(batch(4, 9, bs[2]))
	if a := r.alert(t); a.Kind != journalsync.AlertOldTerm || a.Term != 4 {
		t.Fatalf("alert %v: want old term 4", a)
	}
	r.send(batch(4, 10, bs[3])) // the same stale term: not reported again
	r.send(batch(6, 2, bs[4]))
	if a := r.alert(t); a.Kind != journalsync.AlertGap || a.Term != 6 || a.Seq != 2 || a.ExpectedSeq != 1 {
		t.Fatalf("alert %v: want a gap at 6/2, expected 1", a)
	}
	r.send(batch(7, 1, bs[5]))
	st := r.waitApplied(t, 6, 0)
	if st.Gaps != 2 || st.OldTerms != 2 || st.Term != 7 || st.Seq != 1 {
		t.Fatalf("status %+v: want 2 gaps, 2 old-term batches, at 7/1", st)
	}
	r.alerts.ExpectNoMessage(300 * time.Millisecond)

	r.stopFollower(t)
	got := openJournal(t, r.path)
	want := reference(t, filepath.Join(t.TempDir(), "leader.db"), bs[:6])
	sameJournal(t, got, want, []string{"grid"}, []string{"seq.grid"})
	if pos, _, _ := got.Meta(journalsync.PositionKey); pos != "7/1" {
		t.Fatalf("position %q, want 7/1 (an old term's batch does not move it)", pos)
	}
}

// TestFollowerSkipsGarbledBatches: events it cannot read or apply are
// skipped with a bad_batch alert each, and the follower goes on.
func TestFollowerSkipsGarbledBatches(t *testing.T) {
	r := newRig(t)
	bad := &messages.TradeOrder{Symbol: "BTCUSDT", Strategy: "grid", Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW} // no client order id
	garbage := &messages.Event{Topic: journalsync.Topic, Payload: &anypb.Any{
		TypeUrl: "type.googleapis.com/superbot.v1.JournalOps", Value: []byte{0xff, 0xff, 0xff}}}
	sends := []struct {
		name string
		ev   *messages.Event
	}{
		{"no payload", messages.NewEvent(journalsync.Topic, "test", nil)},
		{"another message", messages.NewEvent(journalsync.Topic, "test", &messages.PingRequest{})},
		{"garbage bytes", garbage},
		{"an empty op", messages.NewEvent(journalsync.Topic, "test", &messages.JournalOps{Term: 1, Seq: 1, Node: "a", Ops: []*messages.JournalOp{{}}})},
		{"term 0", messages.NewEvent(journalsync.Topic, "test", &messages.JournalOps{Seq: 2, Node: "a", Ops: journalsync.Encode(batches()[0])[0]})},
		{"too many ops", messages.NewEvent(journalsync.Topic, "test", &messages.JournalOps{Term: 1, Seq: 2, Node: "a",
			Ops: make([]*messages.JournalOp, journalsync.MaxOpsPerEvent+1)})},
		{"an invalid order", messages.NewEvent(journalsync.Topic, "test", &messages.JournalOps{Term: 1, Seq: 3, Node: "a",
			Ops: []*messages.JournalOp{{Op: &messages.JournalOp_Order{Order: bad}}}})},
	}
	for _, s := range sends {
		r.sys.Root.Send(r.bus, s.ev)
		a := r.alert(t)
		if a.Kind != journalsync.AlertBadBatch || a.Reason == "" {
			t.Fatalf("%s: alert %v, want bad_batch with a reason", s.name, a)
		}
		if s.name == "an invalid order" && (a.Leader != "a" || a.Term != 1 || a.Seq != 3) {
			t.Fatalf("the journal's refusal: alert %v, want leader a at 1/3", a)
		}
	}
	good := batches()[0]
	journalsync.NewPublisher(r.sys.Root, r.bus, "a", 2).Publish(good)
	st := r.waitApplied(t, 1, 1)
	if st.Bad != 6 || st.Gaps != 0 || st.Term != 2 || st.Seq != 1 {
		t.Fatalf("status %+v: want 6 unreadable, no gap, at 2/1", st)
	}
	r.stopFollower(t)
	got := openJournal(t, r.path)
	orders, err := got.Orders(journal.OrderFilter{})
	must(t, err)
	if len(orders) != 1 || orders[0].ClientOrderId != "sb-7-0" {
		t.Fatalf("orders %v: want only the good batch's", orders)
	}
}

// TestFollowerResumesFromItsPosition: the position is journaled with each
// batch, so a follower that restarts reports what it missed meanwhile.
func TestFollowerResumesFromItsPosition(t *testing.T) {
	r := newRig(t)
	bs := batches()
	pub := journalsync.NewPublisher(r.sys.Root, r.bus, "a", 3).Publish
	for _, ops := range bs[:3] {
		pub(ops)
	}
	r.waitApplied(t, 3, 0)
	r.stopFollower(t)
	pub(bs[3]) // 3/4: nobody follows
	r.follower = r.startFollower(t, "b", r.path)
	if st := r.status(t, r.follower); st.Term != 3 || st.Seq != 3 {
		t.Fatalf("restarted follower at %d/%d, want 3/3", st.Term, st.Seq)
	}
	pub(bs[4]) // 3/5
	if a := r.alert(t); a.Kind != journalsync.AlertGap || a.Seq != 5 || a.ExpectedSeq != 4 {
		t.Fatalf("alert %v: want a gap at 3/5, expected 4", a)
	}
	r.waitApplied(t, 1, 0)
}

// TestFollowerCommitsWhatItTookBeforeStopping: batches the follower has
// taken off its mailbox are in the file once it stopped, even those whose
// commit was still pending.
func TestFollowerCommitsWhatItTookBeforeStopping(t *testing.T) {
	r := newRig(t)
	pub := journalsync.NewPublisher(r.sys.Root, r.bus, "a", 4).Publish
	const n = 200
	for i := range n {
		pub([]journal.Op{journal.PutMeta{Key: "k", Value: fmt.Sprint(i + 1)}})
	}
	var st journalsync.FollowerStatus
	actortest.Eventually(t, wait, func() bool {
		st = r.status(t, r.follower)
		return st.Seq == n
	}, "follower took all %d batches (status %+v)", n, st)
	r.stopFollower(t)
	got := openJournal(t, r.path)
	if v, _, err := got.Meta("k"); err != nil || v != fmt.Sprint(n) {
		t.Fatalf("meta k = %q (%v) after stop, want %d", v, err, n)
	}
	if pos, _, _ := got.Meta(journalsync.PositionKey); pos != fmt.Sprintf("4/%d", n) {
		t.Fatalf("position %q, want 4/%d", pos, n)
	}
	t.Logf("at the last status: applied %d, pending %d", st.Applied, st.Pending)
}

// TestFollowerRestarts: a restarted follower closes and reopens the
// journal, resumes from its position and holds one subscription, not two.
func TestFollowerRestarts(t *testing.T) {
	r := newRig(t)
	bs := batches()
	pub := journalsync.NewPublisher(r.sys.Root, r.bus, "a", 2).Publish
	pub(bs[0])
	r.waitApplied(t, 1, 0)
	proc, ok := r.sys.ProcessRegistry.Get(r.follower)
	if !ok {
		t.Fatal("follower not registered")
	}
	proc.SendSystemMessage(r.follower, &actor.Restart{})
	actortest.Eventually(t, wait, func() bool {
		st := r.status(t, r.follower)
		return st.Open && st.Applied == 0 && st.Seq == 1
	}, "the restarted follower follows again from 2/1")
	pub(bs[1])
	st := r.waitApplied(t, 1, 0)
	if st.Gaps != 0 || st.Seq != 2 {
		t.Fatalf("status %+v: want 2/2, no gap", st)
	}
	subs := actortest.Request[*messages.BusStatsResponse](t, r.sys, r.bus, &messages.BusStatsRequest{}).Subscriptions
	if subs != 2 {
		t.Fatalf("bus has %d subscriptions; want 2 (the alerts probe's and the follower's)", subs)
	}
	r.alerts.ExpectNoMessage(0)
}
