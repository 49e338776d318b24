// Package sdnotify tells systemd (Type=notify or notify-reload) about the
// daemon's state over $NOTIFY_SOCKET. Without that variable every call is a
// no-op, so the daemon calls it unconditionally.
package sdnotify

import (
	"fmt"
	"net"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The states the daemon sends.
const (
	// Ready says startup finished.
	Ready = "READY=1"
	// Stopping says shutdown began.
	Stopping = "STOPPING=1"
	// Reloading says a config reload began; send Ready when it is done. Use
	// ReloadingState for Type=notify-reload, which wants a timestamp too.
	Reloading = "RELOADING=1"
	// Watchdog keeps systemd's watchdog (WatchdogSec=) from firing.
	Watchdog = "WATCHDOG=1"
)

// Status returns a STATUS= state: a one-line description shown by
// `systemctl status`.
func Status(msg string) string { return "STATUS=" + msg }

// ReloadingState returns RELOADING=1 with the MONOTONIC_USEC timestamp that
// Type=notify-reload requires.
func ReloadingState() string {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return Reloading
	}
	usec := ts.Sec*1_000_000 + ts.Nsec/1_000
	return Reloading + "\nMONOTONIC_USEC=" + strconv.FormatInt(usec, 10)
}

// Notify sends state (one or more newline-separated VAR=value lines) to the
// socket named by $NOTIFY_SOCKET, a path or, starting with '@', an abstract
// socket. With $NOTIFY_SOCKET unset it does nothing and returns nil.
func Notify(state string) error {
	socket := os.Getenv("NOTIFY_SOCKET")
	if socket == "" {
		return nil
	}
	// Go maps a leading '@' to the abstract namespace (a leading NUL).
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sd_notify %q: %w", socket, err)
	}
	defer func() { _ = conn.Close() }()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("sd_notify %q: %w", socket, err)
	}
	return nil
}
