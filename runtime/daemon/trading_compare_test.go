//go:build soak

package daemon_test

import (
	"testing"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
)

// TestCompareBooksFindsEachDifference keeps the crash harness honest: each kind of
// difference between the journal and the exchange is found (and an aligned pair is ok).
func TestCompareBooksFindsEachDifference(t *testing.T) {
	const (
		filled = messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED
		open   = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW
	)
	exOrders := []exchangesim.AccountOrder{
		{Symbol: "BTCUSDT", OrderID: 1, ClientOrderID: "a", Status: "FILLED"},
		{Symbol: "BTCUSDT", OrderID: 2, ClientOrderID: "b", Status: "NEW"},
	}
	exTrades := []exchangesim.AccountTrade{
		{Symbol: "BTCUSDT", ID: 10, OrderID: 1, Buyer: true, Qty: "0.00100000", QuoteQty: "65.00000000", Commission: "0.00000100", CommissionAsset: "BTC"},
		{Symbol: "BTCUSDT", ID: 11, OrderID: 1, Buyer: false, Qty: "0.00040000", QuoteQty: "26.40000000", Commission: "0.02640000", CommissionAsset: "USDT"},
	}
	orders := []*messages.TradeOrder{
		{ClientOrderId: "a", Status: filled, ExchangeOrderId: 1},
		{ClientOrderId: "b", Status: open, ExchangeOrderId: 2},
	}
	fills := []*messages.TradeFill{
		{Symbol: "BTCUSDT", TradeId: 10, Side: "BUY", Quantity: "0.001", QuoteQty: "65", Fee: "0.000001", FeeAsset: "BTC"},
		{Symbol: "BTCUSDT", TradeId: 11, Side: "SELL", Quantity: "0.0004", QuoteQty: "26.4", Fee: "0.0264", FeeAsset: "USDT"},
	}
	account := []*messages.Position{{Symbol: "BTCUSDT", Quantity: "0.0006"}}
	if a := compareBooks(exOrders, exTrades, orders, fills, account); !a.ok() {
		t.Fatalf("aligned books differ:\n%s", a)
	}
	inFlight := append(orders, &messages.TradeOrder{ClientOrderId: "u", Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN},
		&messages.TradeOrder{ClientOrderId: "n", Status: messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT})
	if a := compareBooks(exOrders, exTrades, inFlight, fills, account); !a.ok() || a.unresolved != 1 {
		t.Fatalf("an UNKNOWN and a NOT_SENT order only the journal has: unresolved %d, want 1, ok:\n%s", a.unresolved, a)
	}
	tests := []struct {
		name  string
		edit  func()
		count func(alignment) int
	}{
		{"duplicate", func() {
			exOrders = append(exOrders, exchangesim.AccountOrder{Symbol: "BTCUSDT", OrderID: 3, ClientOrderID: "a", Status: "FILLED"})
		},
			func(a alignment) int { return len(a.duplicates) }},
		{"missing", func() {
			exOrders = append(exOrders, exchangesim.AccountOrder{Symbol: "BTCUSDT", OrderID: 4, ClientOrderID: "c", Status: "NEW"})
		},
			func(a alignment) int { return len(a.missing) }},
		{"status", func() { orders[1] = &messages.TradeOrder{ClientOrderId: "b", Status: filled, ExchangeOrderId: 2} },
			func(a alignment) int { return len(a.statusDiff) }},
		{"fill missing", func() { fills = fills[:1] }, func(a alignment) int { return len(a.fillsMissing) }},
		{"fill extra", func() { fills = append(fills, &messages.TradeFill{Symbol: "ETHUSDT", TradeId: 99}) }, func(a alignment) int { return len(a.fillsExtra) }},
		{"balance", func() {
			fills = []*messages.TradeFill{fills[0], {Symbol: "BTCUSDT", TradeId: 11, Side: "SELL", Quantity: "0.0004", QuoteQty: "26.4", Fee: "0.0265", FeeAsset: "USDT"}}
		},
			func(a alignment) int { return len(a.balanceDiff) }},
		{"phantom", func() {
			orders = append(orders, &messages.TradeOrder{ClientOrderId: "z", Status: open, ExchangeOrderId: 9})
		},
			func(a alignment) int { return len(a.phantoms) }},
		{"position", func() { account = []*messages.Position{{Symbol: "BTCUSDT", Quantity: "0.001"}} }, func(a alignment) int { return len(a.positionDiff) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saveO, saveE, saveF, saveA := append([]*messages.TradeOrder(nil), orders...), exOrders, fills, account
			defer func() { orders, exOrders, fills, account = saveO, saveE, saveF, saveA }()
			tt.edit()
			a := compareBooks(exOrders, exTrades, orders, fills, account)
			if tt.count(a) != 1 || a.ok() {
				t.Fatalf("want one %s, got:\n%s", tt.name, a)
			}
		})
	}
}
