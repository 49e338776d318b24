package webui_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/superbot/superbot/actors/webui"
)

// TestBacktestReport: a session gets a job's report file, confined by its
// own content policy; no session, an unknown job or kind, or a kind the job
// did not write gets an error and no file.
func TestBacktestReport(t *testing.T) {
	f := start(t, webui.DefaultConfig(), nil)
	c := f.client()
	if res, body := c.get("/backtests/bt1/html"); res.StatusCode != http.StatusUnauthorized || strings.Contains(body, "report of bt1") {
		t.Fatalf("without a session: %d %q", res.StatusCode, body)
	}
	if res := c.loginJSON(token); res.StatusCode != http.StatusOK {
		t.Fatalf("login: %d", res.StatusCode)
	}
	res, body := c.get("/backtests/bt1/html")
	if res.StatusCode != http.StatusOK || body != reportHTML {
		t.Fatalf("report: %d %q", res.StatusCode, body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "sandbox") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("report CSP = %q, want a sandboxed default-src 'none'", csp)
	}
	for path, want := range map[string]string{
		"/backtests/nope/html":          "no backtest",
		"/backtests/bt1/exe":            "unknown report kind",
		"/backtests/bt1/csv":            "wrote no csv report",
		"/backtests/..%2f..%2fetc/html": "no backtest",
	} {
		res, body := c.get(path)
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, want) {
			t.Errorf("%s: %d %q, want 404 with %q", path, res.StatusCode, body, want)
		}
	}
}
