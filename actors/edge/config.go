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
	// MaxConnections is the number of concurrent connections. Default 128.
	MaxConnections int `toml:"max_connections"`
	// IdleTimeout closes a connection that sends nothing for this long (a
	// connection with an active subscription stream is not idle); the close
	// comes between 1 and 1.5 times this after the last request. Default "5m".
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// RequestTimeout is the deadline of one call to the actor that answers it.
	// Default "5s".
	RequestTimeout time.Duration `toml:"request_timeout"`
}

// DefaultConfig returns the edge defaults.
func DefaultConfig() Config {
	return Config{
		TCPAddr:         "127.0.0.1:9999",
		MaxRequestBytes: 1 << 20,
		MaxConnections:  128,
		IdleTimeout:     5 * time.Minute,
		RequestTimeout:  5 * time.Second,
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
	if c.IdleTimeout <= 0 {
		errs = append(errs, fmt.Errorf("idle_timeout: must be > 0, got %s", c.IdleTimeout))
	}
	if c.RequestTimeout <= 0 {
		errs = append(errs, fmt.Errorf("request_timeout: must be > 0, got %s", c.RequestTimeout))
	}

	return errors.Join(errs...)
}
