package strategies

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/orders/clientid"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// Deadlines of the child's requests.
const (
	orderTimeout = 60 * time.Second
	stateTimeout = 10 * time.Second
	// tickSnapshotEvery bounds how often a tick or book update that caused
	// no action refreshes the in-memory snapshot.
	tickSnapshotEvery = time.Second
	// busQueue is the child's bus queue size, in events.
	busQueue = 4096
	// maxLocalRejects bounds the orders refused in a row while paused
	// with no market data in between.
	maxLocalRejects = 100
)

// errStrategyBuild wraps a strategy that could not be built (a config
// that passed Validate cannot cause it).
var errStrategyBuild = errors.New("strategy build")

// memory is what one strategy's child keeps across restarts. The fields
// above the counters are touched on the child's goroutine only; the
// counters are read by the host.
type memory struct {
	snapshot   []byte // the envelope after the last fully handled event
	saved      []byte // the envelope last saved to the journal
	subscribed bool   // bus and stream subscriptions made (they outlive a restart)
	paused     bool
	acker      *bus.Acker
	lastStart  int64

	bars, orders, events atomic.Uint64
	savedMs              atomic.Int64
}

// Local messages between the host and a child, and the child's own.
type (
	// setPaused pauses (true) or resumes a child.
	setPaused struct{ paused bool }
	// saveNow asks a child to save its state to the journal; it answers
	// saveDone. final stops its handling of events (it is about to stop).
	saveNow  struct{ final bool }
	saveDone struct {
		savedMs int64
		err     error
	}
	loaded struct {
		res *messages.LoadStrategyStateResponse
		err error
	}
	placeAnswer struct {
		id  string
		res any
		err error
	}
	cancelAnswer struct {
		id  string
		res any
		err error
	}
	positionsAnswer struct{ res any }
	timerFired      struct {
		id    int
		epoch string
	}
	saveTick struct{ epoch string }
	// loadRetry asks the journal again for the state it could not give
	// yet (still opening, or no answer in time).
	loadRetry   struct{ epoch string }
	rejectLocal struct {
		ref    uint64
		order  strategy.Order
		reason string
	}
)

// openOrder is one of the strategy's orders not done yet.
type openOrder struct {
	ref    uint64
	side   strategy.Side
	price  float64
	qty    float64
	filled float64
	status strategy.Status
}

type child struct {
	name  string
	spec  Spec
	alloc float64
	deps  Deps
	every time.Duration
	// prefix starts the client order ids (Config.ClientIDPrefix).
	prefix string
	log    *slog.Logger
	mem    *memory

	strat   strategy.Strategy
	sc      *strategy.Context
	ready   bool   // state loaded, strategy started
	final   bool   // saved for a stop: events are ignored
	epoch   string // clientid.Life of this life
	seq     uint64
	open    map[string]*openOrder // by client order id
	ids     map[uint64]string     // ref -> client order id
	last    float64               // last close or trade price
	snapAt  time.Time
	book    strategy.Book
	timers  map[int]scheduler.CancelFunc
	saveTmr scheduler.CancelFunc
	loadTmr scheduler.CancelFunc // the next loadRetry
	// loadTries counts the state loads of this life that must be retried.
	loadTries int
	// localRejects counts orders refused while paused since the last
	// market event.
	localRejects int
	// done holds the ids of the last orders that ended (a ring of
	// recentDone), so that a repeated final event is not handed on.
	done     map[string]uint64 // id -> ref
	doneRing []string
	doneNext int
}

func newChild(name string, spec Spec, cfg Config, deps Deps, mem *memory) *child {
	alloc, _, _ := spec.ParseAllocation()
	return &child{
		name: name, spec: spec, alloc: alloc, deps: deps, every: cfg.SaveEvery, prefix: cfg.ClientIDPrefix, mem: mem,
		log:  deps.Logger.With("strategy", name),
		open: map[string]*openOrder{}, ids: map[uint64]string{}, timers: map[int]scheduler.CancelFunc{},
	}
}

func (a *child) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping:
		a.onStopping(ctx)
	case *actor.Restarting:
		a.release()
	case *messages.Event:
		a.onEvent(ctx, msg)
	case *loaded:
		a.onLoaded(ctx, msg)
	case *loadRetry:
		if msg.epoch == a.epoch && !a.ready {
			a.load(ctx)
		}
	case *placeAnswer:
		a.onPlaceAnswer(ctx, msg)
	case *cancelAnswer:
		a.onCancelAnswer(msg)
	case *positionsAnswer:
		a.onPositions(msg)
	case *timerFired:
		a.onTimer(ctx, msg)
	case *rejectLocal:
		a.onRejectLocal(ctx, msg)
	case *setPaused:
		a.mem.paused = msg.paused
	case *saveNow:
		a.save(ctx, msg.final, ctx.Sender())
	case *saveTick:
		a.onSaveTick(ctx, msg)
	case *messages.SubscribeResponse, *messages.SubscribeStreamResponse:
		a.onSubscribed(msg)
	case *actor.Stopped:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

