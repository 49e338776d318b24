// Package journalsync streams the trading journal from the leader to the
// standby nodes over the cluster bus. On the leader, Publisher (the order
// actor's commit hook) publishes every committed batch on Topic. On each
// standby, the follower actor (FollowerProps) applies the batches of other
// nodes to its own SQLite copy of the journal, at the same path the order
// actor uses, so a node that becomes leader opens a journal at most a few
// commits behind. See README.md.
package journalsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Kind is the follower's actor kind and the source of its bus events.
const Kind = "journalsync"

// Topic is where a leader publishes its committed journal batches
// (payload *messages.JournalOps).
const Topic = "journal.ops"

// AlertTopic is where a follower reports that its copy may miss rows
// (payload *messages.JournalSyncAlert, Kind "gap", "old_term" or
// "bad_batch"). Each incident is reported once.
const AlertTopic = "alert.cluster.journal"

// PositionKey is the journal meta key where a follower records, in the same
// transaction as each batch it applies, the last (term, seq) it applied as
// "term/seq". A follower that restarts resumes from it, so a gap across the
// restart is reported too.
const PositionKey = "journalsync.position"

// Alert kinds (messages.JournalSyncAlert.Kind).
const (
	AlertGap      = "gap"
	AlertOldTerm  = "old_term"
	AlertBadBatch = "bad_batch"
)

// ErrJournal wraps the failure to open the journal or read its position:
// the follower panics with it, and its supervisor decides.
var ErrJournal = errors.New("journalsync: journal")

// closeTimeout bounds how long a stopping follower waits for the journal to
// commit its queued writes and close.
const closeTimeout = 10 * time.Second

// FollowerConfig configures a follower.
type FollowerConfig struct {
	// Path is the journal file: the order actor's journal path (required).
	Path string
	// MaxBuffered and MaxBufferedBytes bound the batches a catch-up holds
	// while it fetches the snapshot (0: DefaultMaxBuffered,
	// DefaultMaxBufferedBytes). Over either, the buffer is dropped and
	// another catch-up follows this one.
	MaxBuffered      int
	MaxBufferedBytes int
	// MaxSnapshotBytes refuses a larger snapshot (0: DefaultMaxSnapshotBytes).
	MaxSnapshotBytes int64
}

// Catch-up defaults (FollowerConfig).
const (
	DefaultMaxBuffered      = 10000
	DefaultMaxBufferedBytes = 64 << 20
	DefaultMaxSnapshotBytes = 4 << 30
)

// Validate checks the config; call it before FollowerProps.
func (c FollowerConfig) Validate() error {
	if c.Path == "" {
		return errors.New("journalsync: path is required")
	}
	if c.MaxBuffered < 0 || c.MaxBufferedBytes < 0 || c.MaxSnapshotBytes < 0 {
		return errors.New("journalsync: catch-up bounds must not be negative")
	}
	return nil
}

