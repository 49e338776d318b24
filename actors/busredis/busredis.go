// Package busredis is the bridge between SuperBot's event bus and Redis
// pub/sub ([daemon.bus.redis], bus.RedisConfig): it exports the bus events
// that match chosen patterns to Redis channels and imports the messages
// other programs publish on Redis channels of chosen topics, as the seed's
// Redis bus backend let programs outside SuperBot follow and publish
// events.
//
// The bridge subscribes to the bus like any subscriber and does all Redis
// I/O on its own goroutines: a slow or dead Redis fills a bounded export
// queue (the oldest events are dropped and counted) and never blocks the
// bus. While Redis is down it reconnects with backoff, publishes
// "alert.bus.redis.down" once and "bus.redis.restored" when back. No echo:
// an event imported from Redis (source "redis" or "redis:...") is never
// exported, and a message this bridge exported (its "origin") is never
// imported. Bad input from Redis (not an event object, a topic outside the
// import patterns or the daemon's own, oversize) is dropped and counted,
// with a rate-limited warning. Counters: BusRedisStatusRequest
// (events.redis).
package busredis

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/redislog"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Kind names the bridge in the supervision tree and is the source of its
// events.
const Kind = "busredis"

// ErrBadConfig is the panic of a bridge given a config that did not pass
// Validate (the daemon validates before it spawns).
var ErrBadConfig = errors.New("busredis: invalid config")

// Topics the bridge publishes.
const (
	TopicDown     = "alert.bus.redis.down"
	TopicRestored = "bus.redis.restored"
)

// Deps are what the bridge works with.
type Deps struct {
	// Bus is the event bus.
	Bus *actor.PID
	// Logger receives the bridge's logs (never the URL or the password).
	Logger *slog.Logger
}

// Props returns the bridge's props. cfg must have passed Validate; with an
// empty URL the bridge only answers its status (enabled false). Each
// bridge has an origin id, kept across restarts, that marks what it
// exports.
func Props(cfg bus.RedisConfig, deps Deps) *actor.Props {
	origin := newOrigin()
	return actor.PropsFromProducer(func() actor.Actor {
		return &bridge{cfg: cfg, deps: deps, log: deps.Logger, origin: origin}
	})
}

func newOrigin() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "superbot-" + hex.EncodeToString(b)
}

// counters are shared by the actor and the link's goroutines.
type counters struct {
	exported, exportDropped, echoSkipped    atomic.Uint64
	imported, importEcho, badJSON, badTopic atomic.Uint64
	oversize                                atomic.Uint64
}

type bridge struct {
	cfg      bus.RedisConfig
	deps     Deps
	log      *slog.Logger
	origin   string
	acker    *bus.Acker
	link     *link
	counters counters
	// state of the link's directions: reported yet, and up.
	known, up  map[string]bool
	down       bool // an outage is under way (alerted)
	downSince  time.Time
	lastError  string
	reconnects uint64
	lastDrop   time.Time // of the last queue-full warning
}

// Receive handles the bridge's messages.
func (a *bridge) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release(ctx)
	case *messages.Event:
		a.onEvent(ctx, msg)
	case *linkState:
		a.onLink(ctx, msg)
	case *messages.BusRedisStatusRequest:
		ctx.Respond(a.status())
	case *messages.SubscribeResponse:
		a.onSubscribed(msg)
	case *messages.UnsubscribeResponse, *actor.Stopped:
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *bridge) onStarted(ctx actor.Context) {
	a.known, a.up = map[string]bool{}, map[string]bool{}
	if !a.cfg.Enabled() {
		return
	}
	opt, err := a.cfg.Options()
	if err != nil { // Validate rejects it: a bad config got here
		panic(fmt.Errorf("%w: %w", ErrBadConfig, err))
	}
	redislog.Route(a.log)
	a.link = &link{counters: &a.counters, origin: a.origin, root: ctx.ActorSystem().Root, self: ctx.Self(), bus: a.deps.Bus, log: a.log}
	a.link.init(a.cfg, opt)
	a.link.start()
	a.acker = bus.NewAcker(a.deps.Bus, uint32(a.cfg.QueueSize))
	for _, p := range a.cfg.Export {
		a.acker.Subscribe(ctx, p, uint32(a.cfg.QueueSize))
	}
	a.log.Info("redis bridge starting", "addr", opt.Addr, "db", opt.DB, "export", a.cfg.Export, "import", a.cfg.Import,
		"channel_prefix", a.cfg.ChannelPrefix)
}