// onStarted builds the strategy, then restores it: from the snapshot of
// the previous life after a restart, else from the journal (asked here,
// answered as loaded).
func (a *child) onStarted(ctx actor.Context) {
	now := time.Now().UnixMilli()
	if now <= a.mem.lastStart {
		now = a.mem.lastStart + 1
	}
	a.mem.lastStart = now
	a.epoch = clientid.Life(a.prefix, a.name, a.deps.Term, now)
	s, err := strategy.New(a.spec.Kind, a.spec.Params)
	if err != nil {
		panic(fmt.Errorf("%w: strategy %q: %w", errStrategyBuild, a.name, err))
	}
	a.strat = s
	a.sc = strategy.NewContext(a.spec.Symbol, 0)
	a.sc.Position.Allocation = a.alloc
	if a.mem.snapshot != nil {
		a.restore(a.mem.snapshot)
		a.begin(ctx)
		return
	}
	if a.deps.Orders == nil {
		a.begin(ctx)
		return
	}
	a.loadTries = 0
	a.load(ctx)
}

// load asks the order actor for the strategy's saved state (answered as
// loaded).
func (a *child) load(ctx actor.Context) {
	f := ctx.RequestFuture(a.deps.Orders, &messages.LoadStrategyStateRequest{Strategy: a.name}, stateTimeout)
	ctx.ReenterAfter(f, func(res any, err error) {
		r, _ := res.(*messages.LoadStrategyStateResponse)
		ctx.Send(ctx.Self(), &loaded{res: r, err: err})
	})
}

func (a *child) onLoaded(ctx actor.Context, m *loaded) {
	if a.ready {
		return // an answer for an earlier life, which began from its snapshot
	}
	switch {
	case m.err != nil:
		a.retryLoad(ctx, m.err.Error())
		return
	case m.res.GetError().GetCode() == messages.ErrorCode_ERROR_CODE_UNAVAILABLE:
		a.retryLoad(ctx, m.res.GetError().GetMessage())
		return
	case m.res == nil:
		a.log.Warn("strategy state not loaded; starting fresh", "error", "unexpected answer")
	case m.res.GetError() != nil:
		a.log.Warn("strategy state not loaded; starting fresh", "error", m.res.GetError().GetMessage())
	case len(m.res.GetState()) > 0:
		a.restore(m.res.GetState())
		a.mem.saved = m.res.GetState()
		a.mem.savedMs.Store(m.res.GetSavedMs())
	}
	a.begin(ctx)
}

// retryLoad asks for the state again a little later: the journal is not
// open yet (the daemon starts the order actor and the strategies together)
// or did not answer in time. Starting fresh instead would forget the
// strategy's indicators and open orders (a grid would place its ladder
// twice), so the strategy waits, and sends nothing, until it has its state.
func (a *child) retryLoad(ctx actor.Context, reason string) {
	a.loadTries++
	if a.loadTries == 1 || a.loadTries%50 == 0 {
		a.log.Info("strategy state not loaded yet; retrying", "error", reason, "tries", a.loadTries)
	}
	after := min(time.Duration(a.loadTries)*100*time.Millisecond, 2*time.Second)
	if a.loadTmr != nil {
		a.loadTmr()
	}
	a.loadTmr = scheduler.NewTimerScheduler(ctx.ActorSystem().Root).SendOnce(after, ctx.Self(), &loadRetry{epoch: a.epoch})
}

// restore loads an envelope; a bad one is logged and the strategy starts
// fresh.
func (a *child) restore(b []byte) {
	env, err := decodeEnvelope(b)
	if err == nil {
		err = a.strat.Restore(env.state)
	}
	if err != nil {
		a.log.Warn("strategy state not restored; starting fresh", "error", err)
		return
	}
	a.sc = strategy.NewContext(a.spec.Symbol, env.lastRef)
	a.sc.Position.Allocation = a.alloc
	bk := &a.sc.Position
	bk.Quantity, bk.AvgPrice, bk.RealizedPnL, bk.Fees = env.position.Quantity, env.position.AvgPrice, env.position.RealizedPnL, env.position.Fees
	for _, o := range env.open {
		a.ids[o.ref] = o.id
		a.open[o.id] = &openOrder{ref: o.ref, side: o.side, price: o.price, qty: o.qty, filled: o.filled, status: strategy.StatusPending}
	}
	a.updatePosition()
}

