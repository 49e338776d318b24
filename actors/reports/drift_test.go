package reports

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

const minute = int64(60_000)

// The drift window: one day of 1m bars ending Dec 5 00:00 UTC.
var (
	driftFrom = ms(2026, 12, 4, 0, 0)
	driftTo   = ms(2026, 12, 5, 0, 0)
)

// driftKlines are 1m bars from 30 minutes before the window to 30 after:
// close 100, but 110 at the window's bar 700 and 105 at its last (1439).
func driftKlines() []*messages.Kline {
	var out []*messages.Kline
	for open := driftFrom - 30*minute; open < driftTo+30*minute; open += minute {
		c := "100"
		switch (open - driftFrom) / minute {
		case 700:
			c = "110"
		case 1439:
			c = "105"
		}
		out = append(out, &messages.Kline{OpenTimeMs: open, CloseTimeMs: open + minute - 1, Open: c, High: c, Low: c, Close: c, Volume: "1"})
	}
	return out
}

// klinesConnector answers KlinesRequest as the connector does: at most
// limit bars with open time in [start, end], oldest first.
func klinesConnector(t *testing.T, sys *actor.ActorSystem, bars []*messages.Kline, pages *atomic.Int32) *actor.PID {
	return actortest.NewReplyingProbe(t, sys, func(msg any) any {
		m, ok := msg.(*messages.KlinesRequest)
		if !ok {
			return nil
		}
		pages.Add(1)
		resp := &messages.KlinesResponse{Symbol: m.GetSymbol(), Interval: m.GetInterval()}
		for _, k := range bars {
			if k.GetOpenTimeMs() >= m.GetStartTimeMs() && k.GetOpenTimeMs() <= m.GetEndTimeMs() && len(resp.Klines) < int(m.GetLimit()) {
				resp.Klines = append(resp.Klines, k)
			}
		}
		return resp
	}).PID
}

// stubBacktest stands for the engine until it lands: BUY 1 at the close
// of the window's bar 100, SELL 1 at bar 700, BUY 1 at the last bar, filled at
// the close with taker fee 0.001 of the quote amount. It checks what the
// drift report gave it.
func stubBacktest(t *testing.T) func(context.Context, engine.Config, func(int64, int64)) (*engine.Result, error) {
	return func(_ context.Context, cfg engine.Config, _ func(int64, int64)) (*engine.Result, error) {
		leg := cfg.Legs[0]
		if len(cfg.Legs) != 1 || leg.Name != "trend" || leg.Kind != "sma_cross" || leg.Symbol != "BTCUSDT" || leg.Allocation != 1000 ||
			cfg.TakerFee != 0.001 || cfg.Slippage != 0.0005 || cfg.FromMs != driftFrom || cfg.ToMs != driftTo {
			t.Errorf("backtest config = %+v", cfg)
		}
		if len(leg.Bars) != 1440 || leg.Bars[0].OpenTimeMs != driftFrom || leg.Bars[1439].OpenTimeMs != driftTo-minute {
			t.Errorf("bars: %d from %d", len(leg.Bars), leg.Bars[0].OpenTimeMs)
		}
		res := &engine.Result{}
		for _, step := range []struct {
			bar  int
			side string
		}{{100, "BUY"}, {700, "SELL"}, {1439, "BUY"}} {
			b := leg.Bars[step.bar]
			id := "bt-" + step.side + "-" + time.UnixMilli(b.CloseTimeMs).UTC().Format("1504")
			res.Orders = append(res.Orders, engine.Order{ID: id, Symbol: leg.Symbol, Side: step.side, Type: "MARKET", Status: "FILLED",
				Qty: 1, Executed: 1, Quote: b.Close, TimeMs: b.CloseTimeMs})
			res.Fills = append(res.Fills, engine.Fill{OrderID: id, Symbol: leg.Symbol, Side: step.side, Price: b.Close, Qty: 1,
				Fee: b.Close * 0.001, TimeMs: b.CloseTimeMs})
		}
		return res, nil
	}
}

// barClose is the close time of the window's bar i.
func barClose(i int64) int64 { return driftFrom + i*minute + minute - 1 }

