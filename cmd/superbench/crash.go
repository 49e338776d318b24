package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/superbot/superbot/runtime/client"
	"github.com/superbot/superbot/runtime/tsc"
)

// crashModules is how many exec modules the crash figure kills in turn,
// crashesEach times each: the modules' restart cap (3 within 60 s) would
// fail one module killed more often.
const (
	crashModules = 20
	crashesEach  = 3
)

// crashFigures times SIGKILL of a module's process to its replacement
// running (module.status answering a new pid, polled on one connection:
// the poll adds about one call to each reading), against the floor of a
// bare Go loop that kills a child and starts the next one itself.
func crashFigures(w io.Writer, bin, dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("[daemon.logging]\nconsole = false\n[daemon]\nautostart = [")
	for i := 0; i < crashModules; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", fmt.Sprintf("c%d", i))
	}
	b.WriteString("]\n")
	for i := 0; i < crashModules; i++ {
		fmt.Fprintf(&b, "[daemon.modules.c%d]\ntype = \"exec\"\ncommand = [\"sleep\", \"3600\"]\nrestart = \"always\"\nstart_seconds = \"0s\"\n[daemon.modules.c%d.backoff]\ninitial = \"0s\"\n", i, i)
	}
	cfg := filepath.Join(dir, "crash.toml")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o600); err != nil {
		return err
	}
	d, _, err := startDaemon(bin, cfg, filepath.Join(dir, "work"))
	if err != nil {
		return err
	}
	defer func() { _ = d.Process.Signal(syscall.SIGTERM); _ = d.Wait() }()
	c, err := client.Dial(context.Background(), client.Options{StateDir: filepath.Join(dir, "work", ".superbot")})
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()

	unpin := tsc.Pin() // intervals on one CPU's counter
	defer unpin()
	var lat []time.Duration
	for round := 0; round < crashesEach; round++ {
		for i := 0; i < crashModules; i++ {
			took, err := crashOnce(c, fmt.Sprintf("c%d", i))
			if err != nil {
				return err
			}
			lat = append(lat, took)
		}
	}
	floor, err := execLoopFloor(len(lat))
	if err != nil {
		return err
	}
	nLat, nFloor := sameCPU(lat), sameCPU(floor)
	p := tsc.Percentiles(lat, 50, 95)
	f := tsc.Percentiles(floor, 50, 95)
	fmt.Fprintf(w, "crash (SIGKILL) to replacement running, %d crashes: p50 %s p95 %s (%d same-CPU samples)\n", len(lat), p[0], p[1], nLat)
	fmt.Fprintf(w, "floor: bare Go exec loop (kill, reap, start the next), %d runs: p50 %s p95 %s (%d same-CPU samples)\n", len(floor), f[0], f[1], nFloor)
	fmt.Fprintf(w, "ratio: crash to replacement / floor: p50 %.2f, p95 %.2f\n", float64(p[0])/float64(f[0]), float64(p[1])/float64(f[1]))
	return nil
}

type moduleStatus struct {
	Status struct {
		State string `json:"state"`
		Pid   int    `json:"pid"`
	} `json:"status"`
}

// crashOnce kills module name's process and returns the time until
// module.status shows a new one running.
func crashOnce(c *client.Client, name string) (time.Duration, error) {
	params := map[string]string{"module": name}
	var st moduleStatus
	for deadline := time.Now().Add(10 * time.Second); st.Status.State != "running" || st.Status.Pid == 0; {
		if err := c.Call(context.Background(), "module.status", params, &st); err != nil {
			return 0, err
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("module %s not running: %+v", name, st.Status)
		}
	}
	old := st.Status.Pid
	start := tsc.Now()
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill %s (%d): %w", name, old, err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		if err := c.Call(context.Background(), "module.status", params, &st); err != nil {
			return 0, err
		}
		if st.Status.State == "running" && st.Status.Pid != 0 && st.Status.Pid != old {
			return tsc.Since(start), nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("module %s: no replacement within 10 s: %+v", name, st.Status)
		}
	}
}

// execLoopFloor: a Go program that owns a child process, kills it, reaps
// it and starts the next: the least a supervisor can do.
func execLoopFloor(n int) ([]time.Duration, error) {
	cmd := exec.Command("sleep", "3600")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	out := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		start := tsc.Now()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		cmd = exec.Command("sleep", "3600")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		out = append(out, tsc.Since(start))
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	return out, nil
}

// sameCPU counts the valid readings (begun and ended on one CPU).
func sameCPU(ds []time.Duration) int {
	n := 0
	for _, d := range ds {
		if d != tsc.Invalid {
			n++
		}
	}
	return n
}
