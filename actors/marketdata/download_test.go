package marketdata

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

// TestDownloadFromSimulator: three days of 1m klines of two symbols from
// the real simulator through the real connector land in the store with no
// gap and no duplicate, and progress goes to the bus.
func TestDownloadFromSimulator(t *testing.T) {
	ex := startSim(t, simConfig())
	st := newMemStore()
	f := startReal(t, ex, DefaultConfig(), st)
	from, to := day(t, "2024-01-01"), day(t, "2024-01-04")
	id := f.download(t, &messages.DataDownloadRequest{Symbols: []string{"btcusdt", "ETHUSDT"}, Interval: "1m", FromMs: from, ToMs: to})
	j := f.wait(t, id, 60*time.Second)
	if j.GetState() != messages.JobDone || j.GetPercent() != 100 {
		t.Fatalf("job = %v", j)
	}
	for _, sym := range []string{"BTCUSDT", "ETHUSDT"} {
		contiguous(t, st, sym, "1m", from, to, 60_000)
	}
	for _, s := range j.GetSymbols() {
		if s.GetPages() != 5 || s.GetBars() != 4320 || s.GetAdded() != 4320 || len(s.GetGaps()) != 0 || !s.GetDone() || s.GetResumed() {
			t.Errorf("symbol progress = %v", s)
		}
	}
	if _, dups := st.counts(); dups != 0 {
		t.Errorf("%d bars written twice", dups)
	}
	last := actortest.ExpectMatch(t, f.bus, 5*time.Second, func(e *messages.Event) bool {
		var dj messages.DataJob
		return e.GetTopic() == "data."+id+".progress" && e.GetPayload().UnmarshalTo(&dj) == nil && dj.GetState() == messages.JobDone
	})
	if last.GetSource() != Kind {
		t.Errorf("event source = %q", last.GetSource())
	}
}

// TestInterruptedDownloadResumes: a download canceled midway leaves a
// contiguous prefix; the same download again resumes after it and ends with
// every bar once.
func TestInterruptedDownloadResumes(t *testing.T) {
	ex := startSim(t, simConfig())
	st := newMemStore()
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	st.hook = func(n int) {
		if n == 4 {
			once.Do(func() { close(reached) })
			<-release
		}
	}
	cfg := DefaultConfig()
	cfg.PagesInFlight = 2
	f := startReal(t, ex, cfg, st)
	from, to := day(t, "2023-06-01"), day(t, "2023-06-11") // 15 pages
	req := &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: to}
	id := f.download(t, req)
	<-reached
	c := actortest.Request[*messages.DataCancelResponse](t, f.sys, f.pid, &messages.DataCancelRequest{Job: id})
	if c.GetError() != nil || c.GetJob().GetState() != messages.JobCanceling {
		t.Fatalf("cancel = %v", c)
	}
	close(release)
	j := f.wait(t, id, 30*time.Second)
	if j.GetState() != messages.JobCanceled {
		t.Fatalf("state = %s", j.GetState())
	}
	last, ok, _ := st.Last("BTCUSDT", "1m")
	if !ok || last+60_000 >= to {
		t.Fatalf("the canceled job stored up to %d (ok %v): not midway", last, ok)
	}
	contiguous(t, st, "BTCUSDT", "1m", from, last+60_000, 60_000)

	id2 := f.download(t, req)
	j2 := f.wait(t, id2, 60*time.Second)
	s := j2.GetSymbols()[0]
	if j2.GetState() != messages.JobDone || !s.GetResumed() || s.GetFromMs() != last+60_000 {
		t.Fatalf("resumed job = %v", j2)
	}
	contiguous(t, st, "BTCUSDT", "1m", from, to, 60_000)
	if _, dups := st.counts(); dups != 0 || s.GetAdded() != s.GetBars() {
		t.Errorf("%d bars written twice; added %d of %d", dups, s.GetAdded(), s.GetBars())
	}

	// A third time: everything is stored, nothing is fetched.
	j3 := f.wait(t, f.download(t, req), 30*time.Second)
	if s3 := j3.GetSymbols()[0]; j3.GetState() != messages.JobDone || !s3.GetResumed() || s3.GetPages() != 0 || s3.GetPagesTotal() != 0 || j3.GetPercent() != 100 {
		t.Fatalf("a download of a stored range = %v", j3)
	}
}

