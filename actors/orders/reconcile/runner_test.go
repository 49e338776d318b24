package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	gocmp "github.com/google/go-cmp/cmp"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// fakeExchange is the scripted exchange state a fake connector answers
// from, and the log of what it was asked.
type fakeExchange struct {
	mu       sync.Mutex
	open     []*messages.Order
	balances []*messages.AssetBalance
	trades   map[string][]*messages.ExchangeTrade // by symbol, oldest first
	orders   []*messages.Order                    // every order GetOrderRequest finds
	fail     map[string]*messages.Error           // by request kind: open, account, trades, order
	silent   map[string]bool                      // request kinds never answered
	raw      bool                                 // answer every trade to every MyTradesRequest
	late     []*messages.ExchangeTrade            // made after the symbol's pages were fetched: only by order id
	hold     bool                                 // keep requests until release
	held     []heldRequest
	maxHeld  int
	log      []string
}

type heldRequest struct {
	sender *actor.PID
	answer any
}

// release answers every held request (and stops holding when last).
type release struct{ last bool }

func (f *fakeExchange) props() *actor.Props {
	return actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case release:
			f.mu.Lock()
			held := f.held
			f.held, f.hold = nil, f.hold && !m.last
			f.mu.Unlock()
			for _, h := range held {
				ctx.Send(h.sender, h.answer)
			}
		case *messages.OpenOrdersRequest, *messages.AccountRequest, *messages.MyTradesRequest, *messages.GetOrderRequest:
			f.mu.Lock()
			defer f.mu.Unlock()
			kind, line, answer := f.answer(m)
			f.log = append(f.log, line)
			switch {
			case f.silent[kind]:
			case f.hold:
				f.held = append(f.held, heldRequest{ctx.Sender(), answer})
				f.maxHeld = max(f.maxHeld, len(f.held))
			default:
				ctx.Respond(answer)
			}
		}
	})
}

// answer builds the reply to one request; f.mu is held.
func (f *fakeExchange) answer(msg any) (kind, line string, answer any) {
	switch m := msg.(type) {
	case *messages.OpenOrdersRequest:
		return "open", "open", &messages.OpenOrdersResponse{Orders: f.open, Error: f.fail["open"]}
	case *messages.AccountRequest:
		return "account", "account", &messages.AccountResponse{Balances: f.balances, Error: f.fail["account"]}
	case *messages.MyTradesRequest:
		line = fmt.Sprintf("trades %s from %d limit %d", m.GetSymbol(), m.GetFromId(), m.GetLimit())
		if m.GetOrderId() != 0 {
			line = fmt.Sprintf("trades %s order %d from %d limit %d", m.GetSymbol(), m.GetOrderId(), m.GetFromId(), m.GetLimit())
		}
		if m.GetStartTimeMs() != 0 {
			line = fmt.Sprintf("trades %s since %d ms limit %d", m.GetSymbol(), m.GetStartTimeMs(), m.GetLimit())
		}
		return "trades", line, &messages.MyTradesResponse{Trades: f.page(m), Error: f.fail["trades"]}
	case *messages.GetOrderRequest:
		line = fmt.Sprintf("order %s cid %q id %d", m.GetSymbol(), m.GetClientOrderId(), m.GetOrderId())
		if e := f.fail["order"]; e != nil {
			return "order", line, &messages.OrderResult{Error: e}
		}
		for _, o := range f.orders {
			if o.GetSymbol() == m.GetSymbol() && (o.GetClientOrderId() == m.GetClientOrderId() || o.GetOrderId() == m.GetOrderId()) {
				return "order", line, &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_ACCEPTED, Order: o}
			}
		}
		return "order", line, &messages.OrderResult{Outcome: messages.OrderOutcome_ORDER_OUTCOME_REJECTED, ExchangeCode: -2013,
			Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "exchange: order does not exist (-2013)")}
	}
	panic(fmt.Sprintf("fake exchange: %T", msg))
}

