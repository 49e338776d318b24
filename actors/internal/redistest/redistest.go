// Package redistest runs a real redis-server for tests: started by the test
// on a free 127.0.0.1 port without persistence, killed (SIGKILL) and
// restarted on the same port at will, and reaped at cleanup.
package redistest

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/superbot/superbot/actors/internal/actortest"
)

// Server is a real redis-server started by the test on 127.0.0.1.
type Server struct {
	t    testing.TB
	bin  string
	port int
	cmd  *exec.Cmd
	// Password is the server's requirepass ("" for none).
	Password string
}

// Require finds redis-server and returns its path. Without it the test is
// skipped, except under CI=true, where a missing server is a failure.
func Require(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not installed (Debian: apt-get install -y redis-server); Redis tests need a real server"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// Start runs redis-server on a free port without persistence and waits
// until it answers PING. The server is killed when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return StartWithPassword(t, "")
}

// StartWithPassword is Start with requirepass set to password ("" for
// none).
func StartWithPassword(t testing.TB, password string) *Server {
	t.Helper()
	s := &Server{t: t, bin: Require(t), port: FreePort(t), Password: password}
	s.Start()
	t.Cleanup(s.Kill)
	return s
}

// FreePort returns a 127.0.0.1 TCP port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

// Start (re)starts the server on its port and waits until it answers PING.
func (s *Server) Start() {
	s.t.Helper()
	args := []string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--loglevel", "warning"}
	if s.Password != "" {
		args = append(args, "--requirepass", s.Password)
	}
	s.cmd = exec.Command(s.bin, args...)
	w := &logWriter{t: s.t}
	s.cmd.Stdout, s.cmd.Stderr = w, w
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start redis-server: %v", err)
	}
	actortest.Eventually(s.t, 10*time.Second, s.answers, "redis-server on %s answers PING", s.Addr())
}

// answers sends one inline PING over a fresh connection (AUTH first when
// the server has a password).
func (s *Server) answers() bool {
	c, err := net.DialTimeout("tcp", s.Addr(), 200*time.Millisecond)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(500 * time.Millisecond))
	r := bufio.NewReader(c)
	if s.Password != "" {
		if _, err := c.Write([]byte("AUTH " + s.Password + "\r\n")); err != nil {
			return false
		}
		if line, err := r.ReadString('\n'); err != nil || !strings.HasPrefix(line, "+OK") {
			return false
		}
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := r.ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// Kill stops the server hard (SIGKILL), paused or not, and reaps it.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Pause stops the server (SIGSTOP): connections stay open, nothing
// answers. Resume undoes it.
func (s *Server) Pause() { s.signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() { s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) {
	s.t.Helper()
	if s.cmd == nil || s.cmd.Process == nil {
		s.t.Fatal("redis-server is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal redis-server: %v", err)
	}
}

// Client opens a direct connection to database db, closed when the test
// ends.
func (s *Server) Client(db int) *redis.Client {
	c := redis.NewClient(&redis.Options{Addr: s.Addr(), Password: s.Password, DB: db, DisableIdentity: true, MaxRetries: -1})
	s.t.Cleanup(func() { _ = c.Close() })
	return c
}

// logWriter sends redis-server's output to the test log.
type logWriter struct{ t testing.TB }

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Log("redis-server: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
