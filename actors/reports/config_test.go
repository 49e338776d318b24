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
	for _, want := range []string{"dir: must be set", "journal: must be set", `strategies.a.interval: unknown interval "1M"`,
		"strategies.b: kind, symbol and interval must be set", "fees and slippage: must be in [0, 1), got 1.5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q missing from:\n%v", want, err)
		}
	}
}

func TestIntervalMs(t *testing.T) {
	for iv, want := range map[string]int64{"1s": 1000, "1m": 60_000, "15m": 900_000, "4h": 14_400_000, "1d": 86_400_000, "1w": 604_800_000} {
		if got, err := intervalMs(iv); err != nil || got != want {
			t.Errorf("%s = %d %v, want %d", iv, got, err, want)
		}
	}
	for _, iv := range []string{"", "m", "0m", "-1m", "1M", "1x", "1.5h"} {
		if _, err := intervalMs(iv); err == nil {
			t.Errorf("%q accepted", iv)
		}
	}
}
