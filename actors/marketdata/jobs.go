package marketdata

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/marketdata/store"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// Limits of one download request.
const (
	maxSymbols = 100
	// pageBars is the most klines one request asks for (Binance's limit).
	pageBars = 1000
	// maxPages bounds the pages of one job, checked before allocating.
	maxPages = 1_000_000
	// closeMargin keeps the default end of a download (now) clear of a
	// kline the exchange, whose clock may be ahead of ours, has not closed.
	closeMargin = 2 * time.Second
)

// intervalMs lists the intervals a download accepts: those of fixed length
// on the epoch's grid (1w opens on Mondays, 1M on the 1st: aggregate them
// from 1d on load instead).
var intervalMs = map[string]int64{
	"1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000,
	"1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000, "6h": 21_600_000, "8h": 28_800_000,
	"12h": 43_200_000, "1d": 86_400_000, "3d": 259_200_000,
}

// symbolRE is what a symbol may be (the connector's rule).
var symbolRE = regexp.MustCompile(`^[A-Z0-9]{2,20}$`)

// job is one download. Only the actor touches it; the writer goroutine
// only carries its pointer back in messages.
type job struct {
	id       string
	interval string
	ivMs     int64
	from, to int64
	state    string
	err      string
	canceled bool

	created, started, finished time.Time
	syms                       []*messages.DataSymbolProgress

	pages     []*page
	nextIssue int // next page to ask the connector for
	nextSend  int // next page to hand to the writer
	written   int
	writes    chan *page
	cancel    context.CancelFunc
	published time.Time
}

// page is a run of at most pageBars bars of one symbol: open times
// [start, end). It may take several requests (an exchange that returns
// fewer bars than asked): cursor is the next open time to ask for.
type page struct {
	sym        int
	symbol     string
	start, end int64
	cursor     int64
	bars       []strategy.Bar
	gaps       []store.Gap
	attempts   int
	fetched    bool
}

// download is a checked data.download request.
type download struct {
	symbols  []string
	interval string
	ivMs     int64
	from, to int64
}

// checkDownload validates m against now and puts from and to on the interval's
// grid: bars whose open time is in [from, to), to at most the last closed.
func checkDownload(m *messages.DataDownloadRequest, now time.Time) (download, *messages.Error) {
	d := download{interval: m.GetInterval()}
	var ok bool
	if d.ivMs, ok = intervalMs[d.interval]; !ok {
		return d, invalid("interval: must be one of %s, got %q", intervalList(), d.interval)
	}
	if len(m.GetSymbols()) == 0 || len(m.GetSymbols()) > maxSymbols {
		return d, invalid("symbols: want 1 to %d, got %d", maxSymbols, len(m.GetSymbols()))
	}
	for _, s := range m.GetSymbols() {
		s = strings.ToUpper(s)
		if !symbolRE.MatchString(s) {
			return d, invalid("symbol %q: must match %s", s, symbolRE)
		}
		if !slices.Contains(d.symbols, s) {
			d.symbols = append(d.symbols, s)
		}
	}
	last := floorTo(now.Add(-closeMargin).UnixMilli(), d.ivMs) // open time of the bar not closed yet
	switch {
	case m.GetFromMs() < 0 || m.GetToMs() < 0:
		return d, invalid("from_ms, to_ms: must be >= 0")
	case m.GetToMs() > 0 && m.GetFromMs() >= m.GetToMs():
		return d, invalid("from_ms: must be before to_ms (from %s, to %s)", fmtMs(m.GetFromMs()), fmtMs(m.GetToMs()))
	case m.GetFromMs() >= last:
		return d, invalid("from_ms: %s is not before the last closed %s kline", fmtMs(m.GetFromMs()), d.interval)
	}
	d.from = ceilTo(m.GetFromMs(), d.ivMs)
	d.to = last
	if m.GetToMs() > 0 {
		d.to = min(last, ceilTo(m.GetToMs(), d.ivMs))
	}
	if d.from >= d.to {
		return d, invalid("from_ms, to_ms: no %s kline opens in [%s, %s)", d.interval, fmtMs(m.GetFromMs()), fmtMs(m.GetToMs()))
	}
	if n := pagesOf(d.from, d.to, d.ivMs) * int64(len(d.symbols)); n > maxPages {
		return d, invalid("range: %d pages of %d klines is more than %d", n, pageBars, maxPages)
	}
	return d, nil
}

func intervalList() string {
	ivs := make([]string, 0, len(intervalMs))
	for iv := range intervalMs {
		ivs = append(ivs, iv)
	}
	slices.SortFunc(ivs, func(a, b string) int { return int(intervalMs[a] - intervalMs[b]) })
	return strings.Join(ivs, " ")
}

func floorTo(ms, step int64) int64 { return ms - ms%step }

