package orders

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Fence is the cluster's permission to act (*election.Guard satisfies it).
type Fence interface{ MayAct() (term int64, ok bool) }

// fenceMessage is what a refused place or cancel is answered.
const fenceMessage = "this node may not trade now: its cluster lease is not provably alive"

// Fenced actions (FenceAlert.action).
const (
	actPlace  = "place"
	actCancel = "cancel"
	actClose  = "close"
)

// mayAct asks the fence before an exchange action (a live place or cancel,
// a paper order or cancel, a close-out at stop): allowed when there is no
// fence (a single node), or when it says ok with this run's term. A
// refusal publishes alert.cluster.fence (and logs) once per burst: the
// first refusal after an allowed action (or the start) alerts, the next
// ones do not.
func (a *orderActor) mayAct(ctx actor.Context, action, clientID string) bool {
	if a.deps.Fence == nil {
		return true
	}
	token, ok := a.deps.Fence.MayAct()
	if ok && token == a.deps.Term {
		a.fenceRefusing = false
		return true
	}
	if !a.fenceRefusing {
		a.fenceRefusing = true
		a.log.Warn("exchange action refused by the cluster fence", "action", action, "client_order_id", clientID,
			"term", a.deps.Term, "token", token, "lease_ok", ok)
		a.publish(ctx, "alert.cluster.fence", &messages.FenceAlert{Term: a.deps.Term, Token: token, Action: action,
			ClientOrderId: clientID, Message: fenceMessage})
	}
	return false
}

// fenceError is the answer to a place or cancel the fence refused.
func fenceError() *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, fenceMessage)
}

// fenced closes a journaled intent the fence refused at the last moment
// (the lease ran out while the intent was committed): it was never sent.
// Its callers are answered with the NOT_SENT order and the fence's error;
// the NOT_SENT is journaled.
func (a *orderActor) fenced(ctx actor.Context, t *tracked) {
	o := t.o
	o.Status, o.Reason, o.UpdatedMs = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT, fenceMessage, a.nowMs()
	t.busy = false
	for _, w := range t.waiters {
		ctx.Send(w, &messages.PlaceTradeOrderResponse{Order: clone(o), Error: fenceError()})
	}
	t.waiters = nil
	a.commit(ctx, t, nil)
	a.afterPlaced(ctx, t)
}
