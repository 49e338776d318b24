package reconcile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

const (
	testNow    = 1_000_000
	testWindow = 5_000
	sym        = "BTCUSDT"
)

// Journal statuses, short.
const (
	stIntent  = messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT
	stSent    = messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT
	stUnknown = messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN
	stNew     = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW
	stPartial = messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED
	stLost    = messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST
)

// jo is a journal order of strategy s1 for 1 BTCUSDT, created 1 minute ago.
func jo(cid string, st messages.TradeOrderStatus, exID int64, executed string) *messages.TradeOrder {
	return &messages.TradeOrder{ClientOrderId: cid, Strategy: "s1", Symbol: sym, Side: "BUY", Type: "LIMIT",
		Quantity: "1", Price: "100", Status: st, ExchangeOrderId: exID, ExecutedQty: executed,
		CumulativeQuoteQty: mulQuote(executed), CreatedMs: testNow - 60_000, UpdatedMs: testNow - 60_000, Mode: "live"}
}

// young makes an order created just now.
func young(o *messages.TradeOrder) *messages.TradeOrder {
	o.CreatedMs, o.UpdatedMs = testNow-100, testNow-100
	return o
}

// ex is the exchange's view of an order for 1 BTCUSDT at 100.
func ex(cid string, id int64, status, executed string) *messages.Order {
	return &messages.Order{Symbol: sym, OrderId: id, ClientOrderId: cid, Side: "BUY", Type: "LIMIT", Price: "100",
		OrigQty: "1", ExecutedQty: executed, CumulativeQuoteQty: mulQuote(executed), Status: status, TimeMs: testNow - 50_000}
}

// updated sets the exchange's last change of an order.
func updated(o *messages.Order, ms int64) *messages.Order {
	o.UpdateTimeMs = ms
	return o
}

// tr is a trade of order id at 100.
func tr(id, order int64, qty string) *messages.ExchangeTrade {
	return &messages.ExchangeTrade{Symbol: sym, Id: id, OrderId: order, Price: "100", Qty: qty, QuoteQty: mulQuote(qty),
		Commission: "0.001", CommissionAsset: "BNB", TimeMs: testNow - 10_000, IsBuyer: true}
}

func mulQuote(qty string) string {
	if qty == "" {
		return ""
	}
	return dec(qty).Mul(dec("100")).String()
}

// summary is a plan in short strings, for table comparisons.
type summary struct {
	Fills, Updates, Adopt, Cancel, Close []string
}

func summarize(p Plan) summary {
	var s summary
	for _, f := range p.Fills {
		s.Fills = append(s.Fills, fmt.Sprintf("%s:%d:%s:%s", f.GetClientOrderId(), f.GetTradeId(), f.GetStrategy(), f.GetQuantity()))
	}
	for _, u := range p.Updates {
		s.Updates = append(s.Updates, fmt.Sprintf("%s:%s:%s:%d:nf%d", u.GetClientOrderId(), shortStatus(u.GetStatus()),
			dec(u.GetExecutedQty()), u.GetExchangeOrderId(), u.GetNotFound()))
	}
	for _, a := range p.Adopt {
		s.Adopt = append(s.Adopt, fmt.Sprintf("%s:%s:%s", a.GetClientOrderId(), a.GetStrategy(), shortStatus(a.GetStatus())))
	}
	for _, c := range p.Cancel {
		s.Cancel = append(s.Cancel, c.GetClientOrderId())
	}
	for _, c := range p.CloseIntents {
		s.Close = append(s.Close, fmt.Sprintf("%s:%s", c.GetClientOrderId(), shortStatus(c.GetStatus())))
	}
	return s
}

