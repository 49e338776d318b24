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
		return streamKey{}, "", fmt.Errorf("%q: must start with price:, book: or kline:", spec)
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
