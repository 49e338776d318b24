package connector

import (
	"strings"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// streamKey names one market stream.
type streamKey struct {
	kind     messages.StreamKind
	symbol   string
	interval string
}

// stream is one market stream: its subscribers, its runner goroutine (which
// owns the connection) and, for klines, the contiguity state. Only the actor
// touches it; the runner only reads key.
type stream struct {
	key   streamKey
	topic string
	subs  map[string]*actor.PID
	stop  chan struct{}

	connected     bool
	everConnected bool
	downs         uint32 // connections lost or dials failed
	rotating      bool   // closed on purpose before the 24 h cut; not a fault
	lastMsg       time.Time
	reconnects    uint32
	gapFills      uint32

	ivMs       int64 // kline interval (0 for 1M: months vary)
	lastClosed int64 // open time of the last closed kline published
	filling    bool
	buffered   []*messages.Kline // closed klines held while a fill runs
}

// streamState is sent by a runner when its connection goes up or down. Local only.
type streamState struct {
	st     *stream
	up     bool
	reason string
}

// streamData is one frame from a runner's connection. Local only.
type streamData struct {
	st      *stream
	payload any // *binance.WsTradeEvent, *binance.WsKlineEvent or *binance.WsPartialDepthEvent
}

var intervalMillis = map[string]int64{
	"1s": 1000, "1m": 60000, "3m": 180000, "5m": 300000, "15m": 900000, "30m": 1800000, "1h": 3600000,
	"2h": 7200000, "4h": 14400000, "6h": 21600000, "8h": 28800000, "12h": 43200000, "1d": 86400000,
	"3d": 259200000, "1w": 604800000, "1M": 0,
}

func pidKey(p *actor.PID) string { return p.GetAddress() + "/" + p.GetId() }

// streamOf validates a (un)subscription and returns its key and topic.
func streamOf(symbol string, kind messages.StreamKind, interval string) (streamKey, string, *messages.Error) {
	sym := strings.ToUpper(symbol)
	if !symbolRE.MatchString(sym) {
		return streamKey{}, "", invalid("symbol: must match %s", symbolRE)
	}
	switch kind {
	case messages.StreamKind_STREAM_KIND_PRICE:
		return streamKey{kind: kind, symbol: sym}, "price." + sym + ".update", nil
	case messages.StreamKind_STREAM_KIND_BOOK:
		return streamKey{kind: kind, symbol: sym}, "book." + sym + ".update", nil
	case messages.StreamKind_STREAM_KIND_KLINE:
		if _, ok := intervalMillis[interval]; !ok {
			return streamKey{}, "", invalid("interval: must be a Binance kline interval, got %q", interval)
		}
		return streamKey{kind: kind, symbol: sym, interval: interval}, "kline." + sym + "." + interval, nil
	}
	return streamKey{}, "", invalid("kind: must be PRICE, KLINE or BOOK")
}

func (a *connectorActor) onSubscribe(ctx actor.Context, m *messages.SubscribeStreamRequest) *messages.SubscribeStreamResponse {
	key, topic, e := streamOf(m.GetSymbol(), m.GetKind(), m.GetInterval())
	if e == nil && m.GetSubscriber() == nil {
		e = invalid("subscriber: required (the PID that holds the reference)")
	}
	if e != nil {
		return &messages.SubscribeStreamResponse{Error: e}
	}
	st := a.addRef(ctx, key, topic, m.GetSubscriber())
	return &messages.SubscribeStreamResponse{Topic: topic, Refcount: uint32(len(st.subs))}
}

// addRef makes sub hold a reference to the stream key, opening it first
// when nobody did.
func (a *connectorActor) addRef(ctx actor.Context, key streamKey, topic string, sub *actor.PID) *stream {
	st := a.streams[key]
	if st == nil {
		st = &stream{key: key, topic: topic, subs: map[string]*actor.PID{}, stop: make(chan struct{}), ivMs: intervalMillis[key.interval]}
		a.streams[key] = st
		rc := runnerConfig{wsBase: a.cfg.wsURL(), stale: a.cfg.StaleAfter, rotate: a.cfg.RotateAfter,
			backoff: a.cfg.ReconnectBackoff, maxBackoff: a.cfg.ReconnectMaxBackoff}
		go runStream(rc, st, a.sender())
		a.log.Info("stream opened", "topic", topic)
		a.updateHealth(ctx)
	}
	pk := pidKey(sub)
	if st.subs[pk] == nil {
		st.subs[pk] = sub
		a.watch(ctx, sub)
	}
	return st
}

func (a *connectorActor) onUnsubscribe(ctx actor.Context, m *messages.UnsubscribeStreamRequest) *messages.UnsubscribeStreamResponse {
	key, _, e := streamOf(m.GetSymbol(), m.GetKind(), m.GetInterval())
	if e == nil && m.GetSubscriber() == nil {
		e = invalid("subscriber: required")
	}
	if e != nil {
		return &messages.UnsubscribeStreamResponse{Error: e}
	}
	st := a.streams[key]
	if st == nil {
		return &messages.UnsubscribeStreamResponse{}
	}
	a.dropRef(ctx, st, m.GetSubscriber(), true)
	return &messages.UnsubscribeStreamResponse{Refcount: uint32(len(st.subs))}
}

// dropRef removes sub's reference to st, closing st when it was the last.
func (a *connectorActor) dropRef(ctx actor.Context, st *stream, sub *actor.PID, unwatch bool) {
	pk := pidKey(sub)
	if st.subs[pk] == nil {
		return
	}
	delete(st.subs, pk)
	if unwatch {
		a.unwatch(ctx, sub)
	}
	if len(st.subs) == 0 {
		close(st.stop)
		delete(a.streams, st.key)
		a.log.Info("stream closed", "topic", st.topic)
		a.updateHealth(ctx)
	}
}

// onSubscriberGone drops every reference of a subscriber that stopped.
func (a *connectorActor) onSubscriberGone(ctx actor.Context, who *actor.PID) {
	for _, st := range a.streams {
		a.dropRef(ctx, st, who, false)
	}
	a.dropUserDataSub(who)
	delete(a.watching, pidKey(who))
}

// watch counts one more reference held by sub, watching it from the first
// (the connector itself, holding market.subscribe's references, is not
// watched).
func (a *connectorActor) watch(ctx actor.Context, sub *actor.PID) {
	pk := pidKey(sub)
	if pk == pidKey(a.self) {
		return
	}
	if a.watching[pk] == 0 {
		ctx.Watch(sub)
	}
	a.watching[pk]++
}

// unwatch counts one reference less, unwatching sub after the last.
func (a *connectorActor) unwatch(ctx actor.Context, sub *actor.PID) {
	pk := pidKey(sub)
	if pk == pidKey(a.self) {
		return
	}
	if a.watching[pk]--; a.watching[pk] <= 0 {
		delete(a.watching, pk)
		ctx.Unwatch(sub)
	}
}

func (a *connectorActor) onStreamState(ctx actor.Context, m *streamState) {
	st := m.st
	if a.streams[st.key] != st {
		return // closed since
	}
	st.connected = m.up
	st.rotating = m.reason == reasonRotate
	if m.up {
		if st.everConnected {
			st.reconnects++
			a.stats.reconnects++
			if st.key.kind == messages.StreamKind_STREAM_KIND_KLINE && st.lastClosed > 0 && !st.filling {
				a.startFill(ctx, st, st.lastClosed+max(st.ivMs, 1), 0)
			}
		}
		st.everConnected = true
		st.lastMsg = time.Now()
	} else if !st.rotating {
		st.downs++
		a.log.Info("stream down", "topic", st.topic, "reason", m.reason)
	}
	a.updateHealth(ctx)
}

func (a *connectorActor) onStreamData(ctx actor.Context, m *streamData) {
	st := m.st
	if a.streams[st.key] != st {
		return
	}
	st.lastMsg = time.Now()
	// Other frames (serverShutdown: the exchange closes the connection next)
	// decode into empty events; skip them.
	switch ev := m.payload.(type) {
	case *binance.WsTradeEvent:
		if ev.Event != "trade" {
			return
		}
		a.publish(ctx, st.topic, &messages.PriceUpdate{Symbol: st.key.symbol, Price: ev.Price, Quantity: ev.Quantity,
			TradeTimeMs: ev.TradeTime, TradeId: ev.TradeID})
	case *binance.WsPartialDepthEvent:
		if ev.LastUpdateID == 0 {
			return
		}
		a.publish(ctx, st.topic, &messages.BookUpdate{Symbol: st.key.symbol, LastUpdateId: ev.LastUpdateID,
			Bids: levels(ev.Bids), Asks: levels(ev.Asks)})
	case *binance.WsKlineEvent:
		if ev.Event != "kline" {
			return
		}
		k := wsKlineProto(&ev.Kline)
		if !ev.Kline.IsFinal {
			a.publish(ctx, st.topic, &messages.KlineUpdate{Symbol: st.key.symbol, Interval: st.key.interval, Kline: k})
			return
		}
		a.closedKline(ctx, st, k, false)
	}
}

// publish sends an event to the bus.
func (a *connectorActor) publish(ctx actor.Context, topic string, payload proto.Message) {
	if a.deps.Bus != nil {
		ctx.Send(a.deps.Bus, messages.NewEvent(topic, Kind, payload))
	}
}
