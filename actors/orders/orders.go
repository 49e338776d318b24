// Package orders is the order-management actor: the one way to the exchange
// for orders, whoever asks (strategies, modules over JSON-RPC, the CLI).
//
// Every order intent is journaled (SQLite, fsync, group commit) before it
// is sent; an answer lost on the way is an UNKNOWN outcome resolved by
// querying the client order id, never by sending again. In live mode a
// reconciliation with the exchange opens the gate; in paper mode the paper
// matcher fills orders on live market data. Each strategy keeps its own
// book (position, average price, realised and unrealised PnL, fees).
package orders

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/messages"
)

// Kind names the order-management actor in the supervision tree.
const Kind = "orders"

// ErrJournal wraps a journal that cannot be opened or written: the actor's
// state cannot be trusted without it, so it crashes (and is restarted).
var ErrJournal = errors.New("orders: journal failed")

var errBadDecimal = errors.New("not a finite decimal")

// Deps are the actor's collaborators.
type Deps struct {
	// Bus receives order.*, fill.*, position.*, risk.* and alert.risk.* events.
	Bus *actor.PID
	// Connector places, queries and cancels orders in live mode and feeds
	// the paper matcher's market data subscriptions.
	Connector *actor.PID
	// StateDir resolves a relative Config.Journal.
	StateDir string
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Fence, when set, is asked before every exchange action (place, cancel,
	// close-out); nil on a single node: always allowed.
	Fence Fence
	// Term is this run's fencing token (election.Elected.Token); 0 on a
	// single node. Carried in client order ids and journal rows.
	Term int64
	// OnCommit, when set, gets every batch of journal ops after it is
	// committed, in commit order, on the journal's writer goroutine
	// (it must not block: the lead passes a bus publish). nil: nothing.
	OnCommit func(ops []journal.Op)
	// Position, when set, is the journal.ops stream position of the last
	// committed batch (journalsync.Publisher.Position): journal.snapshot
	// reads it at the copy's cut. nil: journal.snapshot is refused.
	Position func() (term int64, seq uint64)
}

// PrepareStop is sent by the daemon at shutdown, before the connector
// stops: it cancels open orders and closes positions as the config says and
// checkpoints the journal. Answered by PrepareStopResult. Local only.
type PrepareStop struct{}

// PrepareStopResult says what PrepareStop did (answered as a pointer).
type PrepareStopResult struct {
	Canceled, Closing int
	Err               error
}

// Props returns the actor's props. Validate cfg first.
func Props(cfg Config, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return newActor(cfg, deps) })
}

// tracked is one order the actor holds in memory: open, in flight, or
// closed with a journal write still pending.
type tracked struct {
	o *messages.TradeOrder
	// busy: the placement is under way (intent not yet committed, or the
	// exchange's answer not yet in); callers asking for it wait in waiters.
	busy    bool
	waiters []*actor.PID
	// writes counts journal writes of this order not yet committed.
	writes int
	// tradeIDs are the exchange trade ids recorded for the order.
	tradeIDs map[int64]bool
	// filled sums the quantities of the fills recorded for the order: a
	// closed order stays in memory until they make up its executed
	// quantity (its trade reports may come after its final status).
	filled   float64
	querying bool
	// cancelWanted: a cancel came while the placement's outcome was
	// unknown and the exchange did not know the order yet; it is sent
	// when the order shows up open.
	cancelWanted bool
}

// settled reports a closed order whose fills are all recorded.
func (t *tracked) settled() bool {
	return !isOpen(t.o.GetStatus()) && t.writes == 0 && !t.busy && t.filled >= dec(t.o.GetExecutedQty())*(1-1e-9)
}

type orderActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	now  func() time.Time

	root *actor.RootContext
	self *actor.PID
	j    *journal.Journal
	// handoff brings j from the loader goroutine.
	handoff handoff
	// reads counts goroutines reading the journal; Close waits for them.
	reads sync.WaitGroup
	// snaps are the journal snapshots being served (journal.snapshot).
	snaps *snapshots

	loaded bool
	orders map[string]*tracked
	// closed remembers the last settled orders: the user data stream's
	// reports of them often come after the REST answer closed them.
	closed  closedSet
	lookups map[string][]pendingPlace
	seqs    map[string]uint64
	books   *books
	// lastTrade is the last exchange trade id recorded per symbol.
	lastTrade map[string]int64
	rate      map[string][]int64

	gate       gate
	report     *messages.ReconcileReport
	reconciler *actor.PID
	reconciled bool // a reconciliation finished (live)
	gating     bool // the run under way keeps the gate closed
	rerun      bool // a gating run is due after the one under way
	// failures counts reconciliation runs in a row that failed to fetch
	// (retried after a backoff; the gate keeps its state meanwhile).
	failures   int
	riskHalts  []*messages.RiskEvent
	stopWaiter func(actor.Context, *stopped)
	// cancelPlaced are the placements under way at PrepareStop (with
	// cancel_orders_on_stop), canceled when answered; then cancelPlacedDone.
	cancelPlaced     map[string]bool
	cancelPlacedDone func(actor.Context, *messages.Error)
	stopTimer        *time.Timer
	balances         []*messages.AssetBalance
	balancesMs       int64

	match      *matcher.Matcher
	paperBal   map[string]float64
	subscribed map[string]bool
	warmed     map[string]bool // symbols priced once by warm
	acker      *bus.Acker

	// dead is set when this incarnation stops or restarts: answers still
	// addressed to it (futures, journal callbacks, timers) are dropped, as
	// the next incarnation rebuilds everything from the journal.
	dead     bool
	writeSeq uint64
	pending  map[uint64]func(actor.Context, error)
	timers   map[tickKind]*time.Timer
	ticks    uint64

	// fenceRefusing: the fence refused the last action asked (the burst's
	// alert is out).
	fenceRefusing bool
}

func newActor(cfg Config, deps Deps) *orderActor {
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	a := &orderActor{cfg: cfg, deps: deps, log: log.With("actor", Kind), now: now}
	a.snaps = &snapshots{dir: filepath.Dir(a.journalPath()), log: a.log, byID: map[string]*snapshot{}}
	return a
}

// Receive dispatches the actor's messages.
func (a *orderActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.answerWaiting(ctx)
		a.release()
	case *actor.Stopped:
	case *loaded:
		a.onLoaded(ctx, msg)
	case *writeDone:
		a.onWriteDone(ctx, msg)
	case *lookupDone:
		a.onLookupDone(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *messages.PlaceTradeOrderRequest:
		a.onPlace(ctx, msg)
	case *messages.CancelTradeOrderRequest:
		a.onCancel(ctx, msg)
	case *messages.CancelAllTradeOrdersRequest:
		ctx.Respond(a.onCancelAll(ctx, msg))
	case *messages.TradeOrdersRequest:
		a.onOrders(ctx, msg)
	case *messages.TradeFillsRequest:
		a.onFills(ctx, msg)
	case *messages.PositionsRequest:
		ctx.Respond(a.onPositions(msg))
	case *messages.BalanceRequest:
		ctx.Respond(a.onBalance())
	case *messages.PnlRequest:
		ctx.Respond(a.onPnl(msg))
	case *messages.TradingHaltRequest:
		a.onHalt(ctx, msg)
	case *messages.TradingResumeRequest:
		a.onResume(ctx, msg)
	case *messages.ReconcileRequest:
		a.onReconcileRequest(ctx, msg)
	case *messages.JournalBackupRequest:
		a.onBackup(ctx, msg)
	case *messages.SaveStrategyStateRequest:
		a.onSaveState(ctx, msg)
	case *messages.LoadStrategyStateRequest:
		a.onLoadState(ctx, msg)
	case *messages.ExecutionReport:
		a.onExecutionReport(ctx, msg)
	case *messages.UserDataStreamState:
		a.onStreamState(ctx, msg)
	case *messages.Event:
		a.onEvent(ctx, msg)
	default:
		a.receiveMore(ctx, msg)
	}
}

// receiveMore handles the timers, the reconciliation runner's result and
// the answers the actor only logs.
func (a *orderActor) receiveMore(ctx actor.Context, msg any) {
	switch msg := msg.(type) {
	case *PrepareStop:
		a.onPrepareStop(ctx)
	case *messages.JournalSnapshotRequest:
		a.onSnapshot(ctx, msg)
	case PrepareStop:
		a.onPrepareStop(ctx)
	case *tick:
		a.onTick(ctx, msg)
	case *stopped:
		a.onStoppedStep(ctx, msg)
	case *actor.Terminated:
		a.onTerminated(msg)
	case *messages.OrderResult: // a reconciliation's cancel of an exchange-only order
		a.log.Info("external order cancel answered", "client_order_id", msg.GetOrder().GetClientOrderId(), "err", msg.GetError().GetMessage())
	case *messages.SubscribeResponse, *messages.SubscribeStreamResponse, *messages.SubscribeUserDataResponse:
		if r, ok := msg.(messages.Responder); ok && r.GetError() != nil {
			a.log.Warn("subscription refused", "type", fmt.Sprintf("%T", msg), "err", r.GetError().GetMessage())
		}
	default:
		if !a.onReconcileMessage(ctx, msg) {
			a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
		}
	}
}

