package election

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Config is the election's settings. It is not a TOML section of its own:
// the cluster actor fills it from [cluster] (TTL from lease_ttl, Prefix from
// key_prefix + "election/") and keeps the defaults for the rest.
type Config struct {
	// TTL is the etcd lease's time to live (etcd's floor is about 2 s).
	TTL time.Duration
	// Margin is taken off TTL: a leader acts only while its last successful
	// keepalive was sent less than TTL - Margin ago.
	Margin time.Duration
	// Prefix is the etcd key prefix of every election; a name is appended.
	Prefix string
	// RetryDelay is the pause before campaigning again after a failure.
	RetryDelay time.Duration
}

// DefaultConfig returns a 2 s lease with a 0.5 s margin.
func DefaultConfig() Config {
	return Config{TTL: 2 * time.Second, Margin: 500 * time.Millisecond, Prefix: "/superbot/election/", RetryDelay: 250 * time.Millisecond}
}

// Validate reports the first bad field.
func (c Config) Validate() error {
	switch {
	case c.TTL < time.Second || c.TTL > time.Hour || c.TTL%time.Second != 0:
		return fmt.Errorf("lease_ttl %v: want whole seconds in 1s..1h", c.TTL)
	case c.Margin <= 0 || c.Margin >= c.TTL:
		return fmt.Errorf("lease_margin %v: want > 0 and below lease_ttl %v", c.Margin, c.TTL)
	case !strings.HasPrefix(c.Prefix, "/") || !strings.HasSuffix(c.Prefix, "/"):
		return errors.New("election_prefix: want a key prefix starting and ending with /")
	case c.RetryDelay <= 0 || c.RetryDelay > time.Minute:
		return fmt.Errorf("election_retry %v: want > 0 and at most 1m", c.RetryDelay)
	}
	return nil
}

// The daemon's singleton elections.
const (
	// Trading is the election of the trading part (actors/leader); its
	// leader answers trading.*.
	Trading = "trading"
	// modulePrefix starts the election of a module with singleton = true.
	modulePrefix = "module-"
)

// ModuleElection is the election of a module configured with singleton =
// true.
func ModuleElection(module string) string { return modulePrefix + module }

// ModuleOf is the module whose election name is; false for other
// elections.
func ModuleOf(name string) (string, bool) { return strings.CutPrefix(name, modulePrefix) }

// ValidateName reports whether name can be an election name (one key segment).
func ValidateName(name string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, "/ \t\n") {
		return fmt.Errorf("election name %q: want 1..128 characters, no slash or space", name)
	}
	return nil
}
