package exchangesim

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"
)

// BenchmarkCCXTYearOf1mKlines measures issue 9's figure: paging one year of 1-minute
// klines through ccxt (fetchOHLCV, since/limit 1000, ~526 pages), with ccxt's rate
// limiter on. Target: <= 20 s and under the weight limit (6000 per minute). Reports
// s/year and the highest X-MBX-USED-WEIGHT-1M seen. make bench runs it.
func BenchmarkCCXTYearOf1mKlines(b *testing.B) {
	node, dir := nodeClients(b)
	ex := startExchange(b, testConfig())
	for b.Loop() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(c, node, "ccxt_ohlcv_year.mjs")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "SIM_URL="+ex.BaseURL())
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		cancel()
		var r struct {
			Info struct {
				Pages, Candles, MaxWeight int
				Seconds                   float64
			} `json:"info"`
		}
		if err != nil || json.Unmarshal(bytes.TrimSpace(out), &r) != nil {
			b.Fatalf("node: %v\n%s\n%s", err, out, stderr.String())
		}
		if r.Info.Candles < 525000 {
			b.Fatalf("only %d candles in %d pages", r.Info.Candles, r.Info.Pages)
		}
		b.ReportMetric(r.Info.Seconds, "s/year")
		b.ReportMetric(float64(r.Info.MaxWeight), "max-weight-1m")
		b.ReportMetric(float64(r.Info.Pages), "pages")
	}
}
