package journalsync_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/journalsync"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// benchBatch is a typical committed batch: an order update and its fill.
func benchBatch(i int) []journal.Op {
	id := fmt.Sprintf("sb-1-%d", i)
	return []journal.Op{
		journal.PutOrder{Order: order(id, messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, "0.5", int64(i))},
		journal.AddFill{Fill: fill(id, int64(i+1), int64(i))},
	}
}

// benchWindow bounds the batches published ahead of the follower's commits.
const benchWindow = 1024

// BenchmarkFollower measures how many batches a second can reach a
// standby's journal. "direct": the leader's own journal.Write of the same
// batches, each waited for (the floor: the order actor commits this way);
// "follower": published on the bus and applied by the follower, at most
// benchWindow batches ahead of its commits (a leader committing faster than
// a standby for long would overrun the bus's queue: a gap), timed until the
// last is committed.
func BenchmarkFollower(b *testing.B) {
	b.Run("direct", func(b *testing.B) {
		j, err := journal.Open(filepath.Join(b.TempDir(), "j.db"), journal.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = j.Close() }()
		b.ResetTimer()
		for i := range b.N {
			done := make(chan error, 1)
			j.Write(benchBatch(i), func(err error) { done <- err })
			if err := <-done; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
	})
	b.Run("follower", func(b *testing.B) {
		sys := actortest.NewSystem(b)
		busPID := actortest.Spawn(b, sys, bus.Props(bus.DefaultConfig(), "a", actortest.Discard()))
		f := actortest.Spawn(b, sys, journalsync.FollowerProps(journalsync.FollowerConfig{Path: filepath.Join(b.TempDir(), "j.db")},
			journalsync.FollowerDeps{Bus: busPID, Node: "b", Logger: actortest.Discard()}))
		status := func() journalsync.FollowerStatus {
			return actortest.Request[journalsync.FollowerStatus](b, sys, f, journalsync.FollowerStatusRequest{})
		}
		actortest.Eventually(b, wait, func() bool { return status().Open }, "follower open")
		pub := journalsync.NewPublisher(sys.Root, busPID, "a", 1).Publish
		b.ResetTimer()
		applied := uint64(0)
		for i := range b.N {
			for uint64(i)-applied >= benchWindow {
				applied = status().Applied
			}
			pub(benchBatch(i))
		}
		actortest.Eventually(b, 10*time.Minute, func() bool { return status().Applied == uint64(b.N) }, "follower applied %d", b.N)
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "batches/s")
		if st := status(); st.Gaps != 0 || st.Failed != 0 {
			b.Fatalf("status %+v", st)
		}
	})
}
