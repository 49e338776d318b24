package exchangesim

import (
	"strconv"
	"testing"

	binance "github.com/adshao/go-binance/v2"
)

func TestSignedAuth(t *testing.T) {
	ex := shared
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "10"})
	tests := []struct {
		name  string
		setup func(c *binance.Client)
		opts  []binance.RequestOption
		code  int64
	}{
		{"ok", func(*binance.Client) {}, nil, 0},
		{"missing api key", func(c *binance.Client) { c.APIKey = "" }, nil, -2014},
		{"unknown api key", func(c *binance.Client) { c.APIKey = "who" }, nil, -2015},
		{"bad signature", func(c *binance.Client) { c.SecretKey = "wrong" }, nil, -1022},
		{"timestamp ahead", func(c *binance.Client) { c.TimeOffset -= 1500 }, nil, -1021},
		{"timestamp too old", func(c *binance.Client) { c.TimeOffset += 6000 }, nil, -1021},
		{"old but inside recvWindow", func(c *binance.Client) { c.TimeOffset += 6000 }, []binance.RequestOption{binance.WithRecvWindow(10000)}, 0},
		{"recvWindow too big", func(*binance.Client) {}, []binance.RequestOption{binance.WithRecvWindow(60001)}, -1131},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, ex, key, secret)
			tt.setup(c)
			_, err := c.NewGetAccountService().Do(ctx(t), tt.opts...)
			wantCode(t, err, tt.code)
		})
	}
}

func TestSignedAuthRaw(t *testing.T) {
	ex := shared
	_, key, secret := newAccount(t, ex, map[string]string{"USDT": "10"})
	ts := strconv.FormatInt(ex.nowMs(), 10)
	tsMicro := ts + "123"
	sign := func(q string) string { return q + "&signature=" + hmacHex(secret, q) }
	tests := []struct {
		name       string
		pathQuery  string
		wantStatus int
		wantCode   float64
	}{
		{"microsecond timestamp", "/api/v3/account?" + sign("timestamp="+tsMicro), 200, 0},
		{"uppercase hex signature", "/api/v3/account?timestamp=" + ts + "&signature=" + upper(hmacHex(secret, "timestamp="+ts)), 200, 0},
		{"missing signature", "/api/v3/account?timestamp=" + ts, 400, -1102},
		{"missing timestamp", "/api/v3/account?" + sign("omitZeroBalances=true"), 400, -1102},
		{"signature not last", "/api/v3/account?signature=abc&timestamp=" + ts, 400, -1022},
		{"garbage timestamp", "/api/v3/account?" + sign("timestamp=abc"), 400, -1100},
		{"unknown route", "/api/v3/nope", 404, -1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rawDo(t, ex, "GET", tt.pathQuery, "", map[string]string{"X-MBX-APIKEY": key})
			if r.status != tt.wantStatus || (tt.wantCode != 0 && r.body["code"] != tt.wantCode) {
				t.Fatalf("got %d %s", r.status, r.raw)
			}
			if r.header.Get("X-MBX-USED-WEIGHT-1M") == "" {
				t.Fatal("missing X-MBX-USED-WEIGHT-1M")
			}
		})
	}
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}
