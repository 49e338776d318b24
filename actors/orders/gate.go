package orders

import (
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/orders/reconcile"
	"github.com/superbot/superbot/messages"
)

// Gate states.
const (
	gateReconciling = "reconciling"
	gateOpen        = "open"
	gateHalted      = "halted"
)

// reconcileRetryMin and reconcileRetryMax bound the delay before a failed
// reconciliation runs again.
const (
	reconcileRetryMin = time.Second
	reconcileRetryMax = time.Minute
)

// recvWindowMs: an intent younger than this may still reach the exchange,
// so a reconciliation keeps it UNKNOWN rather than closing it.
const recvWindowMs = 5000

// gate is the state in front of the exchange.
type gate struct {
	state   string
	sinceMs int64
	// manual is trading.halt's (or the account's daily loss) reason,
	// persisted; reconcile is a failed reconciliation's, not persisted
	// (a restart reconciles again).
	manual, reconcile string
	// strategies are the halted strategies with their reasons, persisted.
	strategies map[string]string
}

// reason says why the gate is closed ("" when open).
func (g *gate) reason() string {
	switch {
	case g.manual != "":
		return g.manual
	case g.reconcile != "":
		return g.reconcile
	}
	return ""
}

// settle recomputes the state after a change.
func (a *orderActor) settle() {
	s := gateOpen
	switch {
	case a.gate.reason() != "":
		s = gateHalted
	case !a.loaded || a.cfg.Mode == ModeLive && (!a.reconciled || a.gating):
		s = gateReconciling
	}
	if s != a.gate.state {
		a.log.Info("trading gate", "from", a.gate.state, "to", s, "reason", a.gate.reason())
		a.gate.state, a.gate.sinceMs = s, a.nowMs()
	}
}

// gateCheck refuses orders while reconciling or halted.
func (a *orderActor) gateCheck(strategy string) *messages.Error {
	switch a.gate.state {
	case gateReconciling:
		return precondition("trading is reconciling")
	case gateHalted:
		return precondition("trading is halted: %s", a.gate.reason())
	}
	if why := a.gate.strategies[strategy]; why != "" {
		return precondition("strategy %s is halted: %s", strategy, why)
	}
	return nil
}

func (a *orderActor) state() *messages.TradingState {
	st := &messages.TradingState{Mode: a.cfg.Mode, Gate: a.gate.state, HaltedReason: a.gate.reason(), SinceMs: a.gate.sinceMs}
	for _, t := range a.orders {
		switch t.o.GetStatus() {
		case messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT, messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT, messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN:
			st.InFlight++
		}
		if isOpen(t.o.GetStatus()) {
			st.OpenOrders++
		}
	}
	return st
}

// onHalt is trading.halt: persisted, so a restart stays halted.
func (a *orderActor) onHalt(ctx actor.Context, m *messages.TradingHaltRequest) {
	if !a.loaded {
		ctx.Respond(&messages.TradingHaltResponse{Error: unavailable()})
		return
	}
	reason := m.GetReason()
	if reason == "" {
		reason = "halted by trading.halt"
	}
	if len(reason) > 200 {
		reason = reason[:200]
	}
	sender := ctx.Sender()
	a.gate.manual = reason
	a.settle()
	a.log.Warn("trading halted", "reason", reason)
	a.publish(ctx, "alert.risk.halted", &messages.RiskEvent{Limit: "halted", Message: reason, Halted: true})
	resp := &messages.TradingHaltResponse{}
	if m.GetCancelOrders() || a.cfg.HaltCancelsOrders {
		resp.Canceled = a.cancelMatching(ctx, "", "", nil)
	}
	if m.GetFlatten() {
		resp.Flattening = a.flatten(ctx)
	}
	a.write([]journal.Op{journal.PutMeta{Key: metaHalt, Value: reason}}, func(ctx actor.Context, err error) {
		resp.State = a.state()
		if err != nil {
			resp.Error = internal("the halt is in force but was not persisted: %v", err)
		}
		ctx.Send(sender, resp)
	})
}

