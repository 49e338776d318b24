package scheduler

import (
	"encoding/json"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// winState is the trading window as last applied.
type winState struct {
	known      bool
	open       bool
	since      time.Time
	st         windowState
	lastAction string
	lastErr    string
	seq        uint64
}

func sameWindow(a, b *compiled) bool {
	if (a.window == nil) != (b.window == nil) {
		return false
	}
	if a.window == nil {
		return true
	}
	return a.zone == b.zone && a.module == b.module &&
		a.window.start == b.window.start && a.window.stop == b.window.stop && a.window.days == b.window.days
}

// reportWindow tells the parent (the root supervisor) the trading window's
// status when it changed: daemon.status shows it without asking.
func (a *schedulerActor) reportWindow() {
	if a.parent == nil || a.c == nil {
		return
	}
	w := a.windowStatus()
	if a.reported != nil && proto.Equal(w, a.reported) {
		return
	}
	packed, err := anypb.New(w)
	if err != nil {
		return
	}
	a.reported = w
	a.root.Send(a.parent, &messages.StatusReport{From: a.self, Detail: packed})
}

func (a *schedulerActor) windowStatus() *messages.WindowStatusResponse {
	cfg := a.c.cfg
	res := &messages.WindowStatusResponse{
		Enabled: a.c.window != nil,
		State:   stateDisabled,
		Module:  cfg.TradingModule,
		Zone:    a.c.zone,
		Start:   cfg.TradingStart,
		Stop:    cfg.TradingStop,
	}
	for _, d := range cfg.TradingDays {
		res.Days = append(res.Days, int32(d))
	}
	if a.c.window == nil {
		return res
	}
	res.State = stateClosed
	if a.win.open {
		res.State = stateOpen
	}
	if t := a.win.st.nextOpen; !t.IsZero() {
		res.NextOpen, res.NextOpenLocal = timestamppb.New(t), t.In(a.c.loc).Format(time.RFC3339)
	}
	if t := a.win.st.nextClose; !t.IsZero() {
		res.NextClose, res.NextCloseLocal = timestamppb.New(t), t.In(a.c.loc).Format(time.RFC3339)
	}
	res.LastAction, res.LastActionError = a.win.lastAction, a.win.lastErr
	if !a.win.since.IsZero() {
		res.Since = timestamppb.New(a.win.since)
	}
	return res
}

// evalWindow applies the window's state at now: on a change (or when catchUp,
// at start-up and on a window reload) it starts or stops the module and
// publishes scheduler.window.opened|closed.
func (a *schedulerActor) evalWindow(ctx actor.Context, now time.Time, catchUp bool) {
	if a.c.window == nil {
		a.win = winState{}
		return
	}
	st := a.c.window.at(now)
	a.win.st = st
	if a.win.known && a.win.open == st.open && !catchUp {
		return
	}
	a.win.known, a.win.open, a.win.since = true, st.open, now
	method, topic, state := methodStop, TopicWindowClosed, stateClosed
	if st.open {
		method, topic, state = methodStart, TopicWindowOpened, stateOpen
	}
	a.publish(ctx, topic, &messages.WindowChanged{
		State: state, Module: a.c.module, Zone: a.c.zone, At: timestamppb.New(now), CatchUp: catchUp,
	})
	a.log.Info("trading window changed", "state", state, "module", a.c.module, "catch_up", catchUp, "next_open", st.nextOpen, "next_close", st.nextClose)
	a.win.seq++
	seq := a.win.seq
	a.win.lastAction, a.win.lastErr = method, ""
	params, _ := json.Marshal(map[string]string{"module": a.c.module})
	done := func(_ proto.Message, err error) {
		if seq != a.win.seq || err == nil {
			return
		}
		if e := clientError(err); method == methodStart && e.GetCode() == messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS {
			a.log.Info("trading module already running", "module", a.c.module)
			return
		}
		a.win.lastErr = clientError(err).GetMessage()
		a.log.Warn("trading window action failed", "method", method, "module", a.c.module, "error", err)
	}
	p, err := a.call(ctx, method, params, 0)
	if err != nil {
		done(nil, err)
		return
	}
	ctx.ReenterAfter(p.Future, func(res any, err error) { done(rpc.Reply(res, err)) })
}

func (a *schedulerActor) windowText() string {
	if a.c.window == nil {
		return stateDisabled
	}
	return a.c.cfg.TradingStart + "-" + a.c.cfg.TradingStop + daysText(a.c.cfg.TradingDays)
}
