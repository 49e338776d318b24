package reconcile

import (
	"fmt"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// figureInput is the figure: 1,000 open orders and 10,000 fills
// missed while the daemon was down (ten per order, each order now
// partially filled).
func figureInput() (Input, *fakeExchange) {
	const orders, fillsPerOrder = 1000, 10
	in := Input{LastTradeIDs: map[string]int64{sym: 100}, Queried: map[string]*messages.Order{},
		TradeOrders: map[int64]*messages.Order{}, External: ExternalAdopt, Prefix: "sb-", NowMs: testNow, RecvWindowMs: testWindow}
	id := int64(101)
	for i := range orders {
		cid, oid := fmt.Sprintf("sb-s%d-%d", i%50, i), int64(10_000+i)
		in.Journal = append(in.Journal, jo(cid, stNew, oid, "0"))
		in.ExchangeOpen = append(in.ExchangeOpen, ex(cid, oid, "PARTIALLY_FILLED", "0.01"))
		for range fillsPerOrder {
			in.Trades = append(in.Trades, tr(id, oid, "0.001"))
			id++
		}
	}
	f := &fakeExchange{open: in.ExchangeOpen, trades: map[string][]*messages.ExchangeTrade{sym: in.Trades}}
	return in, f
}

// BenchmarkReconcilePlan plans the figure's input (pure planner).
func BenchmarkReconcilePlan(b *testing.B) {
	in, _ := figureInput()
	b.ReportAllocs()
	for b.Loop() {
		p := PlanOf(in)
		if len(p.Fills) != 10_000 || len(p.Updates) != 1000 || len(p.Mismatches) != 0 {
			b.Fatalf("plan: %d fills, %d updates, mismatches %q", len(p.Fills), len(p.Updates), p.Mismatches)
		}
	}
}

// BenchmarkReconcileRun runs the figure through the runner actor against
// a fake connector that answers at once: the run's own cost, without the
// exchange's latency (the end-to-end figure is measured against the
// simulator after the merge).
func BenchmarkReconcileRun(b *testing.B) {
	in, f := figureInput()
	sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
	defer sys.Shutdown()
	conn := sys.Root.Spawn(f.props())
	req := Request{Journal: in.Journal, LastTradeIDs: in.LastTradeIDs, External: in.External, Prefix: in.Prefix,
		NowMs: in.NowMs, RecvWindowMs: in.RecvWindowMs}
	out := make(chan *Result, 1)
	parent := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.PID:
			ctx.Spawn(Props(m, req))
		case *Result:
			out <- m
		}
	}))
	b.ReportAllocs()
	for b.Loop() {
		sys.Root.Send(parent, conn)
		if r := <-out; r.Err != nil || len(r.Plan.Fills) != 10_000 {
			b.Fatalf("run: %v, %d fills", r.Err, len(r.Plan.Fills))
		}
	}
	b.StopTimer()
	_ = sys.Root.StopFuture(parent).Wait()
	_ = sys.Root.StopFuture(conn).Wait()
}
