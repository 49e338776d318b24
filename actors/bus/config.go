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
	// Redis bridges chosen topics both ways with Redis pub/sub (see
	// RedisConfig). Default off.
	Redis RedisConfig `toml:"redis"`
}

// DefaultConfig returns the bus defaults.
func DefaultConfig() Config {
	return Config{QueueSize: 1024, MaxQueueSize: 65536, Redis: DefaultRedisConfig()}
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
	if err := c.Redis.Validate(); err != nil {
		for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
			errs = append(errs, fmt.Errorf("redis.%w", e))
		}
	}
	if c.Redis.Enabled() && c.Redis.QueueSize > c.MaxQueueSize {
		errs = append(errs, fmt.Errorf("redis.queue_size: must be <= max_queue_size (%d), got %d", c.MaxQueueSize, c.Redis.QueueSize))
	}
	return errors.Join(errs...)
}
