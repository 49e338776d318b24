package marketdata

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// symPlan is one symbol's range for the writer to plan.
type symPlan struct {
	symbol   string
	from, to int64
}

// symStart is where one symbol's download starts.
type symStart struct {
	from    int64
	resumed bool
}

// planned is sent by a job's writer once it knows where each symbol
// resumes. Local only.
type planned struct {
	job    *job
	starts []symStart
}

// written is sent by a job's writer after writing a page. Local only.
type written struct {
	job   *job
	page  *page
	added int
	err   error
}

// writerDone is sent by a job's writer when it returns. Local only.
type writerDone struct {
	job *job
	err error
}

// retryPage is sent by a timer to ask for a page again. Local only.
type retryPage struct {
	id   uint64
	job  *job
	page *page
}

// runWriter is a job's goroutine (off the actor): it finds where each
// symbol resumes, then writes the pages it receives, in order, until in
// is closed or ctx is canceled. Every step is a message back.
func runWriter(ctx context.Context, st Store, j *job, interval string, ivMs int64, plans []symPlan, in <-chan *page, send func(any)) {
	var werr error
	defer func() { send(&writerDone{job: j, err: werr}) }()
	starts := make([]symStart, len(plans))
	for i, p := range plans {
		if starts[i], werr = resumePoint(st, p, interval, ivMs); werr != nil {
			werr = fmt.Errorf("%s: %w", p.symbol, werr)
			return
		}
		if ctx.Err() != nil {
			return
		}
	}
	send(&planned{job: j, starts: starts})
	for {
		select {
		case <-ctx.Done():
			return
		case p, ok := <-in:
			if !ok {
				return
			}
			n, err := st.Write(p.symbol, interval, p.bars)
			if err != nil {
				err = fmt.Errorf("store %s %s: %w", p.symbol, interval, err)
			}
			send(&written{job: j, page: p, added: n, err: err})
			if err != nil {
				return
			}
		}
	}
}

// resumePoint starts p after the last stored bar when the store holds the
// range's first bar (a download of the same range that was interrupted),
// else at p.from (bars stored already are replaced, not duplicated).
func resumePoint(st Store, p symPlan, interval string, ivMs int64) (symStart, error) {
	last, ok, err := st.Last(p.symbol, interval)
	if err != nil || !ok || last < p.from {
		return symStart{from: p.from}, err
	}
	first, err := st.Load(p.symbol, interval, p.from, p.from+ivMs)
	if err != nil || len(first) == 0 {
		return symStart{from: p.from}, err
	}
	return symStart{from: min(last+ivMs, p.to), resumed: true}, nil
}

// onPlanned cuts each symbol's range into pages and starts fetching.
func (a *mdActor) onPlanned(ctx actor.Context, m *planned) {
	j := m.job
	if j.state != messages.JobRunning {
		return
	}
	j.pages = []*page{}
	for i, s := range m.starts {
		sp := j.syms[i]
		sp.FromMs, sp.NextMs, sp.Resumed = s.from, s.from, s.resumed
		sp.PagesTotal = uint32(pagesOf(s.from, j.to, j.ivMs))
		sp.Done = s.from >= j.to
		for start := s.from; start < j.to; start += pageBars * j.ivMs {
			end := min(start+pageBars*j.ivMs, j.to)
			j.pages = append(j.pages, &page{sym: i, symbol: sp.GetSymbol(), start: start, end: end, cursor: start})
		}
	}
	if len(j.pages) == 0 {
		close(j.writes) // nothing to fetch: the writer ends, the job is done
		return
	}
	a.issue(ctx, j)
}

// issue asks for the next pages while fewer than PagesInFlight are
// fetched or being written.
func (a *mdActor) issue(ctx actor.Context, j *job) {
	for j.nextIssue < len(j.pages) && j.nextIssue-j.written < a.cfg.PagesInFlight {
		p := j.pages[j.nextIssue]
		j.nextIssue++
		a.request(ctx, j, p)
	}
}

// request asks the connector for the klines of p from its cursor.
func (a *mdActor) request(ctx actor.Context, j *job, p *page) {
	req := &messages.KlinesRequest{Symbol: p.symbol, Interval: j.interval, Limit: pageBars, StartTimeMs: p.cursor, EndTimeMs: p.end - 1}
	ctx.ReenterAfter(ctx.RequestFuture(a.deps.Connector, req, a.cfg.RequestTimeout), func(res any, err error) {
		a.onPage(ctx, j, p, res, err)
	})
}

// onPage takes a connector answer for p: a rate refusal, a timeout or an
// unreachable exchange is asked again later; any other error fails the job.
func (a *mdActor) onPage(ctx actor.Context, j *job, p *page, res any, err error) {
	if j.state != messages.JobRunning {
		return
	}
	r, _ := res.(*messages.KlinesResponse)
	why := ""
	switch {
	case err != nil || r == nil:
		why = "the connector did not answer"
	case r.GetError() != nil:
		switch r.GetError().GetCode() {
		case messages.ErrorCode_ERROR_CODE_RATE_LIMITED, messages.ErrorCode_ERROR_CODE_UNAVAILABLE, messages.ErrorCode_ERROR_CODE_TIMEOUT:
			why = r.GetError().GetMessage()
		default:
			a.fail(ctx, j, fmt.Sprintf("%s: %s", p.symbol, r.GetError().GetMessage()))
			return
		}
	}
	if why != "" {
		p.attempts++
		if p.attempts > a.cfg.Retries {
			a.fail(ctx, j, fmt.Sprintf("%s: %s (after %d tries)", p.symbol, why, p.attempts))
			return
		}
		d := min(a.cfg.RetryBackoff<<min(p.attempts-1, 16), 30*time.Second)
		a.log.Debug("page retry", "job", j.id, "symbol", p.symbol, "attempt", p.attempts, "reason", why)
		a.retryAfter(d, j, p)
		return
	}
	p.attempts = 0
	more, e := absorb(p, r.GetKlines(), j.ivMs)
	if e != nil {
		a.fail(ctx, j, fmt.Sprintf("%s: %v", p.symbol, e))
		return
	}
	if more { // the exchange returned fewer bars than the page holds
		a.request(ctx, j, p)
		return
	}
	p.fetched = true
	a.flush(j)
}

