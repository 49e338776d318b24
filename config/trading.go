package config

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/superbot/superbot/actors/orders"
	"github.com/superbot/superbot/actors/strategies"
)

// TradingConfig is the [trading] table: the order-management actor's
// config (its keys live directly in [trading]) and the strategies
// ([trading.strategies.NAME]). A change takes effect at the next daemon
// start: a reload reports it as not applied (the order actor and the
// strategies keep the config they started with, so that no order is placed
// under half of an old and half of a new config).
type TradingConfig struct {
	// Config is the order-management configuration ([trading] keys,
	// [trading.risk], [trading.paper]).
	orders.Config
	// Strategies are the configured strategies by name ([a-z0-9_-], at most
	// 24 characters: the name is part of client order ids and bus topics).
	// Default: none.
	Strategies map[string]strategies.Spec `toml:"strategies"`
	// ModuleBooks are the books of strategies that run outside the
	// strategy host, e.g. a Python module trading over JSON-RPC
	// ([trading.books.NAME]; NAME is the strategy its orders name).
	// Default: none.
	ModuleBooks map[string]ModuleBook `toml:"books"`
}

// ModuleBook is [trading.books.NAME]: a strategy's share of the account
// when the strategy is not one of [trading.strategies].
type ModuleBook struct {
	// Allocation is the capital it may use, "AMOUNT ASSET" (e.g.
	// "1000 USDT"). Required.
	Allocation string `toml:"allocation"`
	// DailyLossLimit halts it when its loss since 00:00 UTC exceeds this
	// amount of the allocation's asset. Default 0 (off).
	DailyLossLimit float64 `toml:"daily_loss_limit"`
}

// DefaultTradingConfig returns the [trading] defaults: paper mode, no
// strategies.
func DefaultTradingConfig() TradingConfig {
	return TradingConfig{Config: orders.DefaultConfig()}
}

// strategyName is what a strategy may be called.
var strategyName = regexp.MustCompile(`^[a-z0-9_-]{1,24}$`)

// assetName is an allocation's asset.
var assetName = regexp.MustCompile(`^[A-Z0-9]{2,12}$`)

// ParseAllocation parses a strategy's allocation, "N ASSET" (e.g.
// "1000 USDT"): N a positive decimal number, ASSET upper case.
func ParseAllocation(s string) (amount float64, asset string, err error) {
	fields := strings.Fields(s)
	if len(fields) != 2 {
		return 0, "", fmt.Errorf("want \"AMOUNT ASSET\" such as \"1000 USDT\", got %q", s)
	}
	amount, err = strconv.ParseFloat(fields[0], 64)
	if err != nil || amount <= 0 || math.IsInf(amount, 0) || math.IsNaN(amount) {
		return 0, "", fmt.Errorf("amount must be a positive number, got %q", fields[0])
	}
	if !assetName.MatchString(fields[1]) {
		return 0, "", fmt.Errorf("asset must be upper-case letters and digits such as USDT, got %q", fields[1])
	}
	return amount, fields[1], nil
}

// Validate checks what is config-level (strategy names, allocations, the
// journal path) and runs the order actor's and the strategy host's own
// validation. Every problem at once, each with its key under [trading].
func (c TradingConfig) Validate() error {
	var errs []error
	for _, err := range flatten(orders.Validate(c.Config)) {
		// orders.Validate names its keys from the root ("trading.mode: ...");
		// the walk that calls this one adds "trading." itself.
		errs = append(errs, errors.New(strings.TrimPrefix(err.Error(), "trading.")))
	}
	errs = append(errs, checkJournal(c.Journal), c.StrategiesConfig().Validate())
	for _, name := range slices.Sorted(maps.Keys(c.Strategies)) {
		errs = append(errs, checkStrategy(name, c.Strategies[name]))
	}
	for _, name := range slices.Sorted(maps.Keys(c.ModuleBooks)) {
		b := c.ModuleBooks[name]
		if _, dup := c.Strategies[name]; dup {
			errs = append(errs, fmt.Errorf("books.%s: %s is also in trading.strategies, which gives it its book", name, name))
			continue
		}
		errs = append(errs, checkBook("books", name, "", b.Allocation, b.DailyLossLimit))
	}
	return errors.Join(errs...)
}

