package connector

import (
	"errors"
	"net/http"
	"time"

	"github.com/adshao/go-binance/v2/common"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// netFailuresDown is how many consecutive transport failures mark the
// connector down.
const netFailuresDown = 3

// onJobResult books a worker's answer against the budget, handles bans and
// clock errors, retries what may be retried and routes the rest.
func (a *connectorActor) onJobResult(ctx actor.Context, r *jobResult) {
	j := r.job
	if j.gen != a.gen {
		return
	}
	a.busy--
	now := time.Now()
	a.budget.roll(now.Add(-a.offset))
	a.budget.observe(j.window, r.info.usedWeight, j.sent.Add(-a.offset), now.Add(-a.offset))
	f, code := classify(r.err, r.info)
	if j.kind == jobTime {
		a.syncing = false
	}
	a.trackNetwork(r, f)
	switch f {
	case failLimited:
		a.stats.rateLimited++
		switch r.info.status {
		case 429:
			a.stats.status429++
		case 418:
			a.stats.status418++
		}
		a.budget.ban(time.Now(), r.info.retryAfter, r.info.status)
		a.log.Warn("exchange rate limit: holding every request", "status", r.info.status, "retry_after", r.info.retryAfter, "code", code)
		if j.kind != jobPlace {
			// Refused, so sent again after the ban: harmless for GETs and
			// cancels. A placement is not: it left, so its outcome is
			// unknown and is resolved by a query (below).
			j.attempt--
			a.queue.pushFront(j)
			a.shedBanned(ctx)
			a.updateHealth(ctx)
			a.pump(ctx)
			return
		}
		a.shedBanned(ctx)
	case failTimestamp:
		if !j.timeSync {
			j.timeSync = true
			j.attempt--
			a.queue.pushFront(j)
			a.queue.pushFront(a.newJob(jobTime, prioSystem))
			a.pump(ctx)
			return
		}
	}
	switch j.kind {
	case jobTime:
		a.onTimeResult(ctx, j, r, f)
	case jobExchangeInfo:
		a.onExchangeInfoResult(ctx, j, r, f)
	case jobTicker, jobDepth, jobKlines:
		if a.retry(j, f) {
			break
		}
		if j.fill != nil {
			a.onFillResult(ctx, j, r)
			break
		}
		var e *messages.Error
		if r.err != nil {
			e = restError(r.err, f, code)
		}
		a.onMarketResult(ctx, j, r.val, e)
	case jobAccount, jobOpenOrders, jobMyTrades:
		if a.retry(j, f) {
			break
		}
		var e *messages.Error
		if r.err != nil {
			e = restError(r.err, f, code)
		}
		a.onAccountResult(ctx, j, r.val, e)
	case jobPlace, jobGetOrder, jobCancel:
		if f == failNone && j.kind != jobGetOrder {
			a.budget.refund(j.window, j.weight)
		}
		a.onOrderResult(ctx, j, r, f, code)
	}
	a.updateHealth(ctx)
	a.pump(ctx)
}

// retry schedules another try of an idempotent GET when f is worth one.
func (a *connectorActor) retry(j *job, f failure) bool {
	if f != failUnknown || j.attempt >= a.cfg.Retry.Attempts {
		return false
	}
	a.after(backoff(a.cfg.Retry.Backoff, a.cfg.Retry.MaxBackoff, j.attempt), timerRetry, j)
	return true
}

func (a *connectorActor) onTimeResult(ctx actor.Context, j *job, r *jobResult, f failure) {
	if f != failNone {
		if !a.retry(j, f) {
			a.after(a.cfg.Retry.MaxBackoff, timerRetry, a.newJob(jobTime, prioSystem))
		}
		return
	}
	// The exchange read its clock about half-way through the round trip.
	mid := time.Now().Add(-r.rtt / 2)
	a.offset = mid.Sub(time.UnixMilli(r.server))
	a.offsetMs.Store(a.offset.Milliseconds())
	a.log.Debug("clock synced", "offset", a.offset, "rtt", r.rtt)
}

func (a *connectorActor) onExchangeInfoResult(ctx actor.Context, j *job, r *jobResult, f failure) {
	if f != failNone {
		a.healthWhy = "exchange unreachable: " + errText(r.err)
		j.deadline = time.Now().Add(a.cfg.QueueTimeout)
		if !a.retry(j, f) {
			j.attempt = 0
			a.after(a.cfg.Retry.MaxBackoff, timerRetry, j)
		}
		return
	}
	a.budget.setLimit(r.server, r.window, time.Now().Add(-a.offset))
	a.ready = true
	a.log.Info("exchange limits", "request_weight", a.budget.limit, "window", a.budget.window, "usable", a.budget.usable())
}

// trackNetwork counts consecutive transport failures for the health state.
func (a *connectorActor) trackNetwork(r *jobResult, f failure) {
	if f == failUnknown && r.info.status == 0 {
		a.netFailures++
		if a.netFailures >= netFailuresDown {
			a.healthWhy = "exchange unreachable: " + errText(r.err)
		}
		return
	}
	a.netFailures = 0
}

// fail answers the callers of a job that never ran (queue full or timed out).
func (a *connectorActor) fail(ctx actor.Context, j *job, e *messages.Error) {
	switch {
	case j.fill != nil:
		a.onFillResult(ctx, j, &jobResult{job: j, err: e})
	case j.key != "":
		a.onMarketResult(ctx, j, nil, e)
	case j.op != nil && j.op.resolved:
		// The placement left earlier; only the query resolving it did not.
		a.finishOrder(ctx, j.op, messages.OrderOutcome_ORDER_OUTCOME_UNKNOWN, nil, 0,
			messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "order outcome unknown: could not query client_order_id %q (%s); query it later", j.op.clientID, e.GetMessage()))
	case j.op != nil:
		a.finishOrder(ctx, j.op, messages.OrderOutcome_ORDER_OUTCOME_NOT_SENT, nil, 0, e)
	case j.reply != nil:
		a.onAccountResult(ctx, j, nil, e)
	}
}

