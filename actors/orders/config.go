package orders

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

var (
	prefixRE   = regexp.MustCompile(`^[a-zA-Z0-9]{1,8}$`)
	assetRE    = regexp.MustCompile(`^[A-Z0-9]{1,16}$`)
	strategyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)
)

// Modes of trading.
const (
	// ModePaper fills orders with the paper matcher on live market data.
	ModePaper = "paper"
	// ModeLive sends orders to the exchange through the connector.
	ModeLive = "live"
)

// What to do with open orders only the exchange knows, at reconciliation.
const (
	ExternalAdopt  = "adopt"
	ExternalCancel = "cancel"
)

// Config is the order-management configuration: the [trading] table but
// its strategies (the daemon fills Books from [trading.strategies.NAME]).
type Config struct {
	// Mode is "paper" or "live". Default "paper".
	Mode string `toml:"mode"`
	// Journal is the SQLite journal's path; relative paths are under the
	// state directory. Default "journal.db" (.superbot/journal.db).
	Journal string `toml:"journal"`
	// ClientIDPrefix starts every client order id. Default "sb".
	ClientIDPrefix string `toml:"client_id_prefix"`
	// LostAfter is how many "order does not exist" answers turn an order of
	// unknown outcome into LOST (still watched). Default 5.
	LostAfter int `toml:"lost_after"`
	// InFlightCheck is how often orders of unknown outcome are queried.
	// Default "2s".
	InFlightCheck time.Duration `toml:"in_flight_check"`
	// OpenOrdersCheck is how often the exchange's open orders are compared
	// with the journal's. Default "30s".
	OpenOrdersCheck time.Duration `toml:"open_orders_check"`
	// External is what reconciliation does with open orders only the
	// exchange knows: "adopt" (strategy "external") or "cancel". Default "adopt".
	External string `toml:"external"`
	// CancelOrdersOnStop cancels open orders at daemon stop. Default false.
	CancelOrdersOnStop bool `toml:"cancel_orders_on_stop"`
	// ClosePositionsOnStop closes positions with market orders at daemon
	// stop. Default false.
	ClosePositionsOnStop bool `toml:"close_positions_on_stop"`
	// HaltCancelsOrders makes trading.halt cancel open orders. Default false.
	HaltCancelsOrders bool `toml:"halt_cancels_orders"`
	// Risk are the checks every order passes before it is journaled.
	Risk RiskConfig `toml:"risk"`
	// Paper is the paper account and matcher ([trading.paper]).
	Paper PaperConfig `toml:"paper"`
	// Books are the strategies' allocations and limits, by strategy name.
	// Filled by the daemon from [trading.strategies]; not a TOML key.
	Books map[string]BookConfig `toml:"-"`
}

// RiskConfig is [trading.risk]. Zero disables a check.
type RiskConfig struct {
	// MaxOrderNotional caps one order's price * quantity, in the quote
	// asset. Default 10000.
	MaxOrderNotional float64 `toml:"max_order_notional"`
	// MaxPositionNotional caps one symbol's position per strategy, in the
	// quote asset. Default 50000.
	MaxPositionNotional float64 `toml:"max_position_notional"`
	// MaxOpenOrders caps open orders per strategy. Default 200.
	MaxOpenOrders int `toml:"max_open_orders"`
	// PriceBand refuses a limit price further than this fraction from the
	// last price (fat finger). Default 0.1 (10 %).
	PriceBand float64 `toml:"price_band"`
	// DailyLossLimit halts the account when its loss since 00:00 UTC
	// exceeds it, in the quote asset. Default 0 (off).
	DailyLossLimit float64 `toml:"daily_loss_limit"`
	// OrderRate caps new orders per second, per strategy. Default 50.
	OrderRate float64 `toml:"order_rate"`
}

// PaperConfig is [trading.paper].
type PaperConfig struct {
	// Balances are the paper account's starting balances, e.g.
	// {USDT = "10000"}. Default 10000 USDT.
	Balances map[string]string `toml:"balances"`
	// MakerFee and TakerFee are fractions of the quote amount. Default 0.001.
	MakerFee float64 `toml:"maker_fee"`
	TakerFee float64 `toml:"taker_fee"`
	// SlippageCap is the furthest a market order walks the book, as a
	// fraction of the best price; the rest expires. Default 0.01.
	SlippageCap float64 `toml:"slippage_cap"`
	// Fills is the market data paper orders fill on: "book" (the order
	// book stream and trades: market orders walk the book) or "trades"
	// (trades only, no book: market orders fill at the last trade price
	// plus Slippage, resting orders when a trade reaches them). "trades"
	// is the backtester's model (actors/backtest/engine): use it to
	// compare paper trading with backtests, e.g. on the simulator
	// replaying a klines CSV. Default "book".
	Fills string `toml:"fills"`
	// Slippage is what a market order pays beyond the last trade price
	// when paper orders fill on trades, a fraction (0.0005: 5 bp); the
	// backtester's Slippage. Default 0.
	Slippage float64 `toml:"slippage"`
}

