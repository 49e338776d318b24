package reconcile

import (
	"fmt"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/messages"
)

// scenario builds an Input from fuzz bytes: a small world of client ids,
// order ids and trades in which anything may disagree with anything.
type scenario struct {
	b []byte
	i int
}

func (s *scenario) next(n int) int {
	if s.i >= len(s.b) || n <= 0 {
		return 0
	}
	v := int(s.b[s.i]) % n
	s.i++
	return v
}

var (
	fuzzCIDs     = []string{"sb-a-1", "sb-a-2", "sb-b-3", "web_1", "web_2", "", "sb-a.5-4", "sb-b.7-5", "sb-a.9-6"}
	fuzzStatuses = []string{"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED", "WEIRD"}
	fuzzQtys     = []string{"0", "0.3", "0.5", "1", "x", ""}
	fuzzSymbols  = []string{sym, "ETHUSDT"}
)

func (s *scenario) order() *messages.Order {
	o := ex(fuzzCIDs[s.next(len(fuzzCIDs))], int64(11+s.next(4)), fuzzStatuses[s.next(len(fuzzStatuses))], fuzzQtys[s.next(len(fuzzQtys))])
	o.Symbol = fuzzSymbols[s.next(2)]
	return o
}

func (s *scenario) input() Input {
	in := Input{LastTradeIDs: map[string]int64{sym: int64(s.next(4))}, Queried: map[string]*messages.Order{},
		TradeOrders: map[int64]*messages.Order{}, External: []string{"adopt", "cancel", "", "x"}[s.next(4)],
		Prefix: "sb-", NowMs: testNow, RecvWindowMs: testWindow, Term: []int64{0, 7}[s.next(2)]}
	for range s.next(5) {
		j := jo(fuzzCIDs[s.next(len(fuzzCIDs))], messages.TradeOrderStatus(s.next(12)), int64(s.next(16)), fuzzQtys[s.next(len(fuzzQtys))])
		j.Symbol = fuzzSymbols[s.next(2)]
		if s.next(2) == 0 {
			young(j)
		}
		in.Journal = append(in.Journal, j)
	}
	for range s.next(4) {
		in.ExchangeOpen = append(in.ExchangeOpen, s.order())
	}
	for range s.next(4) {
		o := s.order()
		in.Queried[o.GetClientOrderId()] = o
	}
	for range s.next(4) {
		o := s.order()
		in.TradeOrders[o.GetOrderId()] = o
	}
	for range s.next(8) {
		t := tr(int64(s.next(8)), int64(11+s.next(4)), fuzzQtys[s.next(len(fuzzQtys))])
		t.Symbol = fuzzSymbols[s.next(2)]
		in.Trades = append(in.Trades, t)
	}
	return in
}

// FuzzPlanOf holds PlanOf to its invariants on arbitrary disagreements
// between the journal and the exchange.
func FuzzPlanOf(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte("reconcile the journal with the exchange, whatever they say"))
	f.Add([]byte{1, 0, 3, 2, 1, 0, 1, 4, 2, 0, 3, 1, 2, 3, 0, 1, 2, 0, 1, 3, 2, 1, 0, 2, 3, 1, 0, 2, 1, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &scenario{b: b}
		in := s.input()
		before := cloneInput(in)
		p := PlanOf(in)
		if !sameInput(before, in) {
			t.Fatal("PlanOf changed its input")
		}
		checkInvariants(t, in, p)
	})
}

func checkInvariants(t *testing.T, in Input, p Plan) {
	t.Helper()
	trades := map[string]bool{}
	for _, f := range p.Fills {
		k := fmt.Sprintf("%s/%d", f.GetSymbol(), f.GetTradeId())
		if trades[k] || f.GetTradeId() <= in.LastTradeIDs[f.GetSymbol()] {
			t.Fatalf("fill %s recorded twice or already recorded", k)
		}
		trades[k] = true
	}
	journal := map[string]bool{}
	for _, j := range in.Journal {
		journal[j.GetClientOrderId()] = true
	}
	touched := map[string]bool{}
	for _, o := range append(append([]*messages.TradeOrder{}, p.Updates...), p.CloseIntents...) {
		if touched[o.GetClientOrderId()] || !journal[o.GetClientOrderId()] {
			t.Fatalf("order %q changed twice or not a journal order", o.GetClientOrderId())
		}
		touched[o.GetClientOrderId()] = true
	}
	adopted := map[string]bool{}
	for _, a := range p.Adopt {
		cid := a.GetClientOrderId()
		if adopted[cid] || journal[cid] {
			t.Fatalf("adopted %q twice or a journal order", cid)
		}
		adopted[cid] = true
		if !strings.HasPrefix(cid, in.Prefix) {
			if a.GetStrategy() != StrategyExternal || a.GetTerm() != in.Term {
				t.Fatalf("adopted external %q as %s of term %d", cid, a.GetStrategy(), a.GetTerm())
			}
			continue
		}
		id, ok := clientid.Parse("sb", cid)
		if !ok || id.Term <= 0 || id.Term >= in.Term || a.GetTerm() != id.Term || a.GetStrategy() != id.Strategy {
			t.Fatalf("adopted %q (ours) as %s of term %d; leader's term %d", cid, a.GetStrategy(), a.GetTerm(), in.Term)
		}
	}
	for _, f := range p.Fills {
		if id, ok := clientid.Parse("sb", f.GetClientOrderId()); ok && !journal[f.GetClientOrderId()] && (id.Term == 0 || id.Term >= in.Term || f.GetStrategy() != id.Strategy) {
			t.Fatalf("fill of %q (ours, not in the journal) recorded as %s; leader's term %d", f.GetClientOrderId(), f.GetStrategy(), in.Term)
		}
	}
	for _, c := range p.Cancel {
		if strings.HasPrefix(c.GetClientOrderId(), in.Prefix) || journal[c.GetClientOrderId()] {
			t.Fatalf("canceling %q", c.GetClientOrderId())
		}
	}
	halted := len(p.Mismatches) > 0
	if halted != (p.Report.GetResult() == ResultHalted) || (halted && len(p.Cancel) > 0) {
		t.Fatalf("halted %v, result %q, %d cancels", halted, p.Report.GetResult(), len(p.Cancel))
	}
}
