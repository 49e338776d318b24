package strategies

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/superbot/superbot/actors/strategies/strategy"
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)
	assetRE  = regexp.MustCompile(`^[A-Z0-9]{2,12}$`)
	prefixRE = regexp.MustCompile(`^[a-zA-Z0-9]{0,8}$`)
)

// intervals are Binance's kline intervals.
var intervals = map[string]bool{
	"1s": true, "1m": true, "3m": true, "5m": true, "15m": true, "30m": true, "1h": true, "2h": true,
	"4h": true, "6h": true, "8h": true, "12h": true, "1d": true, "3d": true, "1w": true, "1M": true,
}

// Validate reports every problem at once, each prefixed with its key
// relative to [trading] ("strategies.btc_trend.params.fast: ..."): the
// daemon's config adds "trading.". It builds each strategy once, so bad
// params are caught here, not when the actor starts.
func (c Config) Validate() error {
	var errs []error
	names := make([]string, 0, len(c.Strategies))
	for name := range c.Strategies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		key := "strategies." + name
		if !nameRE.MatchString(name) {
			errs = append(errs, fmt.Errorf("%s: the name must match %s", key, nameRE))
			continue
		}
		for _, err := range c.Strategies[name].problems() {
			errs = append(errs, fmt.Errorf("%s.%w", key, err))
		}
	}
	if !prefixRE.MatchString(c.ClientIDPrefix) {
		errs = append(errs, fmt.Errorf("client_id_prefix: must be at most %d of [a-zA-Z0-9], got %q", maxPrefix, c.ClientIDPrefix))
	}
	if c.SaveEvery < 0 {
		errs = append(errs, fmt.Errorf("save_every: must be >= 0, got %s", c.SaveEvery))
	}
	return errors.Join(errs...)
}

// problems lists what is wrong with one strategy, each error starting with
// its key.
func (s Spec) problems() []error {
	var errs []error
	if _, err := strategy.New(s.Kind, s.Params); err != nil {
		if s.Kind == "" || errors.Is(err, strategy.ErrUnknownKind) {
			errs = append(errs, fmt.Errorf("kind: %w", err))
		} else {
			errs = append(errs, fmt.Errorf("params.%w", err))
		}
	}
	if !symbolRE.MatchString(s.Symbol) {
		errs = append(errs, fmt.Errorf("symbol: must match %s (e.g. \"BTCUSDT\"), got %q", symbolRE, s.Symbol))
	}
	if !intervals[s.Interval] {
		errs = append(errs, fmt.Errorf("interval: must be a Binance kline interval (1m, 5m, 1h, ...), got %q", s.Interval))
	}
	if _, _, err := s.ParseAllocation(); err != nil {
		errs = append(errs, fmt.Errorf("allocation: %w", err))
	}
	if s.DailyLossLimit < 0 {
		errs = append(errs, fmt.Errorf("daily_loss_limit: must be >= 0, got %g", s.DailyLossLimit))
	}
	return errs
}

// ParseAllocation splits Allocation ("1000 USDT") into its amount and
// asset. The daemon uses it to fill the order actor's books.
func (s Spec) ParseAllocation() (float64, string, error) {
	amount, asset, ok := strings.Cut(strings.TrimSpace(s.Allocation), " ")
	asset = strings.TrimSpace(asset)
	v, err := strconv.ParseFloat(amount, 64)
	if !ok || err != nil || !assetRE.MatchString(asset) || !(v > 0 && v <= 1e15) {
		return 0, "", fmt.Errorf("must be \"AMOUNT ASSET\" with an amount > 0, e.g. \"1000 USDT\", got %q", s.Allocation)
	}
	return v, asset, nil
}

// enabled is Spec.Enabled with its default.
func (s Spec) enabled() bool { return s.Enabled == nil || *s.Enabled }
