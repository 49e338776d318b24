// Package cache is SuperBot's shared cache: an actor that answers
// CacheGetRequest, CacheSetRequest, CacheDeleteRequest and CacheStatsRequest
// (the cache.stats RPC) from a bigcache in the daemon or from Redis.
//
// # TTL classes
//
// A write names a TTL class from the config (ticker 5 s, orderbook 1 s,
// klines 60 s, default 30 s by default) or gives ttl_ms; ttl_ms wins.
//
// bigcache has one life window for the whole cache, so the memory backend
// does not use it for expiry. Each stored value starts with an 8-byte expiry
// stamp (Unix nanoseconds, from the actor's clock); a read of an expired
// entry deletes it and is a miss. This gives every class, and every ttl_ms,
// its exact lifetime in one bigcache, with millisecond precision (bigcache
// works in whole seconds), and makes expiry testable with an injected clock.
// One bigcache per class was the alternative; it would need a lookup in
// every cache on a read, could not serve arbitrary ttl_ms, and is stuck with
// bigcache's wall clock. bigcache's life window is set just past the longest
// allowed TTL (max_ttl), so it never drops a live entry; it only reclaims
// the bytes of overwritten and deleted versions. Expired entries that nobody
// reads are removed by a sweep that examines a bounded batch per tick
// (sweep_interval), so the mailbox is never held for long.
//
// bigcache evicts first-in first-out when max_size_mb is reached (not LRU);
// evictions of live entries are counted. A 64-bit key hash collision makes
// the colliding keys overwrite each other (a miss, never a wrong value).
//
// # Redis
//
// With backend = "redis", reads and writes go to Redis (keys prefixed with
// redis_prefix, expiry by PX) through a fixed pool of worker goroutines; the
// actor never waits for Redis. A key always goes to the same worker, so one
// caller's operations on a key stay in order. Workers send their results back
// to the actor, which counts them and answers the original sender.
//
// When Redis fails (a command error other than WRONGTYPE, or a failed probe)
// the actor switches to the memory backend, publishes "cache.backend.fallback"
// on the bus, logs a warning and reports fallback=true in stats; the failed
// request is served from memory. A prober goroutine pings Redis every
// probe_interval; when it answers again the actor publishes
// "cache.backend.restored", clears the memory backend (so a later fallback
// never serves values older than Redis's) and sends requests to Redis again.
// Both events carry a *messages.CacheBackendChanged.
//
// # Stats
//
// cache.stats (CacheStatsRequest) reports: hits and misses of reads (an
// expired entry is a miss) and hit_rate = hits/(hits+misses); sets and
// deletes (of keys that existed); entries: in memory, the entries stored,
// including expired ones the sweep has not reached yet; in Redis, the key
// count (DBSIZE) of redis_db; evictions: live memory entries pushed out at
// max_size_mb; expired: memory entries dropped after their TTL; backend and
// fallback. Counters start from zero when the actor starts or restarts.
//
// Bad input (empty or oversized key or value, unknown TTL class, negative or
// too long ttl_ms) is answered with an INVALID_ARGUMENT error and changes
// nothing.
package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Kind names the cache in the supervision tree.
const Kind = "cache"

// Bus topics the cache publishes, each with a *messages.CacheBackendChanged.
const (
	// TopicFallback: Redis is unreachable; memory serves.
	TopicFallback = "cache.backend.fallback"
	// TopicRestored: Redis answers again and serves.
	TopicRestored = "cache.backend.restored"
)

// MaxKeyLen is the longest key accepted, in bytes.
const MaxKeyLen = 1024

// ErrStart is wrapped by the panic of a cache that cannot build its store
// (only possible with a config that did not pass Validate).
var ErrStart = errors.New("cache: start failed")

// Props returns the cache actor's props. cfg must have passed Validate.
// Events go to bus (nil: none are published); log may be nil.
func Props(cfg Config, bus *actor.PID, log *slog.Logger) *actor.Props {
	return newProps(cfg, bus, log, time.Now)
}

// newProps is Props with the clock that decides expiry (tests inject one).
func newProps(cfg Config, bus *actor.PID, log *slog.Logger, clock func() time.Time) *actor.Props {
	cfg = cfg.clone()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &cacheActor{cfg: cfg, bus: bus, log: log.With("actor", Kind), now: clock}
	})
}

