package webui

import (
	"strings"
	"testing"
	"time"
)

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Config{Listen: "nope", PasswordHash: "md5:s3cret", SessionTTL: time.Second, LoginBackoff: 0}
	err := c.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, key := range []string{"listen:", "password_hash:", "session_ttl:", "max_sessions:", "max_connections:", "login_burst:", "login_backoff:"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("no %s in %v", key, err)
		}
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the secret is quoted: %v", err)
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := hashPassword("pw", minIterations)
	if err != nil {
		t.Fatal(err)
	}
	p, err := parseHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !p.check("pw") || p.check("pW") || p.check("") {
		t.Fatal("check disagrees")
	}
	// What the Python line in defaults.toml makes:
	// hashlib.pbkdf2_hmac("sha256", b"password", b"saltsalt", 10000).hex()
	py, err := parseHash("pbkdf2-sha256:10000:73616c7473616c74:f00b02e07ff5e3b94594410c0a72f524cce210859a486bd72c1ee333830825a3")
	if err != nil || !py.check("password") || py.check("passwore") {
		t.Fatalf("Python's hash: %v", err)
	}
	for _, bad := range []string{"", "pbkdf2-sha256:1:00:00", "pbkdf2-sha256:10000:zz:" + strings.Repeat("0", 64), "pbkdf2-sha256:10000:0011223344556677:00", "sha1:10000:0011223344556677:" + strings.Repeat("0", 64)} {
		if _, err := parseHash(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
