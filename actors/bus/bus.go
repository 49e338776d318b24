// Package bus is SuperBot's event bus: an actor that routes *messages.Event
// by dot-separated topic to subscriber PIDs whose patterns match ("*" one
// segment, ">" the rest).
//
// Publishing is a message: send a *messages.Event (fire-and-forget) or a
// *messages.PublishRequest (answered with the sequence or an error). A
// publisher never waits for subscribers. Each subscriber has a bounded queue:
// the bus sends it at most QueueSize events ahead of its acks (see Acker) and
// holds at most QueueSize more; beyond that the oldest held events are
// dropped and counted, per pattern and in total (BusStatsRequest).
package bus

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Kind names the bus in the supervision tree.
const Kind = "bus"

// Errors the bus answers with.
var (
	ErrEmptyTopic       = errors.New("empty topic")
	ErrBadTopic         = errors.New("invalid topic")
	ErrPublishToPattern = errors.New("publishing to a pattern is not allowed")
)

// maxTopicCache bounds the per-topic match cache; past it the cache restarts.
const maxTopicCache = 100_000

// Props returns the bus actor's props. node is stamped on every event.
// Subscriptions and the sequence survive a restart of the bus (a restarted
// bus must not silently stop delivering); use one Props per bus.
func Props(cfg Config, node string, log *slog.Logger) *actor.Props {
	st := &table{}
	return actor.PropsFromProducer(func() actor.Actor {
		return &busActor{cfg: cfg, node: node, log: log, table: st}
	})
}

type busActor struct {
	cfg  Config
	node string
	log  *slog.Logger
	*table
}

// table is the bus's state, kept across restarts.
type table struct {
	seq         uint64
	nextSubID   uint64
	subscribers map[string]*subscriber // by PID key
	patterns    map[string]*patternStat
	topics      map[string]*topicEntry // per topic: counters and cached targets
	gen         uint64                 // bumped on every subscription change
	published   uint64
	delivered   uint64
	dropped     uint64
	rejected    uint64
	lastReject  time.Time
	watchers    []*actor.PID // told the local patterns (WatchPatterns)
	watched     []string     // the local patterns last told
}

// subscriber is one PID with its window and held-events ring.
type subscriber struct {
	key      string
	pid      *actor.PID
	window   int
	inflight int
	ring     []*messages.Event // held events, oldest at head
	head     int
	n        int
	subs     map[uint64]*subscription
	credit   *credit // local subscribers: acks through shared memory
	seen     uint64  // credit.acked already subtracted from inflight
	relay    bool    // forwards to another node (SubscribeRequest.relay)
}

// ringStart is a new subscriber's ring length. The ring doubles as events
// are held, up to the window, so that a subscriber that keeps up (the usual
// case) costs a few hundred bytes, not 8 bytes per event of its window: a
// cluster node's forwarders ask for 65536 each.
const ringStart = 64

// grow doubles the held-events ring, up to the window, keeping their order.
func (s *subscriber) grow() {
	ring := make([]*messages.Event, min(2*len(s.ring), s.window))
	for i := range s.n {
		ring[i] = s.ring[(s.head+i)%len(s.ring)]
	}
	s.ring, s.head = ring, 0
}

// refresh takes the local subscriber's acks into account.
func (s *subscriber) refresh() {
	if s.credit == nil {
		return
	}
	acked := s.credit.acked.Load()
	s.inflight -= int(acked - s.seen)
	s.seen = acked
	if s.inflight < 0 {
		s.inflight = 0
	}
}

type subscription struct {
	id      uint64
	pattern *patternStat
}

type patternStat struct {
	pattern     string
	subscribers int
	relays      int // subscriptions of relay subscribers
	delivered   uint64
	dropped     uint64
}

// topicEntry caches who a topic goes to: one target per subscriber, credited
// to the first of its patterns that matched.
type topicEntry struct {
	gen       uint64
	published uint64
	targets   []target
}

type target struct {
	sub *subscriber
	pat *patternStat
}

func pidKey(p *actor.PID) string { return p.Address + "/" + p.Id }

