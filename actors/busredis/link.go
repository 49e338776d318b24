package busredis

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/messages"
)

// Directions of the link, in linkState and BusRedisLinkChanged.
const (
	dirExport = "export"
	dirImport = "import"
)

// linkState is a goroutine's report that its direction reached Redis (up)
// or lost it (local-only message to the actor).
type linkState struct {
	owner *link
	dir   string
	up    bool
	err   string
}

// Tuning of the link.
const (
	maxBatch       = 256                    // PUBLISHes per pipeline
	importWindow   = 256                    // events sent to the bus between two barriers
	reconnectFirst = 100 * time.Millisecond // first wait after a failure
	warnEvery      = 10 * time.Second       // at most one bad-input warning per interval
	healthEvery    = 5 * time.Second        // pub/sub connection ping when idle
)

// link owns the Redis client and the goroutines that export and import.
// Its goroutines run off the actor goroutine and only send messages back
// (to the actor: linkState; to the bus: imported events).
type link struct {
	cfg      bus.RedisConfig
	client   *redis.Client
	out      chan *messages.Event // the export queue; the actor is its one producer
	counters *counters
	im       importer
	origin   string
	password string // scrubbed from errors
	root     *actor.RootContext
	self     *actor.PID
	bus      *actor.PID
	log      *slog.Logger
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	psMu     sync.Mutex
	ps       *redis.PubSub // the import subscription, closed by stop
}

// init makes the client and the export queue of a link whose origin,
// counters and actor fields are set; start launches its goroutines.
func (l *link) init(cfg bus.RedisConfig, opt *redis.Options) {
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout, opt.PoolTimeout = cfg.Timeout, cfg.Timeout, cfg.Timeout, cfg.Timeout
	opt.ContextTimeoutEnabled = true
	opt.MaxRetries = -1 // a retried PUBLISH could be delivered twice
	opt.DialerRetries = 1
	opt.PoolSize = 2
	opt.DisableIdentity = true
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	l.cfg, l.password = cfg, opt.Password
	l.client = redis.NewClient(opt)
	l.out = make(chan *messages.Event, cfg.QueueSize)
	l.im = importer{prefix: cfg.ChannelPrefix, patterns: cfg.Import, maxBytes: cfg.MaxMessageBytes, origin: l.origin}
}

func (l *link) start() {
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel = cancel
	if len(l.cfg.Export) > 0 {
		l.wg.Add(1)
		go l.exportLoop(ctx)
	}
	if len(l.cfg.Import) > 0 {
		l.wg.Add(1)
		go l.importLoop(ctx)
	}
}

// stop cancels the goroutines and closes the client once they are gone.
// It does not wait (it is called from the actor goroutine).
func (l *link) stop() {
	l.cancel()
	go func() { // off the actor goroutine: Close may wait for a dial
		l.psMu.Lock()
		if l.ps != nil {
			_ = l.ps.Close() // unblocks a Receive
		}
		l.psMu.Unlock()
		l.wg.Wait()
		_ = l.client.Close()
	}()
}

// enqueue adds ev to the export queue without waiting; a full queue loses
// its oldest event (false). Called by the actor only (the one producer).
func (l *link) enqueue(ev *messages.Event) bool {
	select {
	case l.out <- ev:
		return true
	default:
	}
	dropped := false
	select {
	case <-l.out:
		dropped = true
		l.counters.exportDropped.Add(1)
	default: // the exporter took one meanwhile
	}
	select {
	case l.out <- ev:
	default: // not reached: only this goroutine adds
		dropped = true
		l.counters.exportDropped.Add(1)
	}
	return !dropped
}

func (l *link) report(dir string, err error) {
	st := &linkState{owner: l, dir: dir, up: err == nil}
	if err != nil {
		st.err = l.scrub(err.Error())
	}
	l.root.Send(l.self, st)
}

// scrub hides the password should an error ever quote it.
func (l *link) scrub(s string) string {
	if l.password == "" {
		return s
	}
	return strings.ReplaceAll(s, l.password, "xxxxx")
}

// exportLoop runs off the actor goroutine: it PUBLISHes queued events in
// pipelined batches; after a failure it waits for Redis (pinging with
// backoff) before it takes the next batch.
func (l *link) exportLoop(ctx context.Context) {
	defer l.wg.Done()
	if !l.awaitRedis(ctx, dirExport, nil) {
		return
	}
	batch := make([]*messages.Event, 0, maxBatch)
	bufs := make([][]byte, maxBatch)
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-l.out:
			batch = append(batch[:0], ev)
		}
	fill:
		for len(batch) < maxBatch {
			select {
			case ev := <-l.out:
				batch = append(batch, ev)
			default:
				break fill
			}
		}
		if err := l.publish(ctx, batch, bufs); err != nil && !l.awaitRedis(ctx, dirExport, err) {
			return
		}
	}
}