// withDefaults fills the zero bounds.
func (c FollowerConfig) withDefaults() FollowerConfig {
	if c.MaxBuffered == 0 {
		c.MaxBuffered = DefaultMaxBuffered
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.MaxSnapshotBytes == 0 {
		c.MaxSnapshotBytes = DefaultMaxSnapshotBytes
	}
	return c
}

// FollowerDeps are the follower's collaborators.
type FollowerDeps struct {
	// Bus is the local bus (required): the follower subscribes to Topic
	// and publishes its alerts there.
	Bus *actor.PID
	// Node is this node's name: batches it published itself are ignored.
	Node string
	// Logger may be nil.
	Logger *slog.Logger
	// Fetch asks node (the leader that published the batches) for a chunk
	// of a snapshot of its journal: journal.snapshot, relayed to that
	// node. The follower calls it on a goroutine of its own, never on its
	// mailbox; it must return once ctx is done. nil: no catch-up (holes
	// are only reported).
	Fetch func(ctx context.Context, node string, req *messages.JournalSnapshotRequest) (*messages.JournalSnapshotResponse, error)
	// Leader, with Fetch, names the node that leads now ("" : none). Once
	// the journal is open the follower asks it, on a goroutine, for the
	// leader's stream position (journal.snapshot position_only) and
	// catches up at once unless it is the journal's own: a restarted
	// standby needs no batch to find what it missed. nil: no probe.
	Leader func(ctx context.Context) (string, error)
}

// FollowerStatusRequest asks a follower for its counters; it answers a
// FollowerStatus (local requests only: plain Go types).
type FollowerStatusRequest struct{}

// FollowerStatus is a follower's answer to FollowerStatusRequest.
type FollowerStatus struct {
	// Open is true once the journal is open and the follower subscribed.
	Open bool
	// Applied counts batches committed to the journal; Failed those the
	// journal refused (each also reported as bad_batch).
	Applied, Failed uint64
	// Gaps counts sequence gaps (events missed); OldTerms batches of a
	// term older than the current one; Bad events that could not be
	// decoded.
	Gaps, OldTerms, Bad uint64
	// Term and Seq are the last position followed (0, 0 before any).
	Term int64
	Seq  uint64
	// Pending is the number of writes not yet committed.
	Pending int
	// CatchUps counts the snapshots installed, CatchUpFailures the
	// catch-ups that failed (retried later); CatchingUp holds while one
	// runs, with Buffered batches held meanwhile. Skipped counts batches
	// dropped because the installed snapshot already held them.
	CatchUps, CatchUpFailures, Skipped uint64
	CatchingUp                         bool
	Buffered                           int
	// Probed holds once the start-up probe of the leader answered.
	Probed bool
}

// FollowerProps returns the standby's actor. It opens the journal at
// cfg.Path (journal.Open, off its mailbox), subscribes to Topic, applies
// every batch from another node (journal.Write) in order, and closes the
// journal when it stops (so the order actor can open the file right after
// StopFuture returns).
func FollowerProps(cfg FollowerConfig, deps FollowerDeps) *actor.Props {
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	return actor.PropsFromProducer(func() actor.Actor {
		return &follower{cfg: cfg.withDefaults(), deps: deps, log: deps.Logger.With("actor", Kind)}
	})
}

// follower is the standby's actor.
type follower struct {
	cfg  FollowerConfig
	deps FollowerDeps
	log  *slog.Logger

	root    *actor.RootContext
	self    *actor.PID
	acks    *bus.Acker
	handoff *handoff
	j       *journal.Journal
	stopped *atomic.Bool // set on stop: write callbacks no longer send

	subID     uint64   // the bus subscription (0 before it is answered)
	pos       position // last position followed
	staleTerm int64    // the older term last reported
	status    FollowerStatus

	// Catch-up (catchup.go).
	fresh    bool          // no batch seen since the journal opened
	catching *catchup      // the catch-up under way
	cut      position      // the last installed snapshot's cut
	owed     bool          // a catch-up failed or waits for its retry
	retryAt  time.Time     // no catch-up before
	backoff  time.Duration // the last retry's delay
	retry    *time.Timer   // sends retryCatchUp after a failure
	leader   string        // the node of the last catch-up
	probing  context.CancelFunc
}

// position is a (term, seq) in the leader's stream; known is false before
// the first batch.
type position struct {
	term  int64
	seq   uint64
	known bool
}

// handoff passes the journal from the opener goroutine to the actor; a
// follower that stopped before it arrived has the opener close it.
type handoff struct {
	mu       sync.Mutex
	j        *journal.Journal
	released bool
}

// opened is the opener goroutine's result; h tells the instance that
// asked (one sent just before a restart reaches the next instance).
type opened struct {
	h   *handoff
	j   *journal.Journal
	pos position
	err error
}

// written reports one Write's outcome (sent by the journal's writer).
type written struct {
	leader string
	term   int64
	seq    uint64
	ops    int
	err    error
	ack    bool // the batch came from the bus now (not from a catch-up's buffer)
}

// Receive handles the follower's messages.
func (f *follower) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		f.onStarted(ctx)
	case *opened:
		f.onOpened(ctx, msg)
	case *messages.SubscribeResponse:
		f.onSubscribed(msg)
	case *messages.UnsubscribeResponse: // answers release's unsubscribe
	case *messages.Event:
		f.onEvent(ctx, msg)
	case *written:
		f.onWritten(ctx, msg)
	case *caughtUp:
		f.onCaughtUp(ctx, msg)
	case *retryCatchUp:
		f.onRetry()
	case *probed:
		f.onProbed(msg)
	case FollowerStatusRequest, *FollowerStatusRequest:
		ctx.Respond(f.statusNow())
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		f.release(ctx)
	case *actor.Stopped:
	default:
		f.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (f *follower) onStarted(ctx actor.Context) {
	f.root, f.self = ctx.ActorSystem().Root, ctx.Self()
	f.acks = bus.NewAcker(f.deps.Bus, 0)
	f.handoff, f.stopped = &handoff{}, &atomic.Bool{}
	root, self, path, log, h := f.root, f.self, f.cfg.Path, f.log, f.handoff
	go func() { // off the mailbox: Open migrates and reads the disk
		res := open(path, log)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.released && res.j != nil { // the follower stopped meanwhile
			_ = res.j.Close()
			return
		}
		h.j, res.h = res.j, h
		root.Send(self, res)
	}()
}

// open opens the journal and reads the position recorded in it. It runs
// off the actor goroutine.
func open(path string, log *slog.Logger) *opened {
	j, err := journal.Open(path, journal.Options{Logger: log})
	if err != nil {
		return &opened{err: err}
	}
	v, ok, err := j.Meta(PositionKey)
	if err != nil {
		return &opened{j: j, err: err}
	}
	if !ok {
		return &opened{j: j}
	}
	pos, err := parsePosition(v)
	if err != nil {
		log.Warn("journal sync position unreadable; following from the next batch", "value", v, "err", err)
	}
	return &opened{j: j, pos: pos}
}

func (f *follower) onOpened(ctx actor.Context, msg *opened) {
	if msg.h != f.handoff { // an earlier instance's: it closed that journal
		return
	}
	if msg.err != nil {
		panic(fmt.Errorf("%w: %s: %w", ErrJournal, f.cfg.Path, msg.err))
	}
	f.j, f.pos = msg.j, msg.pos
	f.status.Term, f.status.Seq = f.pos.term, f.pos.seq
	f.fresh = f.deps.Fetch != nil
	f.acks.Subscribe(ctx, Topic, 0)
	f.log.Info("journal sync following", "path", f.cfg.Path, "term", f.pos.term, "seq", f.pos.seq)
	if f.deps.Fetch != nil && f.deps.Leader != nil {
		f.probe()
	}
}

func (f *follower) onSubscribed(res *messages.SubscribeResponse) {
	if res.GetError() != nil {
		panic(fmt.Errorf("journalsync: subscribe to %s: %w", Topic, res.GetError()))
	}
	f.subID, f.status.Open = res.GetSubscriptionId(), true
}

// onEvent takes one batch from another node. Events are acked once the
// batch is committed (or refused), so a follower slower than its leader
// makes the bus hold, then drop, events: a gap it reports. A batch held by
// a catch-up is acked at once (the catch-up's buffer bounds them).
func (f *follower) onEvent(ctx actor.Context, ev *messages.Event) {
	if (f.j == nil && f.catching == nil) || ev.GetNode() == f.deps.Node {
		f.acks.Handled(ctx)
		return
	}
	b := &messages.JournalOps{}
	if ev.GetPayload() == nil || ev.GetPayload().UnmarshalTo(b) != nil {
		f.status.Bad++
		f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertBadBatch, Leader: ev.GetNode(),
			Reason: fmt.Sprintf("event %d from %s: no readable JournalOps payload", ev.GetSequence(), ev.GetNode())})
		f.acks.Handled(ctx)
		return
	}
	if b.GetNode() == f.deps.Node {
		f.acks.Handled(ctx)
		return
	}
	f.onBatch(ctx, b, true)
}

