package exchangesim

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// TestReadmeTOML keeps the README's TOML example honest: strict decode, then Validate.
func TestReadmeTOML(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```toml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("no toml block in README.md")
	}
	var cfg Config
	md, err := toml.Decode(block, &cfg)
	if err != nil {
		t.Fatal(err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		t.Fatalf("unknown keys: %v", und)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.TickInterval != 500*time.Millisecond || cfg.BanMax != 72*time.Hour || cfg.Symbols[0].StepLiquidity != "0.2" ||
		cfg.Accounts[0].Balances["BTC"] != "1" {
		t.Fatalf("decoded %+v", cfg)
	}
}
