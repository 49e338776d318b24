package exchangesim

import (
	"testing"

	binance "github.com/adshao/go-binance/v2"
)

func benchExchange(b *testing.B) *Exchange {
	cfg := testConfig()
	cfg.Backfill = 0
	cfg.WeightLimit = 1 << 30
	cfg.OrderLimit10s = 1 << 30
	cfg.OrderLimitDay = 1 << 30
	return startExchange(b, cfg)
}

// BenchmarkTickerPrice measures go-binance ListPrices (one symbol) against the simulator over HTTP.
func BenchmarkTickerPrice(b *testing.B) {
	ex := benchExchange(b)
	c := publicClient(b, ex)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.NewListPricesService().Symbol("BTCUSDT").Do(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPlaceOrder measures a signed go-binance MARKET order (FULL answer) over HTTP.
func BenchmarkPlaceOrder(b *testing.B) {
	ex := benchExchange(b)
	c, _, _ := newAccount(b, ex, map[string]string{"USDT": "1000000000", "BTC": "1000000"})
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		side := binance.SideTypeBuy
		if i%2 == 1 {
			side = binance.SideTypeSell
		}
		i++
		if _, err := c.NewCreateOrderService().Symbol("BTCUSDT").Side(side).Type(binance.OrderTypeMarket).Quantity("0.001").Do(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStep measures one price step of all four default symbols without subscribers.
func BenchmarkStep(b *testing.B) {
	ex := benchExchange(b)
	b.ReportAllocs()
	for b.Loop() {
		ex.Step()
	}
}
