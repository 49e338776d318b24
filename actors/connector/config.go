package connector

import (
	"errors"
	"fmt"
	"net/url"
	"time"
)

// Endpoints the connector can talk to.
const (
	// EndpointSim is the built-in simulated exchange (actors/exchangesim).
	EndpointSim = "sim"
	// EndpointTestnet is Binance's spot testnet.
	EndpointTestnet = "testnet"
	// EndpointProduction is Binance spot.
	EndpointProduction = "production"
)

// Default credentials and address of the simulated exchange
// (exchangesim.DefaultAPIKey, DefaultSecretKey and DefaultListen; a test
// holds them equal).
const (
	simAPIKey    = "sim-api-key"
	simSecretKey = "sim-secret-key"
	simListen    = "127.0.0.1:18080"
)

// Config is the connector configuration ([connector]).
type Config struct {
	// Endpoint is "sim", "testnet" or "production". Default "sim".
	Endpoint string `toml:"endpoint"`
	// BaseURL overrides the REST base URL; empty means the endpoint's
	// (sim: "http://127.0.0.1:18080", the daemon passes the simulator's).
	// Default "".
	BaseURL string `toml:"base_url"`
	// WSBaseURL overrides the WebSocket base URL (without "/ws"); empty means
	// the endpoint's. Default "".
	WSBaseURL string `toml:"ws_base_url"`
	// WSAPIURL overrides the WebSocket API URL (the user data stream);
	// empty means ws_base_url + "/ws-api/v3" when ws_base_url is set, else
	// the endpoint's. Default "".
	WSAPIURL string `toml:"ws_api_url"`
	// APIKey is the exchange API key. Secret: SUPERBOT_CONNECTOR_API_KEY.
	// Empty with endpoint "sim" means the simulator's "sim-api-key".
	APIKey string `toml:"api_key" secret:"true"`
	// SecretKey is the HMAC secret. Secret: SUPERBOT_CONNECTOR_SECRET_KEY.
	// Empty with endpoint "sim" means the simulator's "sim-secret-key".
	SecretKey string `toml:"secret_key" secret:"true"`
	// IOWorkers is the number of goroutines that run blocking exchange calls
	// (the seed's "io" pool). Default 20.
	IOWorkers int `toml:"io_workers"`
	// MaxConnections caps open HTTP connections to the exchange. Default 10.
	MaxConnections int `toml:"max_connections"`
	// IdleTimeout closes a pooled HTTP connection idle this long. Default "300s".
	IdleTimeout time.Duration `toml:"idle_timeout"`
	// ConnectionTimeout bounds dialing (TCP and TLS) one connection.
	// Default "30s".
	ConnectionTimeout time.Duration `toml:"connection_timeout"`
	// RequestTimeout bounds one REST call, from send to the last byte of the
	// answer. An order that times out has an unknown outcome. Default "10s".
	RequestTimeout time.Duration `toml:"request_timeout"`
	// QueueTimeout is how long a request may wait for budget or a worker
	// before it is answered RATE_LIMITED (an order: NOT_SENT). Default "30s".
	QueueTimeout time.Duration `toml:"queue_timeout"`
	// MaxQueue caps queued requests; beyond it new ones are refused
	// RATE_LIMITED. Default 10000.
	MaxQueue int `toml:"max_queue"`
	// WeightHeadroom is request weight kept unused in every window: a
	// value below 1 is a fraction of the limit (0.05 = 5 %), 1 or more is a
	// count of weight units. Default 0.05.
	WeightHeadroom float64 `toml:"weight_headroom"`
	// Retry is the retry policy of idempotent GETs ([connector.retry]).
	Retry RetryConfig `toml:"retry"`
	// StaleAfter reconnects a stream that delivered nothing for this long.
	// Default "30s".
	StaleAfter time.Duration `toml:"stale_after"`
	// RotateAfter reconnects a stream that has been open this long, ahead of
	// Binance's 24 h cut. Default "23h".
	RotateAfter time.Duration `toml:"rotate_after"`
	// ReconnectBackoff is the first delay before redialing a dropped stream;
	// it doubles (with jitter) up to ReconnectMaxBackoff. Default "100ms".
	ReconnectBackoff time.Duration `toml:"reconnect_backoff"`
	// ReconnectMaxBackoff caps the redial delay. Default "30s".
	ReconnectMaxBackoff time.Duration `toml:"reconnect_max_backoff"`
	// Streams are market streams the daemon keeps open from the start (as
	// market.subscribe does): "price:SYMBOL", "book:SYMBOL",
	// "kline:SYMBOL:INTERVAL"; at most 200. Default [].
	Streams []string `toml:"streams"`
	// TimeSyncInterval re-syncs the exchange clock offset this often (and on
	// every -1021). Default "10m".
	TimeSyncInterval time.Duration `toml:"time_sync_interval"`
}

