// Command tradebench measures issue 10's trading figures on a real superbotd
// (built CGO_ENABLED=0 without -race, as `make build` does) against a simulated
// exchange running in this process:
//
//   - burst: 2,000 orders from 50 strategies over JSON-RPC in live mode: all
//     journaled, orders journaled per second, no order refused by the exchange
//     for rate, no 429/418 answered by the simulator;
//   - reconcile: the exchange seeded with 1,000 open orders and 10,000 fills the
//     daemon missed (exchangesim.Seed); wall time from start to the gate open,
//     and 429 answers;
//   - rss: 20 strategies on 20 symbols in paper mode; RSS sampled over time,
//     its peak and its growth after warm-up (≤ 40 MiB and flat);
//   - download (issue 11): a year of 1m klines through the daemon's
//     connector: no 429, ≥ 90 % of the weight budget used (download.go).
//
// `make bench` runs every figure with a short RSS run; `make soak` runs the
// one-hour RSS run (-only rss -rss-for 1h).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

func main() {
	only := flag.String("only", "", "run one figure: burst, reconcile, rss or download (default: all)")
	rssFor := flag.Duration("rss-for", 3*time.Minute, "how long the RSS run samples (the issue's figure: 1h)")
	rssEvery := flag.Duration("rss-every", 5*time.Second, "RSS sampling interval")
	rssBars := flag.String("rss-interval", "1m", "the RSS run's bar interval (1s: an hour's trading in a minute, to look for leaks)")
	flag.BoolVar(&keep, "keep", false, "keep the work directory (daemon logs and journals) and print its path")
	flag.Parse()
	if err := run(os.Stdout, *only, rssRun{*rssBars, *rssFor, *rssEvery}); err != nil {
		fmt.Fprintln(os.Stderr, "tradebench:", err)
		os.Exit(1)
	}
}

// keep leaves the work directory in place (-keep).
var keep bool

func run(w io.Writer, only string, rss rssRun) error {
	dir, err := os.MkdirTemp("", "tradebench")
	if err != nil {
		return err
	}
	if keep {
		fmt.Fprintf(w, "work directory: %s\n", dir)
	} else {
		defer func() { _ = os.RemoveAll(dir) }()
	}
	bin := filepath.Join(dir, "superbotd")
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-ldflags", "-s -w", "-o", bin, "./cmd/superbotd") // as `make build`
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	figures := []struct {
		name string
		run  func() error
	}{
		{"burst", func() error { return burstFigure(w, bin, filepath.Join(dir, "burst")) }},
		{"reconcile", func() error {
			return errors.Join(reconcileFigure(w, bin, filepath.Join(dir, "reconcile"), true),
				reconcileFigure(w, bin, filepath.Join(dir, "reconcile-fresh"), false))
		}},
		{"rss", func() error { return rssFigure(w, bin, filepath.Join(dir, "rss"), rss) }},
		{"download", func() error { return downloadFigure(w, bin, filepath.Join(dir, "download")) }},
	}
	var errs []error
	for _, f := range figures {
		if only != "" && only != f.name {
			continue
		}
		if err := f.run(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
			fmt.Fprintf(w, "%s: FAILED: %v\n", f.name, err)
		}
	}
	return errors.Join(errs...)
}

// newSim starts a simulator on a free port with the symbols given (nil: the
// defaults), a rich account and the tick interval given (0: stepped by hand).
func newSim(symbols []exchangesim.Symbol, tick time.Duration) (*exchangesim.Exchange, error) {
	cfg := exchangesim.DefaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.TickInterval = tick
	cfg.Backfill = 10 * time.Minute
	cfg.OrderLimit10s = 1_000_000
	cfg.OrderLimitDay = 10_000_000
	if symbols != nil {
		cfg.Symbols = symbols
	}
	bal := map[string]string{"USDT": "100000000"}
	for _, s := range cfg.Symbols {
		bal[s.BaseAsset] = "100000"
	}
	cfg.Accounts[0].Balances = bal
	ex, err := exchangesim.New(cfg)
	if err != nil {
		return nil, err
	}
	return ex, ex.Start()
}