func driftConfig(dir, journalPath string) Config {
	return Config{Dir: dir, Journal: journalPath, TakerFee: 0.001, MakerFee: 0.001, Slippage: 0.0005,
		Strategies: map[string]Strategy{"trend": {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1m", Allocation: 1000,
			Params: map[string]any{"fast": 5, "slow": 20}},
			"fast": {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1s", Allocation: 1000}}}
}

func runDrift(t *testing.T, trades []trade) (*messages.ReportDriftResponse, *actortest.Probe, int32) {
	t.Helper()
	return runDriftWith(t, stubBacktest(t), trades)
}

func runDriftWith(t *testing.T, stub func(context.Context, engine.Config, func(int64, int64)) (*engine.Result, error), trades []trade) (*messages.ReportDriftResponse, *actortest.Probe, int32) {
	t.Helper()
	old := backtest
	backtest = stub
	t.Cleanup(func() { backtest = old })
	j, path := testJournal(t)
	var ops []journal.Op
	for _, tr := range trades {
		ops = append(ops, tr.ops()...)
	}
	// Another strategy's order in the window is not this one's.
	ops = append(ops, trade{"o1", "other", "BTCUSDT", "SELL", "3", "100", "0.3", "USDT", barClose(400)}.ops()...)
	write(t, j, ops...)
	sys := actortest.NewSystem(t)
	var pages atomic.Int32
	conn := klinesConnector(t, sys, driftKlines(), &pages)
	pid, bus := spawnReports(t, sys, driftConfig(filepath.Join(t.TempDir(), "reports"), path), Deps{Connector: conn})
	res := actortest.Request[*messages.ReportDriftResponse](t, sys, pid,
		&messages.ReportDriftRequest{Strategy: "trend", Days: 1, EndMs: driftTo + 30_000})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	return res, bus, pages.Load()
}

// TestDriftAgrees: the journal holds what the backtest did (each order a
// second after its bar closed, the last one after the window's end): no
// drift.
func TestDriftAgrees(t *testing.T) {
	res, bus, pages := runDrift(t, []trade{
		{"p1", "trend", "BTCUSDT", "BUY", "1", "100", "0.1", "USDT", barClose(100) + 1000},
		{"p2", "trend", "BTCUSDT", "SELL", "1", "110", "0.11", "USDT", barClose(700) + 1000},
		{"p3", "trend", "BTCUSDT", "BUY", "1", "105", "0.105", "USDT", barClose(1439) + 1000},
	})
	if pages != 2 {
		t.Errorf("connector pages = %d, want 2 (1000 + 440 bars)", pages)
	}
	if res.GetFromMs() != driftFrom || res.GetToMs() != driftTo {
		t.Fatalf("window %d..%d, want the day before the end rounded to the minute", res.GetFromMs(), res.GetToMs())
	}
	// PnL: sells 110 - buys 205 - fees 0.315 + 1 held at the last close 105.
	side := &messages.DriftSide{Orders: 3, Fills: 3, Pnl: "9.685", FeesBuy: "0.205", FeesSell: "0.11", BuyQty: "2", SellQty: "1"}
	if res.GetDrift() || res.GetMatched() != 3 || res.GetPnlGap() != "0" || len(res.GetOnlyBacktest())+len(res.GetOnlyLive()) != 0 ||
		!proto.Equal(res.GetBacktest(), side) || !proto.Equal(res.GetLive(), side) {
		t.Fatalf("drift report = %v", res)
	}
	md, err := os.ReadFile(res.GetMarkdownPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "no drift") || filepath.Base(res.GetMarkdownPath()) != "drift-trend-2026-12-05T0000Z.md" {
		t.Fatalf("%s:\n%s", res.GetMarkdownPath(), md)
	}
	ev := actortest.Expect[*messages.Event](t, bus, 5*time.Second)
	var ready messages.ReportReady
	if ev.GetTopic() != TopicReady || ev.GetPayload().UnmarshalTo(&ready) != nil || ready.GetKind() != "drift" ||
		ready.GetStrategy() != "trend" || len(ready.GetPaths()) != 2 || ready.GetPaths()[1] != res.GetHtmlPath() {
		t.Fatalf("event = %v", ev)
	}
}

// TestDriftDisagrees: the journal misses the backtest's sell, has a buy the
// backtest did not place, and paid slippage on its first buy.
func TestDriftDisagrees(t *testing.T) {
	res, _, _ := runDrift(t, []trade{
		{"p1", "trend", "BTCUSDT", "BUY", "1", "100.5", "0.1005", "USDT", barClose(100) + 1000},
		{"p2", "trend", "BTCUSDT", "BUY", "1", "100", "0.1", "USDT", barClose(300) + 1000},
		{"p3", "trend", "BTCUSDT", "BUY", "1", "105", "0.105", "USDT", barClose(1439) + 1000},
	})
	// Journal PnL: -305.5 - 0.3055 + 3 * 105 = 9.1945; the backtest's 9.685.
	live := &messages.DriftSide{Orders: 3, Fills: 3, Pnl: "9.1945", FeesBuy: "0.3055", FeesSell: "0", BuyQty: "3", SellQty: "0"}
	if !res.GetDrift() || res.GetMatched() != 2 || res.GetPnlGap() != "-0.4905" || !proto.Equal(res.GetLive(), live) || res.GetBacktest().GetPnl() != "9.685" ||
		res.GetOnlyBacktestCount() != 1 || res.GetOnlyLiveCount() != 1 {
		t.Fatalf("drift report = %v", res)
	}
	ob, ol := res.GetOnlyBacktest(), res.GetOnlyLive()
	if len(ob) != 1 || ob[0].GetSide() != "SELL" || ob[0].GetTimeMs() != barClose(700) ||
		len(ol) != 1 || ol[0].GetClientOrderId() != "p2" || ol[0].GetStatus() != "FILLED" {
		t.Fatalf("only backtest %v, only journal %v", ob, ol)
	}
	html, err := os.ReadFile(res.GetHtmlPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "DRIFT: 1 orders only in the backtest, 1 only in the journal, PnL gap -0.4905") ||
		!strings.Contains(string(html), "<td>p2</td>") {
		t.Fatalf("html:\n%s", html)
	}
}

// TestDriftBadRequests: refused before anything runs.
func TestDriftBadRequests(t *testing.T) {
	sys := actortest.NewSystem(t)
	dir := t.TempDir()
	var pages atomic.Int32
	conn := klinesConnector(t, sys, nil, &pages)
	pid, _ := spawnReports(t, sys, driftConfig(filepath.Join(dir, "reports"), filepath.Join(dir, "journal.db")), Deps{Connector: conn})
	for _, tc := range []struct {
		name string
		req  *messages.ReportDriftRequest
		code messages.ErrorCode
		text string
	}{
		{"no strategy", &messages.ReportDriftRequest{}, messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "strategy: must name"},
		{"unknown strategy", &messages.ReportDriftRequest{Strategy: "nope"}, messages.ErrorCode_ERROR_CODE_NOT_FOUND, `"nope" is not in [trading.strategies]`},
		{"days too many", &messages.ReportDriftRequest{Strategy: "trend", Days: 400}, messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "days: must be 1 to 366"},
		{"days negative", &messages.ReportDriftRequest{Strategy: "trend", Days: -1}, messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "days:"},
		{"too many bars", &messages.ReportDriftRequest{Strategy: "fast", Days: 7}, messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
			"days: 7 days of 1s bars are 604800 bars, more than 600000"},
		{"no bars", &messages.ReportDriftRequest{Strategy: "trend", EndMs: driftTo}, messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "no BTCUSDT 1m bars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := actortest.Request[*messages.ReportDriftResponse](t, sys, pid, tc.req)
			if res.GetError().GetCode() != tc.code || !strings.Contains(res.GetError().GetMessage(), tc.text) {
				t.Fatalf("error = %v, want %v %q", res.GetError(), tc.code, tc.text)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "reports")); !os.IsNotExist(err) {
		t.Fatalf("a refused report wrote files: %v", err)
	}
}

// TestReportsBounded: at most maxRunning reports run at once; one more is
// refused as busy, and a finished one frees its place.
func TestReportsBounded(t *testing.T) {
	sys := actortest.NewSystem(t)
	dir := t.TempDir()
	held := make(chan *actor.PID, 10)
	conn := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.KlinesRequest); ok {
			held <- ctx.Sender()
		}
	}))
	pid, _ := spawnReports(t, sys, driftConfig(filepath.Join(dir, "reports"), filepath.Join(dir, "journal.db")), Deps{Connector: conn})
	req := &messages.ReportDriftRequest{Strategy: "trend", EndMs: driftTo}
	var futures []*actor.Future
	for range maxRunning {
		futures = append(futures, sys.Root.RequestFuture(pid, req, actortest.DefaultTimeout))
	}
	var senders []*actor.PID
	for range maxRunning {
		select {
		case s := <-held:
			senders = append(senders, s)
		case <-time.After(actortest.DefaultTimeout):
			t.Fatal("the connector was not asked for bars")
		}
	}
	res := actortest.Request[*messages.ReportDriftResponse](t, sys, pid, req)
	if res.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_UNAVAILABLE || !strings.Contains(res.GetError().GetMessage(), "reports are running") {
		t.Fatalf("third report: %v, want busy", res.GetError())
	}
	for _, s := range senders {
		sys.Root.Send(s, &messages.KlinesResponse{})
	}
	for _, f := range futures {
		r, err := f.Result()
		if err != nil || r.(*messages.ReportDriftResponse).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
			t.Fatalf("held report: %v %v", r, err)
		}
	}
	f := sys.Root.RequestFuture(pid, req, actortest.DefaultTimeout)
	sys.Root.Send(<-held, &messages.KlinesResponse{})
	if r, err := f.Result(); err != nil || r.(*messages.ReportDriftResponse).GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("a report after the others ended: %v %v", r, err)
	}
}

