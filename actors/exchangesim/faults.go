package exchangesim

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// FaultKind names a kind of injected fault.
type FaultKind string

// Fault kinds.
const (
	// FaultLatency delays matching requests by Latency before they are processed.
	FaultLatency FaultKind = "latency"
	// FaultError answers matching requests with HTTP Status (default 503) without processing them.
	FaultError FaultKind = "error"
	// FaultDrop processes a matching request (an order IS created) and then closes the
	// connection without an answer, so the client sees EOF / a timeout.
	FaultDrop FaultKind = "drop"
	// FaultRateLimit answers matching requests 429 / -1003 with Retry-After.
	FaultRateLimit FaultKind = "rate_limit"
	// FaultBan answers matching requests 418 / -1003 (IP banned) with Retry-After.
	FaultBan FaultKind = "ban"
	// FaultErrorAfter processes a matching request (an order IS created) and then
	// answers HTTP Status (default 503) as FaultError does: the client cannot tell
	// that the work was done.
	FaultErrorAfter FaultKind = "error_after"
	// FaultRateLimitAfter processes a matching request, then answers 429 / -1003 as
	// FaultRateLimit does (a 429 after the request left: an unknown outcome).
	FaultRateLimitAfter FaultKind = "rate_limit_after"
	// FaultBanAfter processes a matching request, then answers 418 / -1003 as FaultBan does.
	FaultBanAfter FaultKind = "ban_after"
)

// afterKinds maps each fault kind that acts after processing to the kind whose answer it gives.
var afterKinds = map[FaultKind]FaultKind{
	FaultErrorAfter:     FaultError,
	FaultRateLimitAfter: FaultRateLimit,
	FaultBanAfter:       FaultBan,
}

// after reports whether k acts after the request was processed (drop and the *_after kinds).
func (k FaultKind) after() bool {
	_, ok := afterKinds[k]
	return ok || k == FaultDrop
}

// Fault is one injected fault on the REST routes (never on /admin/ or the WebSocket routes).
type Fault struct {
	// Kind is what happens.
	Kind FaultKind
	// Route selects requests: "" (all), a path ("/api/v3/order", any method) or
	// "METHOD path" ("POST /api/v3/order").
	Route string
	// Count is how many matching requests are affected. 0 means until ClearFaults for
	// latency and 1 for the other kinds.
	Count int
	// Latency is the added delay of a latency fault.
	Latency time.Duration
	// Status is the HTTP status of an error or error_after fault (500–599, default 503).
	Status int
	// RetryAfter is the Retry-After of the rate_limit and ban faults (and their _after
	// kinds; default 1s), rounded up to seconds.
	RetryAfter time.Duration
}

func (f Fault) validate() error {
	switch f.Kind {
	case FaultLatency:
		if f.Latency <= 0 {
			return fmt.Errorf("fault: latency must be > 0")
		}
	case FaultError, FaultErrorAfter:
		if f.Status != 0 && (f.Status < 500 || f.Status > 599) {
			return fmt.Errorf("fault: status must be 5xx, got %d", f.Status)
		}
	case FaultDrop, FaultRateLimit, FaultBan, FaultRateLimitAfter, FaultBanAfter:
	default:
		return fmt.Errorf("fault: unknown kind %q", f.Kind)
	}
	if f.Count < 0 {
		return fmt.Errorf("fault: count must be >= 0")
	}
	return nil
}

func (f *Fault) matches(method, path string) bool {
	if f.Route == "" {
		return true
	}
	if m, p, ok := strings.Cut(f.Route, " "); ok {
		return m == method && p == path
	}
	return f.Route == path
}

type faultSet struct {
	mu     sync.Mutex
	faults []*Fault // remaining counts live in Count
}

// effect is what the faults do to one request.
type effect struct {
	latency time.Duration
	err     *apiError
}

func (s *faultSet) add(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Count == 0 && f.Kind != FaultLatency {
		f.Count = 1
	}
	s.faults = append(s.faults, &f)
}

func (s *faultSet) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func (s *faultSet) list() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	return out
}

// consume decrements f and drops it when used up. The caller holds s.mu.
func (s *faultSet) consume(i int) {
	f := s.faults[i]
	if f.Count == 0 {
		return // persistent latency
	}
	f.Count--
	if f.Count == 0 {
		s.faults = append(s.faults[:i], s.faults[i+1:]...)
	}
}

// take applies the latency, error, rate_limit and ban faults matching a request.
func (s *faultSet) take(method, path string) effect {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ef effect
	for i := 0; i < len(s.faults); i++ {
		f := s.faults[i]
		if !f.matches(method, path) || f.Kind.after() {
			continue
		}
		if f.Kind == FaultLatency {
			ef.latency += f.Latency
		} else if ef.err == nil {
			ef.err = f.apiError()
		} else {
			continue
		}
		before := len(s.faults)
		s.consume(i)
		if len(s.faults) < before {
			i--
		}
	}
	return ef
}

// takeAfter consumes the first matching fault that acts after a request succeeded:
// drop reports a drop fault, err the answer of an *_after fault.
func (s *faultSet) takeAfter(method, path string) (drop bool, err *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Kind.after() && f.matches(method, path) {
			if f.Kind != FaultDrop {
				err = f.apiError()
			}
			s.consume(i)
			return err == nil, err
		}
	}
	return false, nil
}

func (f *Fault) apiError() *apiError {
	ra := ceilSec(max(f.RetryAfter, time.Second).Milliseconds())
	kind := f.Kind
	if k, ok := afterKinds[kind]; ok {
		kind = k
	}
	switch kind {
	case FaultRateLimit:
		ae := errf(429, -1003, "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.")
		ae.retryAfter = ra
		return ae
	case FaultBan:
		ae := errf(418, -1003, "Way too much request weight used; IP banned until %d. Please use WebSocket Streams for live updates to avoid bans.",
			time.Now().Add(time.Duration(ra)*time.Second).UnixMilli())
		ae.retryAfter = ra
		return ae
	}
	st := f.Status
	if st == 0 {
		st = http.StatusServiceUnavailable
	}
	if st == http.StatusInternalServerError {
		return errf(st, -1000, "An unknown error occurred while processing the request.")
	}
	return errf(st, -1007, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.")
}

// InjectFault adds a fault to the REST routes.
func (e *Exchange) InjectFault(f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("exchangesim: %w", err)
	}
	e.faults.add(f)
	return nil
}

// ClearFaults removes every injected fault.
func (e *Exchange) ClearFaults() { e.faults.clear() }

// Faults returns the active faults with their remaining counts.
func (e *Exchange) Faults() []Fault { return e.faults.list() }

// CloseStreams closes every WebSocket connection (market streams and user data); with
// shutdown set, each first receives a serverShutdown event. It returns how many were closed.
func (e *Exchange) CloseStreams(shutdown bool) int { return e.hub.closeAll(shutdown, e.nowMs()) }

// ResetLimits forgets all request weight and bans.
func (e *Exchange) ResetLimits() { e.limiter.reset() }
