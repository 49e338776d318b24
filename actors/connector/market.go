package connector

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// cacheTimeout bounds a cache lookup; past it the connector asks upstream.
const cacheTimeout = 250 * time.Millisecond

var (
	symbolRE   = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)
	intervalRE = regexp.MustCompile(`^(1s|1m|3m|5m|15m|30m|1h|2h|4h|6h|8h|12h|1d|3d|1w|1M)$`)
)

// pending is one coalesced market-data request: every caller that asked for
// the same thing while it was looked up or fetched.
type pending struct {
	waiters  []*actor.PID
	ttlClass string
	newResp  func() proto.Message
}

func invalid(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, format, args...)
}

func unavailableErr() *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the exchange is unreachable")
}

func rateLimitedErr(msg string) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "%s", msg)
}

func (a *connectorActor) onTicker(ctx actor.Context, m *messages.TickerRequest) {
	sym := strings.ToUpper(m.GetSymbol())
	if !symbolRE.MatchString(sym) {
		ctx.Respond(&messages.TickerResponse{Symbol: m.GetSymbol(), Error: invalid("symbol: must match %s", symbolRE)})
		return
	}
	j := a.newJob(jobTicker, prioMarket)
	j.symbol = sym
	a.fetch(ctx, "ticker:"+sym, "ticker", j, func() proto.Message { return &messages.TickerResponse{} })
}

func (a *connectorActor) onDepth(ctx actor.Context, m *messages.DepthRequest) {
	sym := strings.ToUpper(m.GetSymbol())
	limit := int(m.GetLimit())
	if limit == 0 {
		limit = 100
	}
	var e *messages.Error
	switch {
	case !symbolRE.MatchString(sym):
		e = invalid("symbol: must match %s", symbolRE)
	case limit < 1 || limit > 5000:
		e = invalid("limit: must be in [1, 5000], got %d", limit)
	}
	if e != nil {
		ctx.Respond(&messages.DepthResponse{Symbol: m.GetSymbol(), Error: e})
		return
	}
	j := a.newJob(jobDepth, prioMarket)
	j.symbol, j.limit, j.weight = sym, limit, depthWeight(limit)
	a.fetch(ctx, "depth:"+sym+":"+strconv.Itoa(limit), "orderbook", j, func() proto.Message { return &messages.DepthResponse{} })
}

func (a *connectorActor) onKlines(ctx actor.Context, m *messages.KlinesRequest) {
	sym := strings.ToUpper(m.GetSymbol())
	limit := int(m.GetLimit())
	if limit == 0 {
		limit = 500
	}
	var e *messages.Error
	switch {
	case !symbolRE.MatchString(sym):
		e = invalid("symbol: must match %s", symbolRE)
	case !intervalRE.MatchString(m.GetInterval()):
		e = invalid("interval: must be one of 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M, got %q", m.GetInterval())
	case limit < 1 || limit > 1000:
		e = invalid("limit: must be in [1, 1000], got %d", limit)
	case m.GetStartTimeMs() < 0 || m.GetEndTimeMs() < 0 || (m.GetEndTimeMs() > 0 && m.GetStartTimeMs() > m.GetEndTimeMs()):
		e = invalid("start_time_ms/end_time_ms: must be >= 0 with start <= end")
	}
	if e != nil {
		ctx.Respond(&messages.KlinesResponse{Symbol: m.GetSymbol(), Interval: m.GetInterval(), Error: e})
		return
	}
	j := a.newJob(jobKlines, prioMarket)
	j.symbol, j.interval, j.limit, j.start, j.end = sym, m.GetInterval(), limit, m.GetStartTimeMs(), m.GetEndTimeMs()
	key := fmt.Sprintf("klines:%s:%s:%d:%d:%d", sym, j.interval, limit, j.start, j.end)
	a.fetch(ctx, key, "klines", j, func() proto.Message { return &messages.KlinesResponse{} })
}

// fetch answers the sender from the cache, or joins an identical request in
// flight, or looks the key up in the cache and then queues j.
func (a *connectorActor) fetch(ctx actor.Context, key, ttlClass string, j *job, newResp func() proto.Message) {
	if p := a.pending[key]; p != nil {
		p.waiters = append(p.waiters, ctx.Sender())
		a.stats.coalesced++
		return
	}
	p := &pending{waiters: []*actor.PID{ctx.Sender()}, ttlClass: ttlClass, newResp: newResp}
	a.pending[key] = p
	j.key = key
	if a.deps.Cache == nil {
		a.stats.cacheMisses++
		a.enqueue(ctx, j)
		return
	}
	f := ctx.RequestFuture(a.deps.Cache, &messages.CacheGetRequest{Key: cacheKey(key)}, cacheTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		if r, ok := res.(*messages.CacheGetResponse); ok && err == nil && r.GetFound() && r.GetError() == nil {
			v := newResp()
			if proto.Unmarshal(r.GetValue(), v) == nil {
				a.stats.cacheHits++
				a.answer(ctx, key, v)
				return
			}
		}
		a.stats.cacheMisses++
		a.enqueue(ctx, j)
	})
}

func cacheKey(key string) string { return "connector:" + key }

// answer sends v to every waiter of key.
func (a *connectorActor) answer(ctx actor.Context, key string, v proto.Message) {
	p := a.pending[key]
	if p == nil {
		return
	}
	delete(a.pending, key)
	for _, w := range p.waiters {
		if w != nil {
			ctx.Send(w, v)
		}
	}
}

// onMarketResult caches a successful answer and answers every waiter.
func (a *connectorActor) onMarketResult(ctx actor.Context, j *job, val proto.Message, e *messages.Error) {
	p := a.pending[j.key]
	if p == nil {
		return
	}
	if e != nil {
		val = p.newResp()
		setError(val, e)
	} else if a.deps.Cache != nil {
		if b, err := proto.Marshal(val); err == nil {
			ctx.Request(a.deps.Cache, &messages.CacheSetRequest{Key: cacheKey(j.key), Value: b, TtlClass: p.ttlClass})
		}
	}
	a.answer(ctx, j.key, val)
}

// setError sets the Error field of a response message.
func setError(m proto.Message, e *messages.Error) {
	switch r := m.(type) {
	case *messages.TickerResponse:
		r.Error = e
	case *messages.DepthResponse:
		r.Error = e
	case *messages.KlinesResponse:
		r.Error = e
	}
}
