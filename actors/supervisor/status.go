package supervisor

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
)

// daemon.status is the hottest control call. The status board publishes
// what it shows of the tree as an immutable snapshot whenever the tree or a
// child's report changes, and a process registered beside the root
// (StatusPID) answers each
// DaemonStatusRequest from the latest snapshot on the sender's goroutine:
// no mailbox, no hand-off to another goroutine, and never the root's
// Receive.

// statusSuffix names the status process after the root's id; '$' is not in
// a child's name, so it never clashes with "ROOT/NAME".
const statusSuffix = "$status"

// StatusPID is the process that answers *messages.DaemonStatusRequest (with
// *messages.DaemonStatusResponse) for the root supervisor root. It exists
// from the root's spawn to its stop; other messages sent to it are dropped.
func StatusPID(root *actor.PID) *actor.PID {
	return actor.NewPID(root.Address, root.Id+statusSuffix)
}

// statusParts are the children's part of a daemon.status answer. A
// published snapshot is shared by every answer made from it: it is
// replaced, never changed.
type statusParts struct {
	tree    []*messages.ChildStatus
	details map[string]*anypb.Any
}

// statusBoard holds the latest snapshot, built from two writers' parts
// under mu: the state of each child, which the root sets on its goroutine
// (setBase), and what each running child reported (StatusReport), applied
// when the report is posted to the root (reportTap), on the reporter's
// goroutine. A child that reports a change before it answers a call is
// thus seen in daemon.status by whoever got that answer. Readers load the
// snapshot without the lock.
type statusBoard struct {
	info      Info
	startedAt *timestamppb.Timestamp
	parts     atomic.Pointer[statusParts]

	mu       sync.Mutex
	base     []baseEntry          // the root's children, in order
	reported map[string]*reported // by child name
}

// baseEntry is one child as the root sees it.
type baseEntry struct {
	pid     *actor.PID
	running bool
	status  *messages.ChildStatus // without Children; replaced, never changed
}

// reported is what a running child reported. Both are replaced, never
// changed in place: published snapshots share them.
type reported struct {
	nested []*messages.ChildStatus
	detail *anypb.Any
}

func newStatusBoard(info Info) *statusBoard {
	b := &statusBoard{info: info, startedAt: timestamppb.New(info.Started), reported: map[string]*reported{}}
	b.parts.Store(&statusParts{details: map[string]*anypb.Any{}})
	return b
}

// setBase replaces the children's states, drops what the children named
// in forget reported, and publishes.
func (b *statusBoard) setBase(base []baseEntry, forget ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.base = base
	for _, name := range forget {
		delete(b.reported, name)
	}
	b.publish()
}

// apply applies a child's report and publishes. A report from a child that
// is not running, or from an unknown actor, is dropped.
func (b *statusBoard) apply(r *messages.StatusReport) {
	b.mu.Lock()
	defer b.mu.Unlock()
	name := ""
	for _, e := range b.base {
		if e.running && e.pid.Equal(r.GetFrom()) {
			name = e.status.GetName()
		}
	}
	if name == "" {
		return
	}
	rp := b.reported[name]
	if rp == nil {
		rp = &reported{}
	}
	next := &reported{nested: rp.nested, detail: rp.detail}
	if r.GetDetail() != nil {
		next.detail = r.GetDetail()
	}
	if r.GetTreeSet() || len(r.GetChanged()) > 0 {
		next.nested = merge(rp.nested, r)
	}
	b.reported[name] = next
	b.publish()
}

// merge is nested after report r: a full tree replaces it; a change
// replaces its entry, a new name is appended. The result is a new slice.
func merge(nested []*messages.ChildStatus, r *messages.StatusReport) []*messages.ChildStatus {
	var next []*messages.ChildStatus
	if r.GetTreeSet() {
		next = append(next, r.GetTree()...)
	} else {
		next = append(next, nested...)
	}
	for _, ch := range r.GetChanged() {
		i := indexOf(next, ch.GetName())
		if i < 0 {
			next = append(next, ch)
			continue
		}
		next[i] = ch
	}
	return next
}

// nestedOf is what the child name reported of its own children.
func (b *statusBoard) nestedOf(name string) []*messages.ChildStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	if rp := b.reported[name]; rp != nil {
		return rp.nested
	}
	return nil
}

// publish builds and stores the snapshot; b.mu is held.
func (b *statusBoard) publish() {
	p := &statusParts{tree: make([]*messages.ChildStatus, 0, len(b.base)), details: map[string]*anypb.Any{}}
	for _, e := range b.base {
		st := e.status
		if rp := b.reported[st.GetName()]; e.running && rp != nil {
			if rp.detail != nil {
				p.details[st.GetName()] = rp.detail
			}
			if rp.nested != nil {
				st = &messages.ChildStatus{Name: st.Name, State: st.State, Restarts: st.Restarts, LastError: st.LastError,
					Since: st.Since, Children: rp.nested}
			}
		}
		p.tree = append(p.tree, st)
	}
	b.parts.Store(p)
}

// reportTap is the root's mailbox middleware: it applies each StatusReport
// to the board as it is posted, on the poster's goroutine (a short locked
// update, never a handler of the root).
type reportTap struct{ board *statusBoard }

func (t reportTap) MailboxStarted() {}

func (t reportTap) MessagePosted(message any) {
	if r, ok := actor.UnwrapEnvelopeMessage(message).(*messages.StatusReport); ok {
		t.board.apply(r)
	}
}

func (t reportTap) MessageReceived(any) {}

func (t reportTap) MailboxEmpty() {}

// spawn spawns the root as protoactor does, then registers its status
// process, before the spawn returns.
func (b *statusBoard) spawn(sys *actor.ActorSystem, id string, props *actor.Props, parent actor.SpawnerContext) (*actor.PID, error) {
	pid, err := actor.DefaultSpawner(sys, id, props, parent)
	if err == nil {
		sys.ProcessRegistry.Add(&statusProcess{sys: sys, board: b}, id+statusSuffix)
	}
	return pid, err
}

// unregister removes root's status process (the root stopped).
func (b *statusBoard) unregister(sys *actor.ActorSystem, root *actor.PID) {
	sys.ProcessRegistry.Remove(StatusPID(root))
}

// response is a daemon.status answer from the latest snapshot. Safe for
// concurrent use; Info.ConfigSource is called on the caller's goroutine.
func (b *statusBoard) response() *messages.DaemonStatusResponse {
	info := b.info
	p := b.parts.Load()
	res := &messages.DaemonStatusResponse{
		Version: info.Version, Pid: int32(info.PID), Node: info.Node, State: StateRunning,
		UptimeSeconds: time.Since(info.Started).Seconds(), StartedAt: b.startedAt,
		Tree: p.tree, Details: p.details,
	}
	if info.ConfigSource != nil {
		res.ConfigSource = info.ConfigSource()
	}
	return res
}

// statusProcess answers DaemonStatusRequest from the board, on the
// goroutine of whoever sends it.
type statusProcess struct {
	sys   *actor.ActorSystem
	board *statusBoard
}

func (p *statusProcess) SendUserMessage(_ *actor.PID, message any) {
	_, msg, sender := actor.UnwrapEnvelope(message)
	if _, ok := msg.(*messages.DaemonStatusRequest); !ok || sender == nil {
		return
	}
	p.sys.Root.Send(sender, p.board.response())
}

func (p *statusProcess) SendSystemMessage(*actor.PID, any) {}

func (p *statusProcess) Stop(*actor.PID) {}