// TestDownloadBadInput: bad requests are refused with a clear error and
// nothing is written.
func TestDownloadBadInput(t *testing.T) {
	ex := startSim(t, simConfig())
	st := newMemStore()
	f := startReal(t, ex, DefaultConfig(), st)
	from := day(t, "2024-01-01")
	future := time.Now().Add(48 * time.Hour).UnixMilli()
	for _, tt := range []struct {
		name string
		req  *messages.DataDownloadRequest
		code messages.ErrorCode
		want string
	}{
		{"unknown symbol", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT", "NOPEUSDT"}, Interval: "1m", FromMs: from, ToMs: from + 3600_000},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "symbol NOPEUSDT: exchange: Invalid symbol. (-1121)"},
		{"bad symbol", &messages.DataDownloadRequest{Symbols: []string{"btc-usdt"}, Interval: "1m", FromMs: from},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, `symbol "BTC-USDT": must match`},
		{"no symbols", &messages.DataDownloadRequest{Interval: "1m", FromMs: from},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "symbols: want 1 to 100, got 0"},
		{"bad interval", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "7m", FromMs: from},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, `interval: must be one of 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d, got "7m"`},
		{"months", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1M", FromMs: from},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, `got "1M"`},
		{"from after to", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: from - 60_000},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "from_ms: must be before to_ms (from 2024-01-01 00:00, to 2023-12-31 23:59)"},
		{"from in the future", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: future},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "is not before the last closed 1m kline"},
		{"negative", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: -1},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "must be >= 0"},
		{"no bar in range", &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1d", FromMs: from + 1, ToMs: from + 2},
			messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "no 1d kline opens in"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := actortest.Request[*messages.DataDownloadResponse](t, f.sys, f.pid, tt.req)
			if r.GetError().GetCode() != tt.code || !strings.Contains(r.GetError().GetMessage(), tt.want) || r.GetJob() != "" {
				t.Fatalf("answer = %v; want %s %q", r, tt.code, tt.want)
			}
		})
	}
	if writes, _ := st.counts(); writes != 0 {
		t.Errorf("%d writes", writes)
	}
	if jobs := actortest.Request[*messages.DataStatusResponse](t, f.sys, f.pid, &messages.DataStatusRequest{}).GetJobs(); len(jobs) != 0 {
		t.Errorf("jobs = %v", jobs)
	}
	if r := actortest.Request[*messages.DataStatusResponse](t, f.sys, f.pid, &messages.DataStatusRequest{Job: "nope"}); r.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Errorf("status of an unknown job = %v", r)
	}
}

// fakeExchange is a connector that serves grid klines from start on, at
// most perAnswer per answer, without the open times in missing.
type fakeExchange struct {
	ivMs      int64
	perAnswer int
	missing   map[int64]bool
	mu        sync.Mutex
	asked     int
	rateLimit int // answer RATE_LIMITED to this many requests first
}

func (fx *fakeExchange) receive(ctx actor.Context) {
	m, ok := ctx.Message().(*messages.KlinesRequest)
	if !ok {
		return
	}
	fx.mu.Lock()
	fx.asked++
	limited := fx.rateLimit > 0 && m.GetLimit() > 1
	if limited {
		fx.rateLimit--
	}
	fx.mu.Unlock()
	if limited {
		ctx.Respond(&messages.KlinesResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_RATE_LIMITED, "no request budget within the queue timeout")})
		return
	}
	out := &messages.KlinesResponse{Symbol: m.GetSymbol(), Interval: m.GetInterval()}
	for t := ceilTo(m.GetStartTimeMs(), fx.ivMs); t <= m.GetEndTimeMs() && len(out.Klines) < min(int(m.GetLimit()), fx.perAnswer); t += fx.ivMs {
		if fx.missing[t] {
			continue
		}
		out.Klines = append(out.Klines, &messages.Kline{OpenTimeMs: t, CloseTimeMs: t + fx.ivMs - 1, Open: "10", High: "12", Low: "9", Close: "11", Volume: "3"})
	}
	ctx.Respond(out)
}

// TestGapsReported: minutes the exchange does not return are reported as
// gaps (merged across pages), the rest is stored; answers shorter than a
// page are continued; rate refusals are asked again.
func TestGapsReported(t *testing.T) {
	from := day(t, "2024-03-01")
	to := from + 2500*60_000
	missing := map[int64]bool{}
	for _, m := range []int64{10, 11, 12, 999, 1000, 1001, 2499} { // a run that crosses a page boundary, and the last bar
		missing[from+m*60_000] = true
	}
	fx := &fakeExchange{ivMs: 60_000, perAnswer: 300, missing: missing, rateLimit: 2}
	sys := actortest.NewSystem(t)
	conn := actortest.Spawn(t, sys, actor.PropsFromFunc(fx.receive))
	st := newMemStore()
	cfg := DefaultConfig()
	cfg.RetryBackoff = time.Millisecond
	f := startWith(t, sys, conn, cfg, st)
	id := f.download(t, &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: to})
	j := f.wait(t, id, 30*time.Second)
	if j.GetState() != messages.JobDone {
		t.Fatalf("job = %v", j)
	}
	s := j.GetSymbols()[0]
	want := []*messages.DataGap{{FromMs: from + 10*60_000, ToMs: from + 13*60_000}, {FromMs: from + 999*60_000, ToMs: from + 1002*60_000},
		{FromMs: from + 2499*60_000, ToMs: to}}
	if len(s.GetGaps()) != len(want) {
		t.Fatalf("gaps = %v, want %v", s.GetGaps(), want)
	}
	for i := range want {
		if !proto.Equal(s.GetGaps()[i], want[i]) {
			t.Fatalf("gaps = %v, want %v", s.GetGaps(), want)
		}
	}
	bars, _ := st.Load("BTCUSDT", "1m", 0, 0)
	if len(bars) != 2500-7 || s.GetBars() != 2500-7 || s.GetPages() != 3 {
		t.Fatalf("%d bars stored; progress %v", len(bars), s)
	}
}

