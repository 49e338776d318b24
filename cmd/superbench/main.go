// Command superbench measures superbotd as a user runs it: a real daemon
// process on a Unix socket. It prints the figures the issues ask for:
// daemon.status calls/s (1 and 16 clients) with latency percentiles, cold
// start to system.ready, idle RSS, and graceful stop time. Latencies are
// timed with the CPU's time-stamp counter (runtime/tsc): time.Now moves in
// 4 ms steps on this project's machines.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/tsc"
)

func main() {
	calls := flag.Int("calls", 100000, "sequential daemon.status calls")
	conc := flag.Int("clients", 16, "concurrent clients")
	dur := flag.Duration("concurrent-for", 5*time.Second, "how long the concurrent run lasts")
	runs := flag.Int("starts", 5, "cold starts to time")
	flag.StringVar(&method, "method", "daemon.status", "the method the call figures use")
	flag.StringVar(&autostart, "autostart", "", `override daemon.autostart, e.g. '[]' (default: the embedded config's)`)
	flag.StringVar(&ipcExtra, "ipc", "", `extra [daemon.ipc] settings, e.g. 'require_token_on_socket = true'`)
	flag.Parse()
	if err := run(*calls, *conc, *dur, *runs, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "superbench:", err)
		os.Exit(1)
	}
}

var (
	method    = "daemon.status"
	autostart string
	ipcExtra  string
)

func run(calls, conc int, dur time.Duration, starts int, w io.Writer) error {
	dir, err := os.MkdirTemp("", "superbench")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	bin := filepath.Join(dir, "superbotd")
	build := exec.Command("go", "build", "-ldflags", "-s -w", "-o", bin, "./cmd/superbotd") // as `make build`
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	cfg := filepath.Join(dir, "bench.toml")
	body := "[daemon.logging]\nconsole = false\n"
	if autostart != "" {
		body += "[daemon]\nautostart = " + autostart + "\n"
	}
	if ipcExtra != "" {
		body += "[daemon.ipc]\n" + ipcExtra + "\n"
	}
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return err
	}
	// Cold starts and stops are timed pinned to one CPU (one counter);
	// calls are not: a pinned caller that blocks on every call waits for
	// its CPU to be free, which is not what a client sees. Their latencies
	// keep only the calls that began and ended on the same CPU.
	unpin := tsc.Pin()

	var startups, stops []time.Duration
	var rss []int
	for i := 0; i < starts; i++ {
		d, up, err := startDaemon(bin, cfg, filepath.Join(dir, fmt.Sprintf("cold%d", i)))
		if err != nil {
			return err
		}
		startups = append(startups, up)
		time.Sleep(500 * time.Millisecond) // let it settle before reading RSS
		rss = append(rss, rssKiB(d.Process.Pid))
		s := tsc.Now()
		_ = d.Process.Signal(syscall.SIGTERM)
		_ = d.Wait()
		stops = append(stops, tsc.Since(s))
	}
	fmt.Fprintf(w, "cold start to first answered daemon.status (after system.ready): %s\n", summary(startups))
	cfgNote := "embedded defaults"
	if autostart != "" {
		cfgNote = "autostart = " + autostart
	}
	fmt.Fprintf(w, "idle RSS (%s): %s KiB (median of %d)\n", cfgNote, median(rss), len(rss))
	fmt.Fprintf(w, "graceful stop (SIGTERM to exit): %s\n", summary(stops))
	unpin()

	work := filepath.Join(dir, "work")
	d, _, err := startDaemon(bin, cfg, work)
	if err != nil {
		return err
	}
	defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
	opts := client.Options{StateDir: filepath.Join(work, ".superbot")}

	c, err := client.Dial(context.Background(), opts)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for i := 0; i < 1000; i++ { // warm up
		if err := c.Call(ctx, method, nil, nil); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, calls)
	wallBegin := time.Now()
	for i := range lat {
		s := tsc.Now()
		if err := c.Call(ctx, method, nil, nil); err != nil {
			return err
		}
		lat[i] = tsc.Since(s)
	}
	_ = c.Close()
	valid := 0
	for _, d := range lat {
		if d != tsc.Invalid {
			valid++
		}
	}
	wall := time.Since(wallBegin)
	p := tsc.Percentiles(lat, 50, 99, 99.9)
	fmt.Fprintf(w, "%s, 1 client sequential: %d calls in %s = %.0f calls/s; p50 %s p99 %s p99.9 %s (%d same-CPU samples)\n",
		method, calls, wall.Round(time.Millisecond), float64(calls)/wall.Seconds(), p[0], p[1], p[2], valid)

	var wg sync.WaitGroup
	counts := make([]int, conc)
	errs := make([]error, conc)
	stop := time.Now().Add(dur)
	wallBegin = time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := client.Dial(ctx, opts)
			if err != nil {
				errs[i] = err
				return
			}
			defer func() { _ = c.Close() }()
			for time.Now().Before(stop) {
				if err := c.Call(ctx, method, nil, nil); err != nil {
					errs[i] = err
					return
				}
				counts[i]++
			}
		}(i)
	}
	wg.Wait()
	total := time.Since(wallBegin)
	n := 0
	for i, k := range counts {
		if errs[i] != nil {
			return errs[i]
		}
		n += k
	}
	fmt.Fprintf(w, "%s, %d clients: %d calls in %s = %.0f calls/s\n", method, conc, n, total.Round(time.Millisecond), float64(n)/total.Seconds())
	return nil
}

// startDaemon runs superbotd in dir and returns once daemon.status answers,
// with the time from exec to that answer.
func startDaemon(bin, cfg, dir string) (*exec.Cmd, time.Duration, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(bin, "-c", cfg)
	cmd.Dir = dir
	var out strings.Builder
	cmd.Stderr = &out
	s := tsc.Now()
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	opts := client.Options{StateDir: filepath.Join(dir, ".superbot"), Timeout: time.Second}
	var err error
	for tsc.Since(s) < 10*time.Second {
		var c *client.Client
		c, err = client.Dial(context.Background(), opts)
		if err == nil {
			err = c.Call(context.Background(), "daemon.status", nil, nil)
			_ = c.Close()
			if err == nil {
				return cmd, tsc.Since(s), nil
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	_ = cmd.Process.Kill()
	return nil, 0, fmt.Errorf("daemon did not answer within 10 s: %w\n%s", err, out.String())
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return -1
}

func summary(ds []time.Duration) string {
	p := tsc.Percentiles(append([]time.Duration(nil), ds...), 50, 100)
	return fmt.Sprintf("median %s, max %s (%d runs)", p[0].Round(10*time.Microsecond), p[1].Round(10*time.Microsecond), len(ds))
}

func median(xs []int) string {
	s := append([]int(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return strconv.Itoa(s[len(s)/2])
}