// checkJournal checks that the journal path names a file (orders.Validate
// reports an empty one).
func checkJournal(j string) error {
	switch {
	case strings.TrimSpace(j) == "":
		return nil
	case strings.HasSuffix(j, "/") || filepath.Base(j) == "." || filepath.Base(j) == "..":
		return fmt.Errorf("journal: must name a file, got the directory %q", j)
	case strings.ContainsRune(j, 0):
		return errors.New("journal: must not contain NUL")
	}
	return nil
}

// checkStrategy checks one strategy's config-level keys.
func checkStrategy(name string, s strategies.Spec) error {
	return checkBook("strategies", name, s.Symbol, s.Allocation, s.DailyLossLimit)
}

// checkBook checks a book's name, allocation (against symbol's quote asset
// when symbol is known) and daily loss limit, under table.NAME.
func checkBook(table, name, symbol, allocation string, dailyLossLimit float64) error {
	if !strategyName.MatchString(name) {
		// A quoted key: the name is not a key path the problem list can split.
		return fmt.Errorf("%s: name %q: must be 1-24 of a-z, 0-9, '_' and '-' (it is part of client order ids and bus topics)", table, name)
	}
	key := table + "." + name
	var errs []error
	if allocation == "" {
		errs = append(errs, fmt.Errorf("%s.allocation: must be set, such as \"1000 USDT\"", key))
	} else if _, asset, err := ParseAllocation(allocation); err != nil {
		errs = append(errs, fmt.Errorf("%s.allocation: %w", key, err))
	} else if symbol != "" && !strings.HasSuffix(symbol, asset) {
		errs = append(errs, fmt.Errorf("%s.allocation: asset %s is not the quote asset of %s", key, asset, symbol))
	}
	if dailyLossLimit < 0 {
		errs = append(errs, fmt.Errorf("%s.daily_loss_limit: must be >= 0, got %g", key, dailyLossLimit))
	}
	return errors.Join(errs...)
}

// Orders returns the order actor's config with Books filled from the
// strategies (allocation, quote asset, daily loss limit, symbol), disabled ones
// included (they may be started later), and from [trading.books]. Call it
// on a validated config; an allocation that does not parse gives no book.
func (c TradingConfig) Orders() orders.Config {
	out := c.Config
	out.Books = make(map[string]orders.BookConfig, len(c.Strategies)+len(c.ModuleBooks))
	add := func(name, symbol, allocation string, dailyLossLimit float64) {
		if amount, asset, err := ParseAllocation(allocation); err == nil {
			out.Books[name] = orders.BookConfig{Allocation: amount, QuoteAsset: asset, DailyLossLimit: dailyLossLimit, Symbol: symbol}
		}
	}
	for name, b := range c.ModuleBooks {
		add(name, "", b.Allocation, b.DailyLossLimit)
	}
	for name, s := range c.Strategies {
		add(name, s.Symbol, s.Allocation, s.DailyLossLimit)
	}
	return out
}

// StrategiesConfig returns the strategy host's config.
func (c TradingConfig) StrategiesConfig() strategies.Config {
	// The host's ids carry the order actor's prefix: reconciliation then
	// halts on a lost strategy order instead of adopting it as external.
	return strategies.Config{Strategies: c.Strategies, ClientIDPrefix: c.ClientIDPrefix}
}

// Enabled lists the strategies that start with the daemon (enabled unset
// or true), sorted.
func (c TradingConfig) Enabled() []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(c.Strategies)) {
		if e := c.Strategies[name].Enabled; e == nil || *e {
			out = append(out, name)
		}
	}
	return out
}
