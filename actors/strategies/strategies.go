// Package strategies is the strategy host: one supervised child actor per
// configured strategy ([trading.strategies.NAME]), each driving one
// strategy.Strategy (see package strategy; built-in kinds sma_cross and
// grid) with market data from the bus.
//
// A child subscribes on the bus to kline.SYMBOL.INTERVAL (closed bars
// only), order.NAME.> and fill.NAME.> (and price.SYMBOL.update /
// book.SYMBOL.update when its strategy asks for ticks or the book), asks
// the connector to keep those streams open (SubscribeStreamRequest with
// itself as subscriber), and sends each order its strategy asks for to the
// order actor as a PlaceTradeOrderRequest{strategy: NAME} with a client
// order id of its own (PREFIX-NAME-START-SEQ, base 36), or a
// CancelTradeOrderRequest. Answers come back as messages: a refused order
// is logged and given to the strategy as a rejected order update.
//
// State: at start a child loads its state (LoadStrategyStateRequest), and
// it saves it (SaveStrategyStateRequest) every Config.SaveEvery when it
// changed, on trading.strategy.stop and on SaveAll. A panic in a strategy
// restarts its child (the others go on) from the state kept after the last
// event it handled; beyond 3 restarts within 60 s the strategy is "failed"
// (alert.strategy.failed on the bus) until trading.strategy.start.
//
// Methods: trading.strategies, trading.strategy.start|stop|pause.
//
// The seed's trading module: `module.start trading {"mode": "paper"}`
// starts the trading engine as a whole. The daemon wires it as the
// [trading] table: mode ("paper" | "live") goes to the order actor
// (orders.Config.Mode), and this host is spawned with the configured
// strategies (Props), each enabled one running at once. Stopping the
// module is SaveAll then stopping this host (its children save once more
// if their state changed); per strategy, the trading.strategy.* methods
// start, pause and stop. The daemon helper owns that wiring.
package strategies

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/restarts"
	"github.com/superbot/superbot/messages"

	// The built-in kinds register themselves.
	_ "github.com/superbot/superbot/actors/strategies/grid"
	_ "github.com/superbot/superbot/actors/strategies/sma"
)

// Kind names the strategy host in the supervision tree.
const Kind = "strategies"

// Strategy states, as StrategyInfo reports them.
const (
	StateRunning  = "running"
	StatePaused   = "paused"
	StateStopping = "stopping"
	StateStopped  = "stopped"
	StateFailed   = "failed"
	// StateHalted is a running strategy the order actor halted (a risk
	// limit): it runs, but its orders are refused until trading.resume.
	StateHalted = "halted"
)

// Config is the strategies' configuration: [trading.strategies.NAME].
type Config struct {
	// Strategies by name (names are topic-safe: [a-z0-9_-], at most 32).
	Strategies map[string]Spec `toml:"strategies"`
	// SaveEvery is how often a strategy whose state changed saves it to
	// the journal. Set by code, not TOML; 0 means one minute.
	SaveEvery time.Duration `toml:"-"`
	// ClientIDPrefix starts the client order ids the strategies make, as
	// the order actor's (orders.Config.ClientIDPrefix; at most 8 of
	// [a-zA-Z0-9]). Set by the daemon, not TOML; "" means none.
	ClientIDPrefix string `toml:"-"`
}

// Spec is one [trading.strategies.NAME] table.
type Spec struct {
	// Kind is a registered strategy kind: "sma_cross", "grid".
	Kind string `toml:"kind"`
	// Symbol is the traded symbol, e.g. "BTCUSDT".
	Symbol string `toml:"symbol"`
	// Interval is the bar interval ("1m", ...).
	Interval string `toml:"interval"`
	// Allocation is the capital it may use, e.g. "1000 USDT".
	Allocation string `toml:"allocation"`
	// DailyLossLimit halts it when its loss since 00:00 UTC exceeds this
	// amount of the allocation's asset (0: off).
	DailyLossLimit float64 `toml:"daily_loss_limit"`
	// Enabled starts it with the daemon. Default true.
	Enabled *bool `toml:"enabled"`
	// Params are the kind's parameters.
	Params map[string]any `toml:"params"`
}