// TestCompareMatching: orders match by side within one bar interval, but
// never less than 5 s apart (a paper order on 1 s bars can follow its
// bar's close by seconds); each journal order matches once.
func TestCompareMatching(t *testing.T) {
	bt := &engine.Result{Orders: []engine.Order{
		{ID: "b1", Side: "BUY", TimeMs: 10_000}, {ID: "b2", Side: "SELL", TimeMs: 20_000}, {ID: "b3", Side: "BUY", TimeMs: 21_000},
	}}
	live := []*messages.TradeOrder{
		{ClientOrderId: "l1", Side: "BUY", CreatedMs: 13_000},  // 3 s after b1: matched on 1 s bars
		{ClientOrderId: "l2", Side: "BUY", CreatedMs: 14_000},  // b1 is taken, b3 is 7 s away
		{ClientOrderId: "l3", Side: "SELL", CreatedMs: 26_000}, // 6 s after b2: too late
	}
	resp := &messages.ReportDriftResponse{}
	compare(resp, bt, live, nil, 1000, 100)
	var ob, ol []string
	for _, o := range resp.GetOnlyBacktest() {
		ob = append(ob, o.GetClientOrderId())
	}
	for _, o := range resp.GetOnlyLive() {
		ol = append(ol, o.GetClientOrderId())
	}
	if resp.GetMatched() != 1 || strings.Join(ob, ",") != "b2,b3" || strings.Join(ol, ",") != "l2,l3" || !resp.GetDrift() {
		t.Fatalf("matched %d, only backtest %v, only journal %v", resp.GetMatched(), ob, ol)
	}
	resp = &messages.ReportDriftResponse{}
	compare(resp, bt, live, nil, 60_000, 100) // 1m bars: everything within a minute
	if resp.GetMatched() != 3 || len(resp.GetOnlyLive()) != 0 {
		t.Fatalf("on 1m bars: %v", resp)
	}
}

