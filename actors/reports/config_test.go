package reports

import (
	"errors"
	"strings"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	bad := Config{TakerFee: 1.5, Strategies: map[string]Strategy{
		"a": {Kind: "sma_cross", Symbol: "BTCUSDT", Interval: "1M"},
		"b": {Kind: "grid"},
	}}
	err := bad.Validate()
	if !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"dir: must be set", "journal: must be set", `strategies.a.interval: store: interval "1M"`,
		"strategies.b: kind, symbol and interval must be set", "fees and slippage: must be in [0, 1), got 1.5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from:\n%v", want, err)
		}
	}
}
