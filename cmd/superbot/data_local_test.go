package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/superbot/superbot/runtime/client"
)

// TestDataLocal: --local runs the connector, the simulator the config
// names and the marketdata actor in the CLI's process: download, list and
// import without a daemon.
func TestDataLocal(t *testing.T) {
	hermetic(t)
	if err := os.Unsetenv(client.DaemonTokenEnv); err != nil { // set but empty is a config error; t.Setenv restores it
		t.Fatal(err)
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "superbot.toml")
	data := filepath.Join(dir, "candles")
	if err := os.WriteFile(conf, []byte("[marketdata]\ndir = "+strconv.Quote(data)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := cli(t, nil, "data", "download", "ethusdt", "--from", "2024-01-01", "--to", "2024-01-02", "--local", "--config", conf)
	if code != exitOK || !strings.Contains(out, "ETHUSDT  1m        2024-01-01 00:00  2024-01-02 00:00  1440  1440   0     false") {
		t.Fatalf("download: exit %d\n%s\n%s", code, out, errs)
	}
	if errs != "" {
		t.Errorf("stderr is not a terminal, yet: %q", errs)
	}
	code, out, errs = cli(t, nil, "data", "import", filepath.Join("..", "..", "actors", "marketdata", "store", "testdata", "BNBUSDT-1h-2024-02.csv"), "--local", "--config", conf)
	if code != exitOK || !strings.Contains(out, "BNBUSDT  1h") {
		t.Fatalf("import: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = cli(t, nil, "data", "list", "--local", "--config", conf)
	if code != exitOK || !strings.Contains(out, "data directory: "+data) ||
		!strings.Contains(out, "ETHUSDT  1m        2024-01-01 00:00  2024-01-02 00:00  1440") || !strings.Contains(out, "BNBUSDT  1h") {
		t.Fatalf("list: exit %d\n%s\n%s", code, out, errs)
	}
	code, _, errs = cli(t, nil, "data", "download", "NOPEUSDT", "--from", "2024-01-01", "--local", "--config", conf)
	if code != exitRPCError || !strings.Contains(errs, "symbol NOPEUSDT: exchange: Invalid symbol. (-1121)") {
		t.Fatalf("unknown symbol: exit %d %s", code, errs)
	}
}
