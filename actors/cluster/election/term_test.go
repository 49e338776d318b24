package election

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
)

// TestProofDatesFromTheSend: a renewal whose answer is read 10 s after it
// was sent (a paused process) extends the proof from the send, not from the
// late read: the lease may have expired in between.
func TestProofDatesFromTheSend(t *testing.T) {
	e := localEtcd(t)
	cli := newClient(t, e.Endpoint)
	var mu sync.Mutex
	calls := 0
	base := time.Unix(1_000_000, 0)
	clock := func() time.Time { // every reading is 10 s after the previous one
		mu.Lock()
		defer mu.Unlock()
		calls++
		return base.Add(time.Duration(calls-1) * 10 * time.Second)
	}
	g := NewGuard(clock) // reading 0: the epoch
	lease, _, err := cli.Grant(context.Background(), 2)
	if err != nil {
		t.Fatal(err)
	}
	tm := &term{cli: cli, cfg: DefaultConfig(), guard: g, proof: &proof{}, log: actortest.Logger(t)}
	kctx, cancel := context.WithCancel(context.Background())
	lost := tm.keepAlive(kctx, lease, base)
	var first int64
	actortest.Eventually(t, 5*time.Second, func() bool { first = tm.proof.until.Load(); return first != 0 }, "no renewal")
	cancel()
	<-lost
	// Reading 1 (10 s) was taken before the send; the read of the answer
	// comes later. The proof is 10 s + TTL - margin.
	if want := int64(10*time.Second + 1500*time.Millisecond); first != want {
		t.Fatalf("proof until %v after the epoch, want %v (dated from the send)", time.Duration(first), time.Duration(want))
	}
}
