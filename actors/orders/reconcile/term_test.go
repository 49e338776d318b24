package reconcile

import (
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/messages"
)

// TestPlanOfEarlierTerms: this leader runs term 7 (base 36 "7"); orders
// only the exchange knows whose ids are ours and carry an earlier term
// are adopted into the strategy their id names, with their trades and
// their term (the strategy host's ids too); the same term, a later one, no
// term, or a single node's run stays a mismatch.
func TestPlanOfEarlierTerms(t *testing.T) {
	long := "a_very_long_strategy_name"
	longID := clientid.Make("sb", long, 5, 2)
	hostID := clientid.Life("sb", long, 5, 1_700_000_000_000) + "_1z" // the strategy host's
	tests := []struct {
		name       string
		term       int64
		in         Input
		want       summary
		earlier    uint32
		terms      map[string]int64 // adopted order -> its term
		mismatches []string
	}{
		{name: "open order of an earlier term", term: 7, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid.5-3", 31, "NEW", "0")}},
			want: summary{Adopt: []string{"sb-grid.5-3:grid:NEW"}}, earlier: 1, terms: map[string]int64{"sb-grid.5-3": 5}},
		{name: "adopted even when external orders are canceled", term: 7, in: Input{External: ExternalCancel,
			ExchangeOpen: []*messages.Order{ex("sb-grid.5-3", 31, "NEW", "0"), ex("web_1", 32, "NEW", "0")}},
			want: summary{Adopt: []string{"sb-grid.5-3:grid:NEW"}, Cancel: []string{"web_1"}}, earlier: 1},
		{name: "partially filled order of an earlier term, its trades recorded", term: 7, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid.6-1", 31, "PARTIALLY_FILLED", "0.4")},
			Trades:       []*messages.ExchangeTrade{tr(601, 31, "0.4")}},
			want: summary{Fills: []string{"sb-grid.6-1:601:grid:0.4"}, Adopt: []string{"sb-grid.6-1:grid:PARTIALLY_FILLED"}}, earlier: 1},
		{name: "filled order of an earlier term known by its trades", term: 7, in: Input{
			TradeOrders: map[int64]*messages.Order{31: ex("sb-grid.5-4", 31, "FILLED", "1")},
			Trades:      []*messages.ExchangeTrade{tr(601, 31, "0.5"), tr(602, 31, "0.5")}},
			want:    summary{Fills: []string{"sb-grid.5-4:601:grid:0.5", "sb-grid.5-4:602:grid:0.5"}, Adopt: []string{"sb-grid.5-4:grid:FILLED"}},
			earlier: 1, terms: map[string]int64{"sb-grid.5-4": 5}},
		{name: "a shortened strategy name is found again", term: 7, in: Input{Strategies: []string{"grid", long},
			ExchangeOpen: []*messages.Order{ex(longID, 31, "NEW", "0")}},
			want: summary{Adopt: []string{longID + ":" + long + ":NEW"}}, earlier: 1},
		{name: "the strategy host's order of an earlier term", term: 7, in: Input{Strategies: []string{"grid", long},
			ExchangeOpen: []*messages.Order{ex(hostID, 31, "PARTIALLY_FILLED", "0.4")},
			Trades:       []*messages.ExchangeTrade{tr(601, 31, "0.4")}},
			want:    summary{Fills: []string{hostID + ":601:" + long + ":0.4"}, Adopt: []string{hostID + ":" + long + ":PARTIALLY_FILLED"}},
			earlier: 1, terms: map[string]int64{hostID: 5}},
		{name: "the strategy host's order of this term", term: 5, in: Input{Strategies: []string{long},
			ExchangeOpen: []*messages.Order{ex(hostID, 31, "NEW", "0")}},
			mismatches: []string{`its id carries this leader's own term`}},
		{name: "this leader's own term", term: 7, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid.7-1", 31, "NEW", "0")}},
			mismatches: []string{`"sb-grid.7-1"): open on the exchange with our prefix, but the journal has no such order (a lost record); its id carries this leader's own term`}},
		{name: "a later term", term: 7, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid.8-1", 31, "NEW", "0")}},
			mismatches: []string{`its id carries a later term (8 > 7): this node is not the newest leader`}},
		{name: "no term", term: 7, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid-1", 31, "NEW", "0")}},
			mismatches: []string{`(a lost record); its id carries no term`}},
		{name: "a trade of this term's lost order", term: 7, in: Input{
			TradeOrders: map[int64]*messages.Order{31: ex("sb-grid.7-2", 31, "FILLED", "1")},
			Trades:      []*messages.ExchangeTrade{tr(601, 31, "1")}},
			mismatches: []string{`(client id "sb-grid.7-2"): our prefix, but the journal has no such order; its id carries this leader's own term`}},
		{name: "a single node never adopts a term's order", term: 0, in: Input{
			ExchangeOpen: []*messages.Order{ex("sb-grid.5-3", 31, "NEW", "0")}},
			mismatches: []string{`"sb-grid.5-3"): open on the exchange with our prefix, but the journal has no such order (a lost record)`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.Prefix, tc.in.NowMs, tc.in.RecvWindowMs, tc.in.Term = "sb-", testNow, testWindow, tc.term
			before := cloneInput(tc.in)
			p := PlanOf(tc.in)
			if diff := gocmp.Diff(tc.want, summarize(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			checkMismatches(t, p, tc.mismatches)
			checkReport(t, tc.in, p)
			if got := p.Report.GetAdoptedFromEarlierTerm(); got != tc.earlier {
				t.Errorf("adopted_from_earlier_term %d, want %d", got, tc.earlier)
			}
			for _, a := range p.Adopt {
				if want, ok := tc.terms[a.GetClientOrderId()]; ok && a.GetTerm() != want {
					t.Errorf("adopted %s of term %d, want %d", a.GetClientOrderId(), a.GetTerm(), want)
				}
				if a.GetStrategy() == StrategyExternal && a.GetTerm() != tc.term {
					t.Errorf("external %s of term %d, want the adopting leader's %d", a.GetClientOrderId(), a.GetTerm(), tc.term)
				}
			}
			if !sameInput(before, tc.in) {
				t.Error("PlanOf changed its input")
			}
		})
	}
}
