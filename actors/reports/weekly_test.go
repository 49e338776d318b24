package reports

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// TestWeeklyReport fills a real journal with orders and fills around a
// week and checks the report's figures, computed by hand:
//
//	alpha BTCUSDT: BUY 1@100 (Nov 28, before the window: cost 100)
//	  BUY 1@120 fee .12  -> avg 110, net -0.12
//	  SELL 1@130 fee .13 -> realised +20, net 19.75 (peak)
//	  SELL 1@100 fee .10 -> realised -10, net 9.65 (drawdown 10.1)
//	  plus a canceled order without a fill
//	beta ETHUSDT: SELL 2@50 fee 0.001 ETH (= 0.05 USDT) -> short at 50, net -0.05
//	  BUY 2@40 fee .08 -> realised +20, net 19.87
//	account, in time order: -0.12, 19.75, 9.65, 9.60 (drawdown 10.15), 29.52
func TestWeeklyReport(t *testing.T) {
	j, path := testJournal(t)
	var ops []journal.Op
	for _, tr := range []trade{
		{"a0", "alpha", "BTCUSDT", "BUY", "1", "100", "0.1", "USDT", ms(2026, 11, 28, 12, 0)},
		{"a1", "alpha", "BTCUSDT", "BUY", "1", "120", "0.12", "USDT", ms(2026, 11, 30, 12, 0)},
		{"a2", "alpha", "BTCUSDT", "SELL", "1", "130", "0.13", "USDT", ms(2026, 12, 1, 12, 0)},
		{"a3", "alpha", "BTCUSDT", "SELL", "1", "100", "0.1", "USDT", ms(2026, 12, 2, 12, 0)},
		{"b1", "beta", "ETHUSDT", "SELL", "2", "50", "0.001", "ETH", ms(2026, 12, 2, 13, 0)},
		{"b2", "beta", "ETHUSDT", "BUY", "2", "40", "0.08", "USDT", ms(2026, 12, 4, 12, 0)},
		{"a4", "alpha", "BTCUSDT", "BUY", "5", "90", "0.45", "USDT", ms(2026, 12, 6, 1, 0)}, // after the window
	} {
		ops = append(ops, tr.ops()...)
	}
	ops = append(ops, journal.PutOrder{Order: &messages.TradeOrder{ClientOrderId: "a5", Strategy: "alpha", Symbol: "BTCUSDT",
		Side: "BUY", Type: "LIMIT", Quantity: "1", Price: "80", Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED,
		CreatedMs: ms(2026, 12, 3, 0, 0)}})
	write(t, j, ops...)

	sys := actortest.NewSystem(t)
	dir := filepath.Join(t.TempDir(), "reports")
	pid, bus := spawnReports(t, sys, Config{Dir: dir, Journal: path}, Deps{})
	end := ms(2026, 12, 6, 0, 0)
	res := actortest.Request[*messages.ReportWeeklyResponse](t, sys, pid, &messages.ReportWeeklyRequest{EndMs: end})
	if res.GetError() != nil {
		t.Fatal(res.GetError())
	}
	if res.GetFromMs() != ms(2026, 11, 29, 0, 0) || res.GetToMs() != end {
		t.Fatalf("window = %d..%d", res.GetFromMs(), res.GetToMs())
	}
	want := []*messages.ReportBookStats{
		{Strategy: "alpha", Orders: 4, Trades: 3, RealizedPnl: "10", Fees: "0.35", NetPnl: "9.65", MaxDrawdown: "10.1", BuyQuote: "120", SellQuote: "230"},
		{Strategy: "beta", Orders: 2, Trades: 2, RealizedPnl: "20", Fees: "0.13", NetPnl: "19.87", MaxDrawdown: "0.05", BuyQuote: "80", SellQuote: "100"},
	}
	if len(res.GetStrategies()) != 2 || !proto.Equal(res.GetStrategies()[0], want[0]) || !proto.Equal(res.GetStrategies()[1], want[1]) {
		t.Fatalf("strategies =\n%v\nwant\n%v", res.GetStrategies(), want)
	}
	acct := &messages.ReportBookStats{Orders: 6, Trades: 5, RealizedPnl: "30", Fees: "0.48", NetPnl: "29.52", MaxDrawdown: "10.15", BuyQuote: "200", SellQuote: "330"}
	if !proto.Equal(res.GetAccount(), acct) {
		t.Fatalf("account = %v, want %v", res.GetAccount(), acct)
	}

	wantMD := filepath.Join(dir, "weekly-2026-12-06T0000Z.md")
	if res.GetMarkdownPath() != wantMD || res.GetHtmlPath() != filepath.Join(dir, "weekly-2026-12-06T0000Z.html") {
		t.Fatalf("paths = %s, %s", res.GetMarkdownPath(), res.GetHtmlPath())
	}
	md, err := os.ReadFile(res.GetMarkdownPath())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"| alpha | 4 | 3 | 120 | 230 | 10 | 0.35 | 9.65 | 10.1 |", "| account | 6 | 5 | 200 | 330 | 30 | 0.48 | 29.52 | 10.15 |", "2026-11-29 00:00 UTC"} {
		if !strings.Contains(string(md), s) {
			t.Errorf("markdown lacks %q:\n%s", s, md)
		}
	}
	html, err := os.ReadFile(res.GetHtmlPath())
	if err != nil {
		t.Fatal(err)
	}
	h := string(html)
	if !strings.Contains(h, "<td>beta</td><td>2</td><td>2</td>") || strings.Contains(h, "http://") || strings.Contains(h, "https://") || strings.Contains(h, "<script") {
		t.Errorf("html is not the self-contained report:\n%s", h)
	}
	// The account's net PnL chart: a step per fill (5) and to the window's end, from 0 up to 29.52
	// and down to -0.12.
	if !strings.Contains(h, "<svg") || strings.Count(h, " V") != 6 || !strings.Contains(h, ">29.52</text>") || !strings.Contains(h, ">-0.12</text>") {
		t.Errorf("html lacks the account's chart:\n%s", h)
	}

	ev := actortest.Expect[*messages.Event](t, bus, 5*time.Second)
	var ready messages.ReportReady
	if ev.GetTopic() != TopicReady || ev.GetPayload().UnmarshalTo(&ready) != nil {
		t.Fatalf("event = %v", ev)
	}
	if ready.GetKind() != "weekly" || len(ready.GetPaths()) != 2 || ready.GetPaths()[0] != wantMD || ready.GetToMs() != end {
		t.Fatalf("report.ready = %v", &ready)
	}
}

// TestWeeklyReportWithoutJournal: no journal yet (nothing traded) is an
// empty report, not an error, and creates no journal file.
func TestWeeklyReportWithoutJournal(t *testing.T) {
	sys := actortest.NewSystem(t)
	dir := t.TempDir()
	jpath := filepath.Join(dir, "state", "journal.db")
	pid, _ := spawnReports(t, sys, Config{Dir: filepath.Join(dir, "reports"), Journal: jpath}, Deps{Now: func() time.Time { return time.UnixMilli(ms(2026, 12, 6, 0, 0)) }})
	res := actortest.Request[*messages.ReportWeeklyResponse](t, sys, pid, &messages.ReportWeeklyRequest{})
	if res.GetError() != nil || res.GetAccount().GetTrades() != 0 || len(res.GetStrategies()) != 0 {
		t.Fatalf("res = %v", res)
	}
	if res.GetToMs() != ms(2026, 12, 6, 0, 0) {
		t.Fatalf("end = %d, want the injected clock's now", res.GetToMs())
	}
	if _, err := os.Stat(jpath); !os.IsNotExist(err) {
		t.Fatalf("journal file created: %v", err)
	}
}
