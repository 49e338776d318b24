package orders

import (
	"math"
	"strings"
	"testing"

	"github.com/superbot/superbot/messages"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPositionMath(t *testing.T) {
	day := int64(20_000) * 86_400_000
	var p position
	p.apply("BUY", 1, 100, 0.1, day)
	p.apply("BUY", 1, 200, 0.2, day)
	if !near(p.qty, 2) || !near(p.avg, 150) {
		t.Fatalf("after two buys: qty %v avg %v", p.qty, p.avg)
	}
	p.apply("SELL", 0.5, 250, 0.125, day)
	if !near(p.qty, 1.5) || !near(p.avg, 150) || !near(p.realized, 50) {
		t.Fatalf("after a partial sell: qty %v avg %v realized %v", p.qty, p.avg, p.realized)
	}
	if !near(p.unrealized(160), 15) {
		t.Fatalf("unrealized = %v", p.unrealized(160))
	}
	// Reversal: sell 2 closes 1.5 at 100 (-75) and opens 0.5 short at 100.
	p.apply("SELL", 2, 100, 0, day)
	if !near(p.qty, -0.5) || !near(p.avg, 100) || !near(p.realized, -25) {
		t.Fatalf("after a reversal: qty %v avg %v realized %v", p.qty, p.avg, p.realized)
	}
	if !near(p.unrealized(90), 5) {
		t.Fatalf("short unrealized = %v", p.unrealized(90))
	}
	p.apply("BUY", 0.5, 80, 0, day)
	if p.qty != 0 || p.avg != 0 || !near(p.realized, -15) || !near(p.fees, 0.425) {
		t.Fatalf("after closing: %+v", p)
	}
	if d := p.daily(day+1000, 0); !near(d, -15-0.425) {
		t.Fatalf("daily = %v", d)
	}
	if d := p.daily(day+86_400_000, 0); d != 0 {
		t.Fatalf("next day's daily = %v, want 0", d)
	}
}

func TestFeesInQuote(t *testing.T) {
	cases := []struct {
		asset string
		want  float64
	}{{"USDT", 0.5}, {"BTC", 0.5 * 100}, {"BNB", 0}, {"", 0.5}}
	for _, c := range cases {
		f := &messages.TradeFill{Symbol: "BTCUSDT", Price: "100", Fee: "0.5", FeeAsset: c.asset}
		if got := feeInQuote(f); !near(got, c.want) {
			t.Errorf("fee in %s = %v, want %v", c.asset, got, c.want)
		}
	}
}

func TestBooksSumTheAccount(t *testing.T) {
	b := newBooks()
	b.applyFill(&messages.TradeFill{Strategy: "a", Symbol: "BTCUSDT", Side: "BUY", Price: "100", Quantity: "1", FeeAsset: "USDT", Fee: "1"})
	b.applyFill(&messages.TradeFill{Strategy: "b", Symbol: "BTCUSDT", Side: "BUY", Price: "200", Quantity: "2", FeeAsset: "USDT", Fee: "1"})
	b.last["BTCUSDT"] = 300
	per, account := b.positions("")
	if len(per) != 2 || len(account) != 1 {
		t.Fatalf("positions %v account %v", per, account)
	}
	if account[0].GetQuantity() != "3" || account[0].GetUnrealizedPnl() != "400" || account[0].GetFees() != "2" {
		t.Fatalf("account = %v", account[0])
	}
	only, _ := b.positions("a")
	if len(only) != 1 || only[0].GetUnrealizedPnl() != "200" {
		t.Fatalf("strategy a = %v", only)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Mode, cfg.External, cfg.LostAfter, cfg.ClientIDPrefix = "demo", "ignore", 0, "bad-prefix!"
	cfg.Risk.PriceBand = math.NaN()
	err := Validate(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"trading.mode", "trading.external", "trading.lost_after", "trading.client_id_prefix", "trading.risk.price_band"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s: %v", key, err)
		}
	}
	if err := Validate(DefaultConfig()); err != nil {
		t.Fatalf("defaults: %v", err)
	}
}