// journalPath resolves the journal's file.
func (a *orderActor) journalPath() string {
	if filepath.IsAbs(a.cfg.Journal) {
		return a.cfg.Journal
	}
	return filepath.Join(a.deps.StateDir, a.cfg.Journal)
}

func (a *orderActor) onStarted(ctx actor.Context) {
	a.root, a.self = ctx.ActorSystem().Root, ctx.Self()
	a.orders, a.lookups, a.pending = map[string]*tracked{}, map[string][]pendingPlace{}, map[uint64]func(actor.Context, error){}
	a.seqs, a.books, a.lastTrade, a.rate = map[string]uint64{}, newBooks(), map[string]int64{}, map[string][]int64{}
	a.subscribed, a.warmed, a.timers = map[string]bool{}, map[string]bool{}, map[tickKind]*time.Timer{}
	a.gate = gate{state: gateReconciling, sinceMs: a.nowMs()}
	if a.deps.Bus != nil {
		a.acker = bus.NewAcker(a.deps.Bus, 0)
	}
	root, self, path, cfg, log, now, h := a.root, a.self, a.journalPath(), a.cfg, a.log, a.nowMs(), &a.handoff
	opts := journal.Options{Logger: log, OnCommit: a.deps.OnCommit}
	go func() {
		l := load(path, opts, cfg, now)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.released && l.j != nil { // the actor stopped while loading
			_ = l.j.Close()
			return
		}
		if l.err == nil {
			h.j = l.j
		}
		root.Send(self, l)
	}()
}

// handoff passes the journal from the loader to the actor; one that
// stopped before the journal arrived has the loader close it.
type handoff struct {
	mu       sync.Mutex
	j        *journal.Journal
	released bool
}

// release stops timers and closes the journal (after its readers).
// answerWaiting answers, as the actor stops, the callers still waiting on
// a placement: its outcome is unknown here (the journal holds the order as
// it stands; the next start or leader reconciles it with the exchange).
func (a *orderActor) answerWaiting(ctx actor.Context) {
	stopped := func(id string) *messages.Error {
		return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
			"trading stopped on this node before order %q was settled: reconciliation settles it (trading.orders shows it then)", id)
	}
	for id, t := range a.orders {
		for _, w := range t.waiters {
			ctx.Send(w, &messages.PlaceTradeOrderResponse{Order: clone(t.o), Error: stopped(id)})
		}
		t.waiters = nil
	}
	for id, waiting := range a.lookups {
		for _, p := range waiting {
			ctx.Send(p.sender, &messages.PlaceTradeOrderResponse{Error: stopped(id)})
		}
	}
	clear(a.lookups)
}

func (a *orderActor) release() {
	a.dead = true
	for _, t := range a.timers {
		t.Stop()
	}
	a.timers = nil
	if a.stopTimer != nil {
		a.stopTimer.Stop()
	}
	a.handoff.mu.Lock()
	a.handoff.released = true
	if a.j == nil { // loaded, but the message never came in
		a.j = a.handoff.j
	}
	a.handoff.j = nil
	a.handoff.mu.Unlock()
	if a.j != nil {
		a.reads.Wait()
		a.snaps.close()
		if err := a.j.Close(); err != nil {
			a.log.Error("journal close failed", "err", err)
		}
		a.j = nil
	}
}

