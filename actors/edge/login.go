package edge

import (
	"log/slog"
	"net"
	"sync"
	"time"
)

// maxLoginSources bounds the per-address login table; past it, addresses
// whose budget is whole again are forgotten.
const maxLoginSources = 4096

// loginLimiter slows failed logins per source address: a token bucket of
// Config.LoginBurst attempts refilled one per Config.LoginBackoff. A login
// takes a token before the token is checked, and a success gives it back;
// an address with no token left waits for its turn (on its connection's
// goroutine, never a mailbox), and one whose turn is further away than
// Config.LoginTimeout is refused without a check. Its methods are safe for
// concurrent use (connection goroutines).
type loginLimiter struct {
	burst   float64
	backoff time.Duration
	maxWait time.Duration

	mu      sync.Mutex
	sources map[string]*loginBucket
}

type loginBucket struct {
	tokens float64 // may go negative: turns reserved by waiting logins
	at     time.Time
}

func newLoginLimiter(cfg Config) *loginLimiter {
	return &loginLimiter{burst: float64(cfg.LoginBurst), backoff: cfg.LoginBackoff, maxWait: cfg.LoginTimeout,
		sources: map[string]*loginBucket{}}
}

// sourceOf is the address logins are counted by: the IP of a TCP peer; on
// the Unix socket, modules (peer.go) are one source and the owner another,
// so that a module failing its logins never slows the owner's.
func sourceOf(addr net.Addr, module bool) string {
	if ta, ok := addr.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	if module {
		return "unix:module"
	}
	return "unix:owner"
}

// reserve takes a turn for one login from source. It returns how long the
// login must wait before its token is checked, or ok false when the wait
// would be longer than maxWait (nothing is then reserved).
func (l *loginLimiter) reserve(source string, now time.Time) (wait time.Duration, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.sources[source]
	if b == nil {
		if len(l.sources) >= maxLoginSources {
			l.prune(now)
		}
		b = &loginBucket{tokens: l.burst, at: now}
		l.sources[source] = b
	}
	l.refill(b, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	wait = time.Duration((1 - b.tokens) * float64(l.backoff))
	if wait > l.maxWait {
		return 0, false
	}
	b.tokens--
	return wait, true
}

// succeeded gives back the turn a successful login took.
func (l *loginLimiter) succeeded(source string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.sources[source]; b != nil {
		b.tokens = min(b.tokens+1, l.burst)
	}
}

func (l *loginLimiter) refill(b *loginBucket, now time.Time) {
	if d := now.Sub(b.at); d > 0 { // clocks read on two vCPUs may go back a little
		b.tokens = min(b.tokens+float64(d)/float64(l.backoff), l.burst)
		b.at = now
	}
}

// prune forgets the sources whose budget is whole again; when none is,
// it forgets them all (the table stays bounded either way).
func (l *loginLimiter) prune(now time.Time) {
	for k, b := range l.sources {
		if l.refill(b, now); b.tokens >= l.burst {
			delete(l.sources, k)
		}
	}
	if len(l.sources) >= maxLoginSources {
		clear(l.sources)
	}
}

// refusedLog writes the "rpc login refused" line at most once per interval
// and says in it how many it left out: a guesser must not fill the log.
// Safe for concurrent use.
type refusedLog struct {
	log      *slog.Logger
	interval time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// warn logs a refused login with attrs unless a line was written less than
// interval ago; then it only counts it.
func (s *refusedLog) warn(attrs ...any) {
	s.mu.Lock()
	now := time.Now()
	if !s.last.IsZero() && now.Sub(s.last) < s.interval && now.Sub(s.last) > -s.interval {
		s.suppressed++
		s.mu.Unlock()
		return
	}
	n := s.suppressed
	s.last, s.suppressed = now, 0
	s.mu.Unlock()
	s.log.Warn("rpc login refused", append(attrs, "suppressed", n)...)
}
