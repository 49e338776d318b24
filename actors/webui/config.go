package webui

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Config is the web UI's configuration ([webui]).
type Config struct {
	// Listen is the HTTP address. Port 0 picks a free port; the address
	// bound is logged and written to <state_dir>/webui.addr. Default
	// "127.0.0.1:8080".
	Listen string `toml:"listen"`
	// MetricsAuth puts /metrics behind a session or the RPC token (sent as
	// "Authorization: Bearer TOKEN"). Default false: open.
	MetricsAuth bool `toml:"metrics_auth"`
	// HealthAuth puts /health behind a session or the RPC token, like
	// MetricsAuth. Default false: open.
	HealthAuth bool `toml:"health_auth"`
	// PasswordHash, set, lets the login page take a password as well as the
	// daemon's token: "pbkdf2-sha256:ITERATIONS:SALT_HEX:HASH_HEX" (PBKDF2
	// with HMAC-SHA-256, a 32-byte key; defaults.toml shows how to make one). Secret: prefer
	// SUPERBOT_WEBUI_PASSWORD_HASH. Default "" (the token only).
	PasswordHash string `toml:"password_hash" secret:"true"`
	// SessionTTL is how long a login lasts. Default "12h".
	SessionTTL time.Duration `toml:"session_ttl"`
	// MaxSessions bounds the sessions held at once; past it, the one that
	// expires first is ended. Default 256.
	MaxSessions int `toml:"max_sessions"`
	// MaxConnections is the number of WebSocket /rpc connections at once.
	// Default 64.
	MaxConnections int `toml:"max_connections"`
	// LoginBurst is the number of failed logins one client address may
	// make at once before its next attempts are slowed (POST /login and
	// auth.login on /rpc together). Default 5.
	LoginBurst int `toml:"login_burst"`
	// LoginBackoff is, past LoginBurst, the time one client address waits
	// per failed login. Default "1s".
	LoginBackoff time.Duration `toml:"login_backoff"`
}

// DefaultConfig returns the web UI defaults.
func DefaultConfig() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		SessionTTL:     12 * time.Hour,
		MaxSessions:    256,
		MaxConnections: 64,
		LoginBurst:     5,
		LoginBackoff:   time.Second,
	}
}

// maxSessionsCap bounds max_sessions (the session table is a map).
const maxSessionsCap = 1 << 16

// maxConnectionsCap bounds max_connections.
const maxConnectionsCap = 1 << 14

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen: %w", err))
	}
	if c.PasswordHash != "" {
		if _, err := parseHash(c.PasswordHash); err != nil {
			errs = append(errs, fmt.Errorf("password_hash: %w", err)) // never the value: a secret
		}
	}
	if c.SessionTTL < time.Minute {
		errs = append(errs, fmt.Errorf("session_ttl: must be >= 1m, got %s", c.SessionTTL))
	}
	if c.MaxSessions < 1 || c.MaxSessions > maxSessionsCap {
		errs = append(errs, fmt.Errorf("max_sessions: must be between 1 and %d, got %d", maxSessionsCap, c.MaxSessions))
	}
	if c.MaxConnections < 1 || c.MaxConnections > maxConnectionsCap {
		errs = append(errs, fmt.Errorf("max_connections: must be between 1 and %d, got %d", maxConnectionsCap, c.MaxConnections))
	}
	if c.LoginBurst < 1 {
		errs = append(errs, fmt.Errorf("login_burst: must be >= 1, got %d", c.LoginBurst))
	}
	if c.LoginBackoff <= 0 {
		errs = append(errs, fmt.Errorf("login_backoff: must be > 0, got %s", c.LoginBackoff))
	}
	return errors.Join(errs...)
}
