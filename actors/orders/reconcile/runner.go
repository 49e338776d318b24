package reconcile

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// Limits of one reconciliation run.
const (
	// MaxInFlight is the most connector requests a run has unanswered.
	MaxInFlight = 8
	// TradesPageLimit is the limit of each MyTradesRequest; a shorter page
	// ends a symbol's paging.
	TradesPageLimit = 1000
	// MaxTrades bounds the trades one run holds in memory.
	MaxTrades = 1_000_000
	// DefaultRequestTimeout bounds each connector request when
	// Request.RequestTimeout is zero.
	DefaultRequestTimeout = 30 * time.Second
	// TradesStartMarginMs is how long before its oldest journal order a
	// symbol without a journal trade is paged from (clock skew between the
	// journal's clock and the exchange's, and a slow first send).
	TradesStartMarginMs = 10 * 60 * 1000
)

// Binance request weights, for the report.
const (
	weightOpenOrdersAll = 80
	weightAccount       = 20
	weightMyTrades      = 20
	weightOrderTrades   = 5
	weightGetOrder      = 4
)

// ErrNoAnswer is wrapped by Result.Err when the connector did not answer a
// request within Request.RequestTimeout.
var ErrNoAnswer = errors.New("no answer from the connector")

// Request is what the orders actor knows when it starts a run.
type Request struct {
	// Journal are the journal's open orders, and closed ones whose fills
	// may be incomplete (see Input.Journal; closed ones are not queried).
	Journal []*messages.TradeOrder
	// LastTradeIDs is the journal's last exchange trade id per symbol.
	LastTradeIDs map[string]int64
	// Symbols are traded symbols whose trades are fetched even when the
	// journal has no order or trade on them (e.g. the strategies').
	// Trades are fetched for Symbols, the keys of LastTradeIDs and the
	// journal orders' symbols: since LastTradeIDs[sym]+1; when the journal
	// has no trade of sym, every page from TradesStartMarginMs before the
	// oldest journal order of sym (the most recent page when it has none:
	// nothing of ours can have traded there).
	Symbols []string
	// External and Prefix: see Input.
	External, Prefix string
	// Term and Strategies: see Input.
	Term       int64
	Strategies []string
	// NowMs is the run's start (Unix ms) and the clock intents are aged by.
	NowMs int64
	// RecvWindowMs: see Input.RecvWindowMs.
	RecvWindowMs int64
	// Recorded: see Input.Recorded.
	Recorded map[string]string
	// RecordedTrades are, per client order id in Recorded, the trade ids
	// of its recorded fills: a trade fetched by order id that is among them
	// is not backfilled (Input.Backfill).
	RecordedTrades map[string][]int64
	// RequestTimeout bounds each connector request; 0 means
	// DefaultRequestTimeout. An unanswered request fails the run.
	RequestTimeout time.Duration
}

// Result is sent (as *Result) by the runner to its parent when the run
// ends; then the runner stops itself. Err is set when a request failed (it
// names the request); Plan is set otherwise, its report counting the
// requests and their weight.
type Result struct {
	Plan Plan
	Err  error
}

// Props returns the runner's props: spawn it as a child of the orders
// actor, which receives the *Result. It asks connector for the exchange's
// open orders (OpenOrdersRequest), balances (AccountRequest), trades
// (MyTradesRequest, paged), orders (GetOrderRequest) and the trades of
// orders whose fills fall short (MyTradesRequest by order id), at most
// MaxInFlight at a time.
func Props(connector *actor.PID, req Request) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return &runner{connector: connector, req: req} })
}

// call is one connector request of a run.
type call struct {
	what   string
	msg    proto.Message
	weight uint64
	// answer handles the reply; it returns an error to fail the run.
	answer func(res any) error
}

// phase is a step of a run; each starts once the one before is answered.
type phase int

const (
	// phaseTrades: the balances and every page of trades.
	phaseTrades phase = iota
	// phaseOpen: the open orders, then the journal orders not among them,
	// by client order id. After the trades, so that an order's view is
	// never older than its trades.
	phaseOpen
	// phaseOrders: the orders of trades nothing else placed, by order id.
	phaseOrders
	// phaseBackfill: the trades, by order id, of the journal orders whose
	// fills fall short of what the exchange says they executed.
	phaseBackfill
)

// runner is one reconciliation run.
type runner struct {
	connector *actor.PID
	req       Request
	in        Input
	queue     []*call
	inFlight  int
	requests  uint32
	weight    uint64
	spareKey  int64 // last key (< 0) of a TradeOrders entry whose order id was taken
	phase     phase
	done      bool
}

// Receive starts the run; answers come back as continuations.
func (r *runner) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *actor.Started:
		r.start(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart runs again on a new instance
		r.done = true // answers still due to this one are dropped
	}
}