// page is Binance's myTrades window: from_id 0 is the most recent page.
func (f *fakeExchange) page(m *messages.MyTradesRequest) []*messages.ExchangeTrade {
	all, limit := f.trades[m.GetSymbol()], int(m.GetLimit())
	if f.raw {
		return all
	}
	if id := m.GetOrderId(); id != 0 {
		all = slices.DeleteFunc(append(slices.Clone(all), f.late...), func(t *messages.ExchangeTrade) bool { return t.GetOrderId() != id })
	}
	if m.GetFromId() == 0 && m.GetStartTimeMs() > 0 {
		i := slices.IndexFunc(all, func(t *messages.ExchangeTrade) bool { return t.GetTimeMs() >= m.GetStartTimeMs() })
		if i < 0 {
			return nil
		}
		return all[i:min(len(all), i+limit)]
	}
	if m.GetFromId() == 0 {
		return all[max(0, len(all)-limit):]
	}
	i, _ := slices.BinarySearchFunc(all, m.GetFromId(), func(t *messages.ExchangeTrade, id int64) int { return int(t.GetId() - id) })
	return all[i:min(len(all), i+limit)]
}

func (f *fakeExchange) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.log)
}

// startRun spawns a parent that spawns the runner and forwards its result.
func startRun(t *testing.T, sys *actor.ActorSystem, conn *actor.PID, req Request) <-chan *Result {
	t.Helper()
	out := make(chan *Result, 2)
	actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Spawn(Props(conn, req))
		case *Result:
			out <- m
		}
	}))
	return out
}

func waitResult(t *testing.T, ch <-chan *Result) *Result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(20 * time.Second):
		t.Fatal("no reconciliation result")
		return nil
	}
}

func runWith(t *testing.T, f *fakeExchange, req Request) (*Result, []string) {
	t.Helper()
	sys := actortest.NewSystem(t)
	conn := actortest.Spawn(t, sys, f.props())
	res := waitResult(t, startRun(t, sys, conn, req))
	return res, f.requests()
}

// extTrades are n trades of symbol from id first on, each of one of the
// five external orders extOrders returns.
func extTrades(symbol string, first int64, n int) []*messages.ExchangeTrade {
	out := make([]*messages.ExchangeTrade, 0, n)
	for id := first; id < first+int64(n); id++ {
		t := tr(id, 1000+id%5, "0.001")
		t.Symbol = symbol
		out = append(out, t)
	}
	return out
}

func extOrders(symbol string) []*messages.Order {
	var out []*messages.Order
	for id := int64(1000); id < 1005; id++ {
		o := ex(fmt.Sprintf("web_%d", id), id, "FILLED", "1")
		o.Symbol = symbol
		out = append(out, o)
	}
	return out
}

func TestRunnerFetchesPagesAndPlans(t *testing.T) {
	filled := ex("sb-s1-1", 11, "FILLED", "1")
	open := ex("sb-s1-3", 13, "NEW", "0")
	external := &messages.Order{Symbol: "ETHUSDT", OrderId: 40, ClientOrderId: "web_1", Status: "NEW", OrigQty: "1", ExecutedQty: "0"}
	trades := append([]*messages.ExchangeTrade{tr(101, 11, "1")}, extTrades(sym, 102, 2499)...)
	f := &fakeExchange{
		open: []*messages.Order{open, external}, balances: []*messages.AssetBalance{{Asset: "USDT", Free: "100"}},
		trades: map[string][]*messages.ExchangeTrade{sym: append(extTrades(sym, 1, 100), trades...)},
		orders: append([]*messages.Order{filled, open}, extOrders(sym)...),
	}
	req := Request{
		Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0"), jo("sb-s1-2", stIntent, 0, ""), jo("sb-s1-3", stNew, 13, "0"),
			jo("sb-s1-4", messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED, 14, "0")}, // closed: not queried
		LastTradeIDs: map[string]int64{sym: 100, "ETHUSDT": 5}, Symbols: []string{sym, "XRPUSDT"},
		External: ExternalAdopt, Prefix: "sb-", NowMs: testNow, RecvWindowMs: testWindow,
	}
	res, log := runWith(t, f, req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	checkPhases(t, log)
	slices.Sort(log)
	want := []string{"account", "open",
		`order BTCUSDT cid "" id 1000`, `order BTCUSDT cid "" id 1001`, `order BTCUSDT cid "" id 1002`,
		`order BTCUSDT cid "" id 1003`, `order BTCUSDT cid "" id 1004`,
		`order BTCUSDT cid "sb-s1-1" id 0`, `order BTCUSDT cid "sb-s1-2" id 0`,
		"trades BTCUSDT from 101 limit 1000", "trades BTCUSDT from 1101 limit 1000", "trades BTCUSDT from 2101 limit 1000",
		"trades ETHUSDT from 6 limit 1000", "trades XRPUSDT from 0 limit 1000"}
	if diff := gocmp.Diff(want, log); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	p := res.Plan
	if len(p.Mismatches) != 0 {
		t.Fatalf("mismatches: %q", p.Mismatches)
	}
	s := summarize(p)
	if len(s.Fills) != 2500 || s.Fills[0] != "sb-s1-1:101:s1:1" || s.Fills[1] != "web_1002:102:external:0.001" {
		t.Errorf("fills: %d, first %q", len(s.Fills), s.Fills[:min(2, len(s.Fills))])
	}
	wantPlan := summary{Fills: s.Fills, Updates: []string{"sb-s1-1:FILLED:1:11:nf0"},
		Adopt: []string{"web_1:external:NEW"}, Close: []string{"sb-s1-2:NOT_SENT"}}
	if diff := gocmp.Diff(wantPlan, s); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	r := p.Report
	if r.GetRequests() != 14 || r.GetWeight() != 80+20+5*20+7*4 || r.GetFillsRecorded() != 2500 ||
		r.GetResult() != ResultOK || len(r.GetBalances()) != 1 || r.GetStartedMs() != testNow {
		t.Errorf("report: %v", r)
	}
}