func (a *busActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted()
	case *actor.Restarting:
		a.onRestarting()
	case *messages.Event:
		_, _ = a.publish(ctx, msg)
	case *messages.PublishRequest:
		ctx.Respond(a.onPublish(ctx, msg))
	case *messages.EventsPublishRequest:
		ctx.Respond(a.onRPCPublish(ctx, msg))
	case *messages.SubscribeRequest:
		ctx.Respond(a.onSubscribe(ctx, msg))
	case *messages.UnsubscribeRequest:
		ctx.Respond(a.onUnsubscribe(ctx, msg))
	case *messages.EventAck:
		a.onAck(ctx, msg)
	case *messages.BusStatsRequest:
		ctx.Respond(a.stats())
	case *WatchPatterns:
		a.onWatchPatterns(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *actor.Terminated:
		a.removeSubscriber(ctx, pidKey(msg.Who))
		a.unwatchPatterns(msg.Who)
	case *actor.Stopped: // not on a restart: that keeps the table
		a.retireCredits(ctx)
	case *actor.Stopping:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *busActor) onStarted() {
	if a.subscribers == nil { // first start; a restart keeps the table
		a.subscribers = map[string]*subscriber{}
		a.patterns = map[string]*patternStat{}
		a.topics = map[string]*topicEntry{}
	}
}

// onRestarting keeps the subscriptions but drops what a failure may have
// left inconsistent: held events, windows and the topic cache.
func (a *busActor) onRestarting() {
	a.log.Warn("bus restarting; subscriptions kept, held events dropped", "subscribers", len(a.subscribers))
	for _, s := range a.subscribers {
		clear(s.ring)
		s.head, s.n, s.inflight = 0, 0, 0
		if s.credit != nil {
			s.seen = s.credit.acked.Load()
		}
	}
	a.topics = map[string]*topicEntry{}
	a.gen++
}

func (a *busActor) onPublish(ctx actor.Context, req *messages.PublishRequest) *messages.PublishResponse {
	if req.GetEvent() == nil {
		return &messages.PublishResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "event is required")}
	}
	seq, err := a.publish(ctx, req.Event)
	if err != nil {
		return &messages.PublishResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "%v", err)}
	}
	return &messages.PublishResponse{Sequence: seq}
}

func (a *busActor) publish(ctx actor.Context, ev *messages.Event) (uint64, error) {
	entry := a.topics[ev.Topic]
	if entry == nil || entry.gen != a.gen {
		if err := a.checkTopic(entry, ev.Topic); err != nil {
			a.rejected++
			if now := time.Now(); now.Sub(a.lastReject) > time.Second {
				a.lastReject = now
				a.log.Warn("publish rejected", "topic", ev.Topic, "source", ev.Source, "error", err)
			}
			return 0, err
		}
		entry = a.match(entry, ev.Topic)
	}
	if ev.Node == "" || ev.Node == a.node {
		a.seq++
		ev.Sequence = a.seq
		ev.Node = a.node
	} // else relayed from another node: its node and sequence stay
	if ev.Time == nil {
		ev.Time = timestamppb.Now()
	}
	a.published++
	entry.published++
	for _, t := range entry.targets {
		a.deliver(ctx, t.sub, t.pat, ev)
	}
	return a.seq, nil
}

// checkTopic validates a topic the first time it is seen.
func (a *busActor) checkTopic(known *topicEntry, topic string) error {
	if known != nil {
		return nil
	}
	return ValidateTopic(topic)
}

// match (re)computes and caches the targets of a topic.
func (a *busActor) match(e *topicEntry, topic string) *topicEntry {
	if e == nil {
		if len(a.topics) >= maxTopicCache {
			a.topics = map[string]*topicEntry{}
		}
		e = &topicEntry{}
	}
	e.gen = a.gen
	e.targets = e.targets[:0]
	for _, s := range a.subscribers {
		var best *patternStat
		for _, sub := range s.subs {
			if Match(sub.pattern.pattern, topic) && (best == nil || sub.pattern.pattern < best.pattern) {
				best = sub.pattern
			}
		}
		if best != nil {
			e.targets = append(e.targets, target{sub: s, pat: best})
		}
	}
	a.topics[topic] = e
	return e
}