func (a *mdActor) onRetry(ctx actor.Context, m *retryPage) {
	delete(a.timers, m.id)
	if m.job.state == messages.JobRunning {
		a.request(ctx, m.job, m.page)
	}
}

// absorb adds the klines of an answer to p from its cursor on, recording
// the bars missing before each one. It returns more when p's end is not
// reached yet (ask again from the cursor); an empty answer means the
// exchange has nothing more in p: the rest is a gap.
func absorb(p *page, ks []*messages.Kline, ivMs int64) (more bool, err error) {
	start := p.cursor
	for _, k := range ks {
		ot := k.GetOpenTimeMs()
		if ot < p.cursor || ot >= p.end {
			continue // before the cursor (a repeat) or past the page
		}
		if (ot-p.start)%ivMs != 0 {
			return false, fmt.Errorf("kline open time %d is off the interval's grid", ot)
		}
		b, err := toBar(k)
		if err != nil {
			return false, fmt.Errorf("kline %s: %w", fmtMs(ot), err)
		}
		if ot > p.cursor {
			p.gaps = addGap(p.gaps, p.cursor, ot)
		}
		p.bars = append(p.bars, b)
		p.cursor = ot + ivMs
	}
	if p.cursor >= p.end {
		return false, nil
	}
	if p.cursor == start { // nothing new: the exchange has no more bars here
		p.gaps = addGap(p.gaps, p.cursor, p.end)
		p.cursor = p.end
		return false, nil
	}
	return true, nil
}

// addGap appends [from, to), merged with the last gap when they touch.
func addGap(gs []store.Gap, from, to int64) []store.Gap {
	if n := len(gs); n > 0 && gs[n-1].ToMs == from {
		gs[n-1].ToMs = to
		return gs
	}
	return append(gs, store.Gap{FromMs: from, ToMs: to})
}

func toBar(k *messages.Kline) (strategy.Bar, error) {
	b := strategy.Bar{OpenTimeMs: k.GetOpenTimeMs(), CloseTimeMs: k.GetCloseTimeMs()}
	for _, f := range []struct {
		name string
		s    string
		v    *float64
	}{{"open", k.GetOpen(), &b.Open}, {"high", k.GetHigh(), &b.High}, {"low", k.GetLow(), &b.Low},
		{"close", k.GetClose(), &b.Close}, {"volume", k.GetVolume(), &b.Volume}} {
		v, err := strconv.ParseFloat(f.s, 64)
		if err != nil {
			return b, fmt.Errorf("%s %q is not a number", f.name, f.s)
		}
		*f.v = v
	}
	return b, nil
}

// flush hands the fetched pages to the writer in order. The channel holds
// PagesInFlight pages and no more than that many are out: it never blocks.
func (a *mdActor) flush(j *job) {
	for j.nextSend < len(j.pages) && j.pages[j.nextSend].fetched {
		j.writes <- j.pages[j.nextSend]
		j.nextSend++
	}
}

// onWritten books a written page and asks for more.
func (a *mdActor) onWritten(ctx actor.Context, m *written) {
	j, p := m.job, m.page
	if m.err != nil {
		if j.err == "" {
			j.err = m.err.Error()
		}
		return // the writer returned: writerDone ends the job
	}
	sp := j.syms[p.sym]
	sp.Pages++
	sp.Bars += uint64(len(p.bars))
	sp.Added += uint64(max(m.added, 0))
	sp.NextMs = p.end
	sp.Done = p.end >= j.to
	for _, g := range p.gaps {
		if n := len(sp.Gaps); n > 0 && sp.Gaps[n-1].GetToMs() == g.FromMs {
			sp.Gaps[n-1].ToMs = g.ToMs
			continue
		}
		sp.Gaps = append(sp.Gaps, &messages.DataGap{FromMs: g.FromMs, ToMs: g.ToMs})
	}
	if len(p.gaps) > 0 {
		a.log.Warn("klines missing", "job", j.id, "symbol", p.symbol, "from", fmtMs(p.gaps[0].FromMs), "gaps", len(p.gaps))
	}
	p.bars, p.gaps = nil, nil
	j.written++
	if j.written == len(j.pages) {
		close(j.writes) // the writer ends; writerDone marks the job done
		return
	}
	if j.state == messages.JobRunning {
		a.publish(ctx, j, false)
		a.issue(ctx, j)
	}
}

// fail stops j with why; the writer returns and writerDone ends the job.
func (a *mdActor) fail(ctx actor.Context, j *job, why string) {
	if j.err == "" {
		j.err = why
	}
	j.state = messages.JobCanceling
	j.cancel()
	a.log.Warn("download failing", "job", j.id, "error", why)
	a.publish(ctx, j, true)
}