func TestRunnerFailsOnAnErrorAnswer(t *testing.T) {
	tests := []struct {
		kind, want string
	}{
		{"account", "reconcile: account: ERROR_CODE_UNAVAILABLE"},
		{"open", "reconcile: open orders: ERROR_CODE_RATE_LIMITED"},
		{"trades", "reconcile: my trades BTCUSDT from 101: ERROR_CODE_UNAVAILABLE"},
		{"order", `reconcile: order BTCUSDT client id "sb-s1-1": ERROR_CODE_UNAVAILABLE`},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			code := messages.ErrorCode_ERROR_CODE_UNAVAILABLE
			if tc.kind == "open" {
				code = messages.ErrorCode_ERROR_CODE_RATE_LIMITED
			}
			f := &fakeExchange{fail: map[string]*messages.Error{tc.kind: messages.Errorf(code, "exchange: down")}}
			res, _ := runWith(t, f, Request{Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
				LastTradeIDs: map[string]int64{sym: 100}, Prefix: "sb-", NowMs: testNow})
			var e *messages.Error
			if res.Err == nil || !strings.HasPrefix(res.Err.Error(), tc.want) || !errors.As(res.Err, &e) || e.GetCode() != code {
				t.Fatalf("err = %v, want %q", res.Err, tc.want)
			}
			if res.Plan.Report != nil {
				t.Error("a failed run has a plan")
			}
		})
	}
}

func TestRunnerFailsWhenAnAnswerIsLost(t *testing.T) {
	tests := []struct {
		silent, want string
		requests     int
	}{
		{"trades", "reconcile: my trades BTCUSDT from 101: no answer", 2},
		{"open", "reconcile: open orders: no answer", 3},
		{"order", `reconcile: order BTCUSDT client id "sb-s1-1": no answer`, 4},
	}
	for _, tc := range tests {
		t.Run(tc.silent, func(t *testing.T) {
			f := &fakeExchange{silent: map[string]bool{tc.silent: true}}
			res, log := runWith(t, f, Request{Journal: []*messages.TradeOrder{jo("sb-s1-1", stSent, 0, "")},
				LastTradeIDs: map[string]int64{sym: 100}, RequestTimeout: 300 * time.Millisecond})
			if !errors.Is(res.Err, ErrNoAnswer) || !strings.HasPrefix(res.Err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", res.Err, tc.want)
			}
			if len(log) != tc.requests {
				t.Errorf("requests: %q", log)
			}
		})
	}
}

func TestRunnerKeepsAtMostEightInFlight(t *testing.T) {
	const symbols = 12
	f := &fakeExchange{hold: true, trades: map[string][]*messages.ExchangeTrade{}}
	req := Request{LastTradeIDs: map[string]int64{}, NowMs: testNow}
	for i := range symbols {
		s := fmt.Sprintf("S%02dUSDT", i)
		req.LastTradeIDs[s] = 10
		f.trades[s] = extTrades(s, 11, TradesPageLimit+1) // two pages each
		f.orders = append(f.orders, extOrders(s)...)
	}
	sys := actortest.NewSystem(t)
	conn := actortest.Spawn(t, sys, f.props())
	ch := startRun(t, sys, conn, req)
	heldNow := func() int { f.mu.Lock(); defer f.mu.Unlock(); return len(f.held) }
	for range 4 { // the runner refills to eight after every release
		actortest.Eventually(t, 5*time.Second, func() bool { return heldNow() == MaxInFlight }, "eight requests held")
		sys.Root.Send(conn, release{})
	}
	sys.Root.Send(conn, release{last: true})
	res := waitResult(t, ch)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.maxHeld != MaxInFlight || len(f.log) != 2+symbols*2+symbols*5 || len(res.Plan.Fills) != symbols*(TradesPageLimit+1) {
		t.Errorf("max held %d, requests %d, fills %d", f.maxHeld, len(f.log), len(res.Plan.Fills))
	}
}

