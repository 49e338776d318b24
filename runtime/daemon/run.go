package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/runtime/pidfile"
)

// Exit codes of superbotd.
const (
	ExitOK      = 0
	ExitFailure = 1
)

// Run starts the daemon, serves until a signal or daemon.stop, shuts down,
// and returns the process exit code. Problems go to stderr.
func Run(opts Options) int {
	d, err := New(opts)
	if err != nil {
		reportStartError(opts, err)
		return ExitFailure
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := d.Start(); err != nil {
		d.log.Error("startup failed", "error", err)
		reportStartError(opts, err)
		return ExitFailure
	}
	stopping := false
	var hardStop <-chan time.Time // the shutdown's own deadline, plus grace
	begin := func(reason string, force bool) {
		stopping = true
		hardStop = time.After(d.Config().Daemon.ShutdownTimeout + 3*time.Second)
		go d.Shutdown(reason, force)
	}
	for {
		select {
		case s := <-sigs:
			switch {
			case s == syscall.SIGHUP:
				d.log.Info("sighup: reloading config")
				go d.Reload()
			case stopping && s == syscall.SIGINT:
				d.log.Warn("second interrupt: forcing shutdown")
				os.Exit(forceExit(d))
			case !stopping:
				d.log.Info("signal received", "signal", s.String())
				begin("signal "+s.String(), false)
			}
		case force := <-d.stopReq:
			if !stopping {
				begin("daemon.stop", force)
			}
		case <-hardStop:
			d.log.Error("shutdown deadline passed: exiting now")
			return forceExit(d)
		case <-d.done:
			return ExitOK
		}
	}
}

// forceExit stops what can be stopped quickly; modules are killed by their
// process groups' parent-death signal when we exit.
func forceExit(d *Daemon) int {
	if d.pidfile != nil {
		_ = d.pidfile.Release()
	}
	d.listeners.Close()
	return ExitFailure
}

func reportStartError(opts Options, err error) {
	var probs *config.Problems
	switch {
	case errors.As(err, &probs):
		fmt.Fprintln(opts.Stderr, probs.Error())
		fmt.Fprintf(opts.Stderr, "superbotd: config has %d problem(s); nothing was started\n", len(probs.List))
	case errors.Is(err, pidfile.ErrRunning):
		fmt.Fprintf(opts.Stderr, "superbotd: %v\n", err)
	default:
		fmt.Fprintf(opts.Stderr, "superbotd: %v\n", err)
	}
}
