package cluster_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/superbot/superbot/actors/cluster"
	"github.com/superbot/superbot/actors/cluster/clustertest"
)

func TestConfigValidate(t *testing.T) {
	cert, key := clustertest.WriteCert(t)
	garbage := filepath.Join(t.TempDir(), "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a pem"), 0o600); err != nil {
		t.Fatal(err)
	}
	on := func(f func(*Config)) Config {
		c := DefaultConfig()
		c.Enabled = true
		f(&c)
		return c
	}
	cases := []struct {
		name string
		cfg  Config
		want []string // substrings of the error; none means valid
	}{
		{name: "defaults", cfg: DefaultConfig()},
		{name: "enabled defaults", cfg: on(func(*Config) {})},
		{name: "tls", cfg: on(func(c *Config) { c.TLS = TLSFiles{Cert: cert, Key: key, CA: cert} })},
		{name: "bad listen", cfg: on(func(c *Config) { c.Listen = "7946" }), want: []string{"listen: not host:port"}},
		{name: "bad advertise", cfg: on(func(c *Config) { c.Advertise = "0.0.0.0:7946" }), want: []string{"advertise: must name a host"}},
		{name: "no etcd", cfg: on(func(c *Config) { c.Etcd = nil }), want: []string{"etcd: at least one endpoint"}},
		{name: "short ttl", cfg: on(func(c *Config) { c.LeaseTTL = 500 * time.Millisecond }), want: []string{"lease_ttl: must be whole seconds and >= 1s"}},
		{name: "prefix", cfg: on(func(c *Config) { c.KeyPrefix = "superbot" }), want: []string{"key_prefix: must start and end with '/'"}},
		{name: "all at once", cfg: on(func(c *Config) { c.Node = "a b"; c.LeaseTTL = 2500 * time.Millisecond; c.DialTimeout = 0 }),
			want: []string{"node: must not contain", "lease_ttl:", "dial_timeout: must be > 0"}},
		{name: "cert without key", cfg: on(func(c *Config) { c.TLS = TLSFiles{Cert: cert, CA: cert} }), want: []string{"tls.cert, key: give both or neither"}},
		{name: "missing ca file", cfg: on(func(c *Config) { c.EtcdTLS = TLSFiles{CA: "/nonexistent/ca.pem"} }), want: []string{"etcd_tls.ca: stat /nonexistent/ca.pem"}},
		{name: "ca not pem", cfg: on(func(c *Config) { c.TLS = TLSFiles{CA: garbage} }), want: []string{"tls.ca: no PEM certificate"}},
		{name: "key not pem", cfg: on(func(c *Config) { c.TLS = TLSFiles{Cert: cert, Key: garbage, CA: cert} }), want: []string{"tls.cert: tls: failed to find any PEM data in key input"}},
		{name: "tls unchecked when off", cfg: func() Config { c := DefaultConfig(); c.TLS = TLSFiles{CA: "/nonexistent"}; return c }()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate: nil, want %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}
