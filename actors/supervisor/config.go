package supervisor

import (
	"errors"
	"fmt"
	"time"
)

// Config is the root supervisor's restart policy ([daemon.supervisor]).
type Config struct {
	// MaxRestarts is how many restarts a child may have within Within before
	// it is stopped and marked failed. Default 3.
	MaxRestarts int `toml:"max_restarts"`
	// Within is the sliding window for MaxRestarts. Default "60s".
	Within time.Duration `toml:"within"`
	// Cooldown is how long a module failed by MaxRestarts stays failed
	// before it is started again; "0s" never retries. Default "5m".
	Cooldown time.Duration `toml:"cooldown"`
}

// DefaultConfig returns the policy of the design card: 3 restarts within 60 s.
func DefaultConfig() Config {
	return Config{MaxRestarts: 3, Within: 60 * time.Second, Cooldown: 5 * time.Minute}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	if c.MaxRestarts < 0 {
		errs = append(errs, fmt.Errorf("max_restarts: must be >= 0, got %d", c.MaxRestarts))
	}
	if c.Within <= 0 {
		errs = append(errs, fmt.Errorf("within: must be > 0, got %s", c.Within))
	}
	if c.Cooldown < 0 {
		errs = append(errs, fmt.Errorf("cooldown: must be >= 0 (0s: never), got %s", c.Cooldown))
	}
	return errors.Join(errs...)
}