// onResume is trading.resume: lifts a strategy's halt when one is named,
// else the account's halt (a reconciliation halt only once a
// reconciliation passed).
func (a *orderActor) onResume(ctx actor.Context, m *messages.TradingResumeRequest) {
	if !a.loaded {
		ctx.Respond(&messages.TradingResumeResponse{Error: unavailable()})
		return
	}
	sender := ctx.Sender()
	var op journal.Op
	if s := m.GetStrategy(); s != "" {
		if a.gate.strategies[s] == "" {
			ctx.Respond(&messages.TradingResumeResponse{State: a.state(), Error: precondition("strategy %s is not halted", s)})
			return
		}
		delete(a.gate.strategies, s)
		op = jsonMeta(metaStrategyHalts, a.gate.strategies)
		// The strategy host shows the strategy "halted" until it hears this.
		a.publish(ctx, "risk.resumed", &messages.RiskEvent{Strategy: s, Limit: "resumed"})
	} else {
		if a.gate.reconcile != "" {
			ctx.Respond(&messages.TradingResumeResponse{State: a.state(),
				Error: precondition("the last reconciliation found mismatches (%s): run trading.reconcile {run: true} until it passes", a.gate.reconcile)})
			return
		}
		a.gate.manual = ""
		op = journal.PutMeta{Key: metaHalt, Value: ""}
	}
	a.settle()
	a.log.Info("trading resumed", "strategy", m.GetStrategy())
	a.write([]journal.Op{op}, func(ctx actor.Context, err error) {
		resp := &messages.TradingResumeResponse{State: a.state()}
		if err != nil {
			resp.Error = internal("resumed but not persisted: %v", err)
		}
		ctx.Send(sender, resp)
	})
}

// retryReconcile schedules a failed run again: a fetch that failed (a
// request unanswered behind a spent weight budget, a ban, an exchange
// down) explains nothing and is no mismatch, so it does not halt; the gate
// keeps its state (closed while gating) and the report says why, until a
// run succeeds. The delay doubles from reconcileRetryMin to
// reconcileRetryMax.
func (a *orderActor) retryReconcile(ctx actor.Context, started int64, err error) {
	a.failures++
	delay := min(reconcileRetryMin<<min(a.failures-1, 10), reconcileRetryMax)
	a.report = &messages.ReconcileReport{StartedMs: started, FinishedMs: a.nowMs(), Result: "retrying",
		Mismatches: []string{fmt.Sprintf("reconciliation failed (%d in a row), retrying in %s: %v", a.failures, delay, err)}}
	a.log.Warn("reconciliation failed, retrying", "error", err, "failures", a.failures, "retry_in", delay)
	if a.failures == 1 {
		a.publish(ctx, "alert.risk.reconcile", &messages.RiskEvent{Limit: "reconcile", Message: a.report.GetMismatches()[0]})
	}
	if a.timers != nil && a.timers[tickReconcile] == nil {
		root, self := a.root, a.self
		a.timers[tickReconcile] = time.AfterFunc(delay, func() { root.Send(self, &tick{kind: tickReconcile, owner: a}) })
	}
	a.settle()
}

// onReconcileRequest is trading.reconcile: the last report, or a new run.
func (a *orderActor) onReconcileRequest(ctx actor.Context, m *messages.ReconcileRequest) {
	if m.GetRun() {
		if a.cfg.Mode != ModeLive {
			ctx.Respond(&messages.ReconcileResponse{State: a.state(), Error: precondition("reconciliation is for live mode; this is %s", a.cfg.Mode)})
			return
		}
		a.runReconcile(ctx, false)
	}
	ctx.Respond(&messages.ReconcileResponse{Report: a.report, State: a.state()})
}

// onStreamState reconciles after the user data stream came back.
func (a *orderActor) onStreamState(ctx actor.Context, m *messages.UserDataStreamState) {
	a.log.Info("user data stream", "up", m.GetUp(), "reconnects", m.GetReconnects(), "reason", m.GetReason())
	if m.GetUp() && m.GetReconnects() > 0 {
		a.runReconcile(ctx, true)
	}
}

