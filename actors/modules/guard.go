package modules

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The module guard is a small process that outlives the daemon just long
// enough to end every module's processes when the daemon dies, however it
// dies (kill -9 included).
//
// The parent-death signal (sysProcAttr) reaches a module's own process
// only; what it forked (uvicorn's workers, multiprocessing's resource
// tracker, a shell's children) would live on under PID 1. So the daemon
// starts one guard, a copy of its own executable in guard mode (guardEnv),
// whose stdin is a pipe only the daemon can write to (its end is
// close-on-exec, so no module holds it). The daemon writes "+PGID" when a
// module's process starts (the module is the leader of its own group) and
// "-PGID" once that group is gone. When the daemon dies, the kernel closes
// its end; the guard reads EOF, SIGKILLs every group still listed, then
// every process whose environment names this daemon (EnvDaemon: a
// descendant that left the module's group with setsid or setpgid still
// carries it), and exits.
//
// Why one guard per daemon and not a supervisor process per module: a
// module start pays nothing for it (one short write), a crashed module's
// replacement no extra exec, and ten modules no ten extra processes. What
// it does not cover: a descendant that both leaves the module's process
// group and drops SUPERBOT_DAEMON from its environment.

// guardEnv, set to the daemon's id (daemonID), makes a process that links
// this package the module guard of that daemon (see init).
const guardEnv = "SUPERBOT_MODULE_GUARD"

// guardName is the guard's argv[0], as ps shows it.
const guardName = "superbot-module-guard"

// guardWriteTimeout bounds a write to a guard that does not read.
const guardWriteTimeout = time.Second

func init() {
	if id := os.Getenv(guardEnv); id != "" {
		signal.Ignore(syscall.SIGINT, syscall.SIGHUP) // the daemon's terminal is not ours
		os.Exit(runGuard(os.Stdin, id))
	}
}

// runGuard is the guard's main: it keeps the set of live module groups
// that r announces, and when r ends (the daemon died), kills them all and
// then every process that carries EnvDaemon=daemon.
func runGuard(r io.Reader, daemon string) int {
	groups := map[int]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 2 {
			continue
		}
		pgid, err := strconv.Atoi(line[1:])
		if err != nil || pgid <= 1 {
			continue
		}
		switch line[0] {
		case '+':
			groups[pgid] = true
		case '-':
			delete(groups, pgid)
		}
	}
	for pgid := range groups {
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	// A process may fork while the scan runs: scan until a pass finds
	// nothing (bounded).
	for range 10 {
		if killMarked([]byte("\x00"+EnvDaemon+"="+daemon+"\x00")) == 0 {
			break
		}
	}
	return 0
}

// killMarked SIGKILLs every other process whose environment holds mark,
// and returns how many it found.
func killMarked(mark []byte) int {
	d, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	names, _ := d.Readdirnames(-1)
	_ = d.Close()
	self, n := os.Getpid(), 0
	for _, name := range names {
		pid, err := strconv.Atoi(name)
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile("/proc/" + name + "/environ")
		if err != nil || !bytes.Contains(append([]byte{0}, env...), mark) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}

var (
	daemonIDOnce sync.Once
	daemonIDText string
)

// daemonID names this daemon process: its pid and start time (so a later
// process with the same pid is another daemon).
func daemonID() string {
	daemonIDOnce.Do(func() {
		pid := os.Getpid()
		ticks, _ := startTicks(pid)
		daemonIDText = strconv.Itoa(pid) + "." + strconv.FormatUint(ticks, 10)
	})
	return daemonIDText
}

// DaemonID is the value of EnvDaemon this daemon gives its modules: the
// edge tells module peers from the owner by it.
func DaemonID() string { return daemonID() }

// guardian is the daemon's side of the guard.
type guardian struct {
	mu     sync.Mutex
	w      *os.File // the guard's stdin; nil until the first group
	pid    int
	groups map[int]bool
}

var theGuard = &guardian{groups: map[int]bool{}}

// guardGroup has the guard kill process group pgid if the daemon dies. It
// runs on a fork thread, right after the start; the first call starts the
// guard.
func guardGroup(pgid int) error {
	return theGuard.update(pgid, true)
}

// unguardGroup forgets pgid: its process group is gone.
func unguardGroup(pgid int) {
	_ = theGuard.update(pgid, false)
}

func (g *guardian) update(pgid int, add bool) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if add {
		g.groups[pgid] = true
	} else {
		delete(g.groups, pgid)
	}
	if g.w == nil {
		if !add {
			return nil
		}
		return g.start() // it is told about every group, this one included
	}
	op := byte('-')
	if add {
		op = '+'
	}
	if err := g.write(fmt.Appendf(nil, "%c%d\n", op, pgid)); err != nil {
		return g.start() // the guard is gone: a new one, told about every group
	}
	return nil
}

// start starts a guard (ending the last one, if any) and tells it about
// every live group. It holds g.mu.
func (g *guardian) start() error {
	g.stop()
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("module guard: pipe: %w", err)
	}
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{guardName}
	cmd.Env = []string{guardEnv + "=" + daemonID()}
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // out of the daemon's group: a Ctrl-C there is not for it
	err = cmd.Start()
	_ = r.Close()
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("module guard: %w", err)
	}
	g.w, g.pid = w, cmd.Process.Pid
	_ = cmd.Process.Release() // reaped by stop, or by init once the daemon is gone
	var b []byte
	for pgid := range g.groups {
		b = fmt.Appendf(b, "+%d\n", pgid)
	}
	if err := g.write(b); err != nil {
		return fmt.Errorf("module guard: %w", err)
	}
	return nil
}

// write writes b to the guard, waiting at most guardWriteTimeout.
func (g *guardian) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_ = g.w.SetWriteDeadline(time.Now().Add(guardWriteTimeout))
	_, err := g.w.Write(b)
	return err
}

// stop ends the current guard, if any, without killing the groups: its
// stdin is closed only after it has been killed.
func (g *guardian) stop() {
	if g.w == nil {
		return
	}
	_ = syscall.Kill(g.pid, syscall.SIGKILL)
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(g.pid, &ws, 0, nil)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	_ = g.w.Close()
	g.w, g.pid = nil, 0
}
