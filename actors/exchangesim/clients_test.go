package exchangesim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// nodeClients returns node and the clients directory, or skips the test when node or
// the npm packages are missing (npm ci in actors/exchangesim/clients); under CI=true
// that is a failure: .ci/run installs them.
func nodeClients(t testing.TB) (node, dir string) {
	t.Helper()
	dir, err := filepath.Abs("clients")
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	missing := ""
	switch {
	case err != nil:
		missing = "node is not installed"
	case !exists(filepath.Join(dir, "node_modules", "ccxt")) || !exists(filepath.Join(dir, "node_modules", "@binance", "connector")):
		missing = "npm packages missing: run 'npm ci' in actors/exchangesim/clients"
	}
	if missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s", missing)
		}
		t.Skip(missing)
	}
	return node, dir
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// stepResult is one line a client script prints.
type stepResult struct {
	Step string          `json:"step"`
	OK   bool            `json:"ok"`
	Err  string          `json:"err"`
	MS   int64           `json:"ms"`
	Info json.RawMessage `json:"info"`
	Done bool            `json:"done"`
}

// runClientScript runs script against ex with a fresh account and reports every failed
// step; it returns the steps by name.
func runClientScript(t *testing.T, ex *Exchange, script string, timeout time.Duration) map[string]stepResult {
	t.Helper()
	node, dir := nodeClients(t)
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "100000", "BTC": "2", "ETH": "20"})
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(c, node, script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "SIM_URL="+ex.BaseURL(), "SIM_WS_URL="+ex.WSBaseURL(), "SIM_KEY="+key, "SIM_SECRET="+secret)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	outp, err := cmd.Output()
	steps := map[string]stepResult{}
	finished := false
	sc := bufio.NewScanner(bytes.NewReader(outp))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r stepResult
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			t.Logf("node: %s", sc.Text())
			continue
		}
		if r.Done {
			finished = true
			continue
		}
		steps[r.Step] = r
		t.Logf("%s: %-45s ok=%v %d ms", script, r.Step, r.OK, r.MS)
		if !r.OK {
			t.Errorf("%s: step %q failed: %s", script, r.Step, r.Err)
		}
	}
	if err != nil || !finished {
		t.Fatalf("%s: %v (finished=%v)\nstderr: %s", script, err, finished, stderr.String())
	}
	return steps
}

// clientExchange is a private exchange for the client scripts: the wall clock (node
// signs with Date.now), no automatic steps (the scripts move prices through /admin).
func clientExchange(t *testing.T) *Exchange {
	cfg := testConfig()
	cfg.Backfill = time.Hour
	return startExchange(t, cfg)
}

// TestCCXTSpot runs ccxt 4.5.84's binance against the simulator with only its URLs
// overridden: every spot method the README's table marks as tested with ccxt.
func TestCCXTSpot(t *testing.T) {
	runClientScript(t, clientExchange(t), "ccxt_spot.mjs", 3*time.Minute)
}

// TestBinanceConnectorSpot runs Binance's JS connector (@binance/connector 3.6.1, Spot)
// against the simulator: market data, wallet (/sapi), orders of every type, OCO and
// cancelReplace.
func TestBinanceConnectorSpot(t *testing.T) {
	runClientScript(t, clientExchange(t), "connector_spot.mjs", 2*time.Minute)
}
