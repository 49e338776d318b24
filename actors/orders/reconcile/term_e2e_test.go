package reconcile

import (
	"context"
	"strings"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"

	"github.com/superbot/superbot/actors/orders/clientid"
)

// TestRunnerAdoptsAnEarlierTermsOrders is a failover against the
// simulator through the real connector: the leader of term 5 placed a
// resting order and a market order (filled) whose journal rows never
// reached the new leader (term 7, an empty journal). The new leader's run
// adopts both into the strategy their ids name, records the market order's
// trades, and halts on nothing. An order of its own term that its journal
// lacks is still a mismatch.
func TestRunnerAdoptsAnEarlierTermsOrders(t *testing.T) {
	_, c, sys, conn := simConnector(t)
	bg := context.Background()
	place := func(cid string, typ binance.OrderType, price string) {
		t.Helper()
		s := c.NewCreateOrderService().Symbol(sym).Side(binance.SideTypeBuy).Type(typ).Quantity("0.001").NewClientOrderID(cid)
		if price != "" {
			s.TimeInForce(binance.TimeInForceTypeGTC).Price(price)
		}
		if _, err := s.Do(bg); err != nil {
			t.Fatalf("place %s: %v", cid, err)
		}
	}
	resting, filled := clientid.Make("sb", "grid", 5, 1), clientid.Make("sb", "grid", 5, 2)
	place(resting, binance.OrderTypeLimit, "50000")
	place(filled, binance.OrderTypeMarket, "")
	req := func() Request {
		return Request{Symbols: []string{sym}, External: ExternalAdopt, Prefix: "sb-", NowMs: time.Now().UnixMilli(),
			RecvWindowMs: 5000, Term: 7, Strategies: []string{"grid"}}
	}
	res := waitResult(t, startRun(t, sys, conn, req()))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	p := res.Plan
	s := summarize(p)
	if len(p.Mismatches) != 0 || strings.Join(s.Adopt, ",") != resting+":grid:NEW,"+filled+":grid:FILLED" ||
		p.Report.GetAdoptedFromEarlierTerm() != 2 || p.Report.GetResult() != ResultOK {
		t.Fatalf("plan %+v, report %v, mismatches %q", s, p.Report, p.Mismatches)
	}
	for _, a := range p.Adopt {
		if a.GetTerm() != 5 {
			t.Fatalf("adopted %v: term %d, want 5", a.GetClientOrderId(), a.GetTerm())
		}
	}
	total := dec("0")
	for _, f := range p.Fills {
		if f.GetClientOrderId() != filled || f.GetStrategy() != "grid" {
			t.Fatalf("fill %v", f)
		}
		total = total.Add(dec(f.GetQuantity()))
	}
	if !total.Equal(dec("0.001")) {
		t.Fatalf("the market order's fills add up to %s, want 0.001", total)
	}

	own := clientid.Make("sb", "grid", 7, 1)
	place(own, binance.OrderTypeLimit, "50000")
	res = waitResult(t, startRun(t, sys, conn, req()))
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if m := res.Plan.Mismatches; len(m) != 1 || !strings.Contains(m[0], own) || !strings.Contains(m[0], "this leader's own term") {
		t.Fatalf("mismatches %q, want one about %s", m, own)
	}
}