func ceilTo(ms, step int64) int64 {
	if r := ms % step; r != 0 {
		return ms + step - r
	}
	return ms
}

func pagesOf(from, to, ivMs int64) int64 {
	span := pageBars * ivMs
	return (to - from + span - 1) / span
}

func fmtMs(ms int64) string { return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04") }

// onDownload checks a data.download, asks the connector for one kline of
// each symbol (an unknown one is refused before anything is written), then
// queues the job and answers its id.
func (a *mdActor) onDownload(ctx actor.Context, m *messages.DataDownloadRequest) {
	d, e := checkDownload(m, time.Now())
	if e == nil && a.waiting() >= a.cfg.MaxQueued && a.running >= a.cfg.MaxRunning {
		e = messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "%d downloads are queued already (marketdata.max_queued)", a.waiting())
	}
	if e != nil {
		ctx.Respond(&messages.DataDownloadResponse{Error: e})
		return
	}
	a.probe(ctx, d, 0)
}

// probe checks symbol i of d and goes on with the next one.
func (a *mdActor) probe(ctx actor.Context, d download, i int) {
	if i == len(d.symbols) {
		j := a.newJob(d)
		ctx.Respond(&messages.DataDownloadResponse{Job: j.id})
		a.log.Info("download queued", "job", j.id, "symbols", strings.Join(d.symbols, ","), "interval", d.interval,
			"from", fmtMs(d.from), "to", fmtMs(d.to))
		a.publish(ctx, j, true)
		a.schedule(ctx)
		return
	}
	sym := d.symbols[i]
	req := &messages.KlinesRequest{Symbol: sym, Interval: d.interval, Limit: 1, StartTimeMs: d.from, EndTimeMs: d.to - 1}
	ctx.ReenterAfter(ctx.RequestFuture(a.deps.Connector, req, a.cfg.RequestTimeout), func(res any, err error) {
		r, ok := res.(*messages.KlinesResponse)
		switch {
		case err != nil || !ok:
			ctx.Respond(&messages.DataDownloadResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "symbol %s: the connector did not answer", sym)})
		case r.GetError() != nil:
			ctx.Respond(&messages.DataDownloadResponse{Error: messages.Errorf(r.GetError().GetCode(), "symbol %s: %s", sym, r.GetError().GetMessage())})
		default:
			a.probe(ctx, d, i+1)
		}
	})
}

func (a *mdActor) newJob(d download) *job {
	j := &job{id: a.newJobID(), interval: d.interval, ivMs: d.ivMs, from: d.from, to: d.to, state: messages.JobQueued, created: time.Now()}
	for _, s := range d.symbols {
		j.syms = append(j.syms, &messages.DataSymbolProgress{Symbol: s, FromMs: d.from, ToMs: d.to, NextMs: d.from,
			PagesTotal: uint32(pagesOf(d.from, d.to, d.ivMs))})
	}
	a.jobs = append(a.jobs, j)
	return j
}

// waiting counts the queued jobs.
func (a *mdActor) waiting() int {
	n := 0
	for _, j := range a.jobs {
		if j.state == messages.JobQueued {
			n++
		}
	}
	return n
}

// schedule starts queued jobs, oldest first, while fewer than MaxRunning run.
func (a *mdActor) schedule(ctx actor.Context) {
	for _, j := range a.jobs {
		if a.running >= a.cfg.MaxRunning {
			return
		}
		if j.state == messages.JobQueued {
			a.start(ctx, j)
		}
	}
}

// start runs j: its writer goroutine plans where each symbol resumes,
// then writes the pages in order.
func (a *mdActor) start(ctx actor.Context, j *job) {
	j.state, j.started = messages.JobRunning, time.Now()
	a.running++
	var wctx context.Context
	wctx, j.cancel = context.WithCancel(context.Background()) // a job ends by its own cancel, never by a caller's
	j.writes = make(chan *page, a.cfg.PagesInFlight)
	plans := make([]symPlan, len(j.syms))
	for i, s := range j.syms {
		plans[i] = symPlan{symbol: s.GetSymbol(), from: j.from, to: j.to}
	}
	root, self := a.root, a.self
	go runWriter(wctx, a.deps.Store, j, j.interval, j.ivMs, plans, j.writes, func(m any) { root.Send(self, m) })
	a.log.Info("download started", "job", j.id)
	a.publish(ctx, j, true)
}