// daemonConfig is a config trading on ex (the daemon's own simulator off), in mode,
// with risk limits above what the figures send; extra is appended.
func daemonConfig(ex *exchangesim.Exchange, mode, extra string) string {
	return fmt.Sprintf(`[daemon]
autostart = ["heartbeat"]
[daemon.logging]
console = false
[daemon.modules.exchange-sim]
enabled = false
[connector]
base_url = %q
ws_base_url = %q
[trading]
mode = %q
[trading.risk]
max_order_notional = 1000000
max_position_notional = 1000000000
max_open_orders = 1000000
order_rate = 100000
price_band = 0.5
%s`, ex.BaseURL(), ex.WSBaseURL(), mode, extra)
}

// daemon is one superbotd process.
type daemon struct {
	cmd     *exec.Cmd
	dir     string
	out     *strings.Builder
	started time.Time
	up      time.Duration // from started to the first daemon.status answered
}

// startDaemon writes cfg to dir and starts bin on it; it returns once the socket answers.
func startDaemon(bin, dir, cfg string) (*daemon, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "superbot.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	d := &daemon{cmd: exec.Command(bin, "-c", path), dir: dir, out: &strings.Builder{}}
	d.cmd.Dir = dir
	d.cmd.Stderr = d.out
	d.started = time.Now()
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	for time.Since(d.started) < 20*time.Second {
		c, err := d.dial()
		if err == nil {
			err = c.Call(context.Background(), "daemon.status", nil, nil)
			_ = c.Close()
			if err == nil {
				d.up = time.Since(d.started)
				return d, nil
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	d.stop()
	return nil, fmt.Errorf("daemon did not answer within 20 s:\n%s", d.out.String())
}

func (d *daemon) dial() (*client.Client, error) {
	return client.Dial(context.Background(), client.Options{StateDir: filepath.Join(d.dir, ".superbot"), Timeout: 30 * time.Second})
}

// stop ends the daemon gracefully (SIGKILL after 30 s).
func (d *daemon) stop() {
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		_ = d.cmd.Process.Kill()
		<-done
	}
}

// rpcCall calls method and decodes the answer into res with protojson.
func rpcCall(c *client.Client, method string, params any, res proto.Message) error {
	var raw json.RawMessage
	if err := c.Call(context.Background(), method, params, &raw); err != nil {
		return err
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, res); err != nil {
		return fmt.Errorf("%s: decode: %w", method, err)
	}
	return nil
}

// openDaemon starts a daemon on cfg, dials it and waits (within) until its
// trading gate is open; on an error it stops what it started. The caller
// closes c, then stops d.
func openDaemon(bin, dir, cfg string, within time.Duration) (*daemon, *client.Client, *messages.ReconcileResponse, error) {
	d, err := startDaemon(bin, dir, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := d.dial()
	if err != nil {
		d.stop()
		return nil, nil, nil, err
	}
	res, err := waitOpen(c, within)
	if err != nil {
		_ = c.Close()
		d.stop()
		return nil, nil, nil, err
	}
	return d, c, res, nil
}

// waitOpen polls trading.reconcile until the gate is open (live mode: after a report "ok").
func waitOpen(c *client.Client, within time.Duration) (*messages.ReconcileResponse, error) {
	deadline := time.Now().Add(within)
	for {
		var res messages.ReconcileResponse
		err := rpcCall(c, "trading.reconcile", map[string]any{}, &res)
		if err == nil && res.GetState().GetGate() == "halted" {
			return nil, fmt.Errorf("trading halted: %s %v", res.GetState().GetHaltedReason(), res.GetReport().GetMismatches())
		}
		reconciled := res.GetReport().GetResult() == "ok" || res.GetState().GetMode() == "paper" // paper mode does not reconcile
		if err == nil && res.GetState().GetGate() == "open" && reconciled {
			return &res, nil
		}
		if time.Now().After(deadline) {
			if err != nil {
				return nil, fmt.Errorf("gate not open within %s: %w", within, err)
			}
			return nil, fmt.Errorf("gate not open within %s: last answer %v", within, &res)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return -1
}
