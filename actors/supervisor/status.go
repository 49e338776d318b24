package supervisor

import (
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
)

// daemon.status is the hottest control call. The root publishes what it
// shows of the tree as an immutable snapshot whenever the tree changes, and
// a process registered beside the root (StatusPID) answers each
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

// statusBoard holds the latest snapshot. The root stores into it on its
// goroutine; the status process reads it on any goroutine.
type statusBoard struct {
	info      Info
	startedAt *timestamppb.Timestamp
	parts     atomic.Pointer[statusParts]
}

func newStatusBoard(info Info) *statusBoard {
	b := &statusBoard{info: info, startedAt: timestamppb.New(info.Started)}
	b.parts.Store(&statusParts{details: map[string]*anypb.Any{}})
	return b
}

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