func (a *busActor) deliver(ctx actor.Context, s *subscriber, pat *patternStat, ev *messages.Event) {
	if s.n == 0 {
		if s.inflight >= s.window {
			s.refresh()
		}
		if s.inflight < s.window {
			s.inflight++
			pat.delivered++
			a.delivered++
			ctx.Send(s.pid, ev)
			return
		}
	}
	if s.n == len(s.ring) && len(s.ring) < s.window {
		s.grow()
	}
	if s.n == len(s.ring) { // full: drop the oldest held event
		s.ring[s.head] = nil
		s.head = (s.head + 1) % len(s.ring)
		s.n--
		pat.dropped++
		a.dropped++
	}
	s.ring[(s.head+s.n)%len(s.ring)] = ev
	s.n++
	a.flush(ctx, s)
}

func (a *busActor) onAck(ctx actor.Context, ack *messages.EventAck) {
	if ack.GetSubscriber() == nil {
		return
	}
	s := a.subscribers[pidKey(ack.Subscriber)]
	if s == nil {
		return
	}
	s.inflight -= int(ack.Count)
	if s.inflight < 0 {
		s.inflight = 0
	}
	a.flush(ctx, s)
}

// flush sends held events, oldest first, while the subscriber's window
// allows. A local subscriber is then told (held) that events wait, and the
// window is checked once more so that an ack racing with that flag is never
// missed.
func (a *busActor) flush(ctx actor.Context, s *subscriber) {
	for {
		s.refresh()
		for s.n > 0 && s.inflight < s.window {
			ev := s.ring[s.head]
			s.ring[s.head] = nil
			s.head = (s.head + 1) % len(s.ring)
			s.n--
			s.inflight++
			a.delivered++
			if pat := a.creditPattern(s, ev.Topic); pat != nil {
				pat.delivered++
			}
			ctx.Send(s.pid, ev)
		}
		if s.n == 0 || s.credit == nil {
			return
		}
		s.credit.held.Store(true)
		s.refresh()
		if s.inflight >= s.window {
			return
		}
	}
}

func (a *busActor) creditPattern(s *subscriber, topic string) *patternStat {
	if e := a.topics[topic]; e != nil {
		for _, t := range e.targets {
			if t.sub == s && e.gen == a.gen {
				return t.pat
			}
		}
	}
	return nil
}

func (a *busActor) onSubscribe(ctx actor.Context, req *messages.SubscribeRequest) *messages.SubscribeResponse {
	if req.GetSubscriber() == nil {
		return &messages.SubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "subscriber is required")}
	}
	if err := ValidatePattern(req.Pattern); err != nil {
		return &messages.SubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "%v", err)}
	}
	size := int(req.QueueSize)
	if size == 0 {
		size = a.cfg.QueueSize
	}
	if size > a.cfg.MaxQueueSize {
		return &messages.SubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
			"queue_size %d is over the limit of %d", size, a.cfg.MaxQueueSize)}
	}
	key := pidKey(req.Subscriber)
	s := a.subscribers[key]
	if s == nil {
		s = &subscriber{key: key, pid: req.Subscriber, window: size, ring: make([]*messages.Event, min(size, ringStart)), subs: map[uint64]*subscription{}, relay: req.Relay}
		if req.Subscriber.Address == ctx.Self().Address {
			s.credit = newCredit(ctx.ActorSystem(), req.Subscriber)
			s.seen = s.credit.acked.Load()
		}
		a.subscribers[key] = s
		ctx.Watch(req.Subscriber)
	}
	p := a.patterns[req.Pattern]
	if p == nil {
		p = &patternStat{pattern: req.Pattern}
		a.patterns[req.Pattern] = p
	}
	p.subscribers++
	if s.relay {
		p.relays++
	}
	a.nextSubID++
	s.subs[a.nextSubID] = &subscription{id: a.nextSubID, pattern: p}
	a.gen++
	a.tellPatterns(ctx)
	return &messages.SubscribeResponse{SubscriptionId: a.nextSubID}
}

func (a *busActor) onUnsubscribe(ctx actor.Context, req *messages.UnsubscribeRequest) *messages.UnsubscribeResponse {
	var removed uint32
	for key, s := range a.subscribers {
		if req.GetSubscriber() != nil && key != pidKey(req.Subscriber) {
			continue
		}
		for id, sub := range s.subs {
			if req.SubscriptionId == 0 || id == req.SubscriptionId {
				a.dropSubscription(s, id, sub)
				removed++
			}
		}
		if len(s.subs) == 0 {
			a.forget(ctx, s)
		}
	}
	if removed == 0 {
		return &messages.UnsubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no such subscription")}
	}
	a.gen++
	a.tellPatterns(ctx)
	return &messages.UnsubscribeResponse{Removed: removed}
}

