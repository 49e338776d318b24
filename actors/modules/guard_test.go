package modules

import (
	"fmt"
	"io"
	"syscall"
	"testing"
	"time"
)

// TestGuardKillsTheGroupsListedAtEOF: the guard kills the process groups
// still listed when its input ends, and spares those taken off the list.
func TestGuardKillsTheGroupsListedAtEOF(t *testing.T) {
	start := func() int {
		cmd := execCommand("/bin/sh", "-c", "sleep 60 & exec sleep 60") // a leader and a group member
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { _ = cmd.Wait() }()
		t.Cleanup(func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
		return cmd.Process.Pid
	}
	kept, gone := start(), start()
	r, w := io.Pipe()
	done := make(chan int)
	go func() { done <- runGuard(r, "test-no-such-daemon") }()
	fmt.Fprintf(w, "+%d\n+%d\nbad\n+x\n-%d\n", kept, gone, kept)
	w.Close()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the guard did not end at EOF")
	}
	actorEventually(t, func() bool { return !alive(gone) }, "group %d killed", gone)
	if !alive(kept) {
		t.Errorf("group %d, taken off the list, was killed", kept)
	}
}
