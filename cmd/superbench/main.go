// Command superbench measures superbotd as a user runs it: a real daemon
// process on a Unix socket. It prints the figures the issues ask for:
// daemon.status and module.status calls/s (1 and 16 clients) with latency
// percentiles, cold start to system.ready, idle RSS (also with 10 modules),
// crash to replacement, and graceful stop time. Latencies are
// timed with the CPU's time-stamp counter (runtime/tsc): time.Now moves in
// 4 ms steps on this project's machines.
//
// Calls are measured with two clients: a bare line client (what the daemon
// can serve) and the Go client (what a Go program sees). The same bare
// client against an echo server process that answers with a line as long
// as daemon.status's gives the machine's floor for a Unix-socket round trip
// between two processes, to read the daemon's figures against.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/tsc"
)

func main() {
	if spec := os.Getenv(echoEnv); spec != "" {
		fmt.Fprintln(os.Stderr, "superbench echo:", serveEcho(spec)) // serves until killed
		os.Exit(1)
	}
	calls := flag.Int("calls", 100000, "sequential daemon.status calls")
	conc := flag.Int("clients", 16, "concurrent clients")
	dur := flag.Duration("concurrent-for", 5*time.Second, "how long the concurrent run lasts")
	runs := flag.Int("starts", 5, "cold starts to time")
	flag.DurationVar(&idleFor, "idle", 30*time.Second, "how long the long idle RSS reading lasts (0: skip it)")
	flag.StringVar(&method, "method", "daemon.status", "the method the call figures use")
	flag.StringVar(&module, "module", "heartbeat", "the module whose module.status is timed")
	flag.StringVar(&autostart, "autostart", "", `override daemon.autostart, e.g. '[]' (default: the embedded config's)`)
	flag.StringVar(&ipcExtra, "ipc", "", `extra [daemon.ipc] settings, e.g. 'require_token_on_socket = true'`)
	cpuprofile := flag.String("cpuprofile", "", "write the clients' CPU profile (this process) to FILE; the daemon's: SUPERBOT_CPUPROFILE=FILE")
	flag.Parse()
	err := startProfile(*cpuprofile)
	if err == nil {
		err = run(*calls, *conc, *dur, *runs, os.Stdout)
		pprof.StopCPUProfile()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "superbench:", err)
		os.Exit(1)
	}
}

func startProfile(path string) error {
	if path == "" {
		return nil
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	return pprof.StartCPUProfile(f)
}

var (
	idleFor   time.Duration
	method    = "daemon.status"
	module    = "heartbeat"
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
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-ldflags", "-s -w", "-o", bin, "./cmd/superbotd") // as `make build`
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %w\n%s", err, out)
	}
	cfg := filepath.Join(dir, "bench.toml")
	body := "[daemon.logging]\nconsole = false\n[webui]\nlisten = \"127.0.0.1:0\"\n" // never 8080: `make run` may hold it
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
	if idleFor > 0 {
		if err := idleRSS(w, bin, cfg, filepath.Join(dir, "idle"), cfgNote); err != nil {
			return err
		}
	}
	for _, n := range []int{0, 10} {
		if err := rssWithModules(w, bin, filepath.Join(dir, fmt.Sprintf("rss%d", n)), n, max(1, starts)); err != nil {
			return err
		}
	}
	if err := crashFigures(w, bin, filepath.Join(dir, "crash")); err != nil {
		return err
	}

	work := filepath.Join(dir, "work")
	d, _, err := startDaemon(bin, cfg, work)
	if err != nil {
		return err
	}
	defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
	opts := client.Options{StateDir: filepath.Join(work, ".superbot")}
	return callFigures(w, dir, opts, filepath.Join(work, ".superbot", "superbot.sock"), calls, conc, dur)
}

