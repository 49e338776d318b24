package exchangesim

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// Default credentials of the single account in DefaultConfig.
const (
	// DefaultAPIKey is the API key of the account created by DefaultConfig.
	DefaultAPIKey = "sim-api-key"
	// DefaultSecretKey is the HMAC secret of the account created by DefaultConfig.
	DefaultSecretKey = "sim-secret-key"
	// DefaultListen is the address the daemon binds when Config.Listen is not changed.
	DefaultListen = "127.0.0.1:18080"
)

// Config configures a simulated exchange. The zero value is not usable; start from
// DefaultConfig and change what you need.
type Config struct {
	// Listen is the TCP address of the HTTP/WebSocket server. Default "127.0.0.1:18080";
	// use "127.0.0.1:0" for an ephemeral port (tests).
	Listen string `toml:"listen"`
	// Accounts are the API key/secret pairs and starting balances. Default: one account
	// "sim-api-key"/"sim-secret-key" with 10000 USDT, 1 BTC, 10 ETH, 100 BNB.
	Accounts []Account `toml:"accounts"`
	// Symbols are the tradable spot pairs. Default: BTCUSDT, ETHUSDT, BNBUSDT, SOLUSDT.
	Symbols []Symbol `toml:"symbols"`
	// Seed seeds the random walk of every symbol; the same seed gives the same path. Default 1.
	Seed int64 `toml:"seed"`
	// TickInterval is how often every symbol advances one price step. Default 1s;
	// 0 disables automatic steps (tests call Step).
	TickInterval time.Duration `toml:"tick_interval"`
	// Backfill is how much price history is generated before the start time, one step per
	// TickInterval (1s when TickInterval is 0). Default 1h; 0 disables it.
	Backfill time.Duration `toml:"backfill"`
	// MaxHistory is the number of price steps kept per symbol (klines, 24h ticker); up to a
	// quarter more is kept between trims. It also caps the backfill. Default 100000.
	MaxHistory int `toml:"max_history"`
	// PingInterval is how often WebSocket ping frames are sent. Default 20s (as Binance).
	PingInterval time.Duration `toml:"ping_interval"`
	// WeightLimit is the REQUEST_WEIGHT limit per IP per WeightWindow. Default 6000.
	WeightLimit int `toml:"weight_limit"`
	// WeightWindow is the fixed window of the weight limit. Default 1m.
	WeightWindow time.Duration `toml:"weight_window"`
	// BanAfter is how many requests an IP may still send in a window after its first 429
	// before it is banned with 418. Default 5.
	BanAfter int `toml:"ban_after"`
	// BanBase is the duration of a first IP ban; each further ban doubles it. Default 2m.
	BanBase time.Duration `toml:"ban_base"`
	// BanMax caps the ban duration. Default 72h (Binance: 3 days).
	BanMax time.Duration `toml:"ban_max"`
	// OrderLimit10s is the ORDERS limit per account per fixed 10 s window. Default 50.
	OrderLimit10s int `toml:"order_limit_10s"`
	// OrderLimitDay is the ORDERS limit per account per UTC day. Default 160000.
	OrderLimitDay int `toml:"order_limit_day"`
	// MakerCommission is the fee rate of resting (maker) fills, a decimal fraction. Default "0.001" (0.1 %).
	MakerCommission string `toml:"maker_commission"`
	// TakerCommission is the fee rate of immediate (taker) fills, a decimal fraction. Default "0.001" (0.1 %).
	TakerCommission string `toml:"taker_commission"`
	// DepthLevels is the number of synthetic book levels per side that change every step
	// (and so appear in diff streams). Default 100 (the default REST depth limit), max 1000.
	// A REST depth snapshot deeper than this (limit up to 5000) continues the book with
	// levels whose quantity depends on the price only.
	DepthLevels int `toml:"depth_levels"`
}

// Account is one API key with its secret and starting balances.
type Account struct {
	// APIKey is sent by clients in X-MBX-APIKEY. Required, unique.
	APIKey string `toml:"api_key"`
	// SecretKey is the HMAC-SHA256 secret. Required.
	SecretKey string `toml:"secret_key"`
	// Balances maps an asset to its starting free balance, a decimal string, e.g. {"USDT": "10000"}.
	Balances map[string]string `toml:"balances"`
}

