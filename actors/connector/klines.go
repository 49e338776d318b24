package connector

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// closedKline publishes a closed kline so that closed klines stay
// contiguous: duplicates are dropped, and a gap (the stream skipped one, or
// was down) is filled from REST before k is published. With noFill (klines
// held during a fill) a gap that REST could not fill is accepted.
func (a *connectorActor) closedKline(ctx actor.Context, st *stream, k *messages.Kline, noFill bool) {
	if st.filling {
		st.buffered = append(st.buffered, k)
		return
	}
	next := st.lastClosed + st.ivMs
	switch {
	case st.lastClosed == 0, k.GetOpenTimeMs() == next, st.ivMs == 0 && k.GetOpenTimeMs() > st.lastClosed,
		noFill && k.GetOpenTimeMs() > st.lastClosed:
		a.publishClosed(ctx, st, k, false)
	case k.GetOpenTimeMs() <= st.lastClosed:
		// already published (from REST or a replay after reconnect)
	default:
		st.buffered = append(st.buffered, k)
		a.startFill(ctx, st, next, k.GetOpenTimeMs()-1)
	}
}

func (a *connectorActor) publishClosed(ctx actor.Context, st *stream, k *messages.Kline, fromREST bool) {
	st.lastClosed = k.GetOpenTimeMs()
	a.publish(ctx, st.topic, &messages.KlineUpdate{Symbol: st.key.symbol, Interval: st.key.interval, Kline: k, Closed: true, FromRest: fromREST})
}

// startFill fetches the klines from..to (to 0: up to now) of st from REST;
// closed klines arriving meanwhile wait in st.buffered.
func (a *connectorActor) startFill(ctx actor.Context, st *stream, from, to int64) {
	st.filling = true
	j := a.newJob(jobKlines, prioMarket)
	j.symbol, j.interval, j.limit, j.start, j.end, j.fill = st.key.symbol, st.key.interval, 1000, from, to, st
	a.queue.pushFront(j)
	a.pump(ctx)
}

// onFillResult publishes the closed klines a fill returned, then the held ones.
func (a *connectorActor) onFillResult(ctx actor.Context, j *job, r *jobResult) {
	st := j.fill
	if a.streams[st.key] != st {
		return
	}
	st.filling = false
	if resp, ok := r.val.(*messages.KlinesResponse); ok && r.err == nil {
		serverNow := time.Now().Add(-a.offset).UnixMilli()
		rows := resp.GetKlines()
		for _, k := range rows {
			if k.GetOpenTimeMs() <= st.lastClosed {
				continue
			}
			closed := k.GetCloseTimeMs() < serverNow || (j.end > 0 && k.GetOpenTimeMs() <= j.end)
			if !closed {
				break
			}
			a.publishClosed(ctx, st, k, true)
		}
		if len(rows) == j.limit && rows[len(rows)-1].GetOpenTimeMs() == st.lastClosed && st.ivMs > 0 {
			a.startFill(ctx, st, st.lastClosed+st.ivMs, j.end) // a full page: fetch the next one
			return
		}
		st.gapFills++
	} else {
		a.log.Warn("kline gap fill failed", "topic", st.topic, "err", errText(r.err))
	}
	held := st.buffered
	st.buffered = nil
	for _, k := range held {
		a.closedKline(ctx, st, k, true)
	}
}
