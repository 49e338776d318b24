package connector

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// The user data stream: one WebSocket API connection
// (userDataStream.subscribe.signature; Binance retired listenKey streams)
// for every subscriber, owned by one runner goroutine (userdata_conn.go)
// that only sends messages back. Each executionReport goes to every
// subscriber as a messages.ExecutionReport; connection changes as
// messages.UserDataStreamState (up after a reconnect carries reconnects > 0:
// the order actor reconciles then). Subscribers are watched: one that stops
// is dropped, and the connection closes with the last one.

// userDataWeight is the weight of userDataStream.subscribe.signature.
const userDataWeight = 2

// userDataTopic names the user data stream in connector.status.
const userDataTopic = "userdata"

// userData is the user data stream's state. Only the actor touches it; the
// runner only reads stop.
type userData struct {
	subs map[string]*actor.PID
	stop chan struct{}

	connected     bool
	everConnected bool
	rotating      bool // closed on purpose before the 24 h cut; not a fault
	downs         uint32
	reconnects    uint32
	lastMsg       time.Time
	reason        string
}

// userDataState is sent by the runner when the connection (and its
// subscription) goes up or down. Local only.
type userDataState struct {
	ud     *userData
	up     bool
	reason string
}

// userDataReport is one executionReport from the runner. Local only.
type userDataReport struct {
	ud     *userData
	report *messages.ExecutionReport
}

func (a *connectorActor) onSubscribeUserData(ctx actor.Context, m *messages.SubscribeUserDataRequest) {
	sub := m.GetSubscriber()
	if sub == nil {
		ctx.Respond(&messages.SubscribeUserDataResponse{Error: invalid("subscriber: required (the PID that receives the reports)")})
		return
	}
	if a.ud == nil {
		a.openUserData()
	}
	pk := pidKey(sub)
	if a.ud.subs[pk] == nil {
		a.ud.subs[pk] = sub
		a.watch(ctx, sub)
	}
	ctx.Respond(&messages.SubscribeUserDataResponse{})
	if a.ud.connected { // a late subscriber learns the stream is up
		ctx.Send(sub, &messages.UserDataStreamState{Up: true, Reconnects: a.ud.reconnects})
	}
}

// openUserData starts the user data stream's runner.
func (a *connectorActor) openUserData() {
	a.ud = &userData{subs: map[string]*actor.PID{}, stop: make(chan struct{})}
	apiKey, secret := a.cfg.keys()
	rc := userDataConfig{url: a.cfg.wsAPIURL(), apiKey: apiKey, secret: secret, offsetMs: a.offsetMs,
		stale: a.cfg.StaleAfter, rotate: a.cfg.RotateAfter,
		runner: runnerConfig{backoff: a.cfg.ReconnectBackoff, maxBackoff: a.cfg.ReconnectMaxBackoff}}
	go runUserData(rc, a.ud, a.sender())
	a.log.Info("user data stream opened", "url", redact(rc.url))
}

// dropUserDataSub removes a stopped subscriber; the stream closes with the
// last one.
func (a *connectorActor) dropUserDataSub(who *actor.PID) {
	if a.ud == nil || a.ud.subs[pidKey(who)] == nil {
		return
	}
	delete(a.ud.subs, pidKey(who))
	if len(a.ud.subs) == 0 {
		close(a.ud.stop)
		a.ud = nil
		a.log.Info("user data stream closed", "reason", "no subscribers")
	}
}

func (a *connectorActor) onUserDataState(ctx actor.Context, m *userDataState) {
	ud := m.ud
	if a.ud != ud {
		return // closed since
	}
	if m.up {
		if ud.everConnected {
			ud.reconnects++
			a.stats.reconnects++
		}
		ud.connected, ud.everConnected, ud.rotating, ud.reason = true, true, false, ""
		ud.lastMsg = time.Now()
		a.budget.roll(time.Now().Add(-a.offset))
		a.budget.charge(userDataWeight)
		a.log.Info("user data stream up", "reconnects", ud.reconnects)
		a.notifyUserData(ctx, &messages.UserDataStreamState{Up: true, Reconnects: ud.reconnects})
	} else {
		wasUp := ud.connected
		ud.connected, ud.reason = false, m.reason
		ud.rotating = m.reason == reasonRotate
		if !ud.rotating {
			ud.downs++
		}
		a.log.Warn("user data stream down", "reason", m.reason, "was_up", wasUp)
		if wasUp {
			a.notifyUserData(ctx, &messages.UserDataStreamState{Up: false, Reason: m.reason, Reconnects: ud.reconnects})
		}
	}
	a.updateHealth(ctx)
}

func (a *connectorActor) onUserDataReport(ctx actor.Context, m *userDataReport) {
	if a.ud != m.ud {
		return
	}
	a.ud.lastMsg = time.Now()
	a.notifyUserData(ctx, m.report)
}

// notifyUserData sends msg to every subscriber.
func (a *connectorActor) notifyUserData(ctx actor.Context, msg any) {
	for _, sub := range a.ud.subs {
		ctx.Send(sub, msg)
	}
}

// userDataStatus is the stream's line in connector.status (nil: none).
func (a *connectorActor) userDataStatus(now time.Time) *messages.StreamStatus {
	ud := a.ud
	if ud == nil {
		return nil
	}
	age := int64(-1)
	if !ud.lastMsg.IsZero() {
		age = now.Sub(ud.lastMsg).Milliseconds()
	}
	return &messages.StreamStatus{Topic: userDataTopic, Refcount: uint32(len(ud.subs)), Connected: ud.connected,
		LastMessageAgeMs: age, Reconnects: ud.reconnects}
}
