//go:build soak

package webui_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFiftyClientsKeepUp is the web UI's figure: 50 browser-like
// WebSocket clients (each logged in, with its own session) subscribed to
// price.> while the simulator runs 20 symbols with market.subscribe open
// on each. "Keeps up": after the market streams are closed and the
// clients have drained, every client has received every price event the
// bus published (the same sequence numbers, no gap, none twice) and the
// bus dropped none. The daemon's CPU (utime+stime from /proc over the
// window, both readings on this goroutine) is reported against a floor:
// the same daemon with the market streams and no WebSocket client, for
// the same time, in the same run. Bound: <= 25 % of one core.
//
//	SOAK_WEBUI_FOR=60s SOAK_WEBUI_TICK=1s go test -tags soak -run TestFiftyClientsKeepUp -v ./actors/webui/
func TestFiftyClientsKeepUp(t *testing.T) {
	window := envDuration(t, "SOAK_WEBUI_FOR", 60*time.Second)
	tick := envDuration(t, "SOAK_WEBUI_TICK", time.Second)
	const clients, symbols = 50, 20
	d := startSoakDaemon(t, symbols, tick)

	ctl := d.login(t).dial(t, d)
	syms := make([]string, symbols)
	for i := range syms {
		syms[i] = soakSymbol(i)
		ctl.mustCall(t, fmt.Sprintf(`{"jsonrpc":"2.0","method":"market.subscribe","params":[%q,"STREAM_KIND_PRICE"],"id":%d}`, syms[i], i+1))
	}
	// The streams are open once a subscriber sees an event of each symbol.
	probe := d.login(t).dial(t, d).subscribe(t)
	deadline := time.Now().Add(time.Minute)
	for len(probe.topics()) < symbols {
		if time.Now().After(deadline) {
			t.Fatalf("price events of %d symbols only", len(probe.topics()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	probe.conn.ws.Close()
	<-probe.done
	floor := d.cpu(t, window)
	t.Logf("floor: daemon CPU %.2f %% of one core over %s (20 price streams, no WebSocket client)", floor, window)

	readers := make([]*soakReader, clients)
	for i := range readers {
		readers[i] = d.login(t).dial(t, d).subscribe(t)
	}
	cpu := d.cpu(t, window)
	for i, s := range syms {
		ctl.mustCall(t, fmt.Sprintf(`{"jsonrpc":"2.0","method":"market.unsubscribe","params":[%q,"STREAM_KIND_PRICE"],"id":%d}`, s, 100+i))
	}
	// Drained: no client received anything for 5 ticks.
	deadline = time.Now().Add(2 * time.Minute)
	for {
		before := total(readers)
		time.Sleep(5 * tick)
		if total(readers) == before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the clients never drained")
		}
	}
	ref := readers[0].seqs()
	for i, r := range readers {
		got := r.seqs()
		if err := r.failure(); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if !sameSeqs(got, ref) {
			t.Fatalf("client %d got %d events, client 0 got %d: not every client kept up", i, len(got), len(ref))
		}
		if n := disorder(got); n != 0 {
			t.Fatalf("client %d: %d events out of order or twice", i, n)
		}
	}
	var stats struct {
		Result struct {
			Patterns []struct {
				Pattern string          `json:"pattern"`
				Dropped json.RawMessage `json:"dropped"`
			} `json:"patterns"`
		} `json:"result"`
	}
	if err := json.Unmarshal([]byte(ctl.mustCall(t, `{"jsonrpc":"2.0","method":"events.stats","id":999}`)), &stats); err != nil {
		t.Fatal(err)
	}
	for _, p := range stats.Result.Patterns {
		if n := strings.Trim(string(p.Dropped), `"`); p.Pattern == "price.>" && n != "" && n != "0" {
			t.Fatalf("the bus dropped %s events of price.>", n)
		}
	}
	t.Logf("figure: %d clients x price.> of %d symbols (tick %s): each received %d events, all the same; daemon CPU %.2f %% of one core over %s (floor without clients %.2f %%, ratio %.2f); bound 25 %%",
		clients, symbols, tick, len(ref), cpu, window, floor, cpu/max(floor, 0.01))
	if len(ref) == 0 {
		t.Fatal("no price event reached the clients")
	}
	if cpu > 25 {
		t.Fatalf("daemon CPU %.2f %% > 25 %% of one core", cpu)
	}
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func soakSymbol(i int) string { return fmt.Sprintf("X%c%cUSDT", 'A'+i/26, 'A'+i%26) }

type soakDaemon struct {
	cmd   *exec.Cmd
	out   *bytes.Buffer
	base  string
	host  string
	token string
}

// startSoakDaemon builds superbotd (no -race: the figure is the daemon's
// CPU) and runs it with symbols simulated symbols.
func startSoakDaemon(t *testing.T, symbols int, tick time.Duration) *soakDaemon {
	dir := t.TempDir()
	bin := filepath.Join(dir, "superbotd")
	build := exec.Command("go", "build", "-tags", "grpcnotrace", "-o", bin, "github.com/superbot/superbot/cmd/superbotd") // as `make build`
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, "[daemon]\nstate_dir = %q\nlog_dir = %q\n[daemon.logging]\nconsole = false\n[webui]\nlisten = \"127.0.0.1:0\"\nmax_connections = 128\n", filepath.Join(dir, "state"), filepath.Join(dir, "logs"))
	fmt.Fprintf(&conf, "[exchange_sim]\ntick_interval = %q\n", tick.String())
	for i := range symbols {
		s := soakSymbol(i)
		fmt.Fprintf(&conf, "[[exchange_sim.symbols]]\nsymbol = %q\nbase_asset = %q\nquote_asset = \"USDT\"\nprice = \"%d\"\ntick_size = \"0.01\"\nstep_size = \"0.001\"\nlevel_qty = \"10\"\n", s, strings.TrimSuffix(s, "USDT"), 100+i)
	}
	cfg := filepath.Join(dir, "soak.toml")
	if err := os.WriteFile(cfg, []byte(conf.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &soakDaemon{out: &bytes.Buffer{}}
	d.cmd = exec.Command(bin, "-c", cfg)
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.cmd.Process.Kill(); _ = d.cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(dir, "state", "webui.addr"))
		if err == nil && bytes.HasSuffix(b, []byte("\n")) {
			d.host = strings.TrimSpace(string(b))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no webui.addr; daemon output:\n%s", d.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	tok, err := os.ReadFile(filepath.Join(dir, "state", "token"))
	if err != nil {
		t.Fatal(err)
	}
	d.base, d.token = "http://"+d.host, strings.TrimSpace(string(tok))
	return d
}

// cpu returns the daemon's CPU over window, in % of one core.
func (d *soakDaemon) cpu(t *testing.T, window time.Duration) float64 {
	t0, c0 := time.Now(), procTicks(t, d.cmd.Process.Pid)
	time.Sleep(window)
	t1, c1 := time.Now(), procTicks(t, d.cmd.Process.Pid)
	const clkTck = 100 // USER_HZ on Linux
	return float64(c1-c0) / clkTck / t1.Sub(t0).Seconds() * 100
}

// procTicks is utime+stime of pid, in clock ticks.
func procTicks(t *testing.T, pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+2:]))
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}

type soakSession struct{ cookie string }

func (d *soakDaemon) login(t *testing.T) soakSession {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodPost, d.base+"/login", strings.NewReader(url.Values{"token": {d.token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", d.base)
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	u, _ := url.Parse(d.base)
	cs := jar.Cookies(u)
	if len(cs) != 1 {
		t.Fatalf("login: %s", res.Status)
	}
	return soakSession{cookie: cs[0].String()}
}

type soakConn struct {
	ws *websocket.Conn
}

func (s soakSession) dial(t *testing.T, d *soakDaemon) *soakConn {
	h := http.Header{"Origin": {d.base}, "Cookie": {s.cookie}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+d.host+"/rpc", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	return &soakConn{ws: ws}
}

// mustCall sends a request and returns its answer (the connection has no
// subscription, so the next message is the answer).
func (c *soakConn) mustCall(t *testing.T, msg string) string {
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, b, err := c.ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte(`"error"`)) {
		t.Fatalf("%s: %s", msg, b)
	}
	return string(b)
}

// soakReader is a client subscribed to price.>: it reads on its own
// goroutine, as a browser would, and keeps the sequence numbers.
type soakReader struct {
	conn *soakConn
	mu   sync.Mutex
	seq  []uint64
	seen map[string]bool // topics
	err  error
	done chan struct{}
}

func (c *soakConn) subscribe(t *testing.T) *soakReader {
	c.mustCall(t, `{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"price.>"},"id":1}`)
	r := &soakReader{conn: c, done: make(chan struct{}), seen: map[string]bool{}}
	_ = c.ws.SetReadDeadline(time.Time{})
	go func() {
		defer close(r.done)
		for {
			_, b, err := c.ws.ReadMessage()
			if err != nil {
				return // the test ended
			}
			var n struct {
				Method string `json:"method"`
				Params struct {
					Topic    string          `json:"topic"`
					Sequence json.RawMessage `json:"sequence"`
				} `json:"params"`
			}
			if err := json.Unmarshal(b, &n); err != nil || n.Method != "events.event" || !strings.HasPrefix(n.Params.Topic, "price.") {
				r.fail(fmt.Errorf("unexpected message %.200s (%w)", b, err))
				continue
			}
			seq, err := strconv.ParseUint(strings.Trim(string(n.Params.Sequence), `"`), 10, 64)
			if err != nil {
				r.fail(fmt.Errorf("sequence %s: %w", n.Params.Sequence, err))
				continue
			}
			r.mu.Lock()
			r.seq = append(r.seq, seq)
			r.seen[n.Params.Topic] = true
			r.mu.Unlock()
		}
	}()
	return r
}

func (r *soakReader) topics() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.seen)
}

func (r *soakReader) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
}

func (r *soakReader) failure() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (r *soakReader) seqs() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]uint64(nil), r.seq...)
}

func total(rs []*soakReader) int {
	n := 0
	for _, r := range rs {
		r.mu.Lock()
		n += len(r.seq)
		r.mu.Unlock()
	}
	return n
}

// sameSeqs: both saw the same events from the later one's first on (a
// client subscribed later may have missed the first ones).
func sameSeqs(a, b []uint64) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	start := max(a[0], b[0])
	trim := func(s []uint64) []uint64 {
		for i, v := range s {
			if v >= start {
				return s[i:]
			}
		}
		return nil
	}
	a, b = trim(a), trim(b)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// disorder counts the events that came out of order or twice.
func disorder(s []uint64) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if s[i] <= s[i-1] {
			n++
		}
	}
	return n
}