// onBatch applies a batch, or holds it while a catch-up runs, or starts
// one (fromBus: the batch's event is still to be acked).
func (f *follower) onBatch(ctx actor.Context, b *messages.JournalOps, fromBus bool) {
	switch {
	case f.catching != nil:
		f.hold(b)
	case f.cut.known && b.GetTerm() == f.cut.term && b.GetSeq() <= f.cut.seq:
		f.status.Skipped++ // the installed snapshot holds it
	default:
		if reason := f.needsCatchUp(b); reason != "" {
			f.catchUpFor(ctx, b, reason)
			f.hold(b)
			break
		}
		f.apply(ctx, b, fromBus)
		return
	}
	if fromBus {
		f.acks.Handled(ctx)
	}
}

// apply writes a batch to the journal, its position with it.
func (f *follower) apply(ctx actor.Context, b *messages.JournalOps, fromBus bool) {
	current := f.follow(ctx, b)
	ops, err := Decode(b)
	if err != nil {
		f.status.Bad++
		f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertBadBatch, Leader: b.GetNode(), Term: b.GetTerm(), Seq: b.GetSeq(), Reason: err.Error()})
		if fromBus {
			f.acks.Handled(ctx)
		}
		return
	}
	if current { // the position commits with the batch
		ops = append(ops, journal.PutMeta{Key: PositionKey, Value: formatPosition(b.GetTerm(), b.GetSeq())})
	}
	f.status.Pending++
	root, self, stopped := f.root, f.self, f.stopped
	w := &written{leader: b.GetNode(), term: b.GetTerm(), seq: b.GetSeq(), ops: len(b.GetOps()), ack: fromBus}
	f.j.Write(ops, func(err error) { // on the journal's writer, or here when refused
		if !stopped.Load() {
			w.err = err
			root.Send(self, w)
		}
	})
}