// checkPhases holds the requests to the run's order: every page of trades
// before the open orders, the queries by client id after them, the
// queries by order id next and the trades by order id last.
func checkPhases(t *testing.T, log []string) {
	t.Helper()
	rank := func(line string) int {
		switch {
		case line == "account" || strings.HasPrefix(line, "trades ") && !strings.Contains(line, " order "):
			return 0
		case line == "open":
			return 1
		case strings.Contains(line, ` id 0`):
			return 2
		case strings.HasPrefix(line, "order "):
			return 3
		}
		return 4
	}
	for i := 1; i < len(log); i++ {
		if rank(log[i]) < rank(log[i-1]) {
			t.Fatalf("request %d %q after %q:\n%s", i, log[i], log[i-1], strings.Join(log, "\n"))
		}
	}
}

func TestRunnerChecksTradePages(t *testing.T) {
	noSymbol := tr(101, 11, "1")
	noSymbol.Symbol = ""
	tests := []struct {
		name  string
		trade *messages.ExchangeTrade
		want  string // "" : the run succeeds
	}{
		{"a trade without its symbol is the symbol asked for", noSymbol, ""},
		{"a trade of another symbol", &messages.ExchangeTrade{Symbol: "ETHUSDT", Id: 101, OrderId: 11, Qty: "1"},
			"reconcile: my trades BTCUSDT from 101: trade ETHUSDT 101 answers a request for BTCUSDT from 101"},
		{"a trade older than asked", tr(100, 11, "1"),
			"reconcile: my trades BTCUSDT from 101: trade BTCUSDT 100 answers a request for BTCUSDT from 101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeExchange{raw: true, trades: map[string][]*messages.ExchangeTrade{sym: {tc.trade}},
				orders: []*messages.Order{ex("sb-s1-1", 11, "FILLED", "1")}}
			res, _ := runWith(t, f, Request{Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
				LastTradeIDs: map[string]int64{sym: 100}, Prefix: "sb-", NowMs: testNow})
			switch {
			case tc.want == "" && res.Err != nil:
				t.Fatal(res.Err)
			case tc.want == "" && (len(res.Plan.Fills) != 1 || res.Plan.Fills[0].GetSymbol() != sym):
				t.Fatalf("fills: %v", res.Plan.Fills)
			case tc.want != "" && (res.Err == nil || res.Err.Error() != tc.want):
				t.Fatalf("err = %v, want %q", res.Err, tc.want)
			}
		})
	}
}

