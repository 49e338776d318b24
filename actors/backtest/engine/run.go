package engine

import (
	"context"
	"math"

	"github.com/superbot/superbot/actors/orders/matcher"
	"github.com/superbot/superbot/actors/strategies/strategy"
)

// ctxEvery is how many bars run between two looks at the context.
const ctxEvery = 4096

// runner is one backtest under way.
type runner struct {
	legs []*legRun
	res  Result
	// recs are the engine's notes on res.Orders, index for index.
	recs  []orderRec
	total int64
	done  int64 // bars driven before the one under way
	// bal is the paper account's balances (nil: not checked); takerFee
	// prices what a buy needs.
	bal                map[string]float64
	takerFee, slippage float64
	risk               RiskLimits
}

// newRunner checks cfg and builds every leg (its strategy started).
func newRunner(cfg Config) (*runner, error) { return buildRunner(cfg, true, nil) }

// newTrustedRunner is newRunner for bars checked before (a sweep's), with
// the buffers of a Result no longer used (nil: new ones).
func newTrustedRunner(cfg Config, reuse *buffers) (*runner, error) {
	return buildRunner(cfg, false, reuse)
}

// buffers are the slices of a Result no longer used, to fill again.
type buffers struct {
	equity []Point
	orders []Order
	fills  []Fill
	recs   []orderRec
}

// buffersOf takes back the slices of r's Result.
func buffersOf(r *runner) *buffers {
	return &buffers{equity: r.res.Equity[:0], orders: r.res.Orders[:0], fills: r.res.Fills[:0], recs: r.recs[:0]}
}

func buildRunner(cfg Config, checkBars bool, reuse *buffers) (*runner, error) {
	if err := checkConfig(&cfg); err != nil {
		return nil, err
	}
	r := &runner{legs: make([]*legRun, len(cfg.Legs)), takerFee: cfg.TakerFee, slippage: cfg.Slippage, risk: cfg.Risk}
	if cfg.Balances != nil {
		r.bal = make(map[string]float64, len(cfg.Balances))
		for k, v := range cfg.Balances {
			r.bal[k] = v
		}
	}
	mc := matcher.Config{MakerFee: cfg.MakerFee, TakerFee: cfg.TakerFee, Slippage: cfg.Slippage}
	for i := range cfg.Legs {
		l := &cfg.Legs[i]
		bars, err := bound(l, cfg.FromMs, cfg.ToMs, checkBars)
		if err != nil {
			return nil, err
		}
		s, err := buildStrategy(l)
		if err != nil {
			return nil, err
		}
		m, err := matcher.New(mc)
		if err != nil {
			return nil, badConfig("%v", err)
		}
		r.legs[i] = newLegRun(r, i, l, bars, s, m, cfg.Filters[l.Symbol])
		r.total += int64(len(bars))
	}
	if reuse != nil { // appends overwrite the old elements whole
		r.res.Orders, r.res.Fills, r.recs = reuse.orders, reuse.fills, reuse.recs
	}
	if reuse != nil && int64(cap(reuse.equity)) >= r.total {
		r.res.Equity = reuse.equity
	} else {
		r.res.Equity = make([]Point, 0, r.total)
	}
	for _, l := range r.legs {
		l.start()
	}
	return r, nil
}

// drive runs every bar of every leg in time order (ties: legs in order),
// with one equity point per distinct close time.
func (r *runner) drive(ctx context.Context, progress func(done, total int64)) error {
	p := &pacer{ctx: ctx, progress: progress, total: r.total, every: max(1, r.total/1000)}
	p.nextReport, p.nextCheck = p.every, ctxEvery
	p.next = min(p.nextReport, p.nextCheck)
	var err error
	if len(r.legs) == 1 {
		err = r.driveOne(p)
	} else {
		err = r.driveMany(p)
	}
	if err != nil {
		return err
	}
	if progress != nil && r.res.Bars%p.every != 0 {
		progress(r.res.Bars, r.total)
	}
	return ctx.Err()
}

// driveOne is drive for one leg: its close times rise, so each bar is an
// equity point.
func (r *runner) driveOne(p *pacer) error {
	l := r.legs[0]
	for i := range l.bars {
		b := &l.bars[i]
		r.done = int64(i)
		l.step(b)
		r.res.Equity = append(r.res.Equity, Point{TimeMs: b.CloseTimeMs, Equity: l.cash + l.pos*l.lastClose})
		if done := int64(i + 1); done >= p.next {
			if err := p.pace(done); err != nil {
				return err
			}
		}
	}
	l.next = len(l.bars)
	r.res.Bars = int64(len(l.bars))
	return nil
}

// driveMany is drive for several legs, merged by close time.
func (r *runner) driveMany(p *pacer) error {
	var done int64
	curT := int64(math.MinInt64)
	for {
		var best *legRun
		bestT := int64(math.MaxInt64)
		for _, l := range r.legs {
			if l.next < len(l.bars) && l.bars[l.next].CloseTimeMs < bestT {
				best, bestT = l, l.bars[l.next].CloseTimeMs
			}
		}
		if best == nil {
			break
		}
		if bestT != curT && done > 0 {
			r.res.Equity = append(r.res.Equity, Point{TimeMs: curT, Equity: r.equity()})
		}
		curT = bestT
		r.done = done
		best.step(&best.bars[best.next])
		best.next++
		if done++; done >= p.next {
			if err := p.pace(done); err != nil {
				return err
			}
		}
	}
	if done > 0 {
		r.res.Equity = append(r.res.Equity, Point{TimeMs: curT, Equity: r.equity()})
	}
	r.res.Bars = done
	return nil
}

// pacer looks at the context every ctxEvery bars and reports progress
// every 1/1000 of the work.
type pacer struct {
	ctx                   context.Context
	progress              func(done, total int64)
	total, every          int64
	nextReport, nextCheck int64
	next                  int64 // the earlier of the two
}

// pace is called when done reaches p.next.
func (p *pacer) pace(done int64) error {
	if done >= p.nextCheck {
		p.nextCheck += ctxEvery
		if err := p.ctx.Err(); err != nil {
			return err
		}
	}
	if done >= p.nextReport {
		p.nextReport += p.every
		if p.progress != nil {
			p.progress(done, p.total)
		}
	}
	p.next = min(p.nextReport, p.nextCheck)
	return nil
}

// equity is the account's cash plus its positions at their last close.
func (r *runner) equity() float64 {
	e := 0.0
	for _, l := range r.legs {
		e += l.cash + l.pos*l.lastClose
	}
	return e
}

// result completes the Result with where each leg ended.
func (r *runner) result() *Result {
	r.res.Legs = make([]LegResult, len(r.legs))
	for i, l := range r.legs {
		r.res.Legs[i] = LegResult{
			Name: l.name, Symbol: l.symbol, Allocation: l.alloc, Bars: l.bars,
			Position: l.pos, AvgPrice: l.avg, RealizedPnL: l.realized, Fees: l.fees,
			FirstClose: l.bars[0].Close, LastClose: l.bars[len(l.bars)-1].Close,
		}
	}
	return &r.res
}

// Strategy-side statuses of the matcher's.
func toStatus(s string) strategy.Status {
	switch s {
	case matcher.StatusNew:
		return strategy.StatusNew
	case matcher.StatusPartiallyFilled:
		return strategy.StatusPartiallyFilled
	case matcher.StatusFilled:
		return strategy.StatusFilled
	case matcher.StatusCanceled:
		return strategy.StatusCanceled
	case matcher.StatusRejected:
		return strategy.StatusRejected
	case matcher.StatusExpired:
		return strategy.StatusExpired
	}
	return strategy.StatusPending
}