func (a *busActor) removeSubscriber(ctx actor.Context, key string) {
	s := a.subscribers[key]
	if s == nil {
		return
	}
	for id, sub := range s.subs {
		a.dropSubscription(s, id, sub)
	}
	a.forget(ctx, s)
	a.gen++
	a.tellPatterns(ctx)
}

func (a *busActor) dropSubscription(s *subscriber, id uint64, sub *subscription) {
	delete(s.subs, id)
	sub.pattern.subscribers--
	if s.relay {
		sub.pattern.relays--
	}
	if sub.pattern.subscribers == 0 {
		delete(a.patterns, sub.pattern.pattern)
	}
}

// forget drops a subscriber that has no subscriptions left, with its
// watch and its credit.
func (a *busActor) forget(ctx actor.Context, s *subscriber) {
	delete(a.subscribers, s.key)
	ctx.Unwatch(s.pid)
	if s.credit != nil {
		retireCredit(ctx.ActorSystem(), s.pid, s.credit)
	}
}

// retireCredits drops every subscriber's credit: the bus stopped, and
// nothing reads them any more.
func (a *busActor) retireCredits(ctx actor.Context) {
	for _, s := range a.subscribers {
		if s.credit != nil {
			retireCredit(ctx.ActorSystem(), s.pid, s.credit)
		}
	}
}

func (a *busActor) stats() *messages.BusStatsResponse {
	res := &messages.BusStatsResponse{
		Published: a.published, Delivered: a.delivered, Dropped: a.dropped, Rejected: a.rejected,
	}
	queued := map[*patternStat]uint64{}
	for _, s := range a.subscribers {
		res.Subscriptions += uint32(len(s.subs))
		for _, sub := range s.subs {
			queued[sub.pattern] += uint64(s.n)
		}
	}
	for _, p := range a.patterns {
		res.Patterns = append(res.Patterns, &messages.PatternStats{
			Pattern: p.pattern, Subscribers: uint32(p.subscribers), Delivered: p.delivered, Dropped: p.dropped, Queued: queued[p],
		})
	}
	sort.Slice(res.Patterns, func(i, j int) bool { return res.Patterns[i].Pattern < res.Patterns[j].Pattern })
	for t, e := range a.topics {
		if e.published > 0 {
			res.Topics = append(res.Topics, &messages.TopicStats{Topic: t, Published: e.published})
		}
	}
	sort.Slice(res.Topics, func(i, j int) bool { return res.Topics[i].Topic < res.Topics[j].Topic })
	return res
}

// Reserved are the first topic segments only the daemon publishes; a client
// (events.publish) cannot forge them.
var Reserved = []string{"system", "alert", "supervisor", "module", "logs", "scheduler"}

func (a *busActor) onRPCPublish(ctx actor.Context, req *messages.EventsPublishRequest) *messages.PublishResponse {
	first, _, _ := strings.Cut(req.Topic, ".")
	if slices.Contains(Reserved, first) {
		return &messages.PublishResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
			"topic %q: %q topics are published by the daemon only", req.Topic, first)}
	}
	return a.onPublish(ctx, &messages.PublishRequest{Event: fromRPC(req)})
}

// fromRPC builds the event of an events.publish call: its JSON payload is
// carried as a google.protobuf.Value.
func fromRPC(req *messages.EventsPublishRequest) *messages.Event {
	source := req.Source
	if source == "" {
		source = "rpc"
	}
	if req.Payload == nil {
		return messages.NewEvent(req.Topic, source, nil)
	}
	return messages.NewEvent(req.Topic, source, req.Payload)
}

// Routes returns the bus's JSON-RPC methods.
func Routes(busPID *actor.PID) []rpc.Route {
	return []rpc.Route{
		{Method: "events.publish", Doc: "publish an event: topic, source, payload (any JSON)", Target: busPID,
			New:    func() proto.Message { return &messages.EventsPublishRequest{} },
			Result: func() proto.Message { return &messages.PublishResponse{} }},
		{Method: "events.stats", Doc: "bus counters: published, delivered, dropped per pattern", Target: busPID,
			New: func() proto.Message { return &messages.BusStatsRequest{} }},
	}
}
