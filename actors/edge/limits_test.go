package edge_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/edge"
)

// wantInvalidParams fails the test unless got is an Invalid params error
// whose text has limit in it.
func wantInvalidParams(t *testing.T, got, limit string) {
	t.Helper()
	if !strings.Contains(got, `"code":-32602`) || !strings.Contains(got, limit) {
		t.Fatalf("want -32602 naming %q, got %s", limit, got)
	}
}

// TestClientSizesAreCheckedBeforeAllocating: a queue size over the limit is
// refused before the connection's queue is made (50,000,000 used to
// reserve ~1.2 GB, 4,000,000,000 killed the daemon); counts and tail
// lengths are bounded too.
func TestClientSizesAreCheckedBeforeAllocating(t *testing.T) {
	f := start(t, edge.DefaultConfig())
	c := dial(t, "unix", f.socket)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"queue_size":50000000},"id":1}`), "limit of 65536")
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Fatalf("a refused subscribe allocated %d MiB", grew>>20)
	}
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"queue_size":4000000000},"id":2}`), "limit of 65536")
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"queue_size":-1},"id":3}`), "invalid value for uint32")
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"logs.stream","params":{"module":"m","lines":100000000},"id":4}`), "0 to 10000")
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"logs.stream","params":{"module":"m","lines":-5},"id":5}`), "invalid value for uint32")

	// One connection's subscriptions are bounded.
	for i := range 256 {
		if got := c.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"p%d"},"id":%d}`, i, i)); !strings.Contains(got, `"subscription"`) {
			t.Fatalf("subscribe %d = %s", i, got)
		}
	}
	wantInvalidParams(t, c.call(`{"jsonrpc":"2.0","method":"events.subscribe","params":{"pattern":"one.more"},"id":1}`), "at most 256 subscriptions")
}

