package cache

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/allegro/bigcache/v3"
)

// stampLen is the size of the expiry stamp in front of every stored value:
// the expiry instant in Unix nanoseconds, little-endian.
const stampLen = 8

// sweepBatch bounds the entries one sweep tick examines, so a sweep never
// holds the mailbox for long however big the cache is.
const sweepBatch = 4096

// memStore is the memory backend: one bigcache whose values carry their own
// expiry (see the package doc). It is used on the actor goroutine only;
// bigcache runs no goroutine of its own here (CleanWindow is 0).
type memStore struct {
	bc      *bigcache.BigCache
	now     func() time.Time
	scratch []byte                      // stamp+value buffer for Set (bigcache copies it)
	it      *bigcache.EntryInfoIterator // sweep cursor; nil between passes

	evictions uint64 // live entries pushed out by max_size_mb
	expired   uint64 // entries dropped because their TTL passed
}

func newMemStore(cfg Config, now func() time.Time) (*memStore, error) {
	m := &memStore{now: now}
	bcfg := bigcache.Config{
		Shards: memoryShards,
		// bigcache's own lifetime only has to be longer than any entry's:
		// expiry is decided by the stamp. The head of each shard's queue
		// (overwritten and deleted versions) is reclaimed past it.
		LifeWindow:  cfg.longestTTL() + time.Second,
		CleanWindow: 0, // no goroutine; stale heads are popped on Set
		// The shards start small (16 KiB each) and grow as entries come:
		// a daemon that caches little keeps a small heap (and GC goal).
		MaxEntriesInWindow: memoryShards * 256,
		MaxEntrySize:       64,
		HardMaxCacheSize:   cfg.MaxSizeMB,
		Verbose:            false,
		OnRemoveWithReason: m.onRemove,
	}
	bc, err := bigcache.New(context.Background(), bcfg)
	if err != nil {
		return nil, err
	}
	m.bc = bc
	return m, nil
}

// onRemove is bigcache's callback: it runs inside Set (on the actor
// goroutine) when an entry leaves the cache for lack of space or age.
func (m *memStore) onRemove(_ string, entry []byte, reason bigcache.RemoveReason) {
	switch reason {
	case bigcache.NoSpace:
		if m.isExpired(entry, m.now()) {
			m.expired++
		} else {
			m.evictions++
		}
	case bigcache.Expired:
		m.expired++
	}
}

// get returns the live value of key; an expired entry is removed and is a miss.
func (m *memStore) get(key string) ([]byte, bool) {
	e, err := m.bc.Get(key)
	if err != nil || len(e) < stampLen {
		return nil, false
	}
	if m.isExpired(e, m.now()) {
		if m.bc.Delete(key) == nil {
			m.expired++
		}
		return nil, false
	}
	return e[stampLen:], true
}

// set stores value under key until now+ttl.
func (m *memStore) set(key string, value []byte, ttl time.Duration) error {
	n := stampLen + len(value)
	if cap(m.scratch) < n {
		m.scratch = make([]byte, n)
	}
	buf := m.scratch[:n]
	binary.LittleEndian.PutUint64(buf, uint64(m.now().Add(ttl).UnixNano()))
	copy(buf[stampLen:], value)
	return m.bc.Set(key, buf)
}

// del removes key and says whether it held a live value.
func (m *memStore) del(key string) bool {
	_, live := m.get(key)
	if !live {
		return false
	}
	return m.bc.Delete(key) == nil
}

// len counts stored entries, including expired ones not yet swept.
func (m *memStore) len() uint64 { return uint64(m.bc.Len()) }

// sweep examines at most sweepBatch entries from where the last tick
// stopped and removes the expired ones. It returns how many it removed.
func (m *memStore) sweep() int {
	if m.it == nil {
		m.it = m.bc.Iterator()
	}
	now := m.now()
	removed := 0
	for range sweepBatch {
		if !m.it.SetNext() {
			m.it = nil // pass finished; the next tick starts another
			break
		}
		info, err := m.it.Value()
		if err != nil {
			continue
		}
		if m.isExpired(info.Value(), now) && m.bc.Delete(info.Key()) == nil {
			m.expired++
			removed++
		}
	}
	return removed
}

// reset drops every entry (Redis is back: memory must not serve stale
// values on a later fallback).
func (m *memStore) reset() {
	_ = m.bc.Reset()
	m.it = nil
}

func (m *memStore) close() {
	if m.bc != nil {
		_ = m.bc.Close()
	}
}

func (m *memStore) isExpired(entry []byte, now time.Time) bool {
	if len(entry) < stampLen {
		return true
	}
	return now.UnixNano() >= int64(binary.LittleEndian.Uint64(entry))
}