// shedBanned answers at once the queued requests whose queue deadline comes
// before the ban ends: they could not leave in time anyway (a placement
// among them was never sent: NOT_SENT).
func (a *connectorActor) shedBanned(ctx actor.Context) {
	until := a.budget.banUntil
	for _, j := range a.queue.expired(until) {
		if j.prio == prioSystem {
			a.queue.push(j)
			continue
		}
		a.fail(ctx, j, bannedErr(until))
	}
}

func bannedErr(until time.Time) *messages.Error {
	return rateLimitedErr("the exchange rate-limits this host until " + until.UTC().Format(time.RFC3339) + ": not sent")
}

// restError turns a REST failure into a client-safe error.
func restError(err error, f failure, code int64) *messages.Error {
	var ae *common.APIError
	switch {
	case f == failLimited:
		return rateLimitedErr("the exchange is rate limiting this host")
	case errors.As(err, &ae) && (f == failRejected || f == failTimestamp):
		c := messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION
		if code <= -1100 && code >= -1199 || code == -1013 {
			c = messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT
		}
		if code == -2014 || code == -2015 || code == -1022 {
			c = messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED
		}
		return messages.Errorf(c, "exchange: %s (%d)", redact(ae.Message), code)
	case f == failNotFound:
		return messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "exchange: order does not exist (-2013)")
	}
	var me *messages.Error
	if errors.As(err, &me) {
		return me
	}
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the exchange did not answer")
}

// updateHealth recomputes up/degraded/down and publishes changes.
func (a *connectorActor) updateHealth(ctx actor.Context) {
	h, why := "up", ""
	now := time.Now()
	switch {
	case !a.ready:
		h, why = "down", a.healthWhy
	case a.budget.banned(now) && a.budget.banStatus == http.StatusTeapot:
		h, why = "down", "IP banned by the exchange (418)"
	case a.netFailures >= netFailuresDown:
		h, why = "down", a.healthWhy
	case a.budget.banned(now):
		h, why = "degraded", "rate limited by the exchange (429)"
	default:
		for _, st := range a.streams {
			if !st.connected && st.downs > 0 && !st.rotating {
				h, why = "degraded", "stream "+st.topic+" reconnecting"
				break
			}
		}
		if ud := a.ud; h == "up" && ud != nil && !ud.connected && ud.downs > 0 && !ud.rotating {
			h, why = "degraded", "user data stream reconnecting"
		}
	}
	if h == a.health {
		return
	}
	a.health, a.healthWhy = h, why
	a.log.Info("connector health", "health", h, "reason", why)
	a.publish(ctx, "connector."+h, &messages.ConnectorHealth{Health: h, Reason: why})
	if a.budget.banned(now) {
		a.after(time.Until(a.budget.banUntil)+time.Millisecond, timerWake, nil)
	}
}