// TestTCPFloodLeavesTheSocketFree: TCP connections have their own limit,
// so a flood of unauthenticated ones never locks the owner out of the
// Unix socket; and a connection that does not log in is closed after
// LoginTimeout.
func TestTCPFloodLeavesTheSocketFree(t *testing.T) {
	cfg := edge.DefaultConfig()
	cfg.MaxConnections = 4
	cfg.MaxTCPConnections = 4
	cfg.LoginTimeout = 5 * time.Second
	f := start(t, cfg)
	flood := make([]*client, 8)
	for i := range flood {
		flood[i] = dial(t, "tcp", f.tcp)
	}
	if got := flood[len(flood)-1].read(); !strings.Contains(got, "too many connections") {
		t.Fatalf("TCP connection over the limit: %s", got)
	}
	owner := dial(t, "unix", f.socket)
	sameJSON(t, owner.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
}

func TestUnauthenticatedConnectionTimesOut(t *testing.T) {
	cfg := edge.DefaultConfig()
	cfg.LoginTimeout = 300 * time.Millisecond
	cfg.IdleTimeout = time.Minute
	f := start(t, cfg)
	lazy := dial(t, "tcp", f.tcp)
	authed := dial(t, "tcp", f.tcp)
	sameJSON(t, authed.call(`{"jsonrpc":"2.0","method":"auth.login","params":["`+token+`"],"id":1}`), `{"jsonrpc":"2.0","result":{"ok":true},"id":1}`)
	_ = lazy.c.SetReadDeadline(time.Now().Add(10 * time.Second)) // far beyond LoginTimeout, far below IdleTimeout
	if line, err := lazy.rd.ReadString('\n'); err == nil || line != "" {
		t.Fatalf("a connection that never logged in was kept: got %q, %v", line, err)
	} else if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("a connection that never logged in was kept past LoginTimeout")
	}
	// The logged-in connection outlives the login timeout (it was accepted
	// at the same time as the closed one).
	sameJSON(t, authed.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":2}`), `{"jsonrpc":"2.0","result":1,"id":2}`)
}

// countingHandler counts the records whose message is msg.
type countingHandler struct {
	msg string
	n   *atomic.Int64
}

func (h countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countingHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == h.msg {
		h.n.Add(1)
	}
	return nil
}
func (h countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countingHandler) WithGroup(string) slog.Handler      { return h }

// TestFailedLoginsAreSlowedPerSource: past LoginBurst, bad logins from one
// address are answered one per LoginBackoff however the client reconnects,
// and the log lines about them are bounded (one a second).
func TestFailedLoginsAreSlowedPerSource(t *testing.T) {
	cfg := edge.DefaultConfig()
	cfg.LoginBurst = 2
	cfg.LoginBackoff = 250 * time.Millisecond
	var lines atomic.Int64
	f := startLogging(t, cfg, slog.New(countingHandler{msg: "rpc login refused", n: &lines}))
	const slowed = 6
	began := time.Now()
	for i := range cfg.LoginBurst + slowed {
		c := dial(t, "tcp", f.tcp) // a fresh connection each time, as a guesser would
		got := c.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"auth.login","params":["guess-%d"],"id":1}`, i))
		if !strings.Contains(got, `"code":-32001`) {
			t.Fatalf("login %d = %s", i, got)
		}
		_ = c.c.Close()
	}
	took := time.Since(began) // both readings on this goroutine
	// Times read on different vCPUs may differ by tens of ms: 100 ms slack.
	if want := slowed*cfg.LoginBackoff - 100*time.Millisecond; took < want {
		t.Fatalf("%d bad logins took %s, want at least %s", cfg.LoginBurst+slowed, took, want)
	}
	if n, most := lines.Load(), int64(took/time.Second)+2; n > most {
		t.Fatalf("%d log lines about refused logins in %s, want at most %d", n, took, most)
	}
	// The owner's socket was never slowed, and the right token still works.
	owner := dial(t, "unix", f.socket)
	sameJSON(t, owner.call(`{"jsonrpc":"2.0","method":"sum","params":[1],"id":1}`), `{"jsonrpc":"2.0","result":1,"id":1}`)
	c := dial(t, "tcp", f.tcp)
	sameJSON(t, c.call(`{"jsonrpc":"2.0","method":"auth.login","params":["`+token+`"],"id":1}`), `{"jsonrpc":"2.0","result":{"ok":true},"id":1}`)
}

// moduleHelperEnv, set to a number N, makes the test binary a module of
// the fixture daemon (runModuleHelper).
const moduleHelperEnv = "EDGE_TEST_MODULE_CONNS"

// runModuleHelper is a module process: it opens N connections to
// $SUPERBOT_SOCKET, checks each answers, prints "held N", then opens one
// more, prints the first line it gets ("extra: ..."), and holds everything
// open until its stdin closes.
func runModuleHelper() int {
	n, err := strconv.Atoi(os.Getenv(moduleHelperEnv))
	if err != nil {
		fmt.Println("bad count:", err)
		return 2
	}
	call := func() (net.Conn, string, error) {
		c, err := net.Dial("unix", os.Getenv("SUPERBOT_SOCKET"))
		if err != nil {
			return nil, "", err
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		_, _ = c.Write([]byte(`{"jsonrpc":"2.0","method":"sum","params":[2],"id":1}` + "\n"))
		line, err := bufio.NewReader(c).ReadString('\n')
		return c, strings.TrimSpace(line), err
	}
	for i := range n {
		c, line, err := call()
		if err != nil || !strings.Contains(line, `"result":2`) {
			fmt.Printf("connection %d: %q %v\n", i, line, err)
			return 1
		}
		defer func() { _ = c.Close() }()
	}
	fmt.Println("held", n)
	c, line, err := call()
	if c != nil {
		defer func() { _ = c.Close() }()
	}
	fmt.Printf("extra: %s %v\n", line, err)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// startModule runs the test binary as a module of the fixture's daemon
// holding n connections (runModuleHelper); it returns its output lines.
// The module ends when the test does.
func startModule(t *testing.T, socket string, n int) *bufio.Scanner {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), moduleHelperEnv+"="+strconv.Itoa(n), "SUPERBOT_SOCKET="+socket, "SUPERBOT_DAEMON="+testMarker)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("module helper: %v", err)
		}
	})
	return bufio.NewScanner(out)
}

// nextLine returns the module's next output line.
func nextLine(t *testing.T, sc *bufio.Scanner) string {
	t.Helper()
	if !sc.Scan() {
		t.Fatalf("module helper ended: %v", sc.Err())
	}
	return sc.Text()
}

// TestModulesLeaveTheOwnerRoom: a module process (SUPERBOT_DAEMON of this
// daemon in its environment) holds at most MaxModuleConnections of the
// socket's MaxConnections; the owner keeps the rest (it used to be locked
// out with -32003 by a module holding them all).
func TestModulesLeaveTheOwnerRoom(t *testing.T) {
	cfg := edge.DefaultConfig()
	cfg.MaxConnections = 5
	cfg.MaxModuleConnections = 3
	f := start(t, cfg)
	mod := startModule(t, f.socket, 3)
	if got := nextLine(t, mod); got != "held 3" {
		t.Fatalf("module: %s", got)
	}
	if got := nextLine(t, mod); !strings.Contains(got, `"code":-32003`) {
		t.Fatalf("the module's 4th connection, over max_module_connections: %s", got)
	}
	for i := range 2 {
		owner := dial(t, "unix", f.socket)
		sameJSON(t, owner.call(fmt.Sprintf(`{"jsonrpc":"2.0","method":"sum","params":[%d],"id":1}`, i)), fmt.Sprintf(`{"jsonrpc":"2.0","result":%d,"id":1}`, i))
	}
	// The owner's room is the rest, no more: the socket's limit still holds.
	if got := dial(t, "unix", f.socket).read(); !strings.Contains(got, `"code":-32003`) {
		t.Fatalf("the owner's 3rd connection, over max_connections: %s", got)
	}
}
