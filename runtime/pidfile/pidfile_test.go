package pidfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// helperEnv makes the test binary act as a second daemon: it acquires the
// pid file named by the variable, prints "locked", then holds it until its
// stdin closes (or it is killed).
const helperEnv = "SUPERBOT_PIDFILE_TEST_HOLDER"

func TestMain(m *testing.M) {
	if path := os.Getenv(helperEnv); path != "" {
		p, err := Acquire(path)
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(2)
		}
		fmt.Println("locked")
		_, _ = io.Copy(io.Discard, os.Stdin)
		if err := p.Release(); err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// holder is a second process holding the pid file.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startHolder(t *testing.T, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		t.Fatalf("holder: %q, %v", line, err)
	}
	return h
}

func TestAcquireRelease(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state", "daemon.pid")
	p, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Dir(path))
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("dir mode = %v, %v; want 0700", st.Mode().Perm(), err)
	}
	pid, alive, err := Read(path)
	if err != nil || pid != os.Getpid() || !alive {
		t.Errorf("Read = %d, %v, %v; want %d, true", pid, alive, err, os.Getpid())
	}
	if _, err := Acquire(path); !errors.Is(err, ErrRunning) {
		t.Errorf("second Acquire in the same process: %v, want ErrRunning", err)
	}
	for range 2 { // idempotent
		if err := p.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there after Release: %v", err)
	}
	if _, _, err := Read(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Read after Release: %v, want os.ErrNotExist", err)
	}
}

func TestLockAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.pid")
	h := startHolder(t, path)
	child := h.cmd.Process.Pid

	_, err := Acquire(path)
	if !errors.Is(err, ErrRunning) {
		t.Fatalf("Acquire = %v, want ErrRunning", err)
	}
	if want := fmt.Sprintf("already running (pid %d)", child); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if pid, alive, err := Read(path); pid != child || !alive || err != nil {
		t.Errorf("Read = %d, %v, %v; want %d, true", pid, alive, err, child)
	}

	// The holder releases and exits: the file is gone and free.
	_ = h.stdin.Close()
	if err := h.cmd.Wait(); err != nil {
		t.Fatalf("holder: %v", err)
	}
	p, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the holder released: %v", err)
	}
	defer p.Release()
}

func TestStaleFileIsReplaced(t *testing.T) {
	tests := []struct {
		name  string
		stale func(t *testing.T, path string) int // leaves a stale file, returns the pid in it
	}{
		{"holder killed", func(t *testing.T, path string) int {
			h := startHolder(t, path)
			_ = h.cmd.Process.Signal(syscall.SIGKILL)
			_ = h.cmd.Wait()
			return h.cmd.Process.Pid
		}},
		{"file written by hand", func(t *testing.T, path string) int {
			if err := os.WriteFile(path, []byte("999999999\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			return 999999999
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "daemon.pid")
			stalePID := tt.stale(t, path)
			if pid, alive, err := Read(path); pid != stalePID || alive || err != nil {
				t.Errorf("Read stale = %d, %v, %v; want %d, false", pid, alive, err, stalePID)
			}
			p, err := Acquire(path)
			if err != nil {
				t.Fatalf("Acquire over a stale file: %v", err)
			}
			defer p.Release()
			data, _ := os.ReadFile(path)
			if got := strings.TrimSpace(string(data)); got != strconv.Itoa(os.Getpid()) {
				t.Errorf("file holds %q, want our pid %d", got, os.Getpid())
			}
		})
	}
}

func TestReaderDoesNotBlockAcquire(t *testing.T) {
	path := filepath.Join(t.TempDir(), "daemon.pid")
	if err := os.WriteFile(path, []byte("1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A reader holding its shared lock (as Read does for a moment).
	r, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := flock(r, unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	_, err = Acquire(path)
	if errors.Is(err, ErrRunning) {
		t.Fatalf("a reader's shared lock looked like a running daemon: %v", err)
	}
	r.Close()
	p, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	p.Release()
}
