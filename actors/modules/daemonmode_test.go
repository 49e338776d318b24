package modules

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"

	"github.com/superbot/superbot/messages"
)

// daemonModeEnv makes the test binary a stand-in daemon: it runs a modules
// supervisor with two helper modules and waits to be killed.
const daemonModeEnv = "MODULES_TEST_DAEMON"

func runDaemonMode() {
	helperBin := os.Getenv(daemonModeEnv)
	sys := actor.NewActorSystem()
	m := execModule(helperBin, "-ignore-term")
	childPIDFile := os.Getenv(daemonModeEnv + "_CHILD_PID_FILE")
	family := execModule(helperBin, "-child", "-child-pid-file", childPIDFile)
	escapeePIDFile := os.Getenv(daemonModeEnv + "_ESCAPEE_PID_FILE")
	escape := execModule("/bin/sh", "-c", `setsid /bin/sh -c 'echo $$ > "$0"; exec sleep 300' "$0" & exec sleep 300`, escapeePIDFile)
	cfg := Config{Modules: map[string]ModuleConfig{"one": m, "two": m, "family": family, "escape": escape}}
	pid := sys.Root.Spawn(Props(cfg, Deps{}))
	start := func(name string) int32 {
		res, err := sys.Root.RequestFuture(pid, &messages.ModuleStartRequest{Module: name}, 10*time.Second).Result()
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		return res.(*messages.ModuleStartResponse).GetStatus().GetPid()
	}
	one := start("one")
	// golang/go#27505: threads that end take their forked children's
	// parent-death signal with them. End many threads, from goroutines that
	// lock them and return, then start another module.
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		}()
	}
	wg.Wait()
	two := start("two")
	start("family")
	start("escape")
	for _, f := range []string{childPIDFile, escapeePIDFile} { // once the modules have written them (off any actor)
		for {
			if b, err := os.ReadFile(f); err == nil && len(b) > 0 {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	fmt.Printf("PIDS %d %d\n", one, two)
	select {}
}

// waitGone waits until pid has exited (zombie or reaped), with a pidfd.
func waitGone(pid int, timeout time.Duration) bool {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return true // already gone
	}
	defer unix.Close(fd)
	deadline := time.Now().Add(timeout)
	for {
		n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, int(max(0, time.Until(deadline))/time.Millisecond))
		if err != unix.EINTR || !time.Now().Before(deadline) { // EINTR: the runtime's preemption signal
			return n > 0
		}
	}
}

func TestNoModuleOutlivesAKilledDaemon(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	tmp := t.TempDir()
	childPIDFile, escapeePIDFile := filepath.Join(tmp, "grandchild.pid"), filepath.Join(tmp, "escapee.pid")
	cmd.Env = append(os.Environ(), daemonModeEnv+"="+helper(t), daemonModeEnv+"_CHILD_PID_FILE="+childPIDFile,
		daemonModeEnv+"_ESCAPEE_PID_FILE="+escapeePIDFile)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "PIDS ") {
		t.Fatalf("daemon said %q, %v", line, err)
	}
	var one, two int
	if _, err := fmt.Sscanf(line, "PIDS %d %d", &one, &two); err != nil {
		t.Fatal(err)
	}
	// No child died early: the fork thread outlived the ended threads.
	if waitGone(one, 300*time.Millisecond) || waitGone(two, 10*time.Millisecond) {
		t.Fatalf("a module died with its forking thread (one %v, two %v)", alive(one), alive(two))
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for _, pid := range []int{one, two} {
		if !waitGone(pid, 5*time.Second) {
			t.Errorf("module pid %d outlived the killed daemon", pid)
		}
	}
	// The grandchild (same process group, not the daemon's child) and the
	// escapee (a descendant in a session of its own) are ended by the
	// module guard. The figure is 1 s; the bound leaves room for a vCPU
	// that wakes late.
	for _, f := range []string{childPIDFile, escapeePIDFile} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		pid := atoi(string(b))
		t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
		if !waitGone(pid, 5*time.Second) {
			t.Errorf("%s: pid %d outlived the killed daemon", filepath.Base(f), pid)
		}
	}
}
