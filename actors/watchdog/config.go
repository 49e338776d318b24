package watchdog

import (
	"errors"
	"fmt"
	"time"
)

// Config is the watchdog configuration ([daemon.watchdog]).
type Config struct {
	// Enabled runs the periodic checks. Default true.
	Enabled bool `toml:"enabled"`
	// CheckInterval is the time between two rounds of checks. Default "30s".
	CheckInterval time.Duration `toml:"check_interval"`
	// AutoRestartOnCrash asks the modules supervisor to restart a module
	// whose process is a zombie, over max_memory or failing its health
	// check health_failures times in a row (restarts count toward the
	// module's restart cap). Default true.
	AutoRestartOnCrash bool `toml:"auto_restart_on_crash"`
	// AlertOnRestart publishes alert.module.restart when the watchdog asks
	// for a restart. Default true.
	AlertOnRestart bool `toml:"alert_on_restart"`
	// HealthFailures is how many failed HTTP health checks in a row make a
	// module unhealthy. Default 3.
	HealthFailures int `toml:"health_failures"`
	// HealthTimeout bounds one HTTP health check. Default "5s".
	HealthTimeout time.Duration `toml:"health_timeout"`
	// MaxConcurrent bounds the checks running at once. Default 8.
	MaxConcurrent int `toml:"max_concurrent"`
}

// DefaultConfig returns the watchdog defaults (the seed's watchdog config).
func DefaultConfig() Config {
	return Config{
		Enabled:            true,
		CheckInterval:      30 * time.Second,
		AutoRestartOnCrash: true,
		AlertOnRestart:     true,
		HealthFailures:     3,
		HealthTimeout:      5 * time.Second,
		MaxConcurrent:      8,
	}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	if c.CheckInterval < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("check_interval: must be >= 100ms, got %s", c.CheckInterval))
	}
	if c.HealthFailures < 1 {
		errs = append(errs, fmt.Errorf("health_failures: must be >= 1, got %d", c.HealthFailures))
	}
	if c.HealthTimeout <= 0 {
		errs = append(errs, fmt.Errorf("health_timeout: must be > 0, got %s", c.HealthTimeout))
	}
	if c.MaxConcurrent < 1 {
		errs = append(errs, fmt.Errorf("max_concurrent: must be >= 1, got %d", c.MaxConcurrent))
	}
	return errors.Join(errs...)
}