func TestPlanOf(t *testing.T) {
	tests := []struct {
		name       string
		in         Input
		want       summary
		mismatches []string // one substring per expected mismatch line
	}{
		{name: "nothing to do", in: Input{}},
		{name: "unchanged open order", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "NEW", "0")}}},
		{name: "new order filled while down", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "FILLED", "1")},
			Trades:  []*messages.ExchangeTrade{tr(501, 11, "0.4"), tr(502, 11, "0.6")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.4", "sb-s1-1:502:s1:0.6"}, Updates: []string{"sb-s1-1:FILLED:1:11:nf0"}}},
		{name: "partially filled while down", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.4")},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.4")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.4"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.4:11:nf0"}}},
		{name: "partially filled order filled while down", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.4")},
			LastTradeIDs: map[string]int64{sym: 501},
			Queried:      map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "FILLED", "1")},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.4"), tr(502, 11, "0.6")}},
			want: summary{Fills: []string{"sb-s1-1:502:s1:0.6"}, Updates: []string{"sb-s1-1:FILLED:1:11:nf0"}}},
		{name: "canceled while down", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "CANCELED", "0")}},
			want: summary{Updates: []string{"sb-s1-1:CANCELED:0:11:nf0"}}},
		{name: "fill recorded once", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.2")},
			LastTradeIDs: map[string]int64{sym: 500},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.5")},
			Trades:       []*messages.ExchangeTrade{tr(500, 11, "0.2"), tr(501, 11, "0.3"), tr(501, 11, "0.3")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.3"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.5:11:nf0"}}},
		{name: "the view has fills the trades have not yet", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{updated(ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.7"), testNow-5_000)},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.3"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.7:11:nf0"}}},
		{name: "no journal trade of the symbol: fills short of the executed quantity", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{updated(ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.7"), testNow-10_000)},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want:       summary{Fills: []string{"sb-s1-1:501:s1:0.3"}},
			mismatches: []string{`"sb-s1-1": the exchange says 0.7 executed, its trades fetched add up to 0.3 (trades missing)`}},
		{name: "journal trades of the symbol: recorded plus new fills short of the executed quantity", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.2")},
			LastTradeIDs: map[string]int64{sym: 400},
			Recorded:     map[string]string{"sb-s1-1": "0.20000000"},
			ExchangeOpen: []*messages.Order{updated(ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.7"), testNow-10_000)},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want:       summary{Fills: []string{"sb-s1-1:501:s1:0.3"}},
			mismatches: []string{`"sb-s1-1": the exchange says 0.7 executed, its trades fetched add up to 0.5 (trades missing)`}},
		{name: "journal trades of the symbol: recorded plus new fills add up", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.4")},
			LastTradeIDs: map[string]int64{sym: 400},
			Recorded:     map[string]string{"sb-s1-1": "0.40000000"},
			ExchangeOpen: []*messages.Order{updated(ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.7"), testNow-10_000)},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.3"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.7:11:nf0"}}},
		{name: "no journal trade of the symbol: a filled order without trades", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			Queried: map[string]*messages.Order{"sb-s1-1": updated(ex("sb-s1-1", 11, "FILLED", "1"), testNow-20_000)}},
			mismatches: []string{`"sb-s1-1": the exchange says 1 executed, its trades fetched add up to 0 (trades missing)`}},
		{name: "no journal trade of the symbol: trades beyond the executed quantity", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.2")},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want:       summary{Fills: []string{"sb-s1-1:501:s1:0.3"}},
			mismatches: []string{`"sb-s1-1": its trades add up to 0.3, the exchange says 0.2 executed`}},
		{name: "no journal trade of the symbol: fills add up", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{updated(ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.7"), testNow-10_000)},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3"), tr(502, 11, "0.4")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.3", "sb-s1-1:502:s1:0.4"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.7:11:nf0"}}},
		{name: "fills recorded before: the view's executed quantity is not summed", in: Input{
			LastTradeIDs: map[string]int64{sym: 400},
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.5")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.8")},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.3")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.3"}, Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.8:11:nf0"}}},
		{name: "old intent not found is closed", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stIntent, 0, "")}},
			want: summary{Close: []string{"sb-s1-1:NOT_SENT"}}},
		{name: "young intent not found stays unknown", in: Input{
			Journal: []*messages.TradeOrder{young(jo("sb-s1-1", stIntent, 0, ""))}},
			want: summary{Updates: []string{"sb-s1-1:UNKNOWN:0:0:nf1"}}},
		{name: "intent found open", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stIntent, 0, "")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "NEW", "0")}},
			want: summary{Updates: []string{"sb-s1-1:NEW:0:11:nf0"}}},
		{name: "intent found filled", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stIntent, 0, "")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "FILLED", "1")},
			Trades:  []*messages.ExchangeTrade{tr(501, 11, "1")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:1"}, Updates: []string{"sb-s1-1:FILLED:1:11:nf0"}}},
		{name: "sent found", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stSent, 0, "")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "NEW", "0")}},
			want: summary{Updates: []string{"sb-s1-1:NEW:0:11:nf0"}}},
		{name: "unknown found rejected", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stUnknown, 0, "")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "EXPIRED", "0")}},
			want: summary{Updates: []string{"sb-s1-1:EXPIRED:0:11:nf0"}}},
		{name: "pending cancel of a partly filled order", in: Input{LastTradeIDs: map[string]int64{sym: 400},
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PENDING_CANCEL", "0.5")}},
			want: summary{Updates: []string{"sb-s1-1:PARTIALLY_FILLED:0.5:11:nf0"}}},
		{name: "sent not found stays unknown", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stSent, 0, "")}},
			want: summary{Updates: []string{"sb-s1-1:UNKNOWN:0:0:nf1"}}},
		{name: "lost found", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stLost, 0, "")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "CANCELED", "0")}},
			want: summary{Updates: []string{"sb-s1-1:CANCELED:0:11:nf0"}}},
		{name: "lost not found stays lost", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stLost, 0, "")}},
			want: summary{Updates: []string{"sb-s1-1:LOST:0:0:nf1"}}},
		{name: "open order with our prefix unknown to the journal", in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-s1-9", 19, "NEW", "0")}},
			mismatches: []string{`(client id "sb-s1-9"): open on the exchange with our prefix`}},
		{name: "external open order adopted", in: Input{External: ExternalAdopt,
			ExchangeOpen: []*messages.Order{ex("web_abc", 21, "PARTIALLY_FILLED", "0.5")}},
			want: summary{Adopt: []string{"web_abc:external:PARTIALLY_FILLED"}}},
		{name: "external open order canceled", in: Input{External: ExternalCancel,
			ExchangeOpen: []*messages.Order{ex("web_abc", 21, "NEW", "0")}},
			want: summary{Cancel: []string{"web_abc"}}},
		{name: "a halted plan cancels nothing", in: Input{External: ExternalCancel,
			ExchangeOpen: []*messages.Order{ex("web_abc", 21, "NEW", "0"), ex("sb-s1-9", 19, "NEW", "0")}},
			mismatches: []string{`"sb-s1-9"`}},
		{name: "unknown external policy", in: Input{External: "ignore",
			ExchangeOpen: []*messages.Order{ex("web_abc", 21, "NEW", "0"), ex("web_abd", 22, "NEW", "0")}},
			mismatches: []string{`external policy "ignore"`}},
		{name: "trade of an unknown order with our prefix", in: Input{
			Trades:      []*messages.ExchangeTrade{tr(501, 31, "1"), tr(502, 31, "1")},
			TradeOrders: map[int64]*messages.Order{31: ex("sb-s2-7", 31, "FILLED", "2")}},
			mismatches: []string{`trade 501 of BTCUSDT order 31 (client id "sb-s2-7"): our prefix`}},
		{name: "trade of an external order", in: Input{
			Trades:      []*messages.ExchangeTrade{tr(501, 31, "1")},
			TradeOrders: map[int64]*messages.Order{31: ex("web_x", 31, "FILLED", "1")}},
			want: summary{Fills: []string{"web_x:501:external:1"}}},
		{name: "trade of an adopted order", in: Input{
			ExchangeOpen: []*messages.Order{ex("web_abc", 21, "PARTIALLY_FILLED", "0.5")},
			Trades:       []*messages.ExchangeTrade{tr(501, 21, "0.5")}},
			want: summary{Fills: []string{"web_abc:501:external:0.5"}, Adopt: []string{"web_abc:external:PARTIALLY_FILLED"}}},
		{name: "trade of an order nobody knows", in: Input{
			Trades: []*messages.ExchangeTrade{tr(501, 31, "1"), tr(502, 31, "1")}},
			mismatches: []string{"trade 501 of BTCUSDT order 31: the order is unknown"}},
		{name: "unreadable trade quantity", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "FILLED", "1")},
			Trades:  []*messages.ExchangeTrade{{Symbol: sym, Id: 501, OrderId: 11, Qty: "x"}}},
			mismatches: []string{"trade 501 of BTCUSDT order 11: unreadable quantity"}},
		{name: "journal executed more than the exchange", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stPartial, 11, "0.5")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "PARTIALLY_FILLED", "0.2")}},
			mismatches: []string{`"sb-s1-1": the journal has 0.5 executed, the exchange 0.2`}},
		{name: "open journal order unknown to the exchange", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0"), jo("sb-s1-2", stPartial, 12, "0.5")}},
			mismatches: []string{`"sb-s1-1": NEW in the journal`, `"sb-s1-2": PARTIALLY_FILLED in the journal`}},
		{name: "exchange order id differs", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 12, "NEW", "0")}},
			mismatches: []string{`"sb-s1-1": journal exchange id 11, exchange id 12`}},
		{name: "unknown exchange status", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "WEIRD", "0")}},
			mismatches: []string{`unknown exchange status "WEIRD"`}},
		{name: "not found but traded", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stSent, 11, "")},
			Trades:  []*messages.ExchangeTrade{tr(501, 11, "1")}},
			want:       summary{Fills: []string{"sb-s1-1:501:s1:1"}},
			mismatches: []string{`"sb-s1-1": it has new trades, but the exchange says it does not exist`}},
		{name: "exchange order of another client id", in: Input{
			Journal: []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0")}, ExchangeOpen: []*messages.Order{ex("web_x", 11, "NEW", "0")}},
			mismatches: []string{`BTCUSDT order 11: client id "web_x" on the exchange, "sb-s1-1" in the journal`}},
		{name: "a fill of an order the journal closed", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED, 11, "0.5")},
			LastTradeIDs: map[string]int64{sym: 500},
			Trades:       []*messages.ExchangeTrade{tr(501, 11, "0.5")}},
			want: summary{Fills: []string{"sb-s1-1:501:s1:0.5"}}},
		{name: "a closed order is never reopened", in: Input{LastTradeIDs: map[string]int64{sym: 400},
			Journal: []*messages.TradeOrder{jo("sb-s1-1", messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, 11, "1")},
			Queried: map[string]*messages.Order{"sb-s1-1": ex("sb-s1-1", 11, "FILLED", "1")}}},
		{name: "an order the journal closed is open on the exchange", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED, 11, "0")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "NEW", "0")}},
			mismatches: []string{`"sb-s1-1": CANCELED in the journal, NEW on the exchange`}},
		{name: "journal lists an order twice", in: Input{
			Journal:      []*messages.TradeOrder{jo("sb-s1-1", stNew, 11, "0"), jo("sb-s1-1", stNew, 11, "0")},
			ExchangeOpen: []*messages.Order{ex("sb-s1-1", 11, "NEW", "0")}},
			mismatches: []string{`journal order "sb-s1-1": listed twice`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Prefix, tc.in.NowMs, tc.in.RecvWindowMs = "sb-", testNow, testWindow
			before := cloneInput(tc.in)
			p := PlanOf(tc.in)
			if diff := gocmp.Diff(tc.want, summarize(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			checkMismatches(t, p, tc.mismatches)
			checkReport(t, tc.in, p)
			if !sameInput(before, tc.in) {
				t.Error("PlanOf changed its input")
			}
		})
	}
}

