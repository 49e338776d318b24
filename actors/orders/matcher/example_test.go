package matcher_test

import (
	"fmt"

	"github.com/superbot/superbot/actors/orders/matcher"
)

// A backtest drives the matcher with bars: a resting buy fills when a bar
// trades down to its price.
func Example() {
	m, err := matcher.New(matcher.Config{MakerFee: 0.001, TakerFee: 0.001, SlippageCap: 0.01})
	if err != nil {
		panic(err)
	}
	m.OnBar("BTCUSDT", 100, 101, 99, 100, 50, 60_000)
	u, _ := m.Submit(matcher.Order{ID: "sb-sma-1", Symbol: "BTCUSDT", Side: matcher.SideBuy,
		Type: matcher.TypeLimit, Price: 98, Qty: 0.5}, 60_000)
	fmt.Println(u.Status)
	_, fills := m.OnBar("BTCUSDT", 100, 100, 97, 98.5, 40, 120_000)
	for _, f := range fills {
		fmt.Printf("%s %s %.1f @ %.0f fee %.3f maker=%v trade=%d\n", f.OrderID, f.Side, f.Qty, f.Price, f.Fee, f.Maker, f.TradeID)
	}
	// Output:
	// NEW
	// sb-sma-1 BUY 0.5 @ 98 fee 0.049 maker=true trade=1
}