// runReconcile spawns the reconciliation runner (one at a time). A gating
// run (at start, after a user data stream reconnect) closes the gate until
// it passes; others (an unknown order seen) run while trading goes on.
func (a *orderActor) runReconcile(ctx actor.Context, gating bool) {
	if !a.loaded || a.cfg.Mode != ModeLive {
		return
	}
	if a.reconciler != nil {
		if gating { // the run under way may predate the reconnect
			a.gating, a.rerun = true, true
			a.settle()
		}
		return
	}
	a.gating = gating
	var open []*messages.TradeOrder
	symbols := map[string]bool{}
	recorded := make(map[string]string, len(a.orders))
	recordedTrades := make(map[string][]int64, len(a.orders))
	for id, t := range a.orders {
		open = append(open, clone(t.o))
		symbols[t.o.GetSymbol()] = true
		recorded[id] = strconv.FormatFloat(t.filled, 'f', 8, 64) // exchange quantities have at most 8 decimals
		for tid := range t.tradeIDs {
			recordedTrades[id] = append(recordedTrades[id], tid)
		}
	}
	last := make(map[string]int64, len(a.lastTrade))
	for s, id := range a.lastTrade {
		last[s] = id
		symbols[s] = true
	}
	strategies := a.knownStrategies()
	if a.deps.Term > 0 { // an earlier leader may have traded what this journal never saw
		for _, name := range strategies {
			if sym := a.cfg.Books[name].Symbol; sym != "" {
				symbols[sym] = true
			}
		}
	}
	req := reconcile.Request{Journal: open, LastTradeIDs: last, Symbols: sortedKeys(symbols), External: a.cfg.External,
		Prefix: a.cfg.ClientIDPrefix + "-", NowMs: a.nowMs(), RecvWindowMs: recvWindowMs, Recorded: recorded,
		RecordedTrades: recordedTrades,
		Term:           a.deps.Term, Strategies: strategies}
	if a.report == nil || a.report.GetResult() != "running" {
		a.report = &messages.ReconcileReport{StartedMs: req.NowMs, Result: "running"}
	}
	a.reconciler = ctx.Spawn(reconcile.Props(a.deps.Connector, req))
	a.settle()
	a.log.Info("reconciling", "journal_open_orders", len(open), "symbols", len(req.Symbols))
}

// knownStrategies are the strategy names an earlier term's client id may
// name: the configured ones, those with an id sequence, and "manual".
func (a *orderActor) knownStrategies() []string {
	names := map[string]bool{ManualStrategy: true}
	for name := range a.cfg.Books {
		names[name] = true
	}
	for name := range a.seqs {
		names[name] = true
	}
	return sortedKeys(names)
}

// onReconcileMessage handles the runner's result; false for other messages.
func (a *orderActor) onReconcileMessage(ctx actor.Context, msg any) bool {
	switch r := msg.(type) {
	case *reconcile.Result:
		a.onReconciled(ctx, r)
	case reconcile.Result:
		a.onReconciled(ctx, &r)
	default:
		return false
	}
	return true
}

func (a *orderActor) onTerminated(m *actor.Terminated) {
	if a.reconciler != nil && m.GetWho().Equal(a.reconciler) {
		a.reconciler = nil
	}
}

// onReconciled applies a plan in ONE journal write; mismatches (or a failed
// run) halt trading with the report kept for trading.reconcile.
func (a *orderActor) onReconciled(ctx actor.Context, r *reconcile.Result) {
	a.reconciler = nil
	defer func() {
		if a.rerun {
			a.rerun = false
			a.runReconcile(ctx, true)
		}
	}()
	started := a.report.GetStartedMs()
	if r.Err != nil {
		a.retryReconcile(ctx, started, r.Err)
		return
	}
	a.failures = 0
	plan := r.Plan
	if !a.gating && len(plan.Mismatches) > 0 {
		// A run beside trading saw a snapshot that orders placed since may
		// contradict: check again with the gate closed before halting.
		a.log.Warn("reconciliation beside trading found mismatches, checking again with the gate closed", "mismatches", len(plan.Mismatches))
		a.rerun = true
		return
	}
	ops, fills := a.applyPlan(plan)
	for _, o := range plan.Updates { // found open: a cancel asked for meanwhile goes out
		if t := a.orders[o.GetClientOrderId()]; t != nil {
			a.cancelIfWanted(ctx, t)
		}
	}
	if len(plan.Cancel) > 0 && !a.mayAct(ctx, actCancel, plan.Cancel[0].GetClientOrderId()) {
		plan.Cancel = nil // still exchange-only: the next run cancels them
		if plan.Report != nil {
			plan.Report.OrdersCanceled = 0
		}
	}
	for _, x := range plan.Cancel {
		ctx.Request(a.deps.Connector, &messages.CancelOrderRequest{Symbol: x.GetSymbol(), ClientOrderId: x.GetClientOrderId(), OrderId: x.GetOrderId()})
	}
	report := plan.Report
	if report == nil {
		report = &messages.ReconcileReport{}
	}
	report.StartedMs, report.FinishedMs = started, a.nowMs()
	report.Mismatches = plan.Mismatches
	report.Result = "ok"
	if len(plan.Mismatches) > 0 {
		report.Result = "halted"
	}
	if len(report.GetBalances()) > 0 {
		a.balances, a.balancesMs = report.GetBalances(), report.FinishedMs
	}
	a.write(ops, func(ctx actor.Context, err error) {
		a.report = report
		switch {
		case err != nil:
			a.haltReconcile(ctx, fmt.Sprintf("the journal refused the reconciliation: %v", err))
		case len(plan.Mismatches) > 0:
			a.haltReconcile(ctx, fmt.Sprintf("reconciliation found %d mismatches (trading.reconcile shows them)", len(plan.Mismatches)))
		default:
			a.gate.reconcile = ""
		}
		a.reconciled, a.gating = true, false
		a.settle()
		a.publishFills(ctx, fills)
	})
	a.log.Info("reconciled", "fills", len(plan.Fills), "updates", len(plan.Updates), "adopted", len(plan.Adopt),
		"adopted_from_earlier_term", plan.Report.GetAdoptedFromEarlierTerm(), "canceled", len(plan.Cancel),
		"intents_closed", len(plan.CloseIntents), "mismatches", len(plan.Mismatches))
}

