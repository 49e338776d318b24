package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// sessionCookie names the session cookie.
const sessionCookie = "superbot_session"

// sessions is the server-side session table: a random id (in the cookie)
// to its expiry. Ids are kept hashed, so a lookup's timing says nothing
// about the ids held. Safe for concurrent use.
type sessions struct {
	ttl time.Duration
	max int

	mu sync.Mutex
	m  map[[sha256.Size]byte]time.Time
}

func newSessions(ttl time.Duration, max int) *sessions {
	return &sessions{ttl: ttl, max: max, m: map[[sha256.Size]byte]time.Time{}}
}

// create starts a session; it returns its id. Past max sessions, expired
// ones are dropped, then the one that expires first.
func (s *sessions) create(now time.Time) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	id := hex.EncodeToString(raw)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.m) >= s.max {
		s.evict(now)
	}
	s.m[sha256.Sum256([]byte(id))] = now.Add(s.ttl)
	return id, nil
}

// evict drops the expired sessions, or, when none is, the one that
// expires first.
func (s *sessions) evict(now time.Time) {
	var first [sha256.Size]byte
	var firstAt time.Time
	for k, exp := range s.m {
		if !now.Before(exp) {
			delete(s.m, k)
			continue
		}
		if firstAt.IsZero() || exp.Before(firstAt) {
			first, firstAt = k, exp
		}
	}
	if len(s.m) >= s.max && !firstAt.IsZero() {
		delete(s.m, first)
	}
}

// lookup returns the key and expiry of id when it is a live session.
func (s *sessions) lookup(id string, now time.Time) (key [sha256.Size]byte, exp time.Time, ok bool) {
	if len(id) != 64 {
		return key, exp, false
	}
	key = sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok = s.m[key]
	if ok && !now.Before(exp) {
		delete(s.m, key)
		return key, exp, false
	}
	return key, exp, ok
}

// remove ends a session; it returns its key.
func (s *sessions) remove(id string) [sha256.Size]byte {
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	delete(s.m, k)
	s.mu.Unlock()
	return k
}
