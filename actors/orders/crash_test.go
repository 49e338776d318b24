package orders

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// The actor crashes (a panic, restarted by its supervisor) while a dozen
// placements wait for the exchange. The answers that reach the dead
// incarnation must not crash the new one over and over (past the
// supervisor's 10 restarts it would stop the order actor for good): the
// new incarnation resolves every order from the journal and the exchange,
// each order is on the exchange at most once, and the journal agrees.
func TestCrashWithPlacementsInFlight(t *testing.T) {
	ls := startLiveSim(t)
	cfg := liveCfg()
	cfg.LostAfter = 2
	pid := ls.startOrders(t, cfg, t.TempDir())
	tk := actortest.Request[*messages.TickerResponse](t, ls.sys, ls.conn, &messages.TickerRequest{Symbol: "BTCUSDT"})
	low := fmtDec(float64(int64(dec(tk.GetLastPrice()) * 0.9)))
	if err := ls.ex.InjectFault(exchangesim.Fault{Kind: exchangesim.FaultLatency, Route: "POST /api/v3/order", Latency: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	const n = 12
	for i := range n {
		ls.sys.Root.Send(pid, &messages.PlaceTradeOrderRequest{Strategy: "crash", Symbol: "BTCUSDT", Side: "BUY", Type: "LIMIT",
			Quantity: "0.001", Price: low, ClientOrderId: fmt.Sprintf("crash-%d", i)})
	}
	actortest.Eventually(t, 10*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ReconcileResponse](ls.sys, pid, &messages.ReconcileRequest{}, time.Second)
		return err == nil && r.GetState().GetInFlight() == n
	}, "%d placements in flight", n)
	ls.sys.Root.Send(pid, &loaded{err: errors.New("injected crash")}) // onLoaded panics on it
	ls.ex.ClearFaults()

	// A LOST order may still land (it waited in the exchange's latency):
	// the LOST checks revive it, so poll until the journal agrees.
	var why string
	actortest.Eventually(t, 60*time.Second, func() bool {
		why = agree(t, ls, pid, n)
		return why == ""
	}, "journal and exchange agree after the crash")
}

// agree compares the journal's orders of strategy crash with the
// exchange's: "" when every one is settled and matches.
func agree(t *testing.T, ls *liveSim, pid *actor.PID, n int) string {
	r, err := actortest.TryRequest[*messages.ReconcileResponse](ls.sys, pid, &messages.ReconcileRequest{}, time.Second)
	if err != nil || r.GetState().GetGate() != gateOpen {
		return fmt.Sprintf("gate: %v %v", r.GetState(), err)
	}
	all, err := ls.direct(t).NewListOrdersService().Symbol("BTCUSDT").Do(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	onExchange := map[string]int{}
	for _, o := range all {
		onExchange[o.ClientOrderID]++
	}
	journal := actortest.Request[*messages.TradeOrdersResponse](t, ls.sys, pid, &messages.TradeOrdersRequest{Strategy: "crash"}).GetOrders()
	if len(journal) != n {
		return fmt.Sprintf("journal holds %d orders of strategy crash, want %d", len(journal), n)
	}
	for _, o := range journal {
		id := o.GetClientOrderId()
		switch s := o.GetStatus(); {
		case onExchange[id] > 1:
			t.Fatalf("order %s is %d times on the exchange", id, onExchange[id])
		case onExchange[id] == 1 && s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW:
			return fmt.Sprintf("order %s rests on the exchange but the journal says %s", id, statusName(s))
		case onExchange[id] == 0 && s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST && s != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT:
			return fmt.Sprintf("order %s is not on the exchange but the journal says %s", id, statusName(s))
		}
	}
	return ""
}