// RetryConfig is the retry policy of idempotent GETs (market data, order
// queries): transport errors, timeouts and 5xx are retried with exponential
// backoff and full jitter. Orders are never retried blindly.
type RetryConfig struct {
	// Attempts is the total number of tries, the first included. Default 3.
	Attempts int `toml:"attempts"`
	// Backoff is the first delay; it doubles per try. Default "100ms".
	Backoff time.Duration `toml:"backoff"`
	// MaxBackoff caps the delay. Default "2s".
	MaxBackoff time.Duration `toml:"max_backoff"`
}

// DefaultConfig returns the connector defaults.
func DefaultConfig() Config {
	return Config{
		Endpoint:            EndpointSim,
		IOWorkers:           20,
		MaxConnections:      10,
		IdleTimeout:         300 * time.Second,
		ConnectionTimeout:   30 * time.Second,
		RequestTimeout:      10 * time.Second,
		QueueTimeout:        30 * time.Second,
		MaxQueue:            10000,
		WeightHeadroom:      0.05,
		Retry:               RetryConfig{Attempts: 3, Backoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second},
		StaleAfter:          30 * time.Second,
		RotateAfter:         23 * time.Hour,
		ReconnectBackoff:    100 * time.Millisecond,
		ReconnectMaxBackoff: 30 * time.Second,
		TimeSyncInterval:    10 * time.Minute,
		Streams:             []string{},
	}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	add := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	switch c.Endpoint {
	case EndpointSim, EndpointTestnet, EndpointProduction:
	default:
		add("endpoint", "must be sim, testnet or production, got %q", c.Endpoint)
	}
	for _, u := range []struct{ key, v string }{{"base_url", c.BaseURL}, {"ws_base_url", c.WSBaseURL}, {"ws_api_url", c.WSAPIURL}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || p.Host == "" {
			add(u.key, "must be an absolute URL, got %q", u.v)
			continue
		}
		want := []string{"http", "https"}
		if u.key != "base_url" {
			want = []string{"ws", "wss"}
		}
		if p.Scheme != want[0] && p.Scheme != want[1] {
			add(u.key, "scheme must be %s or %s, got %q", want[0], want[1], p.Scheme)
		}
	}
	if c.Endpoint == EndpointTestnet || c.Endpoint == EndpointProduction {
		if c.APIKey == "" {
			add("api_key", "must be set for endpoint %q (SUPERBOT_CONNECTOR_API_KEY)", c.Endpoint)
		}
		if c.SecretKey == "" {
			add("secret_key", "must be set for endpoint %q (SUPERBOT_CONNECTOR_SECRET_KEY)", c.Endpoint)
		}
	}
	positive := func(key string, d time.Duration) {
		if d <= 0 {
			add(key, "must be > 0, got %s", d)
		}
	}
	if c.IOWorkers < 1 || c.IOWorkers > 1000 {
		add("io_workers", "must be in [1, 1000], got %d", c.IOWorkers)
	}
	if c.MaxConnections < 1 {
		add("max_connections", "must be >= 1, got %d", c.MaxConnections)
	}
	positive("idle_timeout", c.IdleTimeout)
	positive("connection_timeout", c.ConnectionTimeout)
	positive("request_timeout", c.RequestTimeout)
	positive("queue_timeout", c.QueueTimeout)
	if c.MaxQueue < 1 {
		add("max_queue", "must be >= 1, got %d", c.MaxQueue)
	}
	if c.WeightHeadroom < 0 {
		add("weight_headroom", "must be >= 0 (a fraction below 1 or a count), got %g", c.WeightHeadroom)
	}
	if c.Retry.Attempts < 1 || c.Retry.Attempts > 20 {
		add("retry.attempts", "must be in [1, 20], got %d", c.Retry.Attempts)
	}
	positive("retry.backoff", c.Retry.Backoff)
	if c.Retry.MaxBackoff < c.Retry.Backoff {
		add("retry.max_backoff", "must be >= retry.backoff (%s), got %s", c.Retry.Backoff, c.Retry.MaxBackoff)
	}
	positive("stale_after", c.StaleAfter)
	positive("rotate_after", c.RotateAfter)
	if c.RotateAfter >= 24*time.Hour {
		add("rotate_after", "must be < 24h (Binance cuts streams at 24 h), got %s", c.RotateAfter)
	}
	positive("reconnect_backoff", c.ReconnectBackoff)
	if c.ReconnectMaxBackoff < c.ReconnectBackoff {
		add("reconnect_max_backoff", "must be >= reconnect_backoff (%s), got %s", c.ReconnectBackoff, c.ReconnectMaxBackoff)
	}
	positive("time_sync_interval", c.TimeSyncInterval)
	errs = append(errs, validateStreams(c.Streams)...)
	return errors.Join(errs...)
}

