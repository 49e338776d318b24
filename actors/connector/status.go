package connector

import (
	"sort"
	"time"

	"github.com/superbot/superbot/messages"
)

// status answers connector.status.
func (a *connectorActor) status() *messages.ConnectorStatusResponse {
	now := time.Now()
	a.budget.roll(now.Add(-a.offset))
	res := &messages.ConnectorStatusResponse{
		Health:           a.health,
		Endpoint:         a.cfg.Endpoint,
		BudgetUsed:       a.budget.used,
		BudgetLimit:      a.budget.limit,
		BudgetUsable:     a.budget.usable(),
		BudgetWindowMs:   a.budget.window.Milliseconds(),
		Banned:           a.budget.banned(now),
		ClockOffsetMs:    a.offset.Milliseconds(),
		UpstreamRequests: a.stats.upstream,
		Coalesced:        a.stats.coalesced,
		CacheHits:        a.stats.cacheHits,
		CacheMisses:      a.stats.cacheMisses,
		Retries:          a.stats.retries,
		RateLimited:      a.stats.rateLimited,
		TooManyRequests:  a.stats.status429,
		IpBans:           a.stats.status418,
		StreamReconnects: a.stats.reconnects,
	}
	if res.Banned {
		res.BannedUntilMs = a.budget.banUntil.UnixMilli()
		res.BanStatus = int32(a.budget.banStatus)
	}
	if a.transport != nil {
		res.Pool = &messages.PoolStats{
			MaxConnections:  uint32(a.cfg.MaxConnections),
			OpenConnections: uint32(max(a.transport.open.Load(), 0)),
			ActiveRequests:  uint32(max(a.transport.active.Load(), 0)),
			Workers:         uint32(a.cfg.IOWorkers),
			BusyWorkers:     uint32(a.busy),
			Queued:          uint32(a.queue.len()),
			Dials:           a.transport.dials.Load(),
		}
	}
	for _, st := range a.streams {
		age := int64(-1)
		if !st.lastMsg.IsZero() {
			age = now.Sub(st.lastMsg).Milliseconds()
		}
		res.Streams = append(res.Streams, &messages.StreamStatus{
			Symbol: st.key.symbol, Kind: st.key.kind, Interval: st.key.interval, Topic: st.topic,
			Refcount: uint32(len(st.subs)), Connected: st.connected, LastMessageAgeMs: age,
			Reconnects: st.reconnects, GapFills: st.gapFills,
		})
	}
	res.UserData = a.userDataStatus(now)
	sort.Slice(res.Streams, func(i, j int) bool { return res.Streams[i].Topic < res.Streams[j].Topic })
	return res
}
