package election

import (
	"strings"
	"testing"
	"time"
)

type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }

func TestGuardActsOnlyWhileProofIsFresh(t *testing.T) {
	c := &fakeClock{now: time.Unix(1000, 0)}
	g := NewGuard(c.Now)
	if _, ok := g.MayAct(); ok {
		t.Fatal("a fresh guard may act")
	}
	p := &proof{}
	p.extend(g, c.now, 1500*time.Millisecond) // answer now, TTL 2 s - margin 0.5 s
	if _, ok := g.MayAct(); ok {
		t.Fatal("may act before being armed (campaigning is not leading)")
	}
	g.arm(p, 42)
	if tok, ok := g.MayAct(); !ok || tok != 42 {
		t.Fatalf("MayAct = %d %v, want 42 true", tok, ok)
	}
	c.now = c.now.Add(1499 * time.Millisecond)
	if _, ok := g.MayAct(); !ok {
		t.Fatal("proof expired early")
	}
	c.now = c.now.Add(time.Millisecond)
	if _, ok := g.MayAct(); ok {
		t.Fatal("acts at TTL - margin after the last answer")
	}
	// A later answer extends; an older one never shortens.
	p.extend(g, c.now, 1500*time.Millisecond)
	p.extend(g, c.now.Add(-time.Second), 1500*time.Millisecond)
	if g.Until() != 1500*time.Millisecond {
		t.Fatalf("Until = %v, want 1.5s", g.Until())
	}
	g.disarm()
	if _, ok := g.MayAct(); ok || g.Until() != 0 {
		t.Fatal("acts after disarm")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]func(*Config){
		"lease_ttl":       func(c *Config) { c.TTL = 1500 * time.Millisecond },
		"lease_margin":    func(c *Config) { c.Margin = c.TTL },
		"election_prefix": func(c *Config) { c.Prefix = "x" },
		"election_retry":  func(c *Config) { c.RetryDelay = 0 },
	}
	for field, mut := range bad {
		c := DefaultConfig()
		mut(&c)
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: err = %v", field, err)
		}
	}
	for _, name := range []string{"", "a/b", "a b", strings.Repeat("x", 129)} {
		if ValidateName(name) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if _, err := Props("trading", DefaultConfig(), Deps{}); err == nil {
		t.Error("Props without an etcd client accepted")
	}
}