// follow moves the position to batch b and reports a gap or an older term.
// It returns false for a batch of an older term (applied, but the position
// stays). A batch with no usable term or seq leaves the position alone.
func (f *follower) follow(ctx actor.Context, b *messages.JournalOps) bool {
	term, seq := b.GetTerm(), b.GetSeq()
	if term <= 0 || seq == 0 {
		return false
	}
	p := f.pos
	switch k, expected := classify(p, term, seq); k {
	case unknown:
		f.log.Info("journal sync joined the stream", "leader", b.GetNode(), "term", term, "seq", seq)
	case gapped:
		reason := fmt.Sprintf("expected seq %d, got %d", expected, seq)
		if term > p.term {
			reason = fmt.Sprintf("term %d began before seq %d", term, seq)
		}
		f.gap(ctx, b, expected, reason)
	case older:
		f.status.OldTerms++
		if f.staleTerm != term {
			f.staleTerm = term
			f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertOldTerm, Leader: b.GetNode(), Term: term, Seq: seq,
				Reason: fmt.Sprintf("batch of term %d after term %d; applied", term, p.term)})
		}
		return false
	}
	f.pos = position{term: term, seq: seq, known: true}
	f.status.Term, f.status.Seq = term, seq
	return true
}

// gap reports missed events once.
func (f *follower) gap(ctx actor.Context, b *messages.JournalOps, expected uint64, reason string) {
	f.status.Gaps++
	f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertGap, Leader: b.GetNode(), Term: b.GetTerm(), Seq: b.GetSeq(),
		ExpectedSeq: expected, Reason: reason})
}

func (f *follower) onWritten(ctx actor.Context, w *written) {
	f.status.Pending--
	if w.ack {
		f.acks.Handled(ctx)
	}
	if w.err != nil {
		f.status.Failed++
		f.alert(ctx, &messages.JournalSyncAlert{Kind: AlertBadBatch, Leader: w.leader, Term: w.term, Seq: w.seq, Reason: w.err.Error()})
		return
	}
	f.status.Applied++
	f.log.Debug("journal batch applied", "term", w.term, "seq", w.seq, "ops", w.ops, "applied", f.status.Applied)
}

// alert logs and publishes a JournalSyncAlert.
func (f *follower) alert(ctx actor.Context, a *messages.JournalSyncAlert) {
	a.Node = f.deps.Node
	f.log.Warn("journal sync alert", "kind", a.Kind, "leader", a.Leader, "term", a.Term, "seq", a.Seq, "reason", a.Reason)
	ctx.Send(f.deps.Bus, messages.NewEvent(AlertTopic, Kind, a))
}

// release unsubscribes (a restarted follower subscribes again), stops the
// write callbacks, cancels a catch-up and closes the journal, which first
// commits the queued writes; it waits at most closeTimeout for each. A
// catch-up past its download finishes its swap and closes the new file
// itself (it sees the handoff released), so once release returns nothing
// holds or replaces the file.
func (f *follower) release(ctx actor.Context) {
	if f.subID != 0 {
		ctx.Request(f.deps.Bus, &messages.UnsubscribeRequest{Subscriber: ctx.Self(), SubscriptionId: f.subID})
		f.subID = 0
	}
	if f.handoff == nil {
		return
	}
	if f.retry != nil {
		f.retry.Stop()
	}
	if f.probing != nil {
		f.probing()
	}
	if c := f.catching; c != nil {
		c.cancel()
		defer f.awaitCatchUp(c)
	}
	f.stopped.Store(true)
	f.handoff.mu.Lock()
	f.handoff.released = true
	j := f.handoff.j
	f.handoff.j = nil
	f.handoff.mu.Unlock()
	f.j = nil
	if j == nil {
		return
	}
	done := make(chan error, 1)
	go func() { done <- j.Close() }()
	timer := time.NewTimer(closeTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			f.log.Error("journal close failed", "path", f.cfg.Path, "err", err)
		}
	case <-timer.C:
		f.log.Error("journal close timed out; it goes on in the background", "path", f.cfg.Path, "timeout", closeTimeout)
	}
}

func formatPosition(term int64, seq uint64) string {
	return strconv.FormatInt(term, 10) + "/" + strconv.FormatUint(seq, 10)
}

func parsePosition(v string) (position, error) {
	t, s, ok := strings.Cut(v, "/")
	if !ok {
		return position{}, errors.New("no '/'")
	}
	term, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return position{}, err
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return position{}, err
	}
	return position{term: term, seq: seq, known: true}, nil
}
