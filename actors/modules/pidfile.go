package modules

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pidFile is .superbot/NAME.pid: "PID STARTTICKS\n" while the module's
// process runs, empty when it does not, removed when the module actor
// stops. The start time (field 22 of /proc/PID/stat) tells a survivor of a
// crashed daemon from an unrelated process that reused the PID.
//
// The file is created once and then rewritten in place through a kept
// descriptor: creating files is what a start would otherwise pay for. Its
// methods other than survivor run on the file goroutine only (fileIO).
type pidFile struct {
	path string
	f    *os.File
}

func newPIDFile(stateDir, name string) *pidFile {
	if stateDir == "" {
		return &pidFile{}
	}
	return &pidFile{path: filepath.Join(stateDir, name+".pid")}
}

// write records pid, in place: a torn file reads as malformed and is
// treated as stale, and the start time guards against PID reuse.
func (f *pidFile) write(pid int, ticks uint64) error {
	if f.path == "" {
		return nil
	}
	if f.f == nil {
		fd, err := os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o600)
		if errors.Is(err, os.ErrNotExist) {
			if err = os.MkdirAll(filepath.Dir(f.path), 0o700); err == nil {
				fd, err = os.OpenFile(f.path, os.O_RDWR|os.O_CREATE, 0o600)
			}
		}
		if err != nil {
			return err
		}
		f.f = fd
	}
	b := fmt.Appendf(nil, "%d %d\n", pid, ticks)
	if err := f.f.Truncate(0); err != nil {
		f.discard()
		return err
	}
	if _, err := f.f.WriteAt(b, 0); err != nil {
		f.discard()
		return err
	}
	return nil
}

// clear empties the file: no process runs.
func (f *pidFile) clear() {
	if f.f != nil {
		if f.f.Truncate(0) == nil {
			return
		}
		f.discard()
	}
	if f.path != "" {
		_ = os.Remove(f.path)
	}
}

// discard closes and removes the file: the module actor stops.
func (f *pidFile) discard() {
	if f.f != nil {
		_ = f.f.Close()
		f.f = nil
	}
	if f.path != "" {
		_ = os.Remove(f.path)
	}
}

// read returns the recorded pid and start ticks.
func (f *pidFile) read() (int, uint64, error) {
	b, err := os.ReadFile(f.path)
	if err != nil {
		return 0, 0, err
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, 0, os.ErrNotExist // empty: nothing ran
	}
	if len(fields) != 2 {
		return 0, 0, fmt.Errorf("%s: malformed", f.path)
	}
	pid, err1 := strconv.Atoi(fields[0])
	ticks, err2 := strconv.ParseUint(fields[1], 10, 64)
	if err1 != nil || err2 != nil || pid <= 1 {
		return 0, 0, fmt.Errorf("%s: malformed", f.path)
	}
	return pid, ticks, nil
}

// survivor returns the pid of a process left by an earlier daemon: the
// pid file names a live process with the recorded start time. A stale or
// malformed file is removed.
func (f *pidFile) survivor() int {
	if f.path == "" {
		return 0
	}
	pid, ticks, err := f.read()
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			_ = os.Remove(f.path)
		}
		return 0
	}
	now, err := startTicks(pid)
	switch {
	case err == nil && now == ticks:
		return pid // the module's process itself survived
	case err != nil && syscall.Kill(-pid, 0) == nil:
		// The leader is gone but its process group lives on (uvicorn's
		// workers, flask's reloader child): Linux does not reuse a pid
		// while a group bears its number, so the group is the module's.
		return pid
	}
	_ = os.Remove(f.path)
	return 0
}

// startTicks reads a process's start time, in clock ticks since boot.
func startTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed stat")
	}
	fields := strings.Fields(string(b[i+1:]))
	if len(fields) < 20 {
		return 0, errors.New("malformed stat")
	}
	return strconv.ParseUint(fields[19], 10, 64) // field 22: starttime
}

// killSurvivor SIGKILLs a survivor's process group and waits (bounded by
// timeout) until the leader is gone, with a pidfd (it is not our child, so
// it can't be waited for), and then until no process of the group is left:
// the module starts afresh only once nothing of the old copy runs. It
// blocks: run it off the actor goroutine.
func killSurvivor(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	fd, err := unix.PidfdOpen(pid, 0)
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = syscall.Kill(pid, syscall.SIGKILL)
	switch {
	case err == nil:
		defer func() { _ = unix.Close(fd) }()
		if err := waitPidfd(fd, pid, deadline); err != nil {
			return err
		}
	case !errors.Is(err, syscall.ESRCH):
		return fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	// The rest of the group (a leader's children) dies of the same
	// SIGKILL; the group counts as gone once its orphans are reaped.
	tick := time.NewTicker(time.Millisecond) // off the actor goroutine (see above)
	defer tick.Stop()
	for syscall.Kill(-pid, 0) == nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("process group %d still alive after SIGKILL", pid)
		}
		<-tick.C
	}
	return nil
}

// waitPidfd waits until the process behind fd has exited.
func waitPidfd(fd, pid int, deadline time.Time) error {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		ms := int(time.Until(deadline) / time.Millisecond)
		if ms <= 0 {
			return fmt.Errorf("process %d still alive after SIGKILL", pid)
		}
		n, err := unix.Poll(fds, ms)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll pidfd %d: %w", pid, err)
		}
		if n > 0 {
			return nil
		}
	}
}