// publish PUBLISHes one batch; events it cannot encode, or over the size
// limit, and those Redis failed, are dropped and counted.
func (l *link) publish(ctx context.Context, batch []*messages.Event, bufs [][]byte) error {
	pipe := l.client.Pipeline()
	queued := 0
	for i, ev := range batch {
		b, err := appendExport(bufs[i][:0], ev, l.origin)
		bufs[i] = b
		if err != nil || len(b) > l.cfg.MaxMessageBytes {
			l.counters.exportDropped.Add(1)
			continue
		}
		pipe.Publish(ctx, l.cfg.ChannelPrefix+ev.GetTopic(), b)
		queued++
	}
	if queued == 0 {
		return nil
	}
	cmds, err := pipe.Exec(ctx)
	var reply redis.Error
	if err != nil && !errors.As(err, &reply) { // the connection failed: none is known to be sent
		l.counters.exportDropped.Add(uint64(queued))
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	for _, c := range cmds { // Redis answered each: count its answers
		if c.Err() != nil {
			l.counters.exportDropped.Add(1)
		} else {
			l.counters.exported.Add(1)
		}
	}
	return err
}

// awaitRedis reports cause (nil: the first connection) and pings Redis
// with doubling waits until it answers; it reports a down link once and
// the way back up. It returns false when the link is stopping.
func (l *link) awaitRedis(ctx context.Context, dir string, cause error) bool {
	wait := reconnectFirst
	if cause != nil {
		l.report(dir, cause)
	}
	for {
		pctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
		err := l.client.Ping(pctx).Err()
		cancel()
		if ctx.Err() != nil {
			return false
		}
		if err == nil {
			l.report(dir, nil)
			return true
		}
		if cause == nil {
			cause = err
			l.report(dir, err)
		}
		if !sleep(ctx, wait) {
			return false
		}
		wait = min(wait*2, l.cfg.ReconnectMax)
	}
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// importLoop runs off the actor goroutine: it PSUBSCRIBEs to the import
// globs and publishes what it receives on the bus. go-redis reconnects and
// subscribes again on the Receive after a failure; this loop reports the
// link down, waits with backoff, and reports it up at the subscription's
// confirmation. A connection silent for two health intervals (no answer to
// a PING) is replaced.
func (l *link) importLoop(ctx context.Context) {
	defer l.wg.Done()
	ps := l.subscribe(ctx, nil)
	if ps == nil {
		return
	}
	defer func() { _ = ps.Close() }()
	w := &importWork{link: l}
	up, known, pinged := false, false, false
	wait := reconnectFirst
	for {
		msg, err := ps.ReceiveTimeout(ctx, healthEvery)
		if ctx.Err() != nil {
			return
		}
		if err != nil && isTimeout(err) && up && !pinged {
			pinged = true
			if err = ps.Ping(ctx); err == nil {
				continue
			}
		} else if err != nil && isTimeout(err) && up {
			err = errors.New("no answer from redis for " + (2 * healthEvery).String())
			if ps = l.subscribe(ctx, ps); ps == nil {
				return
			}
		}
		if err != nil {
			if up || !known {
				l.report(dirImport, err)
			}
			up, known, pinged = false, true, false
			if !sleep(ctx, wait) {
				return
			}
			wait = min(wait*2, l.cfg.ReconnectMax)
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if !up {
				up, known, wait = true, true, reconnectFirst
				l.report(dirImport, nil)
			}
		case *redis.Message:
			w.handle(m)
		}
	}
}

// subscribe replaces old (nil at first) with a new subscription, unless
// the link is stopping (nil).
func (l *link) subscribe(ctx context.Context, old *redis.PubSub) *redis.PubSub {
	if old != nil {
		_ = old.Close()
	}
	l.psMu.Lock()
	if ctx.Err() != nil {
		l.psMu.Unlock()
		return nil
	}
	ps := l.client.PSubscribe(ctx) // no pattern yet: does not dial
	l.ps = ps
	l.psMu.Unlock()
	// Dials (off the lock: stop must not wait for it); on failure the next
	// Receive dials and subscribes again.
	_ = ps.PSubscribe(ctx, globs(l.cfg.ChannelPrefix, l.cfg.Import)...)
	return ps
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// importWork is the import goroutine's own state.
type importWork struct {
	*link
	sent       int           // events sent since the last barrier
	barrier    *actor.Future // answered once the bus took what was sent before it
	lastWarn   time.Time     // of the last bad-input warning
	suppressed uint64        // bad messages not warned about since
}

// handle publishes one message from Redis on the bus, or drops and counts
// it. Every importWindow events it sends the bus a barrier and waits for
// the previous one, so that at most two windows are in the bus's mailbox:
// a flood from Redis cannot grow it without bound.
func (w *importWork) handle(m *redis.Message) {
	ev, reason, err := w.im.decode(m.Channel, m.Payload)
	switch reason {
	case imported:
		w.counters.imported.Add(1)
		w.root.Send(w.bus, ev)
		if w.sent++; w.sent >= importWindow {
			w.sent = 0
			if w.barrier != nil { // the bus took all but the last window
				_ = w.barrier.Wait()
			}
			w.barrier = w.root.RequestFuture(w.bus, &messages.PingRequest{}, w.cfg.Timeout)
		}
		return
	case dropEcho:
		w.counters.importEcho.Add(1)
		return
	case dropBadJSON:
		w.counters.badJSON.Add(1)
	case dropBadTopic:
		w.counters.badTopic.Add(1)
	case dropOversize:
		w.counters.oversize.Add(1)
	}
	if now := time.Now(); now.Sub(w.lastWarn) >= warnEvery {
		w.log.Warn("redis message dropped", "reason", reason.String(), "channel", clip(m.Channel, 120),
			"error", clip(err.Error(), 200), "dropped_unlogged", w.suppressed)
		w.lastWarn, w.suppressed = now, 0
	} else {
		w.suppressed++
	}
}

// clip shortens s (from outside) for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
