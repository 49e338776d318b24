package orders

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestStrategyStateRoundTripAndBackup(t *testing.T) {
	f := newFixture(t, testCfg(ModePaper))
	save := actortest.Request[*messages.SaveStrategyStateResponse](t, f.sys, f.pid, &messages.SaveStrategyStateRequest{Strategy: "s1", State: []byte(`{"fast":3}`)})
	if save.GetError() != nil || save.GetSavedMs() == 0 {
		t.Fatalf("save = %v", save)
	}
	big := actortest.Request[*messages.SaveStrategyStateResponse](t, f.sys, f.pid, &messages.SaveStrategyStateRequest{Strategy: "s1", State: make([]byte, maxStateSize+1)})
	if big.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("oversized state = %v", big)
	}
	f.restart()
	load := actortest.Request[*messages.LoadStrategyStateResponse](t, f.sys, f.pid, &messages.LoadStrategyStateRequest{Strategy: "s1"})
	if string(load.GetState()) != `{"fast":3}` || load.GetSavedMs() != save.GetSavedMs() {
		t.Fatalf("load = %v", load)
	}
	dst := filepath.Join(t.TempDir(), "copy.db")
	b := actortest.Request[*messages.JournalBackupResponse](t, f.sys, f.pid, &messages.JournalBackupRequest{Path: dst})
	if b.GetError() != nil || b.GetBytes() == 0 {
		t.Fatalf("backup = %v", b)
	}
	j, err := journal.Open(dst, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if st, _, err := j.State("s1"); err != nil || string(st) != `{"fast":3}` {
		t.Fatalf("state in the copy = %q, %v", st, err)
	}
	again := actortest.Request[*messages.JournalBackupResponse](t, f.sys, f.pid, &messages.JournalBackupRequest{Path: dst})
	if again.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS {
		t.Fatalf("backup over a file = %v", again)
	}
	if _, err := os.Stat(dst); err != nil {
		t.Fatal(err)
	}
}

// PrepareStop cancels open orders and closes positions when configured,
// then answers.
func TestPrepareStopCancelsAndCloses(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.CancelOrdersOnStop, cfg.ClosePositionsOnStop = true, true
	f := newFixture(t, cfg)
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	f.place(buy("s1", "MARKET", "0.01", ""))
	f.place(buy("s1", "LIMIT", "0.01", "49000"))
	res := actortest.Request[*PrepareStopResult](t, f.sys, f.pid, &PrepareStop{})
	if res.Err != nil || res.Canceled != 1 || res.Closing != 1 {
		t.Fatalf("prepare stop = %+v", res)
	}
	actortest.Eventually(t, 5*time.Second, func() bool {
		p := f.positions("s1").GetPositions()
		return len(p) == 1 && p[0].GetQuantity() == "0" && len(f.orders("canceled")) == 1
	}, "position closed and order canceled")
}

func TestRoutesCoverTheTradingMethods(t *testing.T) {
	sys := actortest.NewSystem(t)
	pid := actortest.NewProbe(t, sys).PID
	r := rpc.NewRouter(time.Second)
	r.MustAdd(Routes(pid)...)
	want := []string{"journal.backup", "journal.snapshot", "trading.balance", "trading.fills", "trading.halt", "trading.order.cancel", "trading.order.cancel_all",
		"trading.order.place", "trading.orders", "trading.pnl", "trading.positions", "trading.reconcile", "trading.resume"}
	got := r.Methods()
	if len(got) != len(want) {
		t.Fatalf("methods = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("methods = %v, want %v", got, want)
		}
	}
	for _, rt := range Routes(pid) {
		if rt.Target != pid || rt.Doc == "" || rt.New() == nil || rpc.ResultOf(rt) == nil {
			t.Errorf("route %s is incomplete", rt.Method)
		}
	}
}

func TestReadsFilterAndSum(t *testing.T) {
	cfg := testCfg(ModePaper)
	cfg.Books = map[string]BookConfig{"s1": {Allocation: 1000, QuoteAsset: "USDT"}}
	f := newFixture(t, cfg)
	f.event("book.BTCUSDT.update", book("49990", "50010"))
	f.place(buy("s1", "MARKET", "0.01", ""))
	f.place(buy("s2", "LIMIT", "0.01", "49000"))
	bad := actortest.Request[*messages.TradeOrdersResponse](t, f.sys, f.pid, &messages.TradeOrdersRequest{Status: "bogus"})
	if bad.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
		t.Fatalf("bogus status = %v", bad)
	}
	s2 := actortest.Request[*messages.TradeOrdersResponse](t, f.sys, f.pid, &messages.TradeOrdersRequest{Strategy: "s2"}).GetOrders()
	if len(s2) != 1 || s2[0].GetStrategy() != "s2" {
		t.Fatalf("orders of s2 = %v", s2)
	}
	pnl := actortest.Request[*messages.PnlResponse](t, f.sys, f.pid, &messages.PnlRequest{})
	var s1 *messages.StrategyBook
	for _, b := range pnl.GetStrategies() {
		if b.GetStrategy() == "s1" {
			s1 = b
		}
	}
	// 0.01 bought at 50010, valued at the mid 50000; fee 0.5001.
	if s1 == nil || s1.GetAllocation() != "1000" || s1.GetUsed() != "500" || s1.GetAvailable() != "500" || s1.GetFees() != "0.5001" ||
		s1.GetUnrealizedPnl() != "-0.1" {
		t.Fatalf("s1 book = %v", s1)
	}
	if pnl.GetAccount().GetFees() != "0.5001" || pnl.GetAccount().GetFills() != 1 || s1.GetFills() != 1 {
		t.Fatalf("account = %v, s1 = %v: want one fill", pnl.GetAccount(), s1)
	}
}

// An actor stopped while its journal is still opening leaks nothing (the
// package's goleak check fails otherwise).
func TestStopWhileLoading(t *testing.T) {
	sys := actortest.NewSystem(t)
	dir := t.TempDir()
	for range 5 {
		pid := sys.Root.Spawn(Props(testCfg(ModePaper), Deps{StateDir: dir, Logger: actortest.Logger(t)}))
		if err := sys.Root.StopFuture(pid).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	// The loaders finish on their own: wait until a fresh actor can open
	// the same journal and answer (all earlier handles are closed by then
	// or closing).
	pid := actortest.Spawn(t, sys, Props(testCfg(ModePaper), Deps{StateDir: dir, Logger: actortest.Logger(t)}))
	actortest.Eventually(t, 10*time.Second, func() bool {
		r, err := actortest.TryRequest[*messages.ReconcileResponse](sys, pid, &messages.ReconcileRequest{}, time.Second)
		return err == nil && r.GetState().GetGate() == gateOpen
	}, "a new actor opens the journal")
}