// TestRunnerPagesFromTheOldestOrderWithoutAJournalTrade: the journal has no
// trade of the symbol and the exchange holds 2,500 fills of its order (more
// than one page) after older trades of other orders. The run pages from
// before the order's creation on, by time then by trade id, and records
// every fill; the most recent page alone (the old behaviour) would record
// 1,000 and the planner would report the missing ones.
func TestRunnerPagesFromTheOldestOrderWithoutAJournalTrade(t *testing.T) {
	old := extTrades(sym, 1, 50)
	for _, tr := range old {
		tr.TimeMs = testNow - 3_600_000 // before the margin: not fetched
	}
	var fills []*messages.ExchangeTrade
	for id := int64(51); id <= 2550; id++ {
		fills = append(fills, tr(id, 11, "0.0004"))
	}
	filled := updated(ex("sb-s1-1", 11, "FILLED", "1"), testNow-10_000)
	f := &fakeExchange{trades: map[string][]*messages.ExchangeTrade{sym: append(old, fills...)}, orders: []*messages.Order{filled}}
	req := Request{Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, Symbols: []string{sym},
		External: ExternalAdopt, Prefix: "sb-", NowMs: testNow, RecvWindowMs: testWindow}
	res, log := runWith(t, f, req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	start := testNow - 60_000 - TradesStartMarginMs
	var trades []string
	for _, l := range log {
		if strings.HasPrefix(l, "trades ") {
			trades = append(trades, l)
		}
	}
	want := []string{fmt.Sprintf("trades BTCUSDT since %d ms limit 1000", start),
		"trades BTCUSDT from 1051 limit 1000", "trades BTCUSDT from 2051 limit 1000"}
	if diff := gocmp.Diff(want, trades); diff != "" {
		t.Errorf("trade requests (-want +got):\n%s", diff)
	}
	p := res.Plan
	if len(p.Mismatches) != 0 {
		t.Fatalf("mismatches: %q", p.Mismatches)
	}
	s := summarize(p)
	if len(s.Fills) != 2500 || s.Fills[0] != "sb-s1-1:51:s1:0.0004" || s.Fills[2499] != "sb-s1-1:2550:s1:0.0004" {
		t.Errorf("fills: %d, first %q", len(s.Fills), s.Fills[:min(1, len(s.Fills))])
	}
	if diff := gocmp.Diff([]string{"sb-s1-1:FILLED:1:11:nf0"}, s.Updates); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
}

// TestRunnerBackfillsTradesRecordedOutOfOrder: the journal recorded trade
// 102 (order 12) but not trade 101 (order 11) before it, so trades are
// fetched from 103 on and miss 101. Order 11's fills fall short of what the
// exchange says it executed: its trades are fetched by order id and 101 is
// recorded. Order 13's shortfall is real (the exchange has no trade of it):
// it stays a mismatch. Order 14 filled after the symbol's trades were
// fetched, in the millisecond of the last one: its trade comes by order id.
func TestRunnerBackfillsTradesRecordedOutOfOrder(t *testing.T) {
	late := tr(104, 14, "1")
	f := &fakeExchange{
		trades: map[string][]*messages.ExchangeTrade{sym: {tr(99, 13, "0.5"), tr(101, 11, "1"), tr(102, 12, "1"), tr(103, 12, "1")}},
		late:   []*messages.ExchangeTrade{late},
		orders: []*messages.Order{ex("sb-s1-1", 11, "FILLED", "1"), ex("sb-s1-2", 12, "FILLED", "2"), ex("sb-s1-3", 13, "FILLED", "1"),
			updated(ex("sb-s1-4", 14, "FILLED", "1"), late.GetTimeMs())},
	}
	req := Request{
		Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0"), jo("sb-s1-2", stPartial, 12, "1"), jo("sb-s1-3", stPartial, 13, "0.5"),
			jo("sb-s1-4", stNew, 14, "0")},
		LastTradeIDs: map[string]int64{sym: 102}, Prefix: "sb-", NowMs: testNow, RecvWindowMs: testWindow,
		Recorded:       map[string]string{"sb-s1-1": "0", "sb-s1-2": "1", "sb-s1-3": "0.5", "sb-s1-4": "0"},
		RecordedTrades: map[string][]int64{"sb-s1-2": {102}, "sb-s1-3": {99}},
	}
	res, log := runWith(t, f, req)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	checkPhases(t, log)
	var backfill []string
	for _, l := range log {
		if strings.Contains(l, " order ") {
			backfill = append(backfill, l)
		}
	}
	slices.Sort(backfill)
	want := []string{"trades BTCUSDT order 11 from 1 limit 1000", "trades BTCUSDT order 13 from 1 limit 1000", "trades BTCUSDT order 14 from 1 limit 1000"}
	if diff := gocmp.Diff(want, backfill); diff != "" {
		t.Errorf("trades by order (-want +got):\n%s", diff)
	}
	p := res.Plan
	s := summarize(p)
	if diff := gocmp.Diff([]string{"sb-s1-1:101:s1:1", "sb-s1-2:103:s1:1", "sb-s1-4:104:s1:1"}, s.Fills); diff != "" {
		t.Errorf("fills (-want +got):\n%s", diff)
	}
	if diff := gocmp.Diff([]string{"sb-s1-1:FILLED:1:11:nf0", "sb-s1-2:FILLED:2:12:nf0", "sb-s1-4:FILLED:1:14:nf0"}, s.Updates); diff != "" {
		t.Errorf("updates (-want +got):\n%s", diff)
	}
	wantMismatch := []string{`order "sb-s1-3": the exchange says 1 executed, its trades fetched add up to 0.5 (trades missing)`}
	if diff := gocmp.Diff(wantMismatch, p.Mismatches); diff != "" {
		t.Errorf("mismatches (-want +got):\n%s", diff)
	}
	if r := p.Report; r.GetWeight() != 20+80+20+4*4+3*5 { // account, open orders, trades from 103, 4 orders, 3 backfills
		t.Errorf("weight %d", r.GetWeight())
	}
}
