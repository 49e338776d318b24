package exchangesim

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValid(t *testing.T) {
	cfg := DefaultConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig invalid: %v", err)
	}
	if cfg.Accounts[0].APIKey != DefaultAPIKey || cfg.Accounts[0].SecretKey != DefaultSecretKey {
		t.Fatalf("default account = %+v", cfg.Accounts[0])
	}
	if cfg.Listen != "127.0.0.1:18080" || cfg.PingInterval != 20*time.Second || cfg.WeightLimit != 6000 {
		t.Fatalf("defaults changed: %+v", cfg)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string
	}{
		{"empty api key", func(c *Config) { c.Accounts[0].APIKey = "" }, []string{"accounts[0].api_key: must not be empty"}},
		{"duplicate key", func(c *Config) { c.Accounts = append(c.Accounts, c.Accounts[0]) }, []string{"accounts[1].api_key: duplicate"}},
		{"bad balance", func(c *Config) { c.Accounts[0].Balances["USDT"] = "-1" }, []string{"accounts[0].balances.USDT: must be a decimal >= 0"}},
		{"bad symbol and tick", func(c *Config) { c.Symbols[0].Symbol = "btc"; c.Symbols[0].TickSize = "0" }, []string{"symbols[0].symbol:", "symbols[0].tick_size: must be a decimal > 0"}},
		{"price off tick", func(c *Config) { c.Symbols[0].Price = "65000.001" }, []string{"symbols[0].price: must be a multiple of tick_size"}},
		{"many at once", func(c *Config) {
			c.Listen = "nope"
			c.PingInterval = 0
			c.WeightLimit = 0
			c.TakerCommission = "2"
			c.DepthLevels = 0
		}, []string{"listen:", "ping_interval: must be > 0", "weight_limit: must be > 0", "taker_commission:", "depth_levels:"}},
		{"no symbols", func(c *Config) { c.Symbols = nil }, []string{"symbols: must not be empty"}},
		{"duplicate symbol", func(c *Config) { c.Symbols = append(c.Symbols, c.Symbols[0]) }, []string{"symbols[4].symbol: duplicate"}},
		{"symbol fields", func(c *Config) {
			c.Symbols[0].QuoteAsset = ""
			c.Symbols[0].LevelQty = ""
			c.Symbols[0].Volatility = "-0.1"
			c.Symbols[0].MinNotional = "-1"
			c.Symbols[0].StepLiquidity = "x"
		}, []string{"symbols[0].quote_asset: must not be empty", "symbols[0].level_qty: must not be empty",
			"symbols[0].volatility: must be a decimal > 0", "symbols[0].min_notional: must be a decimal >= 0",
			"symbols[0].step_liquidity: must be a decimal >= 0"}},
		{"limits", func(c *Config) { c.BanBase = 0; c.MaxHistory = 9; c.OrderLimitDay = 0 },
			[]string{"ban_base: must be > 0", "max_history: must be >= 10", "order_limit_day: must be > 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Accounts[0].Balances = map[string]string{"USDT": "1"}
			tt.mutate(&cfg)
			err := cfg.Validate()
			if err == nil {
				t.Fatal("Validate() = nil")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if _, err := New(cfg); err == nil {
				t.Error("New accepted an invalid config")
			}
		})
	}
}

func TestStartAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := testConfig()
	cfg.Listen = ln.Addr().String()
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	if err := ex.Start(); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("Start() = %v, want address already in use", err)
	}
}

func TestStartTwiceAndClose(t *testing.T) {
	ex := startExchange(t, testConfig())
	if err := ex.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Start() = %v", err)
	}
	if err := ex.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ex.Close(); err != nil {
		t.Fatalf("second Close() = %v", err)
	}
}