// applyPlan moves the in-memory orders and books by a plan and returns its
// journal ops and the fills booked.
func (a *orderActor) applyPlan(plan reconcile.Plan) ([]journal.Op, []*messages.TradeFill) {
	var ops []journal.Op
	put := func(o *messages.TradeOrder) {
		id := o.GetClientOrderId()
		t := a.orders[id]
		if t != nil && (t.busy || t.o.GetStatus().Final() || dec(o.GetExecutedQty()) < dec(t.o.GetExecutedQty())) {
			// A placement under way answers for itself; final stays final;
			// the plan's snapshot predates what the stream recorded since.
			return
		}
		ops = append(ops, journal.PutOrder{Order: clone(o)})
		switch {
		case t != nil:
			t.o = clone(o)
		case isOpen(o.GetStatus()):
			a.orders[id] = &tracked{o: clone(o), tradeIDs: map[int64]bool{}}
		}
		if t := a.orders[id]; t != nil && t.settled() {
			a.forget(t)
		}
	}
	for _, o := range plan.Updates {
		put(o)
	}
	for _, o := range plan.Adopt {
		put(o)
	}
	for _, o := range plan.CloseIntents {
		c := clone(o)
		c.Status = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT
		if c.Reason == "" {
			c.Reason = "the exchange never received it"
		}
		put(c)
	}
	var fills []*messages.TradeFill
	for _, f := range plan.Fills {
		ops = append(ops, journal.AddFill{Fill: f})
		t := a.orders[f.GetClientOrderId()]
		if t != nil && t.tradeIDs[f.GetTradeId()] {
			continue
		}
		if t == nil {
			if a.closed.has(f.GetClientOrderId()) {
				continue // settled since the snapshot: all its fills are booked
			}
			t = &tracked{}
		}
		a.recordFill(t, f)
		fills = append(fills, f)
	}
	for _, f := range fills {
		if t := a.orders[f.GetClientOrderId()]; t != nil && t.settled() {
			a.forget(t)
		}
	}
	return ops, fills
}

func (a *orderActor) publishFills(ctx actor.Context, fills []*messages.TradeFill) {
	for _, f := range fills {
		pv := a.books.view(f.GetStrategy(), f.GetSymbol(), a.books.get(f.GetStrategy(), f.GetSymbol()))
		a.publish(ctx, fmt.Sprintf("fill.%s.%s", f.GetStrategy(), f.GetSymbol()), &messages.FillEvent{Fill: f, Position: pv})
	}
}

// haltReconcile closes the gate after a failed reconciliation, with an alert.
func (a *orderActor) haltReconcile(ctx actor.Context, reason string) {
	a.gate.reconcile = reason
	a.settle()
	a.log.Error("trading halted by reconciliation", "reason", reason)
	a.publish(ctx, "alert.risk.reconcile", &messages.RiskEvent{Limit: "reconcile", Message: reason, Halted: true})
}

// haltOps persist the account's and the strategies' halts.
func (a *orderActor) haltOps() []journal.Op {
	return []journal.Op{journal.PutMeta{Key: metaHalt, Value: a.gate.manual}, jsonMeta(metaStrategyHalts, a.gate.strategies)}
}
