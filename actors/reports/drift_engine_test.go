package reports

import (
	"context"
	"math"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/orders/ledger"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// waveKlines are the drift window's 1m bars (and 30 on each side): a
// price waving around 100 with a 90-minute period, so that an sma_cross
// crosses many times a day.
func waveKlines() []*messages.Kline {
	var out []*messages.Kline
	for open := driftFrom - 30*minute; open < driftTo+30*minute; open += minute {
		i := float64((open - driftFrom) / minute)
		c := ledger.FormatDec(math.Round((100+5*math.Sin(i*2*math.Pi/90))*100) / 100)
		out = append(out, &messages.Kline{OpenTimeMs: open, CloseTimeMs: open + minute - 1, Open: c, High: c, Low: c, Close: c, Volume: "10"})
	}
	return out
}

// paperOps journals what the engine did as the order actor would have,
// each order and fill latency ms after the backtest's time; skip drops
// the orders (and their fills) it names.
func paperOps(res *engine.Result, latency int64, skip map[string]bool) []journal.Op {
	var ops []journal.Op
	for _, o := range res.Orders {
		if skip[o.ID] {
			continue
		}
		ops = append(ops, journal.PutOrder{Order: &messages.TradeOrder{ClientOrderId: o.ID, Strategy: "trend", Symbol: o.Symbol,
			Side: o.Side, Type: o.Type, Quantity: ledger.FormatDec(o.Qty), Price: ledger.FormatDec(o.Price), ExecutedQty: ledger.FormatDec(o.Executed),
			Status:    messages.TradeOrderStatus(messages.TradeOrderStatus_value["TRADE_ORDER_STATUS_"+o.Status]),
			CreatedMs: o.TimeMs + latency, UpdatedMs: o.TimeMs + latency, Mode: "paper"}})
	}
	for _, f := range res.Fills {
		if skip[f.OrderID] {
			continue
		}
		ops = append(ops, journal.AddFill{Fill: &messages.TradeFill{ClientOrderId: f.OrderID, Strategy: "trend", Symbol: f.Symbol,
			Side: f.Side, Price: ledger.FormatDec(f.Price), Quantity: ledger.FormatDec(f.Qty), QuoteQty: ledger.FormatDec(f.Price * f.Qty), Fee: ledger.FormatDec(f.Fee),
			FeeAsset: "USDT", Maker: f.Maker, TimeMs: f.TimeMs + latency}})
	}
	return ops
}

// TestDriftWithTheEngine runs the real backtester (sma_cross, the paper
// matcher) in the drift report. A journal holding what that backtest did
// (as paper trading would journal it, half a second later) shows no
// drift; one missing the last round trip shows exactly those orders, and
// the PnL gap is theirs.
func TestDriftWithTheEngine(t *testing.T) {
	klines := waveKlines()
	var bars []strategy.Bar
	for _, k := range klines {
		if k.GetOpenTimeMs() >= driftFrom && k.GetOpenTimeMs() < driftTo {
			bars = append(bars, strategy.Bar{OpenTimeMs: k.GetOpenTimeMs(), CloseTimeMs: k.GetCloseTimeMs(), Open: dec(k.GetOpen()),
				High: dec(k.GetHigh()), Low: dec(k.GetLow()), Close: dec(k.GetClose()), Volume: dec(k.GetVolume())})
		}
	}
	cfg := driftConfig("", "")
	spec := cfg.Strategies["trend"]
	spec.Params = map[string]any{"fast": 3, "slow": 12, "quantity": 0.5}
	cfg.Strategies["trend"] = spec
	want, err := engine.Run(context.Background(), engine.Config{Legs: []engine.Leg{{Name: "trend", Kind: spec.Kind, Params: spec.Params,
		Symbol: spec.Symbol, Interval: spec.Interval, Allocation: spec.Allocation, Bars: bars}},
		MakerFee: cfg.MakerFee, TakerFee: cfg.TakerFee, Slippage: cfg.Slippage, FromMs: driftFrom, ToMs: driftTo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Orders) < 10 || len(want.Fills) < 10 {
		t.Fatalf("the wave gave only %d orders, %d fills", len(want.Orders), len(want.Fills))
	}
	last := want.Orders[len(want.Orders)-2:]
	for _, tc := range []struct {
		name      string
		skip      map[string]bool
		drift     bool
		onlyBT    int
		gapIsLast bool
	}{
		{"agree", nil, false, 0, false},
		{"journal lacks the last round trip", map[string]bool{last[0].ID: true, last[1].ID: true}, true, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, path := testJournal(t)
			write(t, j, paperOps(want, 500, tc.skip)...)
			sys := actortest.NewSystem(t)
			var pages atomic.Int32
			c := cfg
			c.Dir, c.Journal = filepath.Join(t.TempDir(), "reports"), path
			pid, _ := spawnReports(t, sys, c, Deps{Connector: klinesConnector(t, sys, klines, &pages)})
			res := actortest.Request[*messages.ReportDriftResponse](t, sys, pid, &messages.ReportDriftRequest{Strategy: "trend", EndMs: driftTo})
			if res.GetError() != nil {
				t.Fatal(res.GetError())
			}
			if res.GetDrift() != tc.drift || len(res.GetOnlyBacktest()) != tc.onlyBT || len(res.GetOnlyLive()) != 0 ||
				res.GetMatched() != int64(len(want.Orders)-tc.onlyBT) || res.GetBacktest().GetOrders() != int64(len(want.Orders)) {
				t.Fatalf("drift report = %v", res)
			}
			if !tc.gapIsLast {
				if res.GetPnlGap() != "0" || res.GetLive().GetPnl() != res.GetBacktest().GetPnl() {
					t.Fatalf("gap %s: live %v, backtest %v", res.GetPnlGap(), res.GetLive(), res.GetBacktest())
				}
				return
			}
			var s sideStats
			for _, f := range want.Fills {
				if tc.skip[f.OrderID] {
					s.add(f.Side, f.Qty, f.Price*f.Qty, f.Fee)
				}
			}
			if got, want := res.GetPnlGap(), ledger.FormatDec(-s.pnl(bars[len(bars)-1].Close)); got != want {
				t.Fatalf("pnl gap %s, want %s (the missing round trip's)", got, want)
			}
			if ob := res.GetOnlyBacktest(); ob[0].GetClientOrderId() != last[0].ID || ob[1].GetClientOrderId() != last[1].ID {
				t.Fatalf("only in the backtest: %v", ob)
			}
		})
	}
}
