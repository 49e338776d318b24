package bus

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig configures the bridge between the bus and Redis pub/sub
// ([daemon.bus.redis], run by actors/busredis). An empty URL turns it off.
//
// Events whose topic matches an Export pattern are PUBLISHed to the Redis
// channel ChannelPrefix+topic as JSON in the seed's event shape:
//
//	{"topic":"price.BTCUSDT.update","source":"connector","timestamp":1733366400.25,
//	 "node":"n1","sequence":42,"origin":"...","data":{...}}
//
// Messages PUBLISHed by other programs to ChannelPrefix+topic, where topic
// matches an Import pattern, are published on the bus with the source
// "redis:"+their "source" ("redis" without one). Their JSON is an object
// with "data" (any JSON, the payload) and optionally "topic" (must equal the
// channel's), "source", "timestamp" (Unix seconds), "node", "sequence" and
// "origin"; any other key makes the message invalid.
type RedisConfig struct {
	// URL is the Redis server: redis://[user:password@]host:port/db,
	// rediss://... (TLS) or unix:///path?db=N. Secret, since it may carry a
	// password (SUPERBOT_DAEMON_BUS_REDIS_URL). Default "" (bridge off).
	URL string `toml:"url" secret:"true"`
	// Password, when set, replaces the URL's password. Secret
	// (SUPERBOT_DAEMON_BUS_REDIS_PASSWORD). Default "".
	Password string `toml:"password" secret:"true"`
	// Export lists the bus patterns sent to Redis. Default none.
	Export []string `toml:"export"`
	// Import lists the topic patterns taken from Redis onto the bus; topics
	// the daemon alone publishes (Reserved) cannot be imported. Default none.
	Import []string `toml:"import"`
	// ChannelPrefix goes in front of a topic to make its Redis channel.
	// Default "superbot.".
	ChannelPrefix string `toml:"channel_prefix"`
	// QueueSize bounds the events waiting to be exported, in events; past
	// it the oldest are dropped and counted. Default 4096.
	QueueSize int `toml:"queue_size"`
	// MaxMessageBytes is the largest message imported or exported, in
	// bytes; larger ones are dropped and counted. Default 65536.
	MaxMessageBytes int `toml:"max_message_bytes"`
	// Timeout bounds a dial, a read and a write. Default "2s".
	Timeout time.Duration `toml:"timeout"`
	// ReconnectMax is the longest wait between two reconnection attempts
	// (the wait doubles from 100ms). Default "5s".
	ReconnectMax time.Duration `toml:"reconnect_max"`
}

// DefaultRedisConfig returns the bridge defaults (off).
func DefaultRedisConfig() RedisConfig {
	return RedisConfig{
		Export: []string{}, Import: []string{}, ChannelPrefix: "superbot.", QueueSize: 4096,
		MaxMessageBytes: 64 << 10, Timeout: 2 * time.Second, ReconnectMax: 5 * time.Second,
	}
}

// Enabled reports whether the bridge runs.
func (c RedisConfig) Enabled() bool { return c.URL != "" }

// Limits of the bridge's settings.
const (
	maxRedisQueue       = 1 << 20
	maxRedisMessage     = 64 << 20
	maxChannelPrefixLen = 64
)

// Validate reports every problem at once, each prefixed with its key. It
// never quotes the URL (it may hold a password).
func (c RedisConfig) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf(key+": "+format, args...))
	}
	if c.URL != "" {
		if _, err := c.Options(); err != nil {
			add("url", "not a redis://, rediss:// or unix:// URL (value not shown)")
		}
		if len(c.Export)+len(c.Import) == 0 {
			add("export", "the bridge needs at least one export or import pattern")
		}
	}
	for i, p := range c.Export {
		if err := ValidatePattern(p); err != nil {
			add(fmt.Sprintf("export[%d]", i), "%v", err)
		}
	}
	for i, p := range c.Import {
		if err := ValidatePattern(p); err != nil {
			add(fmt.Sprintf("import[%d]", i), "%v", err)
			continue
		}
		if first, _, _ := strings.Cut(p, "."); slices.Contains(Reserved, first) {
			add(fmt.Sprintf("import[%d]", i), "%q topics are published by the daemon only", first)
		}
	}
	if len(c.ChannelPrefix) > maxChannelPrefixLen || strings.ContainsAny(c.ChannelPrefix, "*?[]\\ \t\r\n") {
		add("channel_prefix", "must be at most %d bytes, without spaces or the glob characters *?[]\\, got %q", maxChannelPrefixLen, c.ChannelPrefix)
	}
	if c.QueueSize < 1 || c.QueueSize > maxRedisQueue {
		add("queue_size", "must be in 1..%d, got %d", maxRedisQueue, c.QueueSize)
	}
	if c.MaxMessageBytes < 256 || c.MaxMessageBytes > maxRedisMessage {
		add("max_message_bytes", "must be in 256..%d, got %d", maxRedisMessage, c.MaxMessageBytes)
	}
	if c.Timeout <= 0 {
		add("timeout", "must be > 0, got %s", c.Timeout)
	}
	if c.ReconnectMax < 100*time.Millisecond {
		add("reconnect_max", "must be >= 100ms, got %s", c.ReconnectMax)
	}
	return errors.Join(errs...)
}

// Options parses URL into go-redis options, with Password applied.
func (c RedisConfig) Options() (*redis.Options, error) {
	opt, err := redis.ParseURL(c.URL)
	if err != nil {
		return nil, errors.New("invalid redis url")
	}
	if c.Password != "" {
		opt.Password = c.Password
	}
	return opt, nil
}
