package daemon_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The trading soak tests run a real superbotd in live mode against a simulated
// exchange running in the test process: it outlives every daemon the tests kill,
// and the tests read its books directly (exchangesim.AccountOrders / AccountTrades).

// liveSim starts a simulator for the trading soak tests: no ticker (the test steps
// it, so that the exchange is quiescent while the journal is compared with it), an
// account rich enough for thousands of small orders, and no ORDERS limit in the way.
func liveSim(t *testing.T) *exchangesim.Exchange {
	t.Helper()
	cfg := exchangesim.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = 0
	cfg.OrderLimit10s = 1_000_000
	cfg.OrderLimitDay = 10_000_000
	cfg.Accounts[0].Balances = map[string]string{"USDT": "100000000", "BTC": "10000", "ETH": "100000", "BNB": "100000", "SOL": "100000"}
	ex, err := exchangesim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// liveConfig is a daemon config trading live on ex (the daemon's own simulator off),
// with risk limits far above what the harness sends.
func liveConfig(ex *exchangesim.Exchange, extra string) string {
	return fmt.Sprintf(`[daemon]
autostart = ["heartbeat"]
[daemon.logging]
level = "info"
[daemon.modules.exchange-sim]
enabled = false
[connector]
base_url = %q
ws_base_url = %q
[trading]
mode = "live"
in_flight_check = "500ms"
open_orders_check = "5s"
[trading.risk]
max_order_notional = 1000000
max_position_notional = 1000000000
max_open_orders = 1000000
order_rate = 100000
price_band = 0.5
%s`, ex.BaseURL(), ex.WSBaseURL(), extra)
}

// rpcCall calls method and decodes the answer into res (a generated message) with
// protojson, which reads the daemon's proto-named JSON.
func rpcCall(ctx context.Context, c *client.Client, method string, params any, res proto.Message) error {
	var raw json.RawMessage
	if err := c.Call(ctx, method, params, &raw); err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, res); err != nil {
		return fmt.Errorf("%s: decode %s: %w", method, raw, err)
	}
	return nil
}

// isRPCError reports whether err is the daemon's answer (not a lost connection or a
// client-side timeout).
func isRPCError(err error) bool {
	var re *client.Error
	return errors.As(err, &re) && re.Code != client.CodeTimeout
}