type cacheActor struct {
	cfg Config
	bus *actor.PID
	log *slog.Logger
	now func() time.Time

	mem      *memStore
	redis    *redisBackend // nil for the memory backend
	fallback bool          // Redis configured but memory serves
	sweeper  *time.Timer

	hits, misses, sets, deletes uint64
}

// sweepTick asks the actor to sweep a batch of expired entries. owner tells
// a tick of this instance from one armed before a restart.
type sweepTick struct{ owner *cacheActor }

func (a *cacheActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release()
	case *messages.CacheGetRequest:
		a.onGet(ctx, msg)
	case *messages.CacheSetRequest:
		a.onSet(ctx, msg)
	case *messages.CacheDeleteRequest:
		a.onDelete(ctx, msg)
	case *messages.CacheStatsRequest:
		a.onStats(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *redisDone:
		a.onRedisDone(ctx, msg)
	case *probeResult:
		a.onProbe(ctx, msg)
	case sweepTick:
		a.onSweep(ctx, msg)
	case actor.SystemMessage, actor.AutoReceiveMessage:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *cacheActor) onStarted(ctx actor.Context) {
	mem, err := newMemStore(a.cfg, a.now)
	if err != nil {
		panic(fmt.Errorf("%w: memory backend: %w", ErrStart, err))
	}
	a.mem = mem
	root, self := ctx.ActorSystem().Root, ctx.Self()
	if a.cfg.Backend == BackendRedis {
		a.redis = startRedis(a.cfg, root, self, a.log)
	}
	a.sweeper = time.AfterFunc(a.cfg.SweepInterval, func() { root.Send(self, sweepTick{owner: a}) })
	a.log.Info("cache started", "backend", a.cfg.Backend, "max_size_mb", a.cfg.MaxSizeMB)
}

// release frees what onStarted acquired; safe to call twice.
func (a *cacheActor) release() {
	if a.sweeper != nil {
		a.sweeper.Stop()
		a.sweeper = nil
	}
	if a.redis != nil {
		a.redis.stop()
		a.redis = nil
	}
	if a.mem != nil {
		a.mem.close()
		a.mem = nil
	}
}

func (a *cacheActor) onGet(ctx actor.Context, msg *messages.CacheGetRequest) {
	if e := checkKey(msg.GetKey()); e != nil {
		respond(ctx, ctx.Sender(), &messages.CacheGetResponse{Error: e})
		return
	}
	if a.useRedis() {
		a.toRedis(ctx, redisJob{op: opGet, key: msg.GetKey(), req: msg, sender: ctx.Sender()})
		return
	}
	respond(ctx, ctx.Sender(), a.memGet(msg))
}

func (a *cacheActor) onSet(ctx actor.Context, msg *messages.CacheSetRequest) {
	ttl, e := a.check(msg)
	if e != nil {
		respond(ctx, ctx.Sender(), &messages.CacheSetResponse{Error: e})
		return
	}
	if a.useRedis() {
		a.toRedis(ctx, redisJob{op: opSet, key: msg.GetKey(), value: msg.GetValue(), ttl: ttl, req: msg, sender: ctx.Sender()})
		return
	}
	respond(ctx, ctx.Sender(), a.memSet(msg, ttl))
}

func (a *cacheActor) onDelete(ctx actor.Context, msg *messages.CacheDeleteRequest) {
	if e := checkKey(msg.GetKey()); e != nil {
		respond(ctx, ctx.Sender(), &messages.CacheDeleteResponse{Error: e})
		return
	}
	if a.useRedis() {
		a.toRedis(ctx, redisJob{op: opDel, key: msg.GetKey(), req: msg, sender: ctx.Sender()})
		return
	}
	respond(ctx, ctx.Sender(), a.memDelete(msg))
}

func (a *cacheActor) onStats(ctx actor.Context, msg *messages.CacheStatsRequest) {
	if a.useRedis() {
		a.toRedis(ctx, redisJob{op: opStats, req: msg, sender: ctx.Sender()})
		return
	}
	respond(ctx, ctx.Sender(), a.stats(a.mem.len()))
}

// onRedisDone counts a worker's result and answers the original sender. A
// failure that means Redis is down switches to memory, which then serves
// the request.
func (a *cacheActor) onRedisDone(ctx actor.Context, d *redisDone) {
	if d.owner != a.redis { // from before a restart: answer, change nothing
		respond(ctx, d.job.sender, a.staleReply(d))
		return
	}
	switch {
	case d.err == nil:
		respond(ctx, d.job.sender, a.redisReply(d))
	case isRequestError(d.err):
		respond(ctx, d.job.sender, errorReply(d.job.op, messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "the key holds a value the cache did not write")))
	default:
		a.enterFallback(ctx, d.err)
		respond(ctx, d.job.sender, a.serveFromMemory(d.job))
	}
}

