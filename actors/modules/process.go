package modules

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
)

// proc is one running module process: the leader of its own process group.
type proc struct {
	cmd     *exec.Cmd
	pid     int
	started time.Time
	ticks   uint64        // start time in clock ticks since boot (PID reuse check)
	done    chan struct{} // closed by the waiter goroutine when the leader is reaped
	exit    exitInfo      // valid once done is closed
}

// exitInfo is how a process ended.
type exitInfo struct {
	code   int
	signal string
	err    error
	at     time.Time
}

func (e exitInfo) proto(reason string) *messages.ModuleExit {
	return &messages.ModuleExit{Code: int32(e.code), Signal: e.signal, Reason: reason, Time: timestamppb.New(e.at)}
}

func (e exitInfo) String() string {
	if e.signal != "" {
		return "killed by " + e.signal
	}
	if e.err != nil && e.code < 0 {
		return e.err.Error()
	}
	return fmt.Sprintf("exit code %d", e.code)
}

// alive reports whether the leader has not been reaped yet.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signalGroup sends sig to the whole process group (the leader's pid is the
// group id). A group that is already gone is not an error.
func (p *proc) signalGroup(sig syscall.Signal) {
	if p.pid <= 1 {
		return // never signal our own group (kill(0)) or init
	}
	_ = syscall.Kill(-p.pid, sig)
	if p.alive() {
		_ = syscall.Kill(p.pid, sig) // the leader may have left its group
	}
}

var (
	devNullOnce sync.Once
	devNullFile *os.File
)

// devNull is the modules' stdin, opened once (exec.Cmd would open it on
// every start). nil, if it can't be opened, makes exec.Cmd open its own.
func devNull() *os.File {
	devNullOnce.Do(func() { devNullFile, _ = os.Open(os.DevNull) })
	return devNullFile
}

// forkRequest asks the fork thread to start cmd.
type forkRequest struct {
	cmd  *exec.Cmd
	done func(error)
}

var (
	forkOnce sync.Once
	forkCh   chan forkRequest
)

// forkThreads is how many fork threads start processes side by side: with
// CLONE_VFORK a fork thread waits until its child has exec'd, so one thread
// would start modules strictly one after the other.
const forkThreads = 4

// startProcess starts cmd from a fork thread: goroutines locked to their
// OS threads for the life of the daemon, because the parent-death signal
// follows the thread that forked (golang/go#27505), and a Go thread that
// exits would take every child it forked with it. done runs on that
// goroutine with the result of cmd.Start, and must not block.
func startProcess(cmd *exec.Cmd, done func(error)) {
	forkOnce.Do(func() {
		forkCh = make(chan forkRequest, 4096)
		for range forkThreads {
			go forkLoop(forkCh)
		}
	})
	forkCh <- forkRequest{cmd: cmd, done: done}
}

// forkLoop is the fork thread. It never returns, so its thread never exits.
func forkLoop(ch <-chan forkRequest) {
	runtime.LockOSThread()
	for req := range ch {
		req.done(req.cmd.Start())
	}
}

// sysProcAttr puts the child in its own process group and has the kernel
// SIGKILL it when the forking thread (the fork thread, alive as long as the
// daemon) dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// launch builds the command, connects its output to sink and starts it
// asynchronously; started runs (on the fork thread) with the process or an
// error, exited (on a waiter goroutine) once it has been reaped.
func launch(argv, env []string, dir string, sink *logSink, started func(*proc, error), exited func(*proc)) {
	outR, outW, err := os.Pipe()
	if err != nil {
		started(nil, fmt.Errorf("pipe: %w", err))
		return
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		_ = outR.Close()
		_ = outW.Close()
		started(nil, fmt.Errorf("pipe: %w", err))
		return
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	if dn := devNull(); dn != nil {
		cmd.Stdin = dn
	}
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.SysProcAttr = sysProcAttr()
	startProcess(cmd, func(err error) {
		_ = outW.Close()
		_ = errW.Close()
		if err != nil {
			_ = outR.Close()
			_ = errR.Close()
			started(nil, err)
			return
		}
		p := &proc{cmd: cmd, pid: cmd.Process.Pid, started: time.Now(), done: make(chan struct{})}
		p.ticks, _ = startTicks(p.pid)
		drained := make(chan struct{})
		var open atomic.Int32
		open.Store(2)
		pump := func(r *os.File, stream string) {
			sink.pump(r, stream)
			if open.Add(-1) == 0 {
				close(drained)
			}
		}
		go pump(outR, "stdout")
		go pump(errR, "stderr")
		started(p, nil) // first, so that the actor hears of the start before the exit
		if err := guardGroup(p.pid); err != nil {
			sink.note("no parent-death guard for this process: " + err.Error())
		}
		usage.watch(p.pid)
		go wait(p, drained, exited) // off the actor goroutine: blocks until the leader exits
	})
}

// drainTimeout bounds the wait for a module's output after its process
// has exited: a descendant that left the process group may hold the pipes.
const drainTimeout = 500 * time.Millisecond

// wait reaps the leader, ends the rest of its process group, waits until
// its output has been read to the end (drained closes; bounded by
// drainTimeout), so that every line the process wrote is recorded before
// its exit is reported (and before any replacement starts), and reports.
func wait(p *proc, drained <-chan struct{}, exited func(*proc)) {
	ws, err := reap(p.pid)
	if err == nil {
		_ = p.cmd.Process.Release() // reaped here: os/exec has nothing to wait for
	} else if err = p.cmd.Wait(); p.cmd.ProcessState != nil { // no pidfd: wait(2) holds a thread
		ws, _ = p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		err = nil
	}
	p.exit = exitInfo{code: ws.ExitStatus(), err: err, at: time.Now()}
	if err != nil {
		p.exit.code = -1
	} else if ws.Signaled() {
		p.exit.signal = signalName(ws.Signal())
	}
	_ = syscall.Kill(-p.pid, syscall.SIGKILL) // stragglers of the group; they hold the pipes too
	t := time.NewTimer(drainTimeout)
	select {
	case <-drained:
	case <-t.C:
	}
	t.Stop()
	unguardGroup(p.pid)
	usage.unwatch(p.pid)
	close(p.done)
	exited(p)
}

// reap waits for the child pid to exit and reaps it, parked in the
// runtime's poller on a pidfd. A wait(2) (cmd.Wait) would block an OS
// thread per module instead: a hundred modules meant a hundred threads, and
// each blocking call stranded its processor until the runtime's monitor
// took it back, in 4 ms clock steps on these VMs. An error means the child
// was not reaped.
func reap(pid int) (syscall.WaitStatus, error) {
	var ws syscall.WaitStatus
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if err != nil {
		return ws, err
	}
	f := os.NewFile(uintptr(fd), "pidfd") // non-blocking: the poller watches it
	defer func() { _ = f.Close() }()
	rc, err := f.SyscallConn()
	if err != nil {
		return ws, err
	}
	var werr error
	err = rc.Read(func(uintptr) bool { // false: wait until the pidfd is readable (the child exited)
		for {
			var wpid int
			wpid, werr = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			if werr != syscall.EINTR {
				return wpid != 0 || werr != nil
			}
		}
	})
	if err == nil {
		err = werr
	}
	return ws, err
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	case syscall.SIGPIPE:
		return "SIGPIPE"
	default:
		return fmt.Sprintf("signal %d", int(s))
	}
}