// Deps are the host's collaborators.
type Deps struct {
	// Bus delivers market data, order and fill events.
	Bus *actor.PID
	// Orders takes the strategies' order requests and keeps their state.
	Orders *actor.PID
	// Connector opens the market streams the strategies subscribe to.
	Connector *actor.PID
	// Logger; nil discards.
	Logger *slog.Logger
	// Now is the restart window's clock; nil means time.Now.
	Now func() time.Time
	// Term is the cluster trading leader's fencing token, written into
	// the strategies' client order ids (clientid.Life); 0 on a single node.
	Term int64
}

// SaveAll is sent by the daemon at shutdown: every strategy saves its state
// to the journal. Answered by SaveAllResult. Local only.
type SaveAll struct{}

// SaveAllResult says how many states were saved.
type SaveAllResult struct {
	Saved int
	Err   error
}

// Props returns the host's props. Validate cfg first.
func Props(cfg Config, deps Deps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if cfg.SaveEvery == 0 {
		cfg.SaveEvery = time.Minute
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &host{cfg: cfg, deps: deps, log: deps.Logger, policy: restarts.DefaultPolicy(), entries: map[string]*entry{}}
	})
}

type host struct {
	acker   *bus.Acker
	cfg     Config
	deps    Deps
	log     *slog.Logger
	policy  restarts.Policy
	entries map[string]*entry
	names   []string // sorted
}

// entry is one configured strategy.
type entry struct {
	name     string
	spec     Spec
	state    string
	pid      *actor.PID
	mem      *memory
	window   restarts.Window
	reason   string
	halted   string       // the risk limit that halted it ("": none)
	waiting  []*actor.PID // trading.strategy.stop callers, answered at Terminated
	starters []*actor.PID // trading.strategy.start callers of a failed child not yet gone
	// startPending starts the strategy again once its failed child is gone.
	startPending bool
	bars         uint64 // counters of the earlier lives
	orders       uint64
	events       uint64
	savedMs      int64
	restarts     uint32
}

func (a *host) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Terminated:
		a.onTerminated(ctx, msg.Who)
	case *messages.StrategiesRequest:
		ctx.Respond(a.list())
	case *messages.StrategyStartRequest:
		if res := a.start(ctx, msg.GetName()); res != nil {
			ctx.Respond(res)
		}
	case *messages.StrategyPauseRequest:
		ctx.Respond(a.pause(ctx, msg.GetName()))
	case *messages.StrategyStopRequest:
		a.stop(ctx, msg.GetName())
	case *SaveAll:
		a.saveAll(ctx)
	case *messages.Event:
		a.onRisk(ctx, msg)
	case *messages.SubscribeResponse:
		if msg.GetError() != nil {
			a.log.Error("strategies risk subscription failed", "error", msg.GetError().GetMessage())
		}
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *actor.Stopping, *actor.Stopped, *actor.Restarting:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *host) onStarted(ctx actor.Context) {
	if a.deps.Bus != nil {
		a.acker = bus.NewAcker(a.deps.Bus, 0)
		a.acker.Subscribe(ctx, "risk.>", 0)
	}
	for name, spec := range a.cfg.Strategies {
		a.entries[name] = &entry{name: name, spec: spec, state: StateStopped}
		a.names = append(a.names, name)
	}
	sort.Strings(a.names)
	for _, name := range a.names {
		if e := a.entries[name]; e.spec.enabled() {
			a.spawn(ctx, e)
		}
	}
}

func (a *host) spawn(ctx actor.Context, e *entry) {
	mem := &memory{}
	e.mem = mem
	name, spec, cfg, deps := e.name, e.spec, a.cfg, a.deps
	props := actor.PropsFromProducer(func() actor.Actor { return newChild(name, spec, cfg, deps, mem) })
	pid, err := ctx.SpawnNamed(props, name)
	if err != nil {
		e.state, e.reason = StateFailed, "spawn: "+err.Error()
		a.log.Error("strategy not started", "strategy", name, "error", err)
		return
	}
	e.pid, e.state, e.reason = pid, StateRunning, ""
	a.log.Info("strategy started", "strategy", name, "kind", spec.Kind, "symbol", spec.Symbol)
}

