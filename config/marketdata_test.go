package config

import (
	"strings"
	"testing"
	"time"
)

// TestMarketdataConfig: [marketdata] decodes strictly and reports every
// bad key at once.
func TestMarketdataConfig(t *testing.T) {
	cfg, err := loadText(t, "[marketdata]\ndir = \"/var/lib/superbot/data\"\npages_in_flight = 8\nrequest_timeout = \"90s\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.Marketdata; m.Dir != "/var/lib/superbot/data" || m.PagesInFlight != 8 || m.RequestTimeout != 90*time.Second || m.MaxRunning != 1 {
		t.Errorf("marketdata = %+v", m)
	}
	_, err = loadText(t, "[marketdata]\nmax_running = 0\npages_in_flight = 100\nretry_backoff = \"0s\"\nbogus = 1\n")
	if err == nil {
		t.Fatal("a bad [marketdata] loaded")
	}
	for _, want := range []string{"marketdata.max_running: must be in [1, 16], got 0", "marketdata.pages_in_flight: must be in [1, 32], got 100",
		"marketdata.retry_backoff: must be > 0", "marketdata.bogus"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