// callFigures times method and module.status calls on the daemon at sock,
// then the same client against bare echo servers answering as many bytes
// (the floors), and prints each sequential rate's ratio to its floor.
func callFigures(w io.Writer, dir string, opts client.Options, sock string, calls, conc int, dur time.Duration) error {
	// One answer per method, to size the echo servers' replies like the real ones.
	statusSize, err := sampleSize(opts, method, nil)
	if err != nil {
		return err
	}
	modParams := map[string]string{"module": module}
	modSize, err := sampleSize(opts, "module.status", modParams)
	if err != nil {
		return err
	}

	// Two clients: the Go client (runtime/client: what a Go program gets)
	// and a bare line client (write a request, read a line: what the daemon
	// itself can serve, like wrk for an HTTP server).
	goClient := func() (caller, error) { return dialGo(opts) }
	rawClient := func() (caller, error) { return dialRaw(sock, method, nil) }
	var statusRate float64
	for _, k := range []struct {
		name string
		dial func() (caller, error)
	}{{"raw line client", rawClient}, {"Go client", goClient}} {
		rate, err := sequential(w, method+", "+k.name, k.dial, calls)
		if err != nil {
			return err
		}
		if k.name == "raw line client" {
			statusRate = rate
		}
		if err := concurrent(w, method+", "+k.name, k.dial, conc, dur); err != nil {
			return err
		}
	}
	modRate, err := sequential(w, "module.status "+module+", raw line client",
		func() (caller, error) { return dialRaw(sock, "module.status", modParams) }, calls)
	if err != nil {
		return err
	}

	// The floors: the same raw client against a bare echo server process
	// that answers every line with a line as long as the daemon's answer.
	echo, echoSock, err := startEcho(dir, "status", statusSize+40)
	if err != nil {
		return err
	}
	defer func() { _ = echo.Process.Kill(); _ = echo.Wait() }()
	echoClient := func() (caller, error) { return dialRaw(echoSock, "echo", nil) }
	statusFloor, err := sequential(w, fmt.Sprintf("floor: bare Unix-socket echo (%d-byte answers), raw line client", statusSize+40), echoClient, calls)
	if err != nil {
		return err
	}
	if err := concurrent(w, "floor: bare Unix-socket echo, raw line client", echoClient, conc, dur); err != nil {
		return err
	}
	modEcho, modSock, err := startEcho(dir, "module", modSize+40)
	if err != nil {
		return err
	}
	defer func() { _ = modEcho.Process.Kill(); _ = modEcho.Wait() }()
	modFloor, err := sequential(w, fmt.Sprintf("floor: bare Unix-socket echo (%d-byte answers), raw line client", modSize+40),
		func() (caller, error) { return dialRaw(modSock, "echo", nil) }, calls)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "ratio: sequential %s / its echo floor = %.2f\n", method, statusRate/statusFloor)
	fmt.Fprintf(w, "ratio: sequential module.status / its echo floor = %.2f\n", modRate/modFloor)
	return nil
}

// sampleSize makes one call and returns the length of its result.
func sampleSize(opts client.Options, method string, params any) (int, error) {
	c, err := client.Dial(context.Background(), opts)
	if err != nil {
		return 0, err
	}
	defer func() { _ = c.Close() }()
	var sample json.RawMessage
	if err := c.Call(context.Background(), method, params, &sample); err != nil {
		return 0, fmt.Errorf("%s: %w", method, err)
	}
	return len(sample), nil
}

// caller makes one call and checks its answer.
type caller interface {
	call() error
	close()
}

type goCaller struct{ c *client.Client }

func dialGo(opts client.Options) (caller, error) {
	c, err := client.Dial(context.Background(), opts)
	if err != nil {
		return nil, err
	}
	return goCaller{c}, nil
}

func (g goCaller) call() error { return g.c.Call(context.Background(), method, nil, nil) }
func (g goCaller) close()      { _ = g.c.Close() }

// rawCaller writes one request line and reads one answer line.
type rawCaller struct {
	nc  net.Conn
	r   *bufio.Reader
	req []byte
}

func dialRaw(sock, method string, params any) (caller, error) {
	req, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params, "id": 1})
	if err != nil {
		return nil, err
	}
	if params == nil {
		req = []byte(`{"jsonrpc":"2.0","method":"` + method + `","id":1}`)
	}
	req = append(req, '\n')
	nc, err := net.Dial("unix", sock)
	if err != nil {
		return nil, err
	}
	return &rawCaller{nc: nc, r: bufio.NewReaderSize(nc, 64<<10), req: req}, nil
}

var resultPrefix = []byte(`{"jsonrpc":"2.0","result":`)

func (r *rawCaller) call() error {
	if _, err := r.nc.Write(r.req); err != nil {
		return err
	}
	line, err := r.r.ReadSlice('\n')
	if err != nil {
		return err
	}
	if !bytes.HasPrefix(line, resultPrefix) && !bytes.HasPrefix(line, []byte("echo")) {
		return fmt.Errorf("answer is not a result: %.200s", line)
	}
	return nil
}

func (r *rawCaller) close() { _ = r.nc.Close() }

// sequential times calls one at a time on one connection and returns the
// calls per second.
func sequential(w io.Writer, label string, dial func() (caller, error), calls int) (float64, error) {
	c, err := dial()
	if err != nil {
		return 0, err
	}
	defer c.close()
	for i := 0; i < 1000; i++ { // warm up
		if err := c.call(); err != nil {
			return 0, err
		}
	}
	lat := make([]time.Duration, calls)
	wallBegin := time.Now()
	for i := range lat {
		s := tsc.Now()
		if err := c.call(); err != nil {
			return 0, err
		}
		lat[i] = tsc.Since(s)
	}
	wall := time.Since(wallBegin)
	valid := 0
	for _, d := range lat {
		if d != tsc.Invalid {
			valid++
		}
	}
	p := tsc.Percentiles(lat, 50, 99, 99.9)
	fmt.Fprintf(w, "%s, 1 client sequential: %d calls in %s = %.0f calls/s; p50 %s p99 %s p99.9 %s (%d same-CPU samples)\n",
		label, calls, wall.Round(time.Millisecond), float64(calls)/wall.Seconds(), p[0], p[1], p[2], valid)
	return float64(calls) / wall.Seconds(), nil
}