// release stops the link and the bus subscriptions (a restarted instance
// subscribes again).
func (a *bridge) release(ctx actor.Context) {
	if a.link == nil {
		return
	}
	a.link.stop()
	a.link = nil
	if len(a.cfg.Export) > 0 {
		ctx.Request(a.deps.Bus, &messages.UnsubscribeRequest{Subscriber: ctx.Self()})
	}
}

// onEvent queues a bus event for export, unless it came from Redis.
func (a *bridge) onEvent(ctx actor.Context, ev *messages.Event) {
	a.acker.Handled(ctx)
	if a.link == nil {
		return
	}
	if isImported(ev) {
		a.counters.echoSkipped.Add(1)
		return
	}
	if !a.link.enqueue(ev) {
		if now := time.Now(); now.Sub(a.lastDrop) >= warnEvery {
			a.lastDrop = now
			a.log.Warn("redis export queue full; oldest events dropped", "queue_size", a.cfg.QueueSize,
				"dropped", a.counters.exportDropped.Load())
		}
	}
}

func (a *bridge) onSubscribed(res *messages.SubscribeResponse) {
	if err := res.GetError(); err != nil {
		a.log.Error("redis bridge bus subscription refused", "error", err.GetMessage())
	}
}

// onLink records a direction's state; it alerts once per outage and
// announces the way back when every direction is up.
func (a *bridge) onLink(ctx actor.Context, st *linkState) {
	if st.owner != a.link {
		return // a link stopped by a restart
	}
	wasDown := a.known[st.dir] && !a.up[st.dir]
	a.known[st.dir], a.up[st.dir] = true, st.up
	if !st.up {
		a.lastError = st.err
		if !a.down {
			a.down, a.downSince = true, time.Now()
			a.log.Warn("redis bridge down", "direction", st.dir, "error", st.err)
			a.publish(ctx, TopicDown, &messages.BusRedisLinkChanged{Reason: st.err, Direction: st.dir})
		}
		return
	}
	if wasDown {
		a.reconnects++
	}
	if !a.connected() {
		return
	}
	if a.down {
		a.down = false
		a.log.Info("redis bridge restored", "down_for", time.Since(a.downSince).Round(time.Millisecond).String())
		a.publish(ctx, TopicRestored, &messages.BusRedisLinkChanged{Connected: true, Direction: st.dir})
		return
	}
	a.log.Info("redis bridge connected")
}

// connected reports whether every direction in use is up.
func (a *bridge) connected() bool {
	return a.link != nil && (len(a.cfg.Export) == 0 || a.up[dirExport]) && (len(a.cfg.Import) == 0 || a.up[dirImport])
}

func (a *bridge) publish(ctx actor.Context, topic string, payload proto.Message) {
	ctx.Send(a.deps.Bus, messages.NewEvent(topic, Kind, payload))
}

func (a *bridge) status() *messages.BusRedisStatusResponse {
	c := &a.counters
	res := &messages.BusRedisStatusResponse{
		Enabled: a.cfg.Enabled(), Url: redactURL(a.cfg.URL), ChannelPrefix: a.cfg.ChannelPrefix,
		Export: a.cfg.Export, Import: a.cfg.Import,
		Connected: a.connected(), ExportConnected: a.up[dirExport], ImportConnected: a.up[dirImport],
		LastError: a.lastError, Reconnects: a.reconnects,
		Exported: c.exported.Load(), ExportDropped: c.exportDropped.Load(), EchoSkipped: c.echoSkipped.Load(),
		Imported: c.imported.Load(), ImportEcho: c.importEcho.Load(),
		BadJson: c.badJSON.Load(), BadTopic: c.badTopic.Load(), Oversize: c.oversize.Load(),
	}
	if a.link != nil {
		res.Queued = uint32(len(a.link.out))
	}
	if a.down {
		res.DownSince = timestamppb.New(a.downSince)
	}
	return res
}

// redactURL shows raw with its password as "xxxxx" ("" stays "").
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid url>"
	}
	return u.Redacted()
}

// Routes returns the bridge's JSON-RPC methods.
func Routes(pid *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "events.redis", Doc: "the Redis bus bridge: connection, patterns, exported, imported and dropped counters", Target: pid,
			New: func() proto.Message { return &messages.BusRedisStatusRequest{} }},
	}
}
