package daemon

import (
	"path/filepath"
	"testing"

	"github.com/superbot/superbot/actors/strategies"
	"github.com/superbot/superbot/config"
)

// TestReportsConfig: the reports actor backtests with the strategies of
// [trading.strategies] and the fees and slippage of [trading.paper], reads
// the journal under the state directory and writes to reports/ in the
// working directory.
func TestReportsConfig(t *testing.T) {
	c := config.Default()
	c.Daemon.StateDir = "/var/lib/superbot"
	c.Trading.Paper.MakerFee, c.Trading.Paper.TakerFee, c.Trading.Paper.Slippage = 0.0002, 0.0004, 0.0005
	c.Trading.Strategies = map[string]strategies.Spec{"trend": {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1m",
		Allocation: "1000 USDT", Params: map[string]any{"fast": int64(5)}}}
	got, err := reportsConfig(c)
	if err != nil {
		t.Fatal(err)
	}
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	s := got.Strategies["trend"]
	if got.Dir != filepath.Join(wd, "reports") || got.Journal != "/var/lib/superbot/journal.db" ||
		got.MakerFee != 0.0002 || got.TakerFee != 0.0004 || got.Slippage != 0.0005 ||
		len(got.Strategies) != 1 || s.Kind != "sma_cross" || s.Symbol != "BTCUSDT" || s.Interval != "1m" || s.Allocation != 1000 || s.Params["fast"] != int64(5) {
		t.Fatalf("reports config = %+v", got)
	}
	c.Trading.Journal = "/elsewhere/j.db"
	if got, _ := reportsConfig(c); got.Journal != "/elsewhere/j.db" {
		t.Fatalf("absolute journal: %s", got.Journal)
	}
}