// onCancel stops a queued or running job; what it stored stays.
func (a *mdActor) onCancel(ctx actor.Context, m *messages.DataCancelRequest) *messages.DataCancelResponse {
	j := a.find(m.GetJob())
	if j == nil {
		return &messages.DataCancelResponse{Error: a.notFound(m.GetJob())}
	}
	switch j.state {
	case messages.JobQueued:
		j.state, j.finished = messages.JobCanceled, time.Now()
		a.publish(ctx, j, true)
	case messages.JobRunning:
		j.canceled, j.state = true, messages.JobCanceling
		j.cancel()
		a.publish(ctx, j, true)
	default:
		return &messages.DataCancelResponse{Job: a.jobStatus(j), Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "job %s is %s already", j.id, j.state)}
	}
	a.log.Info("download canceled", "job", j.id)
	return &messages.DataCancelResponse{Job: a.jobStatus(j)}
}

// onWriterDone ends a job: its writer goroutine has returned.
func (a *mdActor) onWriterDone(ctx actor.Context, m *writerDone) {
	j := m.job
	if j.finished.IsZero() {
		a.running--
	}
	j.finished = time.Now()
	switch {
	case j.err == "" && m.err != nil:
		j.err = m.err.Error()
		j.state = messages.JobFailed
	case j.err != "":
		j.state = messages.JobFailed
	case j.canceled:
		j.state = messages.JobCanceled
	case j.written == len(j.pages) && j.pages != nil:
		j.state = messages.JobDone
	default:
		j.state, j.err = messages.JobFailed, "the writer stopped early"
	}
	j.cancel()
	var gaps int
	for _, s := range j.syms {
		gaps += len(s.GetGaps())
	}
	a.log.Info("download ended", "job", j.id, "state", j.state, "gaps", gaps, "error", j.err)
	a.publish(ctx, j, true)
	a.trim()
	a.schedule(ctx)
}

// trim drops the oldest finished jobs beyond KeepJobs.
func (a *mdActor) trim() {
	finished := 0
	for _, j := range a.jobs {
		if !j.finished.IsZero() {
			finished++
		}
	}
	out := a.jobs[:0]
	for _, j := range a.jobs {
		if !j.finished.IsZero() && finished > a.cfg.KeepJobs {
			finished--
			continue
		}
		out = append(out, j)
	}
	clear(a.jobs[len(out):])
	a.jobs = out
}

func (a *mdActor) find(id string) *job {
	for _, j := range a.jobs {
		if j.id == id {
			return j
		}
	}
	return nil
}

func (a *mdActor) notFound(id string) *messages.Error {
	e := messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no download job %q", id)
	for _, j := range a.jobs {
		e.Details = append(e.Details, j.id)
	}
	return e
}

// status answers data.status: one job, or all, newest first.
func (a *mdActor) status(m *messages.DataStatusRequest) *messages.DataStatusResponse {
	if m.GetJob() != "" {
		j := a.find(m.GetJob())
		if j == nil {
			return &messages.DataStatusResponse{Error: a.notFound(m.GetJob())}
		}
		return &messages.DataStatusResponse{Jobs: []*messages.DataJob{a.jobStatus(j)}}
	}
	out := &messages.DataStatusResponse{}
	for i := len(a.jobs) - 1; i >= 0; i-- {
		out.Jobs = append(out.Jobs, a.jobStatus(a.jobs[i]))
	}
	return out
}

// jobStatus is a copy of j's state for others to read.
func (a *mdActor) jobStatus(j *job) *messages.DataJob {
	out := &messages.DataJob{Job: j.id, State: j.state, Interval: j.interval, EtaMs: -1, Error: j.err,
		CreatedMs: j.created.UnixMilli(), StartedMs: msOrZero(j.started), FinishedMs: msOrZero(j.finished)}
	var done, total int64
	for _, s := range j.syms {
		out.Symbols = append(out.Symbols, proto.CloneOf(s))
		done += int64(s.GetPages())
		total += int64(s.GetPagesTotal())
	}
	switch {
	case j.state == messages.JobDone:
		out.Percent, out.EtaMs = 100, 0
	case total > 0:
		out.Percent = 100 * float64(done) / float64(total)
		if done > 0 && j.state == messages.JobRunning {
			el := time.Since(j.started)
			out.EtaMs = int64(el) / done * (total - done) / int64(time.Millisecond)
		}
	}
	return out
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// publish sends j's progress to the bus as data.JOB.progress, at most once
// per ProgressEvery unless force.
func (a *mdActor) publish(ctx actor.Context, j *job, force bool) {
	if a.deps.Bus == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(j.published) < a.cfg.ProgressEvery {
		return
	}
	j.published = now
	ctx.Send(a.deps.Bus, messages.NewEvent(Topic(j.id), Kind, a.jobStatus(j)))
}

// Topic is the bus topic of a download job's progress events.
func Topic(job string) string { return fmt.Sprintf("data.%s.progress", job) }

func toGaps(gs []store.Gap) []*messages.DataGap {
	out := make([]*messages.DataGap, 0, len(gs))
	for _, g := range gs {
		out = append(out, &messages.DataGap{FromMs: g.FromMs, ToMs: g.ToMs})
	}
	return out
}
