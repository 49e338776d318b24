package connector

import (
	"fmt"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Streams held by the daemon: market.subscribe and [connector] streams keep
// a market stream open with the connector itself as the subscriber, so its
// data reaches the bus until market.unsubscribe. (A caller's own PID cannot
// hold the reference: an RPC call's sender is a future that is gone as soon
// as the answer arrives, and a watched subscriber that is gone drops its
// references at once.)

// maxConfigStreams bounds [connector] streams.
const maxConfigStreams = 200

// parseStreamSpec reads one [connector] streams entry: "price:SYMBOL",
// "book:SYMBOL" or "kline:SYMBOL:INTERVAL".
func parseStreamSpec(spec string) (streamKey, string, error) {
	parts := strings.Split(spec, ":")
	kinds := map[string]messages.StreamKind{"price": messages.StreamKind_STREAM_KIND_PRICE,
		"book": messages.StreamKind_STREAM_KIND_BOOK, "kline": messages.StreamKind_STREAM_KIND_KLINE}
	kind, ok := kinds[parts[0]]
	switch {
	case !ok:
		return streamKey{}, "", fmt.Errorf("%q: must be price:SYMBOL, book:SYMBOL or kline:SYMBOL:INTERVAL", spec)
	case kind == messages.StreamKind_STREAM_KIND_KLINE && len(parts) != 3:
		return streamKey{}, "", fmt.Errorf("%q: must be kline:SYMBOL:INTERVAL", spec)
	case kind != messages.StreamKind_STREAM_KIND_KLINE && len(parts) != 2:
		return streamKey{}, "", fmt.Errorf("%q: must be %s:SYMBOL", spec, parts[0])
	}
	interval := ""
	if len(parts) == 3 {
		interval = parts[2]
	}
	key, topic, e := streamOf(parts[1], kind, interval)
	if e != nil {
		return streamKey{}, "", fmt.Errorf("%q: %s", spec, e.GetMessage())
	}
	return key, topic, nil
}

// validateStreams checks [connector] streams, one error per bad entry.
func validateStreams(specs []string) []error {
	if len(specs) > maxConfigStreams {
		return []error{fmt.Errorf("streams: at most %d entries, got %d", maxConfigStreams, len(specs))}
	}
	var errs []error
	seen := map[streamKey]int{}
	for i, spec := range specs {
		key, _, err := parseStreamSpec(spec)
		if err != nil {
			errs = append(errs, fmt.Errorf("streams[%d]: %w", i, err))
			continue
		}
		if j, dup := seen[key]; dup {
			errs = append(errs, fmt.Errorf("streams[%d]: %q repeats streams[%d]", i, spec, j))
			continue
		}
		seen[key] = i
	}
	return errs
}

// openConfigStreams opens [connector] streams (validated) for the daemon.
func (a *connectorActor) openConfigStreams(ctx actor.Context) {
	for _, spec := range a.cfg.Streams {
		if key, topic, err := parseStreamSpec(spec); err == nil {
			a.addRef(ctx, key, topic, a.self)
		}
	}
}

func (a *connectorActor) onMarketSubscribe(ctx actor.Context, m *messages.MarketSubscribeRequest) *messages.MarketSubscribeResponse {
	key, topic, e := streamOf(m.GetSymbol(), m.GetKind(), m.GetInterval())
	if e != nil {
		return &messages.MarketSubscribeResponse{Error: e}
	}
	st := a.addRef(ctx, key, topic, a.self)
	return &messages.MarketSubscribeResponse{Topic: topic, Refcount: uint32(len(st.subs))}
}

func (a *connectorActor) onMarketUnsubscribe(ctx actor.Context, m *messages.MarketUnsubscribeRequest) *messages.MarketUnsubscribeResponse {
	key, topic, e := streamOf(m.GetSymbol(), m.GetKind(), m.GetInterval())
	if e != nil {
		return &messages.MarketUnsubscribeResponse{Error: e}
	}
	st := a.streams[key]
	if st == nil || st.subs[pidKey(a.self)] == nil {
		return &messages.MarketUnsubscribeResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND,
			"the daemon holds no subscription to %s", topic)}
	}
	a.dropRef(ctx, st, a.self, true)
	return &messages.MarketUnsubscribeResponse{Refcount: uint32(len(st.subs))}
}

// kept is what a restart carries to the next incarnation, so that no
// subscriber silently loses its subscription: the user data stream's
// subscribers (the next connection counts as a reconnect: they reconcile)
// and the streams the daemon holds. Only the current incarnation touches it,
// on its actor goroutine.
type kept struct {
	udSubs       []*actor.PID
	udReconnects uint32
	udEver       bool
	daemon       map[streamKey]string // stream -> topic
}

// keep records what the next incarnation must restore, and tells the user
// data subscribers the stream is going down.
func (a *connectorActor) keep(ctx actor.Context) {
	if a.cancel == nil { // never started, or released already
		return
	}
	k := a.kept
	*k = kept{daemon: map[streamKey]string{}}
	for key, st := range a.streams {
		if st.subs[pidKey(a.self)] != nil {
			k.daemon[key] = st.topic
		}
	}
	if ud := a.ud; ud != nil {
		for _, sub := range ud.subs {
			k.udSubs = append(k.udSubs, sub)
		}
		k.udReconnects, k.udEver = ud.reconnects, ud.everConnected
		if ud.connected {
			a.notifyUserData(ctx, &messages.UserDataStreamState{Up: false, Reason: "connector stopping", Reconnects: ud.reconnects})
		}
	}
}

// restoreKept reopens what an earlier incarnation kept.
func (a *connectorActor) restoreKept(ctx actor.Context) {
	k := a.kept
	for key, topic := range k.daemon {
		a.addRef(ctx, key, topic, a.self)
	}
	if len(k.udSubs) > 0 {
		a.openUserData()
		a.ud.reconnects, a.ud.everConnected = k.udReconnects, k.udEver
		for _, sub := range k.udSubs {
			a.ud.subs[pidKey(sub)] = sub
			a.watch(ctx, sub)
		}
		a.log.Info("user data subscribers restored", "subscribers", len(k.udSubs))
	}
	*k = kept{}
}