// begin starts the strategy and its feeds once its state is in place.
func (a *child) begin(ctx actor.Context) {
	a.ready = true
	if !a.mem.subscribed {
		a.subscribe(ctx)
	}
	if a.deps.Orders != nil {
		f := ctx.RequestFuture(a.deps.Orders, &messages.PositionsRequest{Strategy: a.name}, stateTimeout)
		ctx.ReenterAfter(f, func(res any, _ error) { ctx.Send(ctx.Self(), &positionsAnswer{res: res}) })
	}
	a.sc.Begin(time.Now().UnixMilli())
	a.strat.Start(a.sc)
	a.act(ctx)
	a.snapshot()
	a.armSave(ctx)
}

// subscribe asks the bus for the strategy's topics and the connector for
// its streams. Both outlive a restart of the child (same PID), so a
// restarted child does not ask again.
func (a *child) subscribe(ctx actor.Context) {
	a.mem.subscribed = true
	sym, feeds := a.spec.Symbol, strategy.FeedsOf(a.strat)
	topics := []string{"kline." + sym + "." + a.spec.Interval, "order." + a.name + ".>", "fill." + a.name + ".>"}
	streams := []*messages.SubscribeStreamRequest{{Symbol: sym, Kind: messages.StreamKind_STREAM_KIND_KLINE, Interval: a.spec.Interval}}
	if feeds&strategy.FeedTicks != 0 {
		topics = append(topics, "price."+sym+".update")
		streams = append(streams, &messages.SubscribeStreamRequest{Symbol: sym, Kind: messages.StreamKind_STREAM_KIND_PRICE})
	}
	if feeds&strategy.FeedBook != 0 {
		topics = append(topics, "book."+sym+".update")
		streams = append(streams, &messages.SubscribeStreamRequest{Symbol: sym, Kind: messages.StreamKind_STREAM_KIND_BOOK})
	}
	if a.deps.Bus != nil {
		a.mem.acker = bus.NewAcker(a.deps.Bus, busQueue)
		for _, t := range topics {
			a.mem.acker.Subscribe(ctx, t, busQueue)
		}
	}
	if a.deps.Connector != nil {
		for _, s := range streams {
			s.Subscriber = ctx.Self()
			ctx.Request(a.deps.Connector, s)
		}
	}
}

func (a *child) onSubscribed(msg any) {
	if r, ok := msg.(interface{ GetError() *messages.Error }); ok && r.GetError() != nil {
		a.log.Error("strategy subscription failed", "error", r.GetError().GetMessage())
	}
}

func (a *child) onStopping(ctx actor.Context) {
	a.release()
	if a.final || a.deps.Orders == nil || a.mem.snapshot == nil || bytes.Equal(a.mem.snapshot, a.mem.saved) {
		return
	}
	// Stopped without a save (the host is going): a last one, unanswered.
	ctx.Send(a.deps.Orders, &messages.SaveStrategyStateRequest{Strategy: a.name, State: a.mem.snapshot})
}

// release cancels the timers of this life.
func (a *child) release() {
	for id, cancel := range a.timers {
		cancel()
		delete(a.timers, id)
	}
	if a.saveTmr != nil {
		a.saveTmr()
		a.saveTmr = nil
	}
	if a.loadTmr != nil {
		a.loadTmr()
		a.loadTmr = nil
	}
}

func (a *child) onTimer(ctx actor.Context, m *timerFired) {
	if m.epoch != a.epoch || !a.ready || a.final {
		return // a timer of an earlier life
	}
	delete(a.timers, m.id)
	a.sc.Begin(time.Now().UnixMilli())
	a.updatePosition()
	a.strat.OnTimer(a.sc, m.id)
	a.act(ctx)
	a.snapshot()
}

// snapshot keeps the state after a fully handled event, for a restart.
func (a *child) snapshot() {
	st, err := a.strat.Save()
	if err != nil {
		a.log.Error("strategy state not saved", "error", err)
		return
	}
	env := envelope{lastRef: a.sc.LastRef(), position: a.sc.Position, state: st}
	for id, o := range a.open {
		env.open = append(env.open, openRef{ref: o.ref, id: id, side: o.side, price: o.price, qty: o.qty, filled: o.filled})
	}
	a.mem.snapshot = env.encode()
	a.snapAt = time.Now()
}

func (a *child) newID() string {
	a.seq++
	// "_", not "-": an id ending with -DIGITS is the order actor's own form
	// (orders refuses it from callers; see orders' ownForm).
	return a.epoch + "_" + strconv.FormatUint(a.seq, 36)
}