// waitReconciled polls trading.reconcile until the gate is open after a report
// "ok". A halt fails the test with the report: the harness never leaves the journal
// in a state reconciliation cannot explain.
func waitReconciled(t *testing.T, c *client.Client, within time.Duration) *messages.ReconcileResponse {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var res messages.ReconcileResponse
		err := rpcCall(context.Background(), c, "trading.reconcile", map[string]any{}, &res)
		switch {
		case err != nil && !isRPCError(err):
			t.Fatalf("trading.reconcile: %v", err)
		case err == nil && res.GetState().GetGate() == "halted":
			t.Fatalf("trading halted: %q; report %v", res.GetState().GetHaltedReason(), res.GetReport())
		case err == nil && res.GetState().GetGate() == "open" && res.GetReport().GetResult() == "ok":
			return &res
		}
		if time.Now().After(deadline) {
			t.Fatalf("not reconciled within %s: %v %v", within, err, &res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exchangeStatus maps the exchange's status names onto the journal's.
var exchangeStatus = map[string]messages.TradeOrderStatus{
	"NEW":              messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW,
	"PARTIALLY_FILLED": messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED,
	"FILLED":           messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED,
	"CANCELED":         messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED,
	"EXPIRED":          messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED,
}

// alignment is what comparing the journal with the exchange found.
type alignment struct {
	exOrders, jOrders int
	duplicates        []string // client ids the exchange holds more than once
	missing           []string // exchange orders the journal does not have
	statusDiff        []string // orders whose status differs
	exTrades, jFills  int
	fillsMissing      []string // exchange trades the journal did not record
	fillsExtra        []string // journal fills the exchange does not have
	positionDiff      []string // symbols whose journal position differs from the exchange's
	balanceDiff       []string // assets whose change by the journal's fills differs from the exchange's trades
	phantoms          []string // journal orders the exchange should hold (a status it gave) but does not
	unresolved        int      // journal orders in flight (INTENT, SENT, UNKNOWN, LOST) the exchange does not hold
}

func (a alignment) ok() bool {
	return len(a.duplicates)+len(a.missing)+len(a.statusDiff)+len(a.fillsMissing)+len(a.fillsExtra)+len(a.positionDiff)+len(a.balanceDiff)+len(a.phantoms) == 0
}

func (a alignment) String() string {
	var b strings.Builder
	for _, l := range []struct {
		name string
		v    []string
	}{{"duplicates", a.duplicates}, {"missing from the journal", a.missing}, {"status differs", a.statusDiff},
		{"fills missing", a.fillsMissing}, {"fills extra", a.fillsExtra}, {"positions differ", a.positionDiff}, {"balances differ", a.balanceDiff},
		{"journal orders the exchange lacks", a.phantoms}} {
		if len(l.v) > 0 {
			fmt.Fprintf(&b, "%s (%d): %s\n", l.name, len(l.v), strings.Join(first(l.v, 10), "; "))
		}
	}
	return b.String()
}

func first(v []string, n int) []string { return v[:min(n, len(v))] }

// waitAligned aligns the journal with the exchange until they agree or 15 s
// have passed (the last fills reach the journal through the user data
// stream) and returns the last alignment.
func waitAligned(t *testing.T, c *client.Client, ex *exchangesim.Exchange) alignment {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if a := align(t, c, ex); a.ok() || time.Now().After(deadline) {
			return a
		}
	}
}

// align compares the journal (through the daemon's RPC) with the exchange's books.
// The exchange must be quiescent (no steps, no orders) while it runs.
func align(t *testing.T, c *client.Client, ex *exchangesim.Exchange) alignment {
	t.Helper()
	exOrders, err := ex.AccountOrders(exchangesim.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	exTrades, err := ex.AccountTrades(exchangesim.DefaultAPIKey)
	if err != nil {
		t.Fatal(err)
	}
	const limit = 10000
	if len(exOrders) >= limit || len(exTrades) >= limit {
		t.Fatalf("%d orders and %d trades: more than trading.orders/fills return at once (%d)", len(exOrders), len(exTrades), limit)
	}
	ctx := context.Background()
	var orders messages.TradeOrdersResponse
	if err := rpcCall(ctx, c, "trading.orders", map[string]any{"limit": limit}, &orders); err != nil {
		t.Fatalf("trading.orders: %v", err)
	}
	var fills messages.TradeFillsResponse
	if err := rpcCall(ctx, c, "trading.fills", map[string]any{"limit": limit}, &fills); err != nil {
		t.Fatalf("trading.fills: %v", err)
	}
	var pos messages.PositionsResponse
	if err := rpcCall(ctx, c, "trading.positions", map[string]any{}, &pos); err != nil {
		t.Fatalf("trading.positions: %v", err)
	}
	return compareBooks(exOrders, exTrades, orders.GetOrders(), fills.GetFills(), pos.GetAccount())
}

// compareBooks compares the exchange's orders and trades with the journal's orders,
// fills and account positions.
func compareBooks(exOrders []exchangesim.AccountOrder, exTrades []exchangesim.AccountTrade, orders []*messages.TradeOrder,
	fills []*messages.TradeFill, account []*messages.Position) alignment {
	a := alignment{exOrders: len(exOrders), jOrders: len(orders), exTrades: len(exTrades), jFills: len(fills)}
	journal := map[string]*messages.TradeOrder{}
	for _, o := range orders {
		journal[o.GetClientOrderId()] = o
	}
	seen := map[string]int{}
	for _, o := range exOrders {
		seen[o.ClientOrderID]++
		if seen[o.ClientOrderID] == 2 {
			a.duplicates = append(a.duplicates, o.ClientOrderID)
		}
		j := journal[o.ClientOrderID]
		switch {
		case j == nil:
			a.missing = append(a.missing, o.ClientOrderID)
		case j.GetStatus() != exchangeStatus[o.Status] || j.GetExchangeOrderId() != o.OrderID:
			a.statusDiff = append(a.statusDiff, fmt.Sprintf("%s exchange %s #%d journal %s #%d", o.ClientOrderID, o.Status, o.OrderID, j.GetStatus(), j.GetExchangeOrderId()))
		}
	}
	for _, o := range orders {
		if seen[o.GetClientOrderId()] > 0 {
			continue
		}
		switch o.GetStatus() {
		case messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT, messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT,
			messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST:
			a.unresolved++
		case messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT:
		default:
			a.phantoms = append(a.phantoms, fmt.Sprintf("%s %s", o.GetClientOrderId(), o.GetStatus()))
		}
	}
	alignFills(&a, exTrades, fills, account)
	return a
}

// alignFills compares trades by (symbol, trade id) and each symbol's net position.
func alignFills(a *alignment, exTrades []exchangesim.AccountTrade, fills []*messages.TradeFill, account []*messages.Position) {
	key := func(sym string, id int64) string { return fmt.Sprintf("%s#%d", sym, id) }
	jf := map[string]bool{}
	for _, f := range fills {
		jf[key(f.GetSymbol(), f.GetTradeId())] = true
	}
	net := map[string]decimal.Decimal{}
	for _, tr := range exTrades {
		k := key(tr.Symbol, tr.ID)
		if !jf[k] {
			a.fillsMissing = append(a.fillsMissing, k)
		}
		delete(jf, k)
		q := decimal.RequireFromString(tr.Qty)
		if !tr.Buyer {
			q = q.Neg()
		}
		net[tr.Symbol] = net[tr.Symbol].Add(q)
	}
	for k := range jf {
		a.fillsExtra = append(a.fillsExtra, k)
	}
	jNet := map[string]decimal.Decimal{}
	for _, p := range account {
		if q, err := decimal.NewFromString(p.GetQuantity()); err == nil {
			jNet[p.GetSymbol()] = jNet[p.GetSymbol()].Add(q)
		}
	}
	for sym, q := range net {
		if !q.Equal(jNet[sym]) {
			a.positionDiff = append(a.positionDiff, fmt.Sprintf("%s exchange %s journal %s", sym, q, jNet[sym]))
		}
		delete(jNet, sym)
	}
	for sym, q := range jNet {
		if !q.IsZero() {
			a.positionDiff = append(a.positionDiff, fmt.Sprintf("%s exchange 0 journal %s", sym, q))
		}
	}
	alignBalances(a, exTrades, fills)
}

// alignBalances compares, per asset, how the exchange's trades moved the account
// (base and quote amounts, commissions) with how the journal's fills say it moved.
func alignBalances(a *alignment, exTrades []exchangesim.AccountTrade, fills []*messages.TradeFill) {
	ex, j := map[string]decimal.Decimal{}, map[string]decimal.Decimal{}
	move := func(m map[string]decimal.Decimal, sym string, buy bool, qty, quote, fee, feeAsset string) {
		base, quoteAsset := strings.TrimSuffix(sym, "USDT"), "USDT"
		q, qq := decimal.RequireFromString(qty), decimal.RequireFromString(quote)
		if !buy {
			q, qq = q.Neg(), qq.Neg()
		}
		m[base] = m[base].Add(q)
		m[quoteAsset] = m[quoteAsset].Sub(qq)
		m[feeAsset] = m[feeAsset].Sub(decimal.RequireFromString(fee))
	}
	orZero := func(s string) string {
		if s == "" {
			return "0"
		}
		return s
	}
	for _, tr := range exTrades {
		move(ex, tr.Symbol, tr.Buyer, orZero(tr.Qty), orZero(tr.QuoteQty), orZero(tr.Commission), tr.CommissionAsset)
	}
	for _, f := range fills {
		move(j, f.GetSymbol(), f.GetSide() == "BUY", orZero(f.GetQuantity()), orZero(f.GetQuoteQty()), orZero(f.GetFee()), f.GetFeeAsset())
	}
	for asset := range ex {
		if _, ok := j[asset]; !ok {
			j[asset] = decimal.Zero
		}
	}
	for _, asset := range slices.Sorted(maps.Keys(j)) {
		if !ex[asset].Equal(j[asset]) {
			a.balanceDiff = append(a.balanceDiff, fmt.Sprintf("%s exchange %s journal %s", asset, ex[asset], j[asset]))
		}
	}
}