// TestRateLimitedTooLongFails: a page refused more often than Retries
// fails the job with the reason; nothing half-written beyond whole pages.
func TestRateLimitedTooLongFails(t *testing.T) {
	fx := &fakeExchange{ivMs: 60_000, perAnswer: 1000, rateLimit: 1000}
	sys := actortest.NewSystem(t)
	conn := actortest.Spawn(t, sys, actor.PropsFromFunc(fx.receive))
	st := newMemStore()
	cfg := DefaultConfig()
	cfg.RetryBackoff, cfg.Retries = time.Millisecond, 3
	f := startWith(t, sys, conn, cfg, st)
	from := day(t, "2024-03-01")
	id := f.download(t, &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: from + 3600_000})
	j := f.wait(t, id, 30*time.Second)
	if j.GetState() != messages.JobFailed || !strings.Contains(j.GetError(), "BTCUSDT: no request budget within the queue timeout (after 4 tries)") {
		t.Fatalf("job = %v", j)
	}
	if writes, _ := st.counts(); writes != 0 {
		t.Errorf("%d writes", writes)
	}
}

// TestQueueAndCancelQueued: with one download at a time a second one
// queues; canceling it while queued ends it at once.
func TestQueueAndCancelQueued(t *testing.T) {
	fx := &fakeExchange{ivMs: 60_000, perAnswer: 1000}
	sys := actortest.NewSystem(t)
	conn := actortest.Spawn(t, sys, actor.PropsFromFunc(fx.receive))
	st := newMemStore()
	release := make(chan struct{})
	st.hook = func(int) { <-release }
	f := startWith(t, sys, conn, DefaultConfig(), st)
	from := day(t, "2024-03-01")
	req := &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: from + 3600_000}
	first := f.download(t, req)
	second := f.download(t, req)
	if s := f.job(t, second).GetState(); s != messages.JobQueued {
		t.Fatalf("second job is %s", s)
	}
	c := actortest.Request[*messages.DataCancelResponse](t, f.sys, f.pid, &messages.DataCancelRequest{Job: second})
	if c.GetJob().GetState() != messages.JobCanceled {
		t.Fatalf("cancel = %v", c)
	}
	close(release)
	if j := f.wait(t, first, 30*time.Second); j.GetState() != messages.JobDone {
		t.Fatalf("first = %v", j)
	}
	c = actortest.Request[*messages.DataCancelResponse](t, f.sys, f.pid, &messages.DataCancelRequest{Job: first})
	if c.GetError().GetCode() != messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION {
		t.Fatalf("cancel of a done job = %v", c)
	}
}

// TestDownloadSharesTheBudget: while a download keeps the connector's
// weight budget busy (a small limit: the download spans several windows),
// other market requests through the same connector are still answered and
// the exchange never answers 429.
func TestDownloadSharesTheBudget(t *testing.T) {
	cfg := simConfig()
	cfg.WeightLimit, cfg.WeightWindow = 40, 2*time.Second
	ex := startSim(t, cfg)
	st := newMemStore()
	f := startReal(t, ex, DefaultConfig(), st)
	from := day(t, "2024-02-01")
	id := f.download(t, &messages.DataDownloadRequest{Symbols: []string{"BTCUSDT"}, Interval: "1m", FromMs: from, ToMs: from + 40*1000*60_000})
	for i := range 5 {
		tk := actortest.Request[*messages.TickerResponse](t, f.sys, f.conn, &messages.TickerRequest{Symbol: "ETHUSDT"})
		if tk.GetError() != nil || tk.GetLastPrice() == "" {
			t.Fatalf("ticker %d during the download: %v", i, tk)
		}
	}
	if s := f.job(t, id).GetState(); s != messages.JobRunning {
		t.Fatalf("the download was not running while the tickers were asked: %s", s)
	}
	if j := f.wait(t, id, 60*time.Second); j.GetState() != messages.JobDone {
		t.Fatalf("job = %v", j)
	}
	contiguous(t, st, "BTCUSDT", "1m", from, from+40*1000*60_000, 60_000)
	if n := ex.RateLimitAnswers(); n != 0 {
		t.Errorf("%d 429 answers", n)
	}
}
