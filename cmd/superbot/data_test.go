package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/superbot/superbot/runtime/client/clienttest"
)

// TestDataParamsSent: each data command sends its method with the params
// the proto messages name.
func TestDataParamsSent(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("data.download", map[string]any{"job": "dl1"})
	for _, m := range []string{"data.status", "data.cancel", "data.list", "data.import"} {
		srv.HandleResult(m, map[string]any{})
	}
	jan := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	feb := time.Date(2024, 2, 1, 12, 30, 0, 0, time.UTC).UnixMilli()
	abs, err := filepath.Abs("x.zip")
	if err != nil {
		t.Fatal(err)
	}
	imp, _ := json.Marshal(map[string]string{"path": abs})
	for _, tt := range []struct {
		args   []string
		method string
		params string
	}{
		{[]string{"data", "download", "btcusdt", "ETHUSDT", "--interval", "5m", "--from", "2024-01-01", "--to", "2024-02-01T12:30", "--detach"}, "data.download",
			`{"from_ms":` + itoa64(jan) + `,"interval":"5m","symbols":["BTCUSDT","ETHUSDT"],"to_ms":` + itoa64(feb) + `}`},
		{[]string{"data", "download", "BTCUSDT", "--from", "2024-01-01T00:00:00Z", "--detach"}, "data.download",
			`{"from_ms":` + itoa64(jan) + `,"interval":"1m","symbols":["BTCUSDT"]}`},
		{[]string{"data", "status"}, "data.status", ``},
		{[]string{"data", "status", "dl1"}, "data.status", `{"job":"dl1"}`},
		{[]string{"data", "cancel", "dl1"}, "data.cancel", `{"job":"dl1"}`},
		{[]string{"data", "list"}, "data.list", ``},
		{[]string{"data", "import", "x.zip"}, "data.import", string(imp)},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			if code, _, errs := cli(t, srv, tt.args...); code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			reqs := srv.Requests()
			last := reqs[len(reqs)-1]
			if last.Method != tt.method || string(last.Params) != tt.params {
				t.Fatalf("sent %s %s, want %s %s", last.Method, last.Params, tt.method, tt.params)
			}
		})
	}
}

// TestDataUsageErrors: bad data command lines send nothing.
func TestDataUsageErrors(t *testing.T) {
	srv := newServer(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"data", "download", "BTCUSDT"}, "--from is required"},
		{[]string{"data", "download", "--from", "2024-01-01"}, "missing SYMBOL"},
		{[]string{"data", "download", "BTCUSDT", "--from", "yesterday"}, `--from: want a date (2024-01-01), a UTC time (2024-01-01T12:00) or an RFC 3339 time, got "yesterday"`},
		{[]string{"data", "download", "BTCUSDT", "--from", "2024-02-01", "--to", "2024-01-01"}, "--to 2024-01-01 is not after --from 2024-02-01"},
		{[]string{"data", "download", "BTCUSDT", "--from", "2024-01-01", "--local", "--detach"}, "--detach needs the daemon"},
		{[]string{"data", "download", "BTCUSDT", "--from", "2024-01-01", "--config", "x.toml"}, "--config goes with --local"},
		{[]string{"data", "status", "--local"}, "flag --local is not valid for 'superbot data status'"},
		{[]string{"data", "import"}, "missing FILE|DIR"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errs := cli(t, srv, tt.args...)
			if code != exitUsage || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, errs, exitUsage, tt.want)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

// dataJobJSON is a DataJob as the daemon shows it.
func dataJobJSON(state string, percent float64, gaps string) map[string]any {
	var g any
	_ = json.Unmarshal([]byte(gaps), &g)
	return map[string]any{"job": "dl1", "state": state, "interval": "1m", "percent": percent, "eta_ms": 1500, "error": "",
		"started_ms": 1704067200000, "finished_ms": 1704067212000,
		"symbols": []any{map[string]any{"symbol": "BTCUSDT", "from_ms": 1704067200000, "to_ms": 1704326400000, "resumed": false,
			"bars": 4317, "added": 4317, "gaps": g}}}
}

