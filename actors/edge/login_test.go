package edge

import (
	"net"
	"testing"
	"time"
)

// TestLoginSources: on the Unix socket a module's failed logins are counted
// apart from the owner's, so a module that keeps failing never slows the
// owner's login; TCP peers are counted by IP.
func TestLoginSources(t *testing.T) {
	unixAddr := &net.UnixAddr{Name: "@", Net: "unix"}
	tcp := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2), Port: 4000}
	if sourceOf(unixAddr, true) == sourceOf(unixAddr, false) {
		t.Fatal("a module and the owner share one login source")
	}
	if got := sourceOf(tcp, false); got != "127.0.0.2" {
		t.Fatalf("tcp source %q", got)
	}
	l := newLoginLimiter(Config{LoginBurst: 1, LoginBackoff: time.Hour, LoginTimeout: time.Second})
	now := time.Unix(1000, 0)
	for range 3 {
		l.reserve(sourceOf(unixAddr, true), now) // a module failing its logins
	}
	if wait, ok := l.reserve(sourceOf(unixAddr, false), now); !ok || wait != 0 {
		t.Fatalf("the owner's login waits %s (ok %v) after a module's failures", wait, ok)
	}
}