// TestDriftListsAreCapped: an answer lists the first 100 orders of a side
// only (with the count of all), the report file up to 1000.
func TestDriftListsAreCapped(t *testing.T) {
	res, _, _ := runDriftWith(t, func(_ context.Context, cfg engine.Config, _ func(int64, int64)) (*engine.Result, error) {
		r := &engine.Result{}
		for i, b := range cfg.Legs[0].Bars[:150] {
			r.Orders = append(r.Orders, engine.Order{ID: fmt.Sprintf("bt-%d", i), Side: "BUY", Type: "LIMIT", Status: "NEW", Price: 90, Qty: 1, TimeMs: b.CloseTimeMs})
		}
		return r, nil
	}, nil)
	if len(res.GetOnlyBacktest()) != 100 || res.GetOnlyBacktestCount() != 150 || res.GetOnlyBacktest()[99].GetClientOrderId() != "bt-99" || !res.GetDrift() {
		t.Fatalf("listed %d of %d", len(res.GetOnlyBacktest()), res.GetOnlyBacktestCount())
	}
	md, err := os.ReadFile(res.GetMarkdownPath())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "| bt-149 |") || !strings.Contains(string(md), "DRIFT: 150 orders only in the backtest") {
		t.Fatalf("the file lacks the 150 orders:\n%s", md)
	}
}