// TestDataDownloadFollows: the download is followed to its end with a
// progress bar on stderr, then its summary and gaps are printed.
func TestDataDownloadFollows(t *testing.T) {
	defer func(old func(io.Writer) bool) { showProgress = old }(showProgress)
	showProgress = func(io.Writer) bool { return true }
	srv := newServer(t)
	srv.HandleResult("data.download", map[string]any{"job": "dl1"})
	var polls atomic.Int32
	srv.Handle("data.status", func(_ *clienttest.Conn, _ json.RawMessage) (any, error) {
		if polls.Add(1) < 3 {
			return map[string]any{"jobs": []any{dataJobJSON("running", 40, "[]")}}, nil
		}
		return map[string]any{"jobs": []any{dataJobJSON("done", 100, `[{"from_ms":1704153600000,"to_ms":1704153780000}]`)}}, nil
	})
	code, out, errs := cli(t, srv, "data", "download", "BTCUSDT", "--from", "2024-01-01", "--to", "2024-01-04")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"download dl1 done in 12s", "BTCUSDT  1m        2024-01-01 00:00  2024-01-04 00:00  4317  4317   1",
		"missing klines", "BTCUSDT 2024-01-02 00:00 .. 2024-01-02 00:03"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "100%") || !strings.Contains(errs, "download dl1") {
		t.Errorf("no progress bar on stderr: %q", errs)
	}
	if n := polls.Load(); n < 3 {
		t.Errorf("data.status asked %d times", n)
	}
}

// TestDataDownloadFailed: a failed job is exit code 1 with its reason.
func TestDataDownloadFailed(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("data.download", map[string]any{"job": "dl1"})
	j := dataJobJSON("failed", 20, "[]")
	j["error"] = "BTCUSDT: the exchange is rate limiting this host (after 21 tries)"
	srv.HandleResult("data.status", map[string]any{"jobs": []any{j}})
	code, _, errs := cli(t, srv, "--json", "data", "download", "BTCUSDT", "--from", "2024-01-01")
	if code != exitRPCError || !strings.Contains(errs, "download dl1 failed: BTCUSDT: the exchange is rate limiting this host") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// TestDataRenderers: list, status and import print tables.
func TestDataRenderers(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("data.list", map[string]any{"dir": "/d", "series": []any{map[string]any{"symbol": "BTCUSDT", "interval": "1m",
		"from_ms": 1704067200000, "to_ms": 1704326399999, "bars": 4317, "gaps": []any{map[string]any{"from_ms": 1704153600000, "to_ms": 1704153780000}}, "bytes": 207216}}})
	srv.HandleResult("data.status", map[string]any{"jobs": []any{dataJobJSON("running", 40, "[]")}})
	srv.HandleResult("data.import", map[string]any{"imported": []any{map[string]any{"symbol": "ETHUSDT", "interval": "1h", "files": 2, "added": 48, "duplicates": 0}}})
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"data", "list"}, []string{"data directory: /d", "BTCUSDT  1m        2024-01-01 00:00  2024-01-04 00:00  4317  1     3m0s     202.4 KiB"}},
		{[]string{"data", "status"}, []string{"dl1  running  1m        BTCUSDT  40.0%     2s   4317  0"}},
		{[]string{"data", "import", "x"}, []string{"ETHUSDT  1h        2      48     0"}},
	} {
		code, out, errs := cli(t, srv, tt.args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d %s", tt.args, code, errs)
		}
		for _, w := range tt.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", tt.args, w, out)
			}
		}
	}
}

// TestDataDownloadInterrupted: Ctrl-C while following a download cancels
// the job in the daemon and says how to resume.
func TestDataDownloadInterrupted(t *testing.T) {
	srv := newServer(t)
	srv.HandleResult("data.download", map[string]any{"job": "dl1"})
	var canceled atomic.Bool
	polled := make(chan struct{}, 100)
	srv.Handle("data.status", func(_ *clienttest.Conn, _ json.RawMessage) (any, error) {
		polled <- struct{}{}
		if canceled.Load() {
			return map[string]any{"jobs": []any{dataJobJSON("canceled", 40, "[]")}}, nil
		}
		return map[string]any{"jobs": []any{dataJobJSON("running", 40, "[]")}}, nil
	})
	srv.Handle("data.cancel", func(_ *clienttest.Conn, _ json.RawMessage) (any, error) {
		canceled.Store(true)
		return map[string]any{"job": dataJobJSON("canceling", 40, "[]")}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-polled; cancel() }() // Ctrl-C after the first poll
	var out, errb bytes.Buffer
	code := runContext(ctx, []string{"--state-dir", srv.Dir, "data", "download", "BTCUSDT", "--from", "2024-01-01"}, &out, &errb)
	if code != exitRPCError || !strings.Contains(errb.String(), "download dl1 canceled; run the same command again to resume") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	if !canceled.Load() {
		t.Fatal("data.cancel was not sent")
	}
	if !strings.Contains(out.String(), "download dl1 canceled") {
		t.Errorf("stdout = %q", out.String())
	}
}
