// Command helper is the module the modules tests run: it can exit, crash,
// ignore SIGTERM, print a lot, hold memory, spawn a grandchild, and serve
// /health. It is built by the tests into a temporary directory.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	exitCode := flag.Int("exit", -1, "exit with this code after -after (-1: never)")
	after := flag.Duration("after", 0, "delay before -exit")
	crash := flag.Bool("crash", false, "kill itself with SIGKILL after -after")
	ignoreTerm := flag.Bool("ignore-term", false, "ignore SIGTERM")
	lines := flag.Int("print", 0, "print this many lines at start")
	leakMiB := flag.Int("leak", 0, "allocate and touch this many MiB")
	listen := flag.String("listen", "", "serve /health on this address")
	healthFile := flag.String("health-fail-file", "", "while this file exists /health answers 500")
	child := flag.Bool("child", false, "start a grandchild in the same process group")
	pidFile := flag.String("child-pid-file", "", "write the grandchild's pid here")
	flag.Parse()

	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		go func() {
			s := <-sig
			fmt.Println("got", s)
			os.Exit(0)
		}()
	}
	for i := range *lines {
		fmt.Printf("line %d %s\n", i, strings.Repeat("x", 40))
	}
	var hold []byte
	if *leakMiB > 0 {
		hold = make([]byte, *leakMiB<<20)
		for i := 0; i < len(hold); i += 4096 {
			hold[i] = 1
		}
	}
	if *child {
		self, _ := os.Executable()
		cmd := exec.Command(self, "-ignore-term")
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		if *pidFile != "" {
			_ = os.WriteFile(*pidFile, fmt.Appendf(nil, "%d", cmd.Process.Pid), 0o600)
		}
	}
	if *listen != "" {
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			fmt.Fprintln(os.Stderr, "listen:", err)
			os.Exit(4)
		}
		http.HandleFunc("/health", func(w http.ResponseWriter, _ *http.Request) {
			if *healthFile != "" {
				if _, err := os.Stat(*healthFile); err == nil {
					http.Error(w, "unhealthy", http.StatusInternalServerError)
					return
				}
			}
			fmt.Fprintln(w, "ok")
		})
		go func() { _ = http.Serve(ln, nil) }()
	}
	fmt.Fprintln(os.Stderr, "ready", os.Getpid())
	if *crash {
		time.Sleep(*after)
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if *exitCode >= 0 {
		time.Sleep(*after)
		os.Exit(*exitCode)
	}
	_ = hold
	select {}
}
