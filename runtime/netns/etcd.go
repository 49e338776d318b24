package netns

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Etcd is a single-member etcd server started by a test, on 127.0.0.1 with
// free ports or inside a namespace on its address. Its data dir is in
// t.TempDir(); it is killed when the test ends.
type Etcd struct {
	// Endpoint is the client URL (http://ip:port).
	Endpoint string

	t       testing.TB
	ns      *NS
	args    []string
	logPath string
	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartEtcd starts etcd in ns (nil: on 127.0.0.1 with free ports) and waits
// until /health answers true.
func StartEtcd(t testing.TB, ns *NS) *Etcd {
	t.Helper()
	if _, err := exec.LookPath("etcd"); err != nil {
		t.Fatalf("netns: etcd not installed (apt-get install -y etcd-server)")
	}
	dir := t.TempDir()
	e := &Etcd{t: t, ns: ns, logPath: filepath.Join(dir, "etcd.log")}
	ip, clientPort, peerPort := "127.0.0.1", 2379, 2380
	if ns != nil {
		ip = ns.IP
	} else {
		clientPort, peerPort = freePort(t), freePort(t)
	}
	e.Endpoint = fmt.Sprintf("http://%s:%d", ip, clientPort)
	peer := fmt.Sprintf("http://%s:%d", ip, peerPort)
	e.args = []string{
		"--name", "e0", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", e.Endpoint, "--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "e0=" + peer, "--log-level", "warn",
		// Let clients ping every second (gRPC keepalive) to notice a cut.
		"--grpc-keepalive-min-time", "500ms",
		// etcd's shortest lease is 1.5 election timeouts, rounded up to a
		// second: 500 ms allows the 1 s leases of the failover runs.
		"--heartbeat-interval", "50", "--election-timeout", "500",
	}
	t.Cleanup(func() {
		e.Kill()
		if t.Failed() {
			if b, err := os.ReadFile(e.logPath); err == nil && len(b) > 0 {
				if len(b) > 4096 {
					b = b[len(b)-4096:]
				}
				t.Logf("etcd log tail:\n%s", b)
			}
		}
	})
	if err := e.Start(); err != nil {
		t.Fatalf("netns: %v", err)
	}
	return e
}

// Start (re)starts the server on the same data dir and ports and waits
// until it is healthy (20 s at most).
func (e *Etcd) Start() error {
	e.mu.Lock()
	if e.cmd != nil {
		e.mu.Unlock()
		return fmt.Errorf("etcd already running")
	}
	logf, err := os.OpenFile(e.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		e.mu.Unlock()
		return err
	}
	var cmd *exec.Cmd
	if e.ns != nil {
		cmd = e.ns.Command(context.Background(), "etcd", e.args...)
	} else {
		cmd = exec.Command("etcd", e.args...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		_ = logf.Close()
		e.mu.Unlock()
		return fmt.Errorf("start etcd: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); _ = logf.Close(); close(exited) }()
	e.cmd, e.exited = cmd, exited
	e.mu.Unlock()
	return e.waitHealthy(exited)
}

func (e *Etcd) waitHealthy(exited chan struct{}) error {
	client := &http.Client{Timeout: time.Second}
	if e.ns != nil {
		client.Transport = &http.Transport{DialContext: e.ns.DialContext, DisableKeepAlives: true}
	} else {
		client.Transport = &http.Transport{DisableKeepAlives: true}
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("etcd exited while starting (log: %s)", e.logPath)
		default:
		}
		resp, err := client.Get(e.Endpoint + "/health")
		if err == nil {
			buf := make([]byte, 256)
			n, _ := resp.Body.Read(buf)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK && containsTrue(buf[:n]) {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond) //nolint:forbidigo // polling an external process until healthy
	}
	return fmt.Errorf("etcd not healthy after 20s (log: %s)", e.logPath)
}

func containsTrue(b []byte) bool {
	for i := 0; i+4 <= len(b); i++ {
		if string(b[i:i+4]) == "true" {
			return true
		}
	}
	return false
}

// Pid is the server's pid (0 when stopped).
func (e *Etcd) Pid() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return 0
	}
	return e.cmd.Process.Pid
}

// Signal sends sig to the running server.
func (e *Etcd) Signal(sig syscall.Signal) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return fmt.Errorf("etcd not running")
	}
	return e.cmd.Process.Signal(sig)
}

// Kill SIGKILLs the server (also when stopped) and waits for it to exit.
func (e *Etcd) Kill() {
	e.mu.Lock()
	cmd, exited := e.cmd, e.exited
	e.cmd = nil
	e.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Kill()
	<-exited
}

// freePort asks the kernel for a free port on 127.0.0.1.
func freePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("netns: free port: %v", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}