// concurrent runs conc connections calling in a loop for dur.
func concurrent(w io.Writer, label string, dial func() (caller, error), conc int, dur time.Duration) error {
	var wg sync.WaitGroup
	counts := make([]int, conc)
	errs := make([]error, conc)
	stop := time.Now().Add(dur)
	wallBegin := time.Now()
	for i := 0; i < conc; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := dial()
			if err != nil {
				errs[i] = err
				return
			}
			defer c.close()
			for time.Now().Before(stop) {
				if err := c.call(); err != nil {
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
	fmt.Fprintf(w, "%s, %d clients: %d calls in %s = %.0f calls/s\n", label, conc, n, total.Round(time.Millisecond), float64(n)/total.Seconds())
	return nil
}

// echoEnv makes this program a bare echo server (startEcho).
const echoEnv = "SUPERBENCH_ECHO"

// startEcho runs this program again as a line server answering each line
// with size bytes.
func startEcho(dir, name string, size int) (*exec.Cmd, string, error) {
	sock := filepath.Join(dir, "echo-"+name+".sock")
	self, err := os.Executable()
	if err != nil {
		return nil, "", err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s:%d", echoEnv, sock, size))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlives us
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	for i := 0; i < 500; i++ {
		if nc, err := net.Dial("unix", sock); err == nil {
			_ = nc.Close()
			return cmd, sock, nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return nil, "", fmt.Errorf("echo server did not listen on %s", sock)
}

// serveEcho is the echo server's main. It returns only on an error.
func serveEcho(spec string) error {
	sock, sizeStr, _ := strings.Cut(spec, ":")
	size, err := strconv.Atoi(sizeStr)
	if err != nil {
		return err
	}
	reply := append([]byte("echo"), bytes.Repeat([]byte("x"), max(0, size-5))...)
	reply = append(reply, '\n')
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	for {
		nc, err := l.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer func() { _ = nc.Close() }()
			r := bufio.NewReaderSize(nc, 64<<10)
			for {
				if _, err := r.ReadSlice('\n'); err != nil {
					return
				}
				if _, err := nc.Write(reply); err != nil {
					return
				}
			}
		}()
	}
}

// rssWithModules starts the daemon with n exec modules (sleep) and nothing
// else autostarted, waits until all run, lets it settle, and reads its RSS;
// runs times, reporting the median and the range.
func rssWithModules(w io.Writer, bin, dir string, n, runs int) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("[daemon.logging]\nconsole = false\n[daemon]\nautostart = [")
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", fmt.Sprintf("m%d", i))
	}
	b.WriteString("]\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "[daemon.modules.m%d]\ntype = \"exec\"\ncommand = [\"sleep\", \"3600\"]\n", i)
	}
	cfg := filepath.Join(dir, "modules.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return err
	}
	var rss []int
	for r := 0; r < runs; r++ {
		work := filepath.Join(dir, fmt.Sprint(r))
		d, _, err := startDaemon(bin, cfg, work)
		if err != nil {
			return err
		}
		c, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(work, ".superbot")})
		if err == nil {
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				var list struct {
					Modules []struct{ State string } `json:"modules"`
				}
				running := 0
				if c.Call(context.Background(), "module.list", nil, &list) == nil {
					for _, m := range list.Modules {
						if m.State == "running" {
							running++
						}
					}
				}
				if running == n {
					break
				}
			}
			_ = c.Close()
		}
		time.Sleep(2 * time.Second) // let it settle before reading RSS
		rss = append(rss, rssKiB(d.Process.Pid))
		_ = d.Process.Signal(syscall.SIGTERM)
		_ = d.Wait()
	}
	lo, hi := slices.Min(rss), slices.Max(rss)
	fmt.Fprintf(w, "RSS with %d running exec modules (autostart only those): %s KiB median, %d-%d (%d runs)\n", n, median(rss), lo, hi, runs)
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

// idleRSS runs one daemon for idleFor and reports the largest RSS it had
// in that time (read every 250 ms): the exchange simulator ticks and the
// connector follows it, so an idle daemon still allocates.
func idleRSS(w io.Writer, bin, cfg, dir, cfgNote string) error {
	d, _, err := startDaemon(bin, cfg, dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
	peak, last := 0, 0
	for end := time.Now().Add(idleFor); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		last = rssKiB(d.Process.Pid)
		peak = max(peak, last)
	}
	fmt.Fprintf(w, "idle RSS over %s (%s): peak %d KiB, last %d KiB\n", idleFor, cfgNote, peak, last)
	return nil
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
