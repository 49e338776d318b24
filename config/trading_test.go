package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/orders"
)

// The example, as a user writes it.
const tradingExample = `[trading]
mode = "paper"
[trading.strategies.btc_trend]
kind = "sma_cross"
symbol = "BTCUSDT"
interval = "1m"
allocation = "1000 USDT"
daily_loss_limit = 50
params = { fast = 10, slow = 30 }
[trading.strategies.eth_grid]
kind = "grid"
symbol = "ETHUSDT"
interval = "1m"
allocation = "250.5 USDT"
enabled = false
params = { lower = 1800, upper = 2200, levels = 5, quantity = 0.01 }
[trading.books.py_sma]
allocation = "500 USDT"
daily_loss_limit = 20
`

func loadText(t *testing.T, text string) (*Config, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return Load(path)
}

func TestTradingConfig(t *testing.T) {
	cfg, err := loadText(t, tradingExample)
	if err != nil {
		t.Fatal(err)
	}
	tr := cfg.Trading
	if tr.Mode != orders.ModePaper || tr.Journal != "journal.db" || tr.Risk.MaxOpenOrders != 200 {
		t.Errorf("orders keys = %+v, want the defaults under [trading]", tr.Config)
	}
	s := tr.Strategies["btc_trend"]
	if s.Kind != "sma_cross" || s.Symbol != "BTCUSDT" || s.Params["fast"] != int64(10) {
		t.Errorf("btc_trend = %+v", s)
	}
	books := tr.Orders().Books
	if got := books["btc_trend"]; got != (orders.BookConfig{Allocation: 1000, QuoteAsset: "USDT", DailyLossLimit: 50, Symbol: "BTCUSDT"}) {
		t.Errorf("book btc_trend = %+v", got)
	}
	if got := books["eth_grid"]; got.Allocation != 250.5 || got.QuoteAsset != "USDT" {
		t.Errorf("book eth_grid = %+v (a disabled strategy keeps its book)", got)
	}
	if got := books["py_sma"]; got != (orders.BookConfig{Allocation: 500, QuoteAsset: "USDT", DailyLossLimit: 20}) {
		t.Errorf("book py_sma = %+v ([trading.books])", got)
	}
	if tr.Books != nil {
		t.Error("Orders() changed the config's own Books")
	}
	if got := tr.Enabled(); !slices.Equal(got, []string{"btc_trend"}) {
		t.Errorf("Enabled = %q", got)
	}
	if got := tr.StrategiesConfig().Strategies; len(got) != 2 {
		t.Errorf("StrategiesConfig = %v", got)
	}
	if got := tr.StrategiesConfig().ClientIDPrefix; got != tr.ClientIDPrefix || got == "" {
		t.Errorf("StrategiesConfig().ClientIDPrefix = %q, want the order actor's %q", got, tr.ClientIDPrefix)
	}
	// config.get shows [trading] as the file writes it.
	for key, want := range map[string]any{"trading.mode": "paper", "trading.risk.max_open_orders": float64(200),
		"trading.strategies.btc_trend.allocation": "1000 USDT", "trading.books.py_sma.allocation": "500 USDT"} {
		if got, err := cfg.Value(key); err != nil || got != want {
			t.Errorf("Value(%s) = %v, %v; want %v", key, got, err, want)
		}
	}
}