// restURL is the REST base URL in effect.
func (c Config) restURL() string {
	if c.BaseURL != "" {
		return c.BaseURL
	}
	switch c.Endpoint {
	case EndpointTestnet:
		return "https://testnet.binance.vision"
	case EndpointProduction:
		return "https://api.binance.com"
	}
	return "http://" + simListen
}

// wsURL is the WebSocket base URL in effect (streams are under /ws).
func (c Config) wsURL() string {
	if c.WSBaseURL != "" {
		return c.WSBaseURL
	}
	switch c.Endpoint {
	case EndpointTestnet:
		return "wss://stream.testnet.binance.vision"
	case EndpointProduction:
		return "wss://stream.binance.com:9443"
	}
	return "ws://" + simListen
}

// wsAPIURL is the WebSocket API URL in effect (the user data stream).
func (c Config) wsAPIURL() string {
	switch {
	case c.WSAPIURL != "":
		return c.WSAPIURL
	case c.WSBaseURL != "":
		return c.WSBaseURL + "/ws-api/v3"
	case c.Endpoint == EndpointTestnet:
		return "wss://ws-api.testnet.binance.vision/ws-api/v3"
	case c.Endpoint == EndpointProduction:
		return "wss://ws-api.binance.com:443/ws-api/v3"
	}
	return "ws://" + simListen + "/ws-api/v3"
}

// keys returns the API credentials in effect.
func (c Config) keys() (apiKey, secretKey string) {
	apiKey, secretKey = c.APIKey, c.SecretKey
	if c.Endpoint == EndpointSim {
		if apiKey == "" {
			apiKey = simAPIKey
		}
		if secretKey == "" {
			secretKey = simSecretKey
		}
	}
	return apiKey, secretKey
}

// headroom is the weight kept unused out of limit.
func (c Config) headroom(limit int64) int64 {
	if c.WeightHeadroom < 1 {
		return int64(float64(limit) * c.WeightHeadroom)
	}
	return int64(c.WeightHeadroom)
}