func checkMismatches(t *testing.T, p Plan, want []string) {
	t.Helper()
	if len(p.Mismatches) != len(want) {
		t.Fatalf("mismatches = %q, want %d like %q", p.Mismatches, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(p.Mismatches[i], w) {
			t.Errorf("mismatch %d = %q, want it to contain %q", i, p.Mismatches[i], w)
		}
	}
}

// checkReport holds the report's counts to the plan.
func checkReport(t *testing.T, in Input, p Plan) {
	t.Helper()
	r := p.Report
	wantResult := ResultOK
	if len(p.Mismatches) > 0 {
		wantResult = ResultHalted
	}
	got := []any{r.GetResult(), r.GetOpenOrdersSeen(), r.GetFillsRecorded(), r.GetOrdersAdopted(), r.GetOrdersCanceled(),
		r.GetIntentsClosed(), len(r.GetMismatches())}
	want := []any{wantResult, uint32(len(in.ExchangeOpen)), uint32(len(p.Fills)), uint32(len(p.Adopt)), uint32(len(p.Cancel)),
		uint32(len(p.CloseIntents)), len(p.Mismatches)}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("report (-want +got):\n%s", diff)
	}
}

func cloneInput(in Input) []proto.Message {
	var out []proto.Message
	for _, m := range inputMessages(in) {
		out = append(out, proto.Clone(m))
	}
	return out
}

func sameInput(before []proto.Message, in Input) bool {
	now := inputMessages(in)
	if len(now) != len(before) {
		return false
	}
	for i := range now {
		if !proto.Equal(before[i], now[i]) {
			return false
		}
	}
	return true
}

func inputMessages(in Input) []proto.Message {
	var out []proto.Message
	for _, m := range in.Journal {
		out = append(out, m)
	}
	for _, m := range in.ExchangeOpen {
		out = append(out, m)
	}
	for _, m := range in.Trades {
		out = append(out, m)
	}
	for _, k := range sortedKeys(in.Queried) {
		out = append(out, in.Queried[k])
	}
	for _, k := range sortedKeys(in.TradeOrders) {
		out = append(out, in.TradeOrders[k])
	}
	return out
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := slices.Collect(maps.Keys(m))
	slices.Sort(keys)
	return keys
}
