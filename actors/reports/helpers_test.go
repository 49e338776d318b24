package reports

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/messages"
)

// ms is a UTC time in Unix milliseconds.
func ms(y int, m time.Month, d, h, min int) int64 {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC).UnixMilli()
}

// testJournal opens a real journal in a temp dir, closed when the test ends.
func testJournal(t *testing.T) (*journal.Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j, err := journal.Open(path, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j, path
}

// write applies ops to the journal and waits for the commit.
func write(t *testing.T, j *journal.Journal, ops ...journal.Op) {
	t.Helper()
	errc := make(chan error, 1)
	j.Write(ops, func(err error) { errc <- err })
	if err := <-errc; err != nil {
		t.Fatalf("journal write: %v", err)
	}
}

// trade is one filled order for the journal: the order and its fill.
type trade struct {
	id, strategy, symbol, side string
	qty, price, fee, feeAsset  string
	timeMs                     int64
}

func (tr trade) ops() []journal.Op {
	o := &messages.TradeOrder{ClientOrderId: tr.id, Strategy: tr.strategy, Symbol: tr.symbol, Side: tr.side, Type: "MARKET",
		Quantity: tr.qty, Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, ExecutedQty: tr.qty,
		CreatedMs: tr.timeMs, UpdatedMs: tr.timeMs, Mode: "paper"}
	f := &messages.TradeFill{ClientOrderId: tr.id, Strategy: tr.strategy, Symbol: tr.symbol, Side: tr.side, Price: tr.price,
		Quantity: tr.qty, QuoteQty: ledger.FormatDec(dec(tr.qty) * dec(tr.price)), Fee: tr.fee, FeeAsset: tr.feeAsset, TimeMs: tr.timeMs}
	return []journal.Op{journal.PutOrder{Order: o}, journal.AddFill{Fill: f}}
}

// spawnReports starts a reports actor with a bus probe.
func spawnReports(t *testing.T, sys *actor.ActorSystem, cfg Config, deps Deps) (*actor.PID, *actortest.Probe) {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	bus := actortest.NewProbe(t, sys)
	deps.Bus = bus.PID
	deps.Logger = actortest.Logger(t)
	return actortest.Spawn(t, sys, Props(cfg, deps)), bus
}
