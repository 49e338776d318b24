package connector

import (
	"strings"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSimDefaultsMatchSimulator(t *testing.T) {
	if simAPIKey != exchangesim.DefaultAPIKey || simSecretKey != exchangesim.DefaultSecretKey || simListen != exchangesim.DefaultListen {
		t.Fatal("the connector's simulator defaults drifted from exchangesim's")
	}
	k, s := DefaultConfig().keys()
	if k != exchangesim.DefaultAPIKey || s != exchangesim.DefaultSecretKey {
		t.Fatalf("keys = %q, %q", k, s)
	}
	if got := DefaultConfig().restURL(); got != "http://"+exchangesim.DefaultListen {
		t.Fatalf("rest url = %q", got)
	}
}

func TestEndpointURLs(t *testing.T) {
	cases := []struct {
		name, endpoint, base, rest, ws string
	}{
		{"testnet", EndpointTestnet, "", "https://testnet.binance.vision", "wss://stream.testnet.binance.vision"},
		{"production", EndpointProduction, "", "https://api.binance.com", "wss://stream.binance.com:9443"},
		{"override", EndpointSim, "http://127.0.0.1:1", "http://127.0.0.1:1", "ws://127.0.0.1:18080"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Endpoint, c.BaseURL = tc.endpoint, tc.base
			if c.restURL() != tc.rest || c.wsURL() != tc.ws {
				t.Fatalf("rest %q ws %q", c.restURL(), c.wsURL())
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		want []string
	}{
		{"endpoint", func(c *Config) { c.Endpoint = "mainnet" }, []string{"endpoint: must be sim, testnet or production"}},
		{"production needs keys", func(c *Config) { c.Endpoint = EndpointProduction },
			[]string{"api_key: must be set", "secret_key: must be set"}},
		{"urls", func(c *Config) { c.BaseURL, c.WSBaseURL, c.WSAPIURL = "ftp://x", "http://x", "https://x/ws-api/v3" },
			[]string{"base_url: scheme must be http or https", "ws_base_url: scheme must be ws or wss", "ws_api_url: scheme must be ws or wss"}},
		{"streams", func(c *Config) {
			c.Streams = []string{"price:BTCUSDT", "ticker:BTCUSDT", "kline:BTCUSDT", "kline:BTCUSDT:7m", "book:btc-usdt", "price:btcusdt", "book:ETHUSDT:1m"}
		}, []string{`streams[1]: "ticker:BTCUSDT": must be price:SYMBOL, book:SYMBOL or kline:SYMBOL:INTERVAL`, `streams[2]: "kline:BTCUSDT": must be kline:SYMBOL:INTERVAL`,
			`streams[3]: "kline:BTCUSDT:7m": interval: must be a Binance kline interval`, `streams[4]: "book:btc-usdt": symbol: must match`,
			`streams[5]: "price:btcusdt" repeats streams[0]`, `streams[6]: "book:ETHUSDT:1m": must be book:SYMBOL`}},
		{"too many streams", func(c *Config) { c.Streams = make([]string, maxConfigStreams+1) }, []string{"streams: at most 200 entries, got 201"}},
		{"numbers", func(c *Config) { c.IOWorkers, c.MaxConnections, c.MaxQueue, c.WeightHeadroom = 0, 0, 0, -1 },
			[]string{"io_workers:", "max_connections:", "max_queue:", "weight_headroom:"}},
		{"durations", func(c *Config) {
			c.IdleTimeout, c.ConnectionTimeout, c.RequestTimeout, c.QueueTimeout, c.StaleAfter = 0, 0, 0, 0, 0
			c.TimeSyncInterval = -time.Second
		}, []string{"idle_timeout:", "connection_timeout:", "request_timeout:", "queue_timeout:", "stale_after:", "time_sync_interval:"}},
		{"rotation past the cut", func(c *Config) { c.RotateAfter = 25 * time.Hour }, []string{"rotate_after: must be < 24h"}},
		{"retry", func(c *Config) {
			c.Retry = RetryConfig{Attempts: 0, Backoff: time.Second, MaxBackoff: time.Millisecond}
		},
			[]string{"retry.attempts:", "retry.max_backoff:"}},
		{"reconnect", func(c *Config) { c.ReconnectBackoff, c.ReconnectMaxBackoff = time.Second, time.Millisecond },
			[]string{"reconnect_max_backoff:"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("want errors")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
			if n := len(strings.Split(err.Error(), "\n")); n != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%v", n, len(tc.want), err)
			}
		})
	}
}

func TestHeadroom(t *testing.T) {
	c := DefaultConfig()
	if got := c.headroom(6000); got != 300 {
		t.Fatalf("5%% of 6000 = %d", got)
	}
	c.WeightHeadroom = 100
	if got := c.headroom(6000); got != 100 {
		t.Fatalf("count headroom = %d", got)
	}
}

func TestWSAPIURL(t *testing.T) {
	cases := []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"sim", func(*Config) {}, "ws://" + exchangesim.DefaultListen + "/ws-api/v3"},
		{"from ws_base_url", func(c *Config) { c.WSBaseURL = "ws://127.0.0.1:1" }, "ws://127.0.0.1:1/ws-api/v3"},
		{"override", func(c *Config) { c.WSBaseURL, c.WSAPIURL = "ws://127.0.0.1:1", "ws://127.0.0.1:2/x" }, "ws://127.0.0.1:2/x"},
		{"testnet", func(c *Config) { c.Endpoint = EndpointTestnet }, "wss://ws-api.testnet.binance.vision/ws-api/v3"},
		{"production", func(c *Config) { c.Endpoint = EndpointProduction }, "wss://ws-api.binance.com:443/ws-api/v3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			if got := c.wsAPIURL(); got != tc.want {
				t.Fatalf("ws api url = %q, want %q", got, tc.want)
			}
		})
	}
}