// HandleFailure is protoactor's hook for a failing child (a panic in its
// strategy); it runs on the host's goroutine. One-for-one, with a sliding
// window: beyond it the strategy is failed, the others are unaffected.
func (a *host) HandleFailure(sys *actor.ActorSystem, sup actor.Supervisor, pid *actor.PID, _ *actor.RestartStatistics, reason, _ any) {
	e := a.byPID(pid)
	if e == nil {
		sup.StopChildren(pid)
		return
	}
	e.reason = fmt.Sprint(reason)
	if len(e.reason) > 300 {
		e.reason = e.reason[:300] + "..."
	}
	if errors.Is(asError(reason), errStrategyBuild) || e.window.Fail(a.policy, a.deps.Now()) {
		e.window.Reset()
		e.state = StateFailed
		a.log.Error("strategy failed", "strategy", e.name, "restarts", e.restarts, "reason", e.reason)
		if a.deps.Bus != nil { // from the root: a failure is handled outside any message
			sys.Root.Send(a.deps.Bus, messages.NewEvent("alert.strategy.failed", Kind,
				&messages.ChildFailed{Child: e.name, Reason: e.reason, Restarts: e.restarts}))
		}
		sup.StopChildren(pid)
		return
	}
	e.restarts++
	a.log.Warn("strategy restarted", "strategy", e.name, "restarts", e.restarts, "reason", e.reason)
	sup.RestartChildren(pid)
}

func asError(reason any) error {
	err, _ := reason.(error)
	return err
}

func (a *host) byPID(pid *actor.PID) *entry {
	for _, e := range a.entries {
		if e.pid != nil && e.pid.Equal(pid) {
			return e
		}
	}
	return nil
}

func (a *host) onTerminated(ctx actor.Context, who *actor.PID) {
	e := a.byPID(who)
	if e == nil {
		return
	}
	e.bars += e.mem.bars.Load()
	e.orders += e.mem.orders.Load()
	e.events += e.mem.events.Load()
	e.savedMs = max(e.savedMs, e.mem.savedMs.Load())
	e.mem, e.pid = nil, nil
	if e.state != StateFailed {
		e.state = StateStopped
	}
	for _, w := range e.waiting {
		ctx.Send(w, &messages.StrategyStopResponse{Strategy: a.info(e)})
	}
	e.waiting = nil
	a.log.Info("strategy stopped", "strategy", e.name, "state", e.state)
	if e.startPending {
		e.startPending = false
		e.window.Reset()
		a.spawn(ctx, e)
		for _, s := range e.starters {
			ctx.Send(s, &messages.StrategyStartResponse{Strategy: a.info(e)})
		}
		e.starters = nil
	}
}

// wait adds a caller to answer when the strategy has stopped.
func (e *entry) wait(pid *actor.PID) {
	if pid != nil {
		e.waiting = append(e.waiting, pid)
	}
}

// info describes one strategy.
func (a *host) info(e *entry) *messages.StrategyInfo {
	in := &messages.StrategyInfo{
		Name: e.name, Kind: e.spec.Kind, Symbol: e.spec.Symbol, Interval: e.spec.Interval,
		State: e.state, Allocation: e.spec.Allocation, Bars: e.bars, Orders: e.orders, Events: e.events, StateSavedMs: e.savedMs,
	}
	switch {
	case e.state == StateFailed:
		in.HaltedReason = e.reason
	case e.state == StateRunning && e.halted != "":
		in.State, in.HaltedReason = StateHalted, e.halted
	}
	if m := e.mem; m != nil {
		in.Bars += m.bars.Load()
		in.Orders += m.orders.Load()
		in.Events += m.events.Load()
		in.StateSavedMs = max(in.StateSavedMs, m.savedMs.Load())
	}
	return in
}

func (a *host) list() *messages.StrategiesResponse {
	res := &messages.StrategiesResponse{}
	for _, name := range a.names {
		res.Strategies = append(res.Strategies, a.info(a.entries[name]))
	}
	return res
}

func (a *host) lookup(name string) (*entry, *messages.Error) {
	e := a.entries[name]
	if e == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no strategy named %q", name)
	}
	return e, nil
}