func (a *cacheActor) onProbe(ctx actor.Context, p *probeResult) {
	if p.owner != a.redis {
		return
	}
	if p.err != nil {
		a.enterFallback(ctx, p.err)
		return
	}
	a.restore(ctx)
}

func (a *cacheActor) onSweep(ctx actor.Context, t sweepTick) {
	if t.owner != a || a.mem == nil {
		return
	}
	if n := a.mem.sweep(); n > 0 {
		a.log.Debug("cache sweep", "expired", n)
	}
	root, self := ctx.ActorSystem().Root, ctx.Self()
	a.sweeper = time.AfterFunc(a.cfg.SweepInterval, func() { root.Send(self, sweepTick{owner: a}) })
}

// useRedis says whether requests go to Redis now.
func (a *cacheActor) useRedis() bool { return a.redis != nil && !a.fallback }

// toRedis hands a job to its worker, or answers UNAVAILABLE when the
// worker's queue is full (Redis is slow; the caller may retry).
func (a *cacheActor) toRedis(ctx actor.Context, j redisJob) {
	if !a.redis.enqueue(j) {
		respond(ctx, j.sender, errorReply(j.op, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the cache is busy")))
	}
}

func (a *cacheActor) enterFallback(ctx actor.Context, reason error) {
	if a.fallback {
		return
	}
	a.fallback = true
	a.log.Warn("redis unreachable, serving from memory", "redis_addr", a.cfg.RedisAddr, "err", reason)
	a.publish(ctx, TopicFallback, &messages.CacheBackendChanged{Backend: a.cfg.Backend, Fallback: true, Reason: reason.Error()})
}

func (a *cacheActor) restore(ctx actor.Context) {
	if !a.fallback {
		return
	}
	a.fallback = false
	a.mem.reset()
	a.log.Info("redis reachable again, serving from redis", "redis_addr", a.cfg.RedisAddr)
	a.publish(ctx, TopicRestored, &messages.CacheBackendChanged{Backend: a.cfg.Backend})
}

func (a *cacheActor) publish(ctx actor.Context, topic string, payload *messages.CacheBackendChanged) {
	if a.bus != nil {
		ctx.Send(a.bus, messages.NewEvent(topic, Kind, payload))
	}
}

func (a *cacheActor) memGet(msg *messages.CacheGetRequest) *messages.CacheGetResponse {
	v, ok := a.mem.get(msg.GetKey())
	a.count(ok)
	return &messages.CacheGetResponse{Found: ok, Value: v}
}

func (a *cacheActor) memSet(msg *messages.CacheSetRequest, ttl time.Duration) *messages.CacheSetResponse {
	if err := a.mem.set(msg.GetKey(), msg.GetValue(), ttl); err != nil {
		return &messages.CacheSetResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "value does not fit the cache")}
	}
	a.sets++
	return &messages.CacheSetResponse{}
}

func (a *cacheActor) memDelete(msg *messages.CacheDeleteRequest) *messages.CacheDeleteResponse {
	ok := a.mem.del(msg.GetKey())
	if ok {
		a.deletes++
	}
	return &messages.CacheDeleteResponse{Deleted: ok}
}

// serveFromMemory answers a job whose Redis command failed.
func (a *cacheActor) serveFromMemory(j redisJob) any {
	switch req := j.req.(type) {
	case *messages.CacheGetRequest:
		return a.memGet(req)
	case *messages.CacheSetRequest:
		return a.memSet(req, j.ttl)
	case *messages.CacheDeleteRequest:
		return a.memDelete(req)
	default:
		return a.stats(a.mem.len())
	}
}