// Symbol describes one spot pair, its filters and its price model.
type Symbol struct {
	// Symbol is the pair name, upper case, e.g. "BTCUSDT". Required.
	Symbol string `toml:"symbol"`
	// BaseAsset is the traded asset, e.g. "BTC". Required.
	BaseAsset string `toml:"base_asset"`
	// QuoteAsset is the pricing asset, e.g. "USDT". Required.
	QuoteAsset string `toml:"quote_asset"`
	// Price is the start price (decimal, multiple of TickSize). Required unless KlinesCSV is set.
	Price string `toml:"price"`
	// TickSize is the PRICE_FILTER tick (decimal > 0). MinPrice/MaxPrice default to TickSize and 1000000.
	TickSize string `toml:"tick_size"`
	// MinPrice is the PRICE_FILTER minimum; default TickSize.
	MinPrice string `toml:"min_price"`
	// MaxPrice is the PRICE_FILTER maximum; default "1000000".
	MaxPrice string `toml:"max_price"`
	// StepSize is the LOT_SIZE step (decimal > 0).
	StepSize string `toml:"step_size"`
	// MinQty is the LOT_SIZE minimum; default StepSize.
	MinQty string `toml:"min_qty"`
	// MaxQty is the LOT_SIZE maximum; default "9000".
	MaxQty string `toml:"max_qty"`
	// MarketMaxQty is the MARKET_LOT_SIZE maximum; default "100".
	MarketMaxQty string `toml:"market_max_qty"`
	// MinNotional is the NOTIONAL minimum (quote); default "5".
	MinNotional string `toml:"min_notional"`
	// MaxNotional is the NOTIONAL maximum (quote); default "9000000".
	MaxNotional string `toml:"max_notional"`
	// Volatility is the largest relative price move per step, a decimal fraction. Default "0.0005".
	Volatility string `toml:"volatility"`
	// LevelQty is the mean base quantity of one synthetic book level; also the scale of
	// synthetic trades. Required (decimal > 0).
	LevelQty string `toml:"level_qty"`
	// StepLiquidity is the base quantity that resting LIMIT orders of this symbol can fill per
	// price step (shared, price-time priority). "0" or empty means unlimited.
	StepLiquidity string `toml:"step_liquidity"`
	// KlinesCSV optionally names a Binance public-data klines CSV (12 columns, no header); when
	// set, the symbol replays its rows instead of a random walk: each step prints one row's bar
	// as four trades, and the exchange clock follows the rows' times (README "Replay").
	KlinesCSV string `toml:"klines_csv"`
}

// DefaultConfig returns the documented defaults: listen on 127.0.0.1:18080, one account
// (DefaultAPIKey/DefaultSecretKey) with 10000 USDT, 1 BTC, 10 ETH and 100 BNB, the symbols
// BTCUSDT, ETHUSDT, BNBUSDT and SOLUSDT, Binance production limits and 0.1 % commissions.
func DefaultConfig() Config {
	return Config{
		Listen: DefaultListen,
		Accounts: []Account{{
			APIKey: DefaultAPIKey, SecretKey: DefaultSecretKey,
			Balances: map[string]string{"USDT": "10000", "BTC": "1", "ETH": "10", "BNB": "100"},
		}},
		Symbols: []Symbol{
			{Symbol: "BTCUSDT", BaseAsset: "BTC", QuoteAsset: "USDT", Price: "65000", TickSize: "0.01", StepSize: "0.00001", LevelQty: "0.5"},
			{Symbol: "ETHUSDT", BaseAsset: "ETH", QuoteAsset: "USDT", Price: "3500", TickSize: "0.01", StepSize: "0.0001", LevelQty: "5"},
			{Symbol: "BNBUSDT", BaseAsset: "BNB", QuoteAsset: "USDT", Price: "600", TickSize: "0.01", StepSize: "0.001", LevelQty: "20"},
			{Symbol: "SOLUSDT", BaseAsset: "SOL", QuoteAsset: "USDT", Price: "150", TickSize: "0.01", StepSize: "0.001", LevelQty: "100"},
		},
		Seed:            1,
		TickInterval:    time.Second,
		Backfill:        time.Hour,
		MaxHistory:      100000,
		PingInterval:    20 * time.Second,
		WeightLimit:     6000,
		WeightWindow:    time.Minute,
		BanAfter:        5,
		BanBase:         2 * time.Minute,
		BanMax:          72 * time.Hour,
		OrderLimit10s:   50,
		OrderLimitDay:   160000,
		MakerCommission: "0.001",
		TakerCommission: "0.001",
		DepthLevels:     100,
	}
}

var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)

// Validate reports every problem of c at once, each prefixed with its TOML key.
func (c Config) Validate() error {
	var p problems
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		p.add("listen", "must be host:port: %v", err)
	}
	if len(c.Accounts) == 0 {
		p.add("accounts", "must not be empty")
	}
	keys := map[string]bool{}
	for i, a := range c.Accounts {
		k := fmt.Sprintf("accounts[%d]", i)
		if a.APIKey == "" {
			p.add(k+".api_key", "must not be empty")
		} else if keys[a.APIKey] {
			p.add(k+".api_key", "duplicate %q", a.APIKey)
		}
		keys[a.APIKey] = true
		if a.SecretKey == "" {
			p.add(k+".secret_key", "must not be empty")
		}
		for _, asset := range slices.Sorted(maps.Keys(a.Balances)) {
			p.nonNegative(fmt.Sprintf("%s.balances.%s", k, asset), a.Balances[asset])
		}
	}
	if len(c.Symbols) == 0 {
		p.add("symbols", "must not be empty")
	}
	names := map[string]bool{}
	for i, s := range c.Symbols {
		k := fmt.Sprintf("symbols[%d]", i)
		if symbolRE.MatchString(s.Symbol) && names[s.Symbol] {
			p.add(k+".symbol", "duplicate %q", s.Symbol)
		}
		names[s.Symbol] = true
		p.symbol(k, s)
	}
	c.validateLimits(&p)
	return errors.Join(p...)
}