// start runs a stopped or failed strategy, or resumes a paused one. A
// failed strategy whose child is still going is started once it is gone
// (nil: the caller is answered then).
func (a *host) start(ctx actor.Context, name string) *messages.StrategyStartResponse {
	e, err := a.lookup(name)
	if err != nil {
		return &messages.StrategyStartResponse{Error: err}
	}
	switch e.state {
	case StatePaused:
		ctx.Send(e.pid, &setPaused{paused: false})
		e.state = StateRunning
		a.log.Info("strategy resumed", "strategy", name)
	case StateStopped, StateFailed:
		if e.pid != nil { // failed, not yet terminated
			e.startPending = true
			if s := ctx.Sender(); s != nil {
				e.starters = append(e.starters, s)
			}
			return nil
		}
		e.window.Reset()
		a.spawn(ctx, e)
	case StateStopping:
		return &messages.StrategyStartResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION,
			"strategy %q is stopping; start it once stopped", name)}
	}
	return &messages.StrategyStartResponse{Strategy: a.info(e)}
}

// pause keeps a running strategy fed but sends none of its orders.
func (a *host) pause(ctx actor.Context, name string) *messages.StrategyPauseResponse {
	e, err := a.lookup(name)
	if err != nil {
		return &messages.StrategyPauseResponse{Error: err}
	}
	switch e.state {
	case StateRunning:
		ctx.Send(e.pid, &setPaused{paused: true})
		ctx.Send(e.pid, &saveNow{})
		e.state = StatePaused
		a.log.Info("strategy paused", "strategy", name)
	case StatePaused:
	default:
		return &messages.StrategyPauseResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION,
			"strategy %q is %s, not running", name, e.state)}
	}
	return &messages.StrategyPauseResponse{Strategy: a.info(e)}
}

// stop saves a strategy's state, then stops its child; the caller is
// answered once it has stopped.
func (a *host) stop(ctx actor.Context, name string) {
	e, err := a.lookup(name)
	if err != nil {
		ctx.Respond(&messages.StrategyStopResponse{Error: err})
		return
	}
	switch e.state {
	case StateStopped, StateFailed:
		ctx.Respond(&messages.StrategyStopResponse{Strategy: a.info(e)})
		return
	case StateStopping:
		e.wait(ctx.Sender())
		return
	}
	e.state = StateStopping
	e.wait(ctx.Sender())
	pid := e.pid
	f := ctx.RequestFuture(pid, &saveNow{final: true}, stateTimeout+time.Second)
	ctx.ReenterAfter(f, func(res any, ferr error) {
		if d, ok := res.(*saveDone); !ok || d.err != nil || ferr != nil {
			a.log.Warn("strategy stopping without a saved state", "strategy", name)
		}
		ctx.Stop(pid)
	})
}

// saveAll asks every live strategy to save and answers SaveAllResult.
func (a *host) saveAll(ctx actor.Context) {
	var pids []*actor.PID
	for _, name := range a.names {
		if e := a.entries[name]; e.pid != nil && e.state != StateStopping {
			pids = append(pids, e.pid)
		}
	}
	if len(pids) == 0 {
		ctx.Respond(&SaveAllResult{})
		return
	}
	res, left := &SaveAllResult{}, len(pids)
	var errs []error
	sender := ctx.Sender()
	for _, pid := range pids {
		f := ctx.RequestFuture(pid, &saveNow{}, stateTimeout+time.Second)
		ctx.ReenterAfter(f, func(r any, err error) {
			if d, ok := r.(*saveDone); ok && err == nil {
				err = d.err
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("strategy %s: %w", pid.Id, err))
			} else {
				res.Saved++
			}
			if left--; left == 0 {
				res.Err = errors.Join(errs...)
				if sender != nil {
					ctx.Send(sender, res)
				}
			}
		})
	}
}

// onRisk follows the order actor's risk events (risk.LIMIT): a RiskEvent
// naming a strategy with halted set shows it "halted" with the limit, until
// a RiskEvent for it with limit "resumed" (halted unset) says the order
// actor lifted the halt (trading.resume).
func (a *host) onRisk(ctx actor.Context, ev *messages.Event) {
	a.acker.Handled(ctx)
	var re messages.RiskEvent
	if ev.GetPayload() == nil || ev.GetPayload().UnmarshalTo(&re) != nil {
		return
	}
	e := a.entries[re.GetStrategy()]
	if e == nil {
		return
	}
	switch {
	case re.GetHalted():
		e.halted = re.GetLimit()
		if re.GetMessage() != "" {
			e.halted += ": " + re.GetMessage()
		}
		a.log.Warn("strategy halted", "strategy", e.name, "limit", re.GetLimit())
	case e.halted != "" && re.GetLimit() == "resumed":
		e.halted = ""
		a.log.Info("strategy no longer halted", "strategy", e.name)
	}
}