// redisReply counts a successful Redis result and builds the response.
func (a *cacheActor) redisReply(d *redisDone) any {
	switch d.job.op {
	case opGet:
		a.count(d.found)
		return &messages.CacheGetResponse{Found: d.found, Value: d.value}
	case opSet:
		a.sets++
		return &messages.CacheSetResponse{}
	case opDel:
		if d.deleted {
			a.deletes++
		}
		return &messages.CacheDeleteResponse{Deleted: d.deleted}
	default:
		return a.stats(d.entries)
	}
}

// staleReply answers a result that arrived after a restart, counting nothing.
func (a *cacheActor) staleReply(d *redisDone) any {
	if d.err != nil {
		return errorReply(d.job.op, messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the cache restarted"))
	}
	switch d.job.op {
	case opGet:
		return &messages.CacheGetResponse{Found: d.found, Value: d.value}
	case opSet:
		return &messages.CacheSetResponse{}
	case opDel:
		return &messages.CacheDeleteResponse{Deleted: d.deleted}
	default:
		return a.stats(d.entries)
	}
}

func (a *cacheActor) stats(entries uint64) *messages.CacheStatsResponse {
	s := &messages.CacheStatsResponse{
		Backend:  a.cfg.Backend,
		Fallback: a.fallback,
		Hits:     a.hits,
		Misses:   a.misses,
		Entries:  entries,
		Sets:     a.sets,
		Deletes:  a.deletes,
	}
	if a.mem != nil {
		s.Evictions, s.Expired = a.mem.evictions, a.mem.expired
	}
	if n := a.hits + a.misses; n > 0 {
		s.HitRate = float64(a.hits) / float64(n)
	}
	return s
}

func (a *cacheActor) count(hit bool) {
	if hit {
		a.hits++
	} else {
		a.misses++
	}
}

// check validates a write and resolves its TTL.
func (a *cacheActor) check(msg *messages.CacheSetRequest) (time.Duration, *messages.Error) {
	if e := checkKey(msg.GetKey()); e != nil {
		return 0, e
	}
	if limit := a.cfg.MaxValueKB * 1024; len(msg.GetValue()) > limit {
		return 0, invalid("value is %d bytes, the limit is %d", len(msg.GetValue()), limit)
	}
	ttl := a.cfg.TTL[ClassDefault]
	if c := msg.GetTtlClass(); c != "" {
		d, ok := a.cfg.TTL[c]
		if !ok {
			e := invalid("unknown ttl class %q", c)
			e.Details = sortedClasses(a.cfg.TTL)
			return 0, e
		}
		ttl = d
	}
	switch ms := msg.GetTtlMs(); {
	case ms < 0:
		return 0, invalid("ttl_ms must be >= 0, got %d", ms)
	case ms > a.cfg.MaxTTL.Milliseconds():
		return 0, invalid("ttl_ms must be <= %d, got %d", a.cfg.MaxTTL.Milliseconds(), ms)
	case ms > 0:
		ttl = time.Duration(ms) * time.Millisecond
	}
	return ttl, nil
}

func checkKey(key string) *messages.Error {
	switch {
	case key == "":
		return invalid("key is empty")
	case len(key) > MaxKeyLen:
		return invalid("key is %d bytes, the limit is %d", len(key), MaxKeyLen)
	}
	return nil
}

func invalid(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, format, args...)
}

// errorReply builds the response type of op carrying e.
func errorReply(op redisOp, e *messages.Error) any {
	switch op {
	case opGet:
		return &messages.CacheGetResponse{Error: e}
	case opSet:
		return &messages.CacheSetResponse{Error: e}
	case opDel:
		return &messages.CacheDeleteResponse{Error: e}
	default:
		return &messages.CacheStatsResponse{Error: e}
	}
}

// respond sends resp to sender; fire-and-forget requests have none.
func respond(ctx actor.Context, sender *actor.PID, resp any) {
	if sender != nil {
		ctx.Send(sender, resp)
	}
}

// Classes lists the TTL classes of cfg, sorted.
func Classes(cfg Config) []string { return sortedClasses(cfg.TTL) }
