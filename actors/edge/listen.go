package edge

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrAddressInUse is returned by Listen when the socket or TCP address is
// held by a live listener (another daemon).
var ErrAddressInUse = errors.New("address in use")

// Listeners are the edge's bound listeners. They are created before the edge
// actor is spawned, so that a taken address is a start-up error, and owned by
// the daemon, which closes them after the edge has stopped.
type Listeners struct {
	Unix       net.Listener // nil when Unix sockets are unavailable
	TCP        net.Listener // nil unless enabled (or Unix is unavailable)
	SocketPath string
}

// Listen binds the Unix socket (mode 0600 inside stateDir, made 0700) and,
// when enabled or where Unix sockets are unavailable, TCP.
func Listen(cfg Config, stateDir string) (*Listeners, error) {
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	if err := os.Chmod(stateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state dir: %w", err)
	}
	l := &Listeners{SocketPath: cfg.SocketPath}
	if l.SocketPath == "" {
		l.SocketPath = filepath.Join(stateDir, "superbot.sock")
	}
	ln, err := listenUnix(l.SocketPath)
	switch {
	case err == nil:
		l.Unix = ln
	case errors.Is(err, ErrAddressInUse):
		return nil, err
	case errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT):
		cfg.TCPEnabled = true // no Unix sockets here: TCP (with the token) it is
	default:
		return nil, err
	}
	if cfg.TCPEnabled {
		tl, err := net.Listen("tcp", cfg.TCPAddr)
		if err != nil {
			l.Close()
			if errors.Is(err, syscall.EADDRINUSE) {
				return nil, fmt.Errorf("tcp %s: %w", cfg.TCPAddr, ErrAddressInUse)
			}
			return nil, fmt.Errorf("tcp %s: %w", cfg.TCPAddr, err)
		}
		l.TCP = tl
	}
	return l, nil
}

func listenUnix(path string) (net.Listener, error) {
	if _, err := os.Stat(path); err == nil {
		// A socket file exists: in use if something answers, else stale.
		if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil, fmt.Errorf("socket %s: %w", path, ErrAddressInUse)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("socket %s: remove stale: %w", path, err)
		}
	}
	old := syscall.Umask(0o177) // the socket is created 0600, no window
	ln, err := net.Listen("unix", path)
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(true)
	return ln, nil
}

// Close closes both listeners (removing the socket file); it is idempotent.
func (l *Listeners) Close() {
	if l == nil {
		return
	}
	if l.Unix != nil {
		_ = l.Unix.Close()
	}
	if l.TCP != nil {
		_ = l.TCP.Close()
	}
}

// Addrs describes the listeners for logs.
func (l *Listeners) Addrs() []string {
	var out []string
	if l.Unix != nil {
		out = append(out, "unix:"+l.SocketPath)
	}
	if l.TCP != nil {
		out = append(out, "tcp:"+l.TCP.Addr().String())
	}
	return out
}
