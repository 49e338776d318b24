// Package pidfile keeps the daemon's pid file: created and locked (flock)
// at start, so a second daemon sees "already running", and replaced when it
// is stale (left by a process that died without removing it: the kernel
// dropped its lock).
package pidfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// ErrRunning is wrapped by Acquire when a live process holds the pid file.
var ErrRunning = errors.New("already running")

// PIDFile is a pid file held (locked) by this process.
type PIDFile struct {
	path string
	mu   sync.Mutex
	f    *os.File // nil once released
}

// Acquire creates path (and its directory, 0700), locks it exclusively
// without blocking and writes our pid. If another live process holds it,
// the error wraps ErrRunning and names that pid: "already running (pid N)".
func Acquire(path string) (*PIDFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("pid file: create dir: %w", err)
	}
	// The holder removes the file before unlocking it, so the inode we lock
	// may be gone by then: retry until the locked file is the one at path.
	for range 10 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("pid file: open: %w", err)
		}
		if err := flock(f, unix.LOCK_EX); err != nil {
			// A shared lock is Read peeking for a moment, not a daemon:
			// if we can share it, nobody holds it exclusively; try again.
			shared := errors.Is(err, unix.EWOULDBLOCK) && flock(f, unix.LOCK_SH) == nil
			_ = f.Close()
			switch {
			case shared:
				continue
			case errors.Is(err, unix.EWOULDBLOCK):
				pid, _ := readPID(path)
				return nil, fmt.Errorf("pid file %s: %w (pid %d)", path, ErrRunning, pid)
			}
			return nil, fmt.Errorf("pid file: lock: %w", err)
		}
		if same, err := sameFile(f, path); err != nil || !same {
			_ = f.Close() // unlocks
			continue
		}
		if err := writePID(f); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("pid file: write: %w", err)
		}
		return &PIDFile{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("pid file %s: lock: contended, gave up", path)
}

// Path returns the pid file's path.
func (p *PIDFile) Path() string { return p.path }

// Release removes the file and then unlocks it. It is idempotent.
func (p *PIDFile) Release() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.f == nil {
		return nil
	}
	f := p.f
	p.f = nil
	err := os.Remove(p.path)
	if errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("pid file: release: %w", err)
	}
	return nil
}

// Read returns the pid written in path and whether a live process holds its
// lock (a pid with alive false is stale). It takes a shared lock for a
// moment to find out, which Acquire tolerates. A missing file is an error
// wrapping os.ErrNotExist.
func Read(path string) (pid int, alive bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false, fmt.Errorf("pid file: %w", err)
	}
	defer f.Close()
	pid, perr := readPID(path)
	switch err := flock(f, unix.LOCK_SH); {
	case errors.Is(err, unix.EWOULDBLOCK):
		alive = true
	case err != nil:
		return pid, false, fmt.Errorf("pid file: lock: %w", err)
	}
	if perr != nil && alive {
		// Locked but not written yet: the holder is starting.
		return 0, true, nil
	}
	if perr != nil {
		return 0, false, perr
	}
	return pid, alive, nil
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// sameFile reports whether the open f is still the file at path.
func sameFile(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

func readPID(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("pid file %s: no pid in %q", path, data)
	}
	return pid, nil
}