func (r *runner) start(ctx actor.Context) {
	r.in = Input{Journal: r.req.Journal, LastTradeIDs: r.req.LastTradeIDs, External: r.req.External,
		Prefix: r.req.Prefix, NowMs: r.req.NowMs, RecvWindowMs: r.req.RecvWindowMs, Recorded: r.req.Recorded,
		Term: r.req.Term, Strategies: r.req.Strategies,
		Queried: map[string]*messages.Order{}, TradeOrders: map[int64]*messages.Order{}}
	r.phase = phaseTrades
	r.queue = append(r.queue, &call{what: "account", msg: &messages.AccountRequest{}, weight: weightAccount, answer: r.onAccount})
	oldest := r.oldestOrders()
	for _, sym := range r.tradeSymbols() {
		if last, ok := r.req.LastTradeIDs[sym]; ok {
			r.queue = append(r.queue, r.tradesCall(sym, last+1, 0))
			continue
		}
		start := int64(0) // no journal order either: the most recent page
		if ms, ok := oldest[sym]; ok {
			start = max(1, ms-TradesStartMarginMs)
		}
		r.queue = append(r.queue, r.tradesCall(sym, 0, start))
	}
	r.pump(ctx)
}

// oldestOrders is the oldest journal order's created_ms per symbol.
func (r *runner) oldestOrders() map[string]int64 {
	out := make(map[string]int64)
	for _, j := range r.req.Journal {
		sym, ms := j.GetSymbol(), j.GetCreatedMs()
		if prev, ok := out[sym]; !ok || ms < prev {
			out[sym] = ms
		}
	}
	return out
}

// tradeSymbols are the symbols whose trades a run fetches, sorted.
func (r *runner) tradeSymbols() []string {
	set := make(map[string]bool, len(r.req.Symbols)+len(r.req.LastTradeIDs))
	for _, s := range r.req.Symbols {
		set[s] = true
	}
	for s := range r.req.LastTradeIDs {
		set[s] = true
	}
	for _, j := range r.req.Journal {
		set[j.GetSymbol()] = true
	}
	delete(set, "")
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// pump sends queued calls while fewer than MaxInFlight are unanswered,
// moves to the next phase when one is answered, and finishes the run
// after the last.
func (r *runner) pump(ctx actor.Context) {
	for {
		for len(r.queue) > 0 && r.inFlight < MaxInFlight {
			c := r.queue[0]
			r.queue[0] = nil
			r.queue = r.queue[1:]
			r.send(ctx, c)
		}
		if r.inFlight > 0 || len(r.queue) > 0 {
			return
		}
		switch r.phase {
		case phaseTrades:
			r.phase = phaseOpen
			r.queue = append(r.queue, &call{what: "open orders", msg: &messages.OpenOrdersRequest{},
				weight: weightOpenOrdersAll, answer: r.onOpenOrders})
		case phaseOpen:
			r.phase = phaseOrders
			r.queueOrderQueries()
		case phaseOrders:
			r.phase = phaseBackfill
			r.queueBackfill()
		default:
			r.finish(ctx)
			return
		}
	}
}

func (r *runner) send(ctx actor.Context, c *call) {
	timeout := r.req.RequestTimeout
	if timeout <= 0 {
		timeout = DefaultRequestTimeout
	}
	r.inFlight++
	r.requests++
	r.weight += c.weight
	f := ctx.RequestFuture(r.connector, c.msg, timeout)
	ctx.ReenterAfter(f, func(res any, err error) { r.answered(ctx, c, res, err) })
}

// answered handles one reply on the actor goroutine.
func (r *runner) answered(ctx actor.Context, c *call, res any, err error) {
	r.inFlight--
	if r.done {
		return
	}
	switch {
	case errors.Is(err, actor.ErrTimeout):
		err = fmt.Errorf("reconcile: %s: %w", c.what, ErrNoAnswer)
	case err != nil:
		err = fmt.Errorf("reconcile: %s: %w", c.what, err)
	default:
		if e := c.answer(res); e != nil {
			err = fmt.Errorf("reconcile: %s: %w", c.what, e)
		}
	}
	if err != nil {
		r.end(ctx, &Result{Err: err})
		return
	}
	r.pump(ctx)
}

func (r *runner) finish(ctx actor.Context) {
	plan := PlanOf(r.in)
	plan.Report.StartedMs = r.req.NowMs
	plan.Report.FinishedMs = time.Now().UnixMilli()
	plan.Report.Requests, plan.Report.Weight = r.requests, r.weight
	r.end(ctx, &Result{Plan: plan})
}

// end hands res to the parent and stops the runner.
func (r *runner) end(ctx actor.Context, res *Result) {
	r.done = true
	if parent := ctx.Parent(); parent != nil {
		ctx.Send(parent, res)
	}
	ctx.Stop(ctx.Self())
}
