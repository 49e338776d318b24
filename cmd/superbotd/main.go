// Command superbotd is the SuperBot daemon: it hosts the user's trading
// modules under one supervision tree and serves JSON-RPC 2.0 on a Unix
// socket. See README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"

	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/runtime/daemon"
)

// defaultGCPercent is the daemon's GOGC unless the environment sets one.
const defaultGCPercent = 50

func main() {
	// The heap profiler keeps a record, outside the heap, for every
	// allocation stack it samples, and rare paths add records for hours.
	// Off unless a heap profile is asked for.
	if os.Getenv("SUPERBOT_MEMPROFILE") == "" {
		runtime.MemProfileRate = 0
	}
	// The daemon's live heap is small (3 MB with 20 strategies trading) and
	// Go's default (GOGC=100) lets the heap grow to twice that between
	// collections. Half of that keeps the resident set about 3 MiB lower
	// for a collection every few seconds instead of every few tens.
	// GOGC in the environment wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("superbotd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "config file or directory (default: embedded defaults overlaid by ./config)")
	check := fs.Bool("t", false, "check the config, print every problem, and exit 0 (ok) or 1")
	version := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: superbotd [-c FILE|DIR] [-t] [-version]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "superbotd: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	switch {
	case *version:
		fmt.Fprintln(stdout, "superbotd", daemon.Version)
		return 0
	case *check:
		return config.Check(*cfgPath, stdout)
	}
	if path := os.Getenv("SUPERBOT_CPUPROFILE"); path != "" { // for profiling a running daemon
		if f, err := os.Create(path); err == nil {
			if err := pprof.StartCPUProfile(f); err == nil {
				defer pprof.StopCPUProfile()
			}
		}
	}
	code := daemon.Run(daemon.Options{ConfigPath: *cfgPath, Stderr: stderr})
	if path := os.Getenv("SUPERBOT_MEMPROFILE"); path != "" { // the heap as the daemon stopped
		if f, err := os.Create(path); err == nil {
			_ = pprof.Lookup("heap").WriteTo(f, 0)
			_ = f.Close()
		}
	}
	return code
}