func TestTradingConfigProblems(t *testing.T) {
	cases := []struct {
		name, toml string
		want       []string
	}{
		{"unknown key", "[trading]\nmdoe = \"live\"\n", []string{"trading.mdoe: unknown key"}},
		{"unknown strategy key", "[trading.strategies.a]\nallocation = \"1 USDT\"\nsymbl = \"BTCUSDT\"\n", []string{"trading.strategies.a.symbl: unknown key"}},
		{"bad mode", "[trading]\nmode = \"demo\"\n", []string{`trading.mode: must be "paper" or "live", got "demo"`}},
		{"bad external", "[trading]\nexternal = \"keep\"\n", []string{`trading.external: must be "adopt" or "cancel"`}},
		{"journal is a directory", "[trading]\njournal = \"state/\"\n", []string{"trading.journal: must name a file"}},
		{"empty journal", "[trading]\njournal = \"\"\n", []string{"trading.journal: must not be empty"}},
		{"bad name", "[trading.strategies.\"BTC Trend\"]\nallocation = \"1 USDT\"\n", []string{`trading.strategies: name "BTC Trend": must be 1-24 of a-z`}},
		{"long name", "[trading.strategies.abcdefghijklmnopqrstuvwxy]\nallocation = \"1 USDT\"\n", []string{"must be 1-24 of a-z"}},
		{"allocation missing", "[trading.strategies.a]\nsymbol = \"BTCUSDT\"\n", []string{"trading.strategies.a.allocation: must be set"}},
		{"allocation without asset", "[trading.strategies.a]\nallocation = \"1000\"\n", []string{`trading.strategies.a.allocation: want "AMOUNT ASSET"`}},
		{"allocation negative", "[trading.strategies.a]\nallocation = \"-5 USDT\"\n", []string{"trading.strategies.a.allocation: amount must be a positive number"}},
		{"allocation lower-case asset", "[trading.strategies.a]\nallocation = \"5 usdt\"\n", []string{"asset must be upper-case"}},
		{"allocation not the quote asset", "[trading.strategies.a]\nsymbol = \"BTCUSDT\"\nallocation = \"1 BTC\"\n", []string{"trading.strategies.a.allocation: asset BTC is not the quote asset of BTCUSDT"}},
		{"negative loss limit", "[trading.strategies.a]\nallocation = \"1 USDT\"\ndaily_loss_limit = -1\n", []string{"trading.strategies.a.daily_loss_limit: must be >= 0"}},
		{"book without allocation", "[trading.books.py]\ndaily_loss_limit = 1\n", []string{"trading.books.py.allocation: must be set"}},
		{"book named like a strategy", "[trading.books.a]\nallocation = \"1 USDT\"\n[trading.strategies.a]\nallocation = \"1 USDT\"\n",
			[]string{"trading.books.a: a is also in trading.strategies"}},
		{"book bad name", "[trading.books.\"Py\"]\nallocation = \"1 USDT\"\n", []string{`trading.books: name "Py"`}},
		{"integer duration", "[trading]\nin_flight_check = 2\n", []string{"trading.in_flight_check: expected a duration string"}},
		// The order actor's own Validate runs on [trading] (it did not:
		// such values reached the actor).
		{"order actor limits", "[trading]\nlost_after = 0\nin_flight_check = \"1ms\"\nclient_id_prefix = \"sb-x\"\n[trading.risk]\nmax_order_notional = -1\n[trading.paper]\ntaker_fee = 1.5\nbalances = { USDT = \"x\" }\n",
			[]string{"trading.lost_after: must be in 1..1000, got 0", "trading.in_flight_check: must be >= 100ms", "trading.client_id_prefix: must match",
				"trading.risk.max_order_notional: must be a finite number >= 0", "trading.paper: fees are fractions", "trading.paper.balances.USDT: must be a decimal string"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadText(t, c.toml)
			if err == nil {
				t.Fatal("no problem reported")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("want %q in:\n%v", w, err)
				}
			}
		})
	}
}

// A change under [trading] is reported per strategy and per key, so that a
// reload lists exactly what waits for the next start.
func TestTradingDiff(t *testing.T) {
	a, err := loadText(t, tradingExample)
	if err != nil {
		t.Fatal(err)
	}
	b, err := loadText(t, strings.Replace(strings.Replace(tradingExample, `mode = "paper"`, `mode = "live"`, 1), "fast = 10", "fast = 12", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := DiffKeys(a, b), []string{"trading.mode", "trading.strategies.btc_trend"}; !slices.Equal(got, want) {
		t.Errorf("DiffKeys = %q, want %q", got, want)
	}
}

func TestParseAllocation(t *testing.T) {
	for _, s := range []string{"", "1", "USDT", "1 2 USDT", "0 USDT", "NaN USDT", "Inf USDT", "1e999 USDT", "1 U"} {
		if _, _, err := ParseAllocation(s); err == nil {
			t.Errorf("ParseAllocation(%q): no error", s)
		}
	}
	if n, a, err := ParseAllocation(" 1e3   USDT "); err != nil || n != 1000 || a != "USDT" {
		t.Errorf("ParseAllocation = %v %q %v", n, a, err)
	}
}