// validateLimits checks the timing, weight, ban, order-rate, commission and
// depth settings.
func (c Config) validateLimits(p *problems) {
	if c.TickInterval < 0 {
		p.add("tick_interval", "must be >= 0")
	}
	if c.Backfill < 0 {
		p.add("backfill", "must be >= 0")
	}
	if c.MaxHistory < 10 {
		p.add("max_history", "must be >= 10")
	}
	if c.PingInterval <= 0 {
		p.add("ping_interval", "must be > 0")
	}
	if c.WeightLimit <= 0 {
		p.add("weight_limit", "must be > 0")
	}
	if c.WeightWindow <= 0 {
		p.add("weight_window", "must be > 0")
	}
	if c.BanAfter < 0 {
		p.add("ban_after", "must be >= 0")
	}
	if c.BanBase <= 0 {
		p.add("ban_base", "must be > 0")
	}
	if c.BanMax < c.BanBase {
		p.add("ban_max", "must be >= ban_base")
	}
	if c.OrderLimit10s <= 0 {
		p.add("order_limit_10s", "must be > 0")
	}
	if c.OrderLimitDay <= 0 {
		p.add("order_limit_day", "must be > 0")
	}
	for _, kv := range [][2]string{{"maker_commission", c.MakerCommission}, {"taker_commission", c.TakerCommission}} {
		key, v := kv[0], kv[1]
		if d, err := decimal.NewFromString(v); err != nil || d.IsNegative() || d.GreaterThanOrEqual(decimal.NewFromInt(1)) {
			p.add(key, "must be a decimal in [0, 1), got %q", v)
		}
	}
	if c.DepthLevels < 1 || c.DepthLevels > 1000 {
		p.add("depth_levels", "must be in [1, 1000]")
	}
}

// problems collects Validate's findings, each prefixed with its key.
type problems []error

func (p *problems) add(key, format string, args ...any) {
	*p = append(*p, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
}

// positive checks an optional (or, when required, mandatory) decimal > 0.
func (p *problems) positive(key, v string, required bool) {
	if v == "" {
		if required {
			p.add(key, "must not be empty")
		}
		return
	}
	if d, err := decimal.NewFromString(v); err != nil || !d.IsPositive() {
		p.add(key, "must be a decimal > 0, got %q", v)
	}
}

// nonNegative checks a decimal >= 0.
func (p *problems) nonNegative(key, v string) {
	if d, err := decimal.NewFromString(v); err != nil || d.IsNegative() {
		p.add(key, "must be a decimal >= 0, got %q", v)
	}
}

// symbol checks one [[symbols]] entry, k its key prefix (the duplicate
// check is Validate's).
func (p *problems) symbol(k string, s Symbol) {
	if !symbolRE.MatchString(s.Symbol) {
		p.add(k+".symbol", "must match %s, got %q", symbolRE, s.Symbol)
	}
	if s.BaseAsset == "" {
		p.add(k+".base_asset", "must not be empty")
	}
	if s.QuoteAsset == "" {
		p.add(k+".quote_asset", "must not be empty")
	}
	p.positive(k+".price", s.Price, s.KlinesCSV == "")
	for _, kv := range [][2]string{{"tick_size", s.TickSize}, {"step_size", s.StepSize}, {"level_qty", s.LevelQty}} {
		p.positive(k+"."+kv[0], kv[1], true)
	}
	for _, kv := range [][2]string{{"min_price", s.MinPrice}, {"max_price", s.MaxPrice}, {"min_qty", s.MinQty},
		{"max_qty", s.MaxQty}, {"market_max_qty", s.MarketMaxQty}, {"max_notional", s.MaxNotional}, {"volatility", s.Volatility}} {
		p.positive(k+"."+kv[0], kv[1], false)
	}
	for _, kv := range [][2]string{{"min_notional", s.MinNotional}, {"step_liquidity", s.StepLiquidity}} {
		if kv[1] != "" {
			p.nonNegative(k+"."+kv[0], kv[1])
		}
	}
	if s.KlinesCSV != "" {
		if _, err := os.Stat(s.KlinesCSV); err != nil {
			p.add(k+".klines_csv", "%v", err)
		}
	}
	if s.Price != "" && s.TickSize != "" {
		pr, err1 := decimal.NewFromString(s.Price)
		t, err2 := decimal.NewFromString(s.TickSize)
		if err1 == nil && err2 == nil && t.IsPositive() && !pr.Mod(t).IsZero() {
			p.add(k+".price", "must be a multiple of tick_size %s", s.TickSize)
		}
	}
}