// onLoaded adopts what the loader read and opens the gate (paper) or
// starts the reconciliation (live).
func (a *orderActor) onLoaded(ctx actor.Context, l *loaded) {
	if l.err != nil {
		if l.j != nil {
			_ = l.j.Close()
		}
		panic(fmt.Errorf("%w: %s: %w", ErrJournal, a.journalPath(), l.err))
	}
	a.j, a.loaded = l.j, true
	a.seqs, a.books, a.lastTrade = l.seqs, l.books, l.lastTrade
	a.gate.manual, a.gate.strategies = l.halt, l.strategyHalts
	for _, o := range l.open {
		a.orders[o.GetClientOrderId()] = &tracked{o: o, tradeIDs: l.tradeIDs[o.GetClientOrderId()], filled: l.filled[o.GetClientOrderId()]}
	}
	a.log.Info("journal loaded", "path", a.journalPath(), "open_orders", len(l.open), "fills", l.fills,
		"schema_version", a.j.SchemaVersion(), "halted", a.gate.manual)
	a.every(a.cfg.InFlightCheck, tickInFlight)
	for _, m := range a.books.pos { // last prices for the unrealised PnL
		for sym, p := range m {
			if p.qty != 0 {
				a.ensureMarket(ctx, sym)
			}
		}
	}
	if a.cfg.Mode == ModePaper {
		a.startPaper(ctx, l)
		return
	}
	if a.deps.Connector == nil {
		a.haltReconcile(ctx, "live mode without a connector")
		return
	}
	a.every(a.cfg.OpenOrdersCheck, tickOpenOrders)
	ctx.Request(a.deps.Connector, &messages.SubscribeUserDataRequest{Subscriber: ctx.Self()})
	a.runReconcile(ctx, true)
}

// every sends a tick of kind to self every d, until release.
func (a *orderActor) every(d time.Duration, kind tickKind) {
	root, self := a.root, a.self
	a.timers[kind] = time.AfterFunc(d, func() { root.Send(self, &tick{kind: kind, every: d, owner: a}) })
}

func (a *orderActor) nowMs() int64 { return a.now().UnixMilli() }

// write queues ops in the journal; then runs on the actor goroutine after
// the commit (nil) or the rollback.
func (a *orderActor) write(ops []journal.Op, then func(actor.Context, error)) {
	a.writeSeq++
	id := a.writeSeq
	a.pending[id] = then
	root, self := a.root, a.self
	a.j.Write(ops, func(err error) { root.Send(self, &writeDone{id: id, err: err, owner: a}) })
}

func (a *orderActor) onWriteDone(ctx actor.Context, m *writeDone) {
	if m.owner != a {
		return // a write of an earlier incarnation: its ids are not ours
	}
	then := a.pending[m.id]
	delete(a.pending, m.id)
	if m.err != nil {
		a.log.Error("journal write failed", "err", m.err)
	}
	if then != nil {
		then(ctx, m.err)
	}
}

// reenter runs then on the actor's goroutine with f's answer, unless this
// incarnation crashed or stopped meanwhile: a restarted actor is a new
// instance that rebuilt its state from the journal, and an answer applied
// to the dead one's state would write through its closed journal (a panic,
// again and again until the supervisor gives up). The order the answer was
// about is resolved by the new incarnation's reconciliation and queries.
func (a *orderActor) reenter(ctx actor.Context, f *actor.Future, then func(res any, err error)) {
	ctx.ReenterAfter(f, func(res any, err error) {
		if a.dead {
			a.log.Info("answer to an earlier incarnation dropped", "type", fmt.Sprintf("%T", res))
			return
		}
		then(res, err)
	})
}

// read runs f on a goroutine (the journal's read pool) and sends its answer
// to the caller; the mailbox never waits for it.
func (a *orderActor) read(ctx actor.Context, notReady messages.Responder, f func(j *journal.Journal) any) {
	sender := ctx.Sender()
	if a.j == nil {
		ctx.Respond(notReady)
		return
	}
	j, root := a.j, a.root
	a.reads.Add(1)
	go func() {
		defer a.reads.Done()
		res := f(j)
		if sender != nil {
			root.Send(sender, res)
		}
	}()
}

// publish sends an event to the bus.
func (a *orderActor) publish(ctx actor.Context, topic string, payload proto.Message) {
	if a.deps.Bus == nil {
		return
	}
	ctx.Send(a.deps.Bus, messages.NewEvent(topic, Kind, payload))
}

// closedRemembered is how many settled client ids closedSet keeps.
const closedRemembered = 4096

// closedSet is a bounded set of recently settled client order ids.
type closedSet struct {
	ids  map[string]bool
	ring []string
	next int
}

func (c *closedSet) add(id string) {
	if c.ids == nil {
		c.ids, c.ring = map[string]bool{}, make([]string, closedRemembered)
	}
	if old := c.ring[c.next]; old != "" {
		delete(c.ids, old)
	}
	c.ring[c.next], c.ids[id] = id, true
	c.next = (c.next + 1) % closedRemembered
}

func (c *closedSet) has(id string) bool { return c.ids[id] }

// forget drops a settled order from memory (the journal answers for it).
func (a *orderActor) forget(t *tracked) {
	id := t.o.GetClientOrderId()
	if a.orders[id] == t {
		delete(a.orders, id)
		a.closed.add(id)
	}
}
