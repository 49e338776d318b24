package cache

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/redislog"
)

// redisOp is what a redisJob asks Redis to do.
type redisOp int

const (
	opGet redisOp = iota
	opSet
	opDel
	opStats
)

// redisJob is one request handed to a Redis worker. It carries the original
// request and its sender so that, if Redis fails, the actor can serve the
// request from memory and still answer the right caller.
type redisJob struct {
	op     redisOp
	key    string
	value  []byte
	ttl    time.Duration
	req    proto.Message
	sender *actor.PID
}

// redisDone is a worker's result, sent to the actor (local-only message).
type redisDone struct {
	owner   *redisBackend
	job     redisJob
	found   bool
	value   []byte
	deleted bool
	entries uint64
	err     error
}

// probeResult is the prober's verdict on Redis (local-only message).
type probeResult struct {
	owner *redisBackend
	err   error
}

// redisBackend owns the Redis client, the workers and the prober. All of
// its goroutines run off the actor goroutine and only send messages back.
type redisBackend struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	queues  []chan redisJob
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	root    *actor.RootContext
	self    *actor.PID
}

// startRedis creates the client (it dials lazily) and starts one goroutine
// per worker plus the prober.
func startRedis(cfg Config, root *actor.RootContext, self *actor.PID, log *slog.Logger) *redisBackend {
	redislog.Route(log)
	ctx, cancel := context.WithCancel(context.Background())
	b := &redisBackend{
		client: redis.NewClient(&redis.Options{
			Addr:                     cfg.RedisAddr,
			Password:                 cfg.RedisPassword,
			DB:                       cfg.RedisDB,
			DialTimeout:              cfg.RedisTimeout,
			ReadTimeout:              cfg.RedisTimeout,
			WriteTimeout:             cfg.RedisTimeout,
			PoolTimeout:              cfg.RedisTimeout,
			ContextTimeoutEnabled:    true,
			MaxRetries:               -1, // a failure means fallback, not a slower answer
			DialerRetries:            1,
			PoolSize:                 cfg.RedisWorkers + 1,
			DisableIdentity:          true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}),
		prefix:  cfg.RedisPrefix,
		timeout: cfg.RedisTimeout,
		cancel:  cancel,
		root:    root,
		self:    self,
	}
	b.queues = make([]chan redisJob, cfg.RedisWorkers)
	for i := range b.queues {
		q := make(chan redisJob, cfg.RedisQueue)
		b.queues[i] = q
		b.wg.Add(1)
		go b.worker(ctx, q)
	}
	b.wg.Add(1)
	go b.prober(ctx, cfg.ProbeInterval)
	return b
}

// enqueue hands j to the worker that owns its key without waiting; false
// means that worker's queue is full.
func (b *redisBackend) enqueue(j redisJob) bool {
	i := 0
	if j.key != "" {
		h := fnv.New32a()
		_, _ = h.Write([]byte(j.key))
		i = int(h.Sum32() % uint32(len(b.queues)))
	}
	select {
	case b.queues[i] <- j:
		return true
	default:
		return false
	}
}

// stop cancels every goroutine and closes the client once they are gone.
// It does not wait (it is called from the actor goroutine).
func (b *redisBackend) stop() {
	b.cancel()
	go func() { // off the actor goroutine: waits for workers, then closes
		b.wg.Wait()
		_ = b.client.Close()
	}()
}

// worker runs off the actor goroutine: it executes jobs and sends each
// result to the actor.
func (b *redisBackend) worker(ctx context.Context, q <-chan redisJob) {
	defer b.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-q:
			b.root.Send(b.self, b.do(ctx, j))
		}
	}
}

func (b *redisBackend) do(parent context.Context, j redisJob) *redisDone {
	ctx, cancel := context.WithTimeout(parent, b.timeout)
	defer cancel()
	d := &redisDone{owner: b, job: j}
	switch j.op {
	case opGet:
		v, err := b.client.Get(ctx, b.prefix+j.key).Bytes()
		switch {
		case errors.Is(err, redis.Nil):
		case err != nil:
			d.err = err
		default:
			d.found, d.value = true, v
		}
	case opSet:
		d.err = b.client.Set(ctx, b.prefix+j.key, j.value, j.ttl).Err()
	case opDel:
		n, err := b.client.Del(ctx, b.prefix+j.key).Result()
		d.deleted, d.err = n > 0, err
	case opStats:
		n, err := b.client.DBSize(ctx).Result()
		d.entries, d.err = uint64(max(n, 0)), err
	}
	return d
}

// prober runs off the actor goroutine: it pings Redis at once and then
// every interval, and reports each result to the actor.
func (b *redisBackend) prober(ctx context.Context, interval time.Duration) {
	defer b.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		pctx, cancel := context.WithTimeout(ctx, b.timeout)
		err := b.client.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return
		}
		b.root.Send(b.self, &probeResult{owner: b, err: err})
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// isRequestError reports a reply error about this request from a healthy
// Redis (the key holds another type): the request fails, Redis is not down.
// Every other error (network, timeout, LOADING, auth ...) means fallback.
func isRequestError(err error) bool {
	return redis.HasErrorPrefix(err, "WRONGTYPE")
}
