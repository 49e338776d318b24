package edge

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is the JSON-RPC edge configuration ([daemon.ipc]).
type Config struct {
	// SocketPath is the Unix socket path. Empty means "<state_dir>/superbot.sock".
	// Default "".
	SocketPath string `toml:"socket_path"`
	// TCPEnabled also listens on TCPAddr (always on where Unix sockets are
	// missing). Default false.
	TCPEnabled bool `toml:"tcp_enabled"`
	// TCPAddr is the TCP listen address. Default "127.0.0.1:9999".
	TCPAddr string `toml:"tcp_addr"`
	// AuthToken is the RPC token. Secret: prefer SUPERBOT_IPC_AUTH_TOKEN.
	// Empty means generate one on first start into "<state_dir>/token" (0600).
	AuthToken string `toml:"auth_token"`
	// RequireTokenOnSocket requires the token on the Unix socket too (it is
	// always required on TCP). Default false.
	RequireTokenOnSocket bool `toml:"require_token_on_socket"`
	// MaxRequestBytes is the longest accepted line, in bytes. Default 1048576.
	MaxRequestBytes int `toml:"max_request_bytes"`
	// MaxConnections is the number of concurrent connections on the Unix
	// socket (the owner's CLI and the modules). TCP connections have their
	// own limit, so they never take the socket's room. Default 128.
	MaxConnections int `toml:"max_connections"`
	// MaxModuleConnections is how many of MaxConnections the daemon's
	// modules (and what they start, see peer.go) may hold at once, so that
	// the owner always has MaxConnections - MaxModuleConnections. At or
	// above MaxConnections, modules get MaxConnections - 1 (the owner keeps
	// one; with MaxConnections 1, modules get none). Default 96.
	MaxModuleConnections int `toml:"max_module_connections"`
	// MaxTCPConnections is the number of concurrent TCP connections.
	// Default 64.
	MaxTCPConnections int `toml:"max_tcp_connections"`
	// LoginTimeout closes a connection that must log in (TCP; the socket
	// with RequireTokenOnSocket) and has not done so this long after it was
	// accepted. Default "5s".
	LoginTimeout time.Duration `toml:"login_timeout"`
	// LoginBurst is the number of failed logins one source address may make
	// at once before its next attempts are slowed. Default 5.
	LoginBurst int `toml:"login_burst"`
	// LoginBackoff is, past LoginBurst, the time one source address waits
	// per failed login: its attempts are answered one per LoginBackoff at
	// most, whatever the connections they come on. Default "1s".
	LoginBackoff time.Duration `toml:"login_backoff"`
	// MaxStreamQueue caps the queue_size a client may ask events.subscribe
	// for, in notifications. Default 65536.
	MaxStreamQueue int `toml:"max_stream_queue"`
	// IdleTimeout closes a connection that sends nothing for this long (a
	// connection with an active subscription stream is not idle); the close
	// comes between 1 and 1.5 times this after the last request. Default "5m".
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// RequestTimeout is the deadline of one call to the actor that answers it.
	// Default "5s".
	RequestTimeout time.Duration `toml:"request_timeout"`
}

// maxStreamQueueCap bounds max_stream_queue: a connection's queue is
// allocated when it subscribes.
const maxStreamQueueCap = 1 << 20

// DefaultConfig returns the edge defaults.
func DefaultConfig() Config {
	return Config{
		TCPAddr:              "127.0.0.1:9999",
		MaxRequestBytes:      1 << 20,
		MaxConnections:       128,
		MaxModuleConnections: 96,
		MaxTCPConnections:    64,
		LoginTimeout:         5 * time.Second,
		LoginBurst:           5,
		LoginBackoff:         time.Second,
		MaxStreamQueue:       65536,
		IdleTimeout:          5 * time.Minute,
		RequestTimeout:       5 * time.Second,
	}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	if c.TCPEnabled {
		if _, _, err := net.SplitHostPort(c.TCPAddr); err != nil {
			errs = append(errs, fmt.Errorf("tcp_addr: %w", err))
		}
	}
	if c.MaxRequestBytes < 1024 {
		errs = append(errs, fmt.Errorf("max_request_bytes: must be >= 1024, got %d", c.MaxRequestBytes))
	}
	if c.MaxConnections < 1 {
		errs = append(errs, fmt.Errorf("max_connections: must be >= 1, got %d", c.MaxConnections))
	}
	if c.MaxModuleConnections < 1 {
		errs = append(errs, fmt.Errorf("max_module_connections: must be >= 1, got %d", c.MaxModuleConnections))
	}
	if c.MaxTCPConnections < 1 {
		errs = append(errs, fmt.Errorf("max_tcp_connections: must be >= 1, got %d", c.MaxTCPConnections))
	}
	if c.LoginTimeout <= 0 {
		errs = append(errs, fmt.Errorf("login_timeout: must be > 0, got %s", c.LoginTimeout))
	}
	if c.LoginBurst < 1 {
		errs = append(errs, fmt.Errorf("login_burst: must be >= 1, got %d", c.LoginBurst))
	}
	if c.LoginBackoff <= 0 {
		errs = append(errs, fmt.Errorf("login_backoff: must be > 0, got %s", c.LoginBackoff))
	}
	if c.MaxStreamQueue < 1 || c.MaxStreamQueue > maxStreamQueueCap {
		errs = append(errs, fmt.Errorf("max_stream_queue: must be between 1 and %d, got %d", maxStreamQueueCap, c.MaxStreamQueue))
	}
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle_timeout: must be > 0, got %s", c.IdleTimeout))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout: must be > 0, got %s", c.RequestTimeout))
	}

	return errors.Join(errs...)
}

// moduleLimit is the number of socket connections modules may hold at once:
// MaxModuleConnections, leaving the owner at least one (so none when
// MaxConnections is 1).
func (c Config) moduleLimit() int {
	return max(0, min(c.MaxModuleConnections, c.MaxConnections-1))
}
