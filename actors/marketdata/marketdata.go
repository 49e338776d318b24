// Package marketdata is the market-data actor: it downloads closed klines
// through the connector actor into the local candle store (store/), imports
// Binance public-data CSVs and lists what is stored.
//
// A download is a job: data.download checks its input and its symbols (one
// one-kline request each: an unknown symbol is refused, nothing written),
// then answers a job id at once. The job fetches pages of up to 1000 klines
// through the connector, so the host's one weight budget holds while bots
// trade, with a few pages in flight; pages are written in order by one
// goroutine per job, so an interrupted download (data.cancel, a daemon
// stop) leaves a store that ends at a page boundary, and the next download
// of the range resumes after the last stored bar. Bars the exchange did not
// return are reported as gaps. Progress goes to the bus as
// data.JOB.progress (a DataJob) and to data.status.
//
// The actor never blocks its mailbox: connector answers come back through
// ReenterAfter, and the store is only used on goroutines that send
// messages back.
package marketdata

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Kind names the marketdata actor in the supervision tree.
const Kind = "marketdata"

// Config is the market-data configuration ([marketdata]).
type Config struct {
	// Dir is the data directory holding the candle store. Empty means
	// "data" under daemon.state_dir (.superbot/data); relative paths are
	// relative to the working directory. Default "".
	Dir string `toml:"dir"`
	// MaxRunning is how many downloads run at once (they share one weight
	// budget, so more rarely helps). Default 1.
	MaxRunning int `toml:"max_running"`
	// MaxQueued caps downloads waiting to run; beyond it data.download is
	// refused. Default 16.
	MaxQueued int `toml:"max_queued"`
	// KeepJobs is how many finished jobs data.status keeps. Default 32.
	KeepJobs int `toml:"keep_jobs"`
	// PagesInFlight is how many kline pages one download asks the
	// connector for at once. Default 4.
	PagesInFlight int `toml:"pages_in_flight"`
	// RequestTimeout bounds the wait for one page, queueing for the
	// weight budget included. Default "2m".
	RequestTimeout time.Duration `toml:"request_timeout"`
	// Retries is how many times a page refused for rate, timed out or
	// unanswered is asked again before the job fails. Default 20.
	Retries int `toml:"retries"`
	// RetryBackoff is the wait before asking for such a page again; it
	// doubles per try up to 30 s. Default "500ms".
	RetryBackoff time.Duration `toml:"retry_backoff"`
	// ProgressEvery is the least time between two progress events of one
	// job (the first and the last are always sent). Default "250ms".
	ProgressEvery time.Duration `toml:"progress_every"`
}

// DefaultConfig returns the market-data defaults.
func DefaultConfig() Config {
	return Config{
		MaxRunning:     1,
		MaxQueued:      16,
		KeepJobs:       32,
		PagesInFlight:  4,
		RequestTimeout: 2 * time.Minute,
		Retries:        20,
		RetryBackoff:   500 * time.Millisecond,
		ProgressEvery:  250 * time.Millisecond,
	}
}

// Validate reports every problem at once, each prefixed with its key.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, key, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
		}
	}
	check(c.MaxRunning >= 1 && c.MaxRunning <= 16, "max_running", "must be in [1, 16], got %d", c.MaxRunning)
	check(c.MaxQueued >= 0 && c.MaxQueued <= 1000, "max_queued", "must be in [0, 1000], got %d", c.MaxQueued)
	check(c.KeepJobs >= 1 && c.KeepJobs <= 1000, "keep_jobs", "must be in [1, 1000], got %d", c.KeepJobs)
	check(c.PagesInFlight >= 1 && c.PagesInFlight <= 32, "pages_in_flight", "must be in [1, 32], got %d", c.PagesInFlight)
	check(c.RequestTimeout > 0, "request_timeout", "must be > 0, got %s", c.RequestTimeout)
	check(c.Retries >= 0 && c.Retries <= 1000, "retries", "must be in [0, 1000], got %d", c.Retries)
	check(c.RetryBackoff > 0, "retry_backoff", "must be > 0, got %s", c.RetryBackoff)
	check(c.ProgressEvery > 0, "progress_every", "must be > 0, got %s", c.ProgressEvery)
	return errors.Join(errs...)
}

// Deps are the actor's collaborators.
type Deps struct {
	// Bus receives data.JOB.progress events; nil: none.
	Bus *actor.PID
	// Connector answers KlinesRequest. Required.
	Connector *actor.PID
	// Store is the candle store (OpenStore). Required.
	Store Store
	// Dir is the data directory, for data.list's answer.
	Dir string
	// Logger; nil discards.
	Logger *slog.Logger
}