// Paper fill models (PaperConfig.Fills).
const (
	// FillsBook fills paper orders on the order book and trades.
	FillsBook = "book"
	// FillsTrades fills paper orders on trades only, as backtests do.
	FillsTrades = "trades"
)

// BookConfig is one strategy's share of the account.
type BookConfig struct {
	// Allocation is the most capital the strategy may use.
	Allocation float64
	// QuoteAsset is the allocation's asset ("USDT").
	QuoteAsset string
	// DailyLossLimit halts the strategy when its loss since 00:00 UTC
	// exceeds it (0: off).
	DailyLossLimit float64
	// Symbol is the symbol the strategy trades ("" when not known, e.g. a
	// module's book). In paper mode the order actor watches it from the
	// start, so that it has seen the trades (or the book) before the first
	// order.
	Symbol string
}

// DefaultConfig returns the defaults documented on Config.
func DefaultConfig() Config {
	return Config{
		Mode: ModePaper, Journal: "journal.db", ClientIDPrefix: "sb", LostAfter: 5,
		InFlightCheck: 2 * time.Second, OpenOrdersCheck: 30 * time.Second, External: ExternalAdopt,
		Risk:  RiskConfig{MaxOrderNotional: 10000, MaxPositionNotional: 50000, MaxOpenOrders: 200, PriceBand: 0.1, OrderRate: 50},
		Paper: PaperConfig{Balances: map[string]string{"USDT": "10000"}, MakerFee: 0.001, TakerFee: 0.001, SlippageCap: 0.01, Fills: FillsBook},
	}
}

// Validate checks cfg and reports every problem at once, each prefixed
// with its key under [trading].
func Validate(cfg Config) error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("trading.%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if cfg.Mode != ModePaper && cfg.Mode != ModeLive {
		add("mode", "must be %q or %q, got %q", ModePaper, ModeLive, cfg.Mode)
	}
	if strings.TrimSpace(cfg.Journal) == "" {
		add("journal", "must not be empty")
	}
	if !prefixRE.MatchString(cfg.ClientIDPrefix) {
		add("client_id_prefix", "must match %s, got %q", prefixRE, cfg.ClientIDPrefix)
	}
	if cfg.LostAfter < 1 || cfg.LostAfter > 1000 {
		add("lost_after", "must be in 1..1000, got %d", cfg.LostAfter)
	}
	if cfg.InFlightCheck < 100*time.Millisecond {
		add("in_flight_check", "must be >= 100ms, got %s", cfg.InFlightCheck)
	}
	if cfg.OpenOrdersCheck < time.Second {
		add("open_orders_check", "must be >= 1s, got %s", cfg.OpenOrdersCheck)
	}
	if cfg.External != ExternalAdopt && cfg.External != ExternalCancel {
		add("external", "must be %q or %q, got %q", ExternalAdopt, ExternalCancel, cfg.External)
	}
	r := cfg.Risk
	for _, v := range []struct {
		key string
		val float64
	}{{"risk.max_order_notional", r.MaxOrderNotional}, {"risk.max_position_notional", r.MaxPositionNotional},
		{"risk.price_band", r.PriceBand}, {"risk.daily_loss_limit", r.DailyLossLimit}, {"risk.order_rate", r.OrderRate},
		{"paper.maker_fee", cfg.Paper.MakerFee}, {"paper.taker_fee", cfg.Paper.TakerFee}, {"paper.slippage_cap", cfg.Paper.SlippageCap},
		{"paper.slippage", cfg.Paper.Slippage}} {
		if math.IsNaN(v.val) || math.IsInf(v.val, 0) || v.val < 0 {
			add(v.key, "must be a finite number >= 0, got %v", v.val)
		}
	}
	if r.MaxOpenOrders < 0 {
		add("risk.max_open_orders", "must be >= 0, got %d", r.MaxOpenOrders)
	}
	if cfg.Paper.MakerFee >= 1 || cfg.Paper.TakerFee >= 1 {
		add("paper", "fees are fractions and must be < 1")
	}
	if cfg.Paper.Slippage >= 1 {
		add("paper.slippage", "is a fraction and must be < 1, got %v", cfg.Paper.Slippage)
	}
	if cfg.Paper.Fills != FillsBook && cfg.Paper.Fills != FillsTrades {
		add("paper.fills", "must be %q or %q, got %q", FillsBook, FillsTrades, cfg.Paper.Fills)
	}
	for asset, amount := range cfg.Paper.Balances {
		if !assetRE.MatchString(asset) {
			add("paper.balances", "asset %q must match %s", asset, assetRE)
		}
		if v, err := parseDec(amount); err != nil || v < 0 {
			add("paper.balances."+asset, "must be a decimal string >= 0, got %q", amount)
		}
	}
	for name, b := range cfg.Books {
		if !strategyRE.MatchString(name) {
			add("strategies."+name, "name must match %s", strategyRE)
		}
		if math.IsNaN(b.Allocation) || b.Allocation < 0 || math.IsNaN(b.DailyLossLimit) || b.DailyLossLimit < 0 {
			add("strategies."+name, "allocation and daily_loss_limit must be >= 0")
		}
	}
	return errors.Join(errs...)
}
