package bus

import (
	"errors"
	"fmt"
)

// Config is the event bus configuration ([daemon.bus]).
type Config struct {
	// QueueSize is the default per-subscriber queue length, in events. A
	// subscriber that falls further behind loses its oldest events (counted).
	// Default 1024.
	QueueSize int `toml:"queue_size"`
	// MaxQueueSize caps the queue length a subscriber may ask for. Default 65536.
	MaxQueueSize int `toml:"max_queue_size"`
}

// DefaultConfig returns the bus defaults.
func DefaultConfig() Config {
	return Config{QueueSize: 1024, MaxQueueSize: 65536}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	if c.QueueSize < 1 {
		errs = append(errs, fmt.Errorf("queue_size: must be >= 1, got %d", c.QueueSize))
	}
	if c.MaxQueueSize < c.QueueSize {
		errs = append(errs, fmt.Errorf("max_queue_size: must be >= queue_size (%d), got %d", c.QueueSize, c.MaxQueueSize))
	}
	return errors.Join(errs...)
}