// Props returns the actor's props. Validate cfg first: a producer has no
// error path.
func Props(cfg Config, deps Deps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		log := deps.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return &mdActor{cfg: cfg, deps: deps, log: log.With("actor", Kind)}
	})
}

type mdActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger

	root *actor.RootContext
	self *actor.PID
	seq  uint64
	jobs []*job // newest last
	// running counts jobs in state running.
	running  int
	timers   map[uint64]*time.Timer
	timerSeq uint64
}

// Receive is the actor's mailbox.
func (a *mdActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.release()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *messages.DataDownloadRequest:
		a.onDownload(ctx, msg)
	case *messages.DataStatusRequest:
		ctx.Respond(a.status(msg))
	case *messages.DataCancelRequest:
		ctx.Respond(a.onCancel(ctx, msg))
	case *messages.DataListRequest:
		a.onList(ctx)
	case *messages.DataImportRequest:
		a.onImport(ctx, msg)
	case *planned:
		a.onPlanned(ctx, msg)
	case *written:
		a.onWritten(ctx, msg)
	case *writerDone:
		a.onWriterDone(ctx, msg)
	case *retryPage:
		a.onRetry(ctx, msg)
	case *actor.Stopped:
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *mdActor) onStarted(ctx actor.Context) {
	a.root, a.self = ctx.ActorSystem().Root, ctx.Self()
	a.timers = map[uint64]*time.Timer{}
}

// release cancels every job (their writers end) and stops the timers.
func (a *mdActor) release() {
	for _, j := range a.jobs {
		if j.cancel != nil {
			j.cancel()
		}
	}
	for _, t := range a.timers {
		t.Stop()
	}
	a.timers = map[uint64]*time.Timer{}
}

// onList answers data.list from a goroutine (the store reads the disk).
func (a *mdActor) onList(ctx actor.Context) {
	root, to, st, dir := a.root, ctx.Sender(), a.deps.Store, a.deps.Dir
	go func() { // off the actor: answers the caller directly
		series, err := st.List()
		resp := &messages.DataListResponse{Dir: dir}
		if err != nil {
			resp.Error = messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "data.list: %v", err)
		}
		for _, s := range series {
			resp.Series = append(resp.Series, &messages.DataSeries{Symbol: s.Symbol, Interval: s.Interval,
				FromMs: s.FromMs, ToMs: s.ToMs, Bars: uint64(max(s.Bars, 0)), Gaps: toGaps(s.Gaps), Bytes: s.Bytes})
		}
		root.Send(to, resp)
	}()
}

// onImport imports a file or directory from a goroutine and answers when
// it is done.
func (a *mdActor) onImport(ctx actor.Context, m *messages.DataImportRequest) {
	if m.GetPath() == "" {
		ctx.Respond(&messages.DataImportResponse{Error: invalid("path: required (a .csv, a .zip or a directory)")})
		return
	}
	root, to, st, path, log := a.root, ctx.Sender(), a.deps.Store, m.GetPath(), a.log
	go func() { // off the actor: answers the caller directly
		res, err := st.Import(path)
		resp := &messages.DataImportResponse{}
		for _, r := range res {
			resp.Imported = append(resp.Imported, &messages.DataImported{Symbol: r.Symbol, Interval: r.Interval,
				Files: uint32(max(r.Files, 0)), Added: uint64(max(r.Added, 0)), Duplicates: uint64(max(r.Duplicates, 0))})
		}
		if err != nil {
			resp.Error = messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "data.import: %v", err)
		} else {
			log.Info("data imported", "path", path, "series", len(res))
		}
		root.Send(to, resp)
	}()
}

// retryAfter asks for page p of j again after d (a timer the actor's
// release stops).
func (a *mdActor) retryAfter(d time.Duration, j *job, p *page) {
	a.timerSeq++
	m := &retryPage{id: a.timerSeq, job: j, page: p}
	root, self := a.root, a.self
	a.timers[m.id] = time.AfterFunc(d, func() { root.Send(self, m) })
}

// newJobID names a job: "dl" and a sequence, after the start time so that
// ids stay unique across restarts (no dots: it is a topic segment).
func (a *mdActor) newJobID() string {
	a.seq++
	return "dl" + strconv.FormatInt(time.Now().Unix()%1e6, 36) + "-" + strconv.FormatUint(a.seq, 10)
}

func invalid(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, format, args...)
}
