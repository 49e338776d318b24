package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/logging"
)

// daemonLogLines is how many of the daemon's own log lines are kept for
// logs.tail daemon.
const daemonLogLines = 1000

// logRing keeps the daemon's recent log lines and publishes each one on the
// bus (topic logs.daemon) once the bus runs, so that `superbot logs -f
// daemon` works like it does for a module. It is an io.Writer for a
// ConsoleHandler; safe for concurrent use.
type logRing struct {
	mu    sync.Mutex
	lines []*messages.LogLine
	next  int
	full  bool
	sink  atomic.Pointer[logSink]
}

type logSink struct {
	sys *actor.ActorSystem
	bus *actor.PID
}

func (r *logRing) Write(p []byte) (int, error) {
	line := string(bytes.TrimRight(p, "\n"))
	ll := &messages.LogLine{Module: "daemon", Stream: "daemon", Line: line, Time: timestamppb.New(time.Now())}
	r.mu.Lock()
	if r.lines == nil {
		r.lines = make([]*messages.LogLine, daemonLogLines)
	}
	r.lines[r.next] = ll
	r.next = (r.next + 1) % len(r.lines)
	r.full = r.full || r.next == 0
	r.mu.Unlock()
	if s := r.sink.Load(); s != nil {
		s.sys.Root.Send(s.bus, messages.NewEvent("logs.daemon", "daemon", ll))
	}
	return len(p), nil
}

// tail returns the last n lines (all kept lines when n is 0), oldest first.
func (r *logRing) tail(n int) []*messages.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	count := r.next
	if r.full {
		count = len(r.lines)
	}
	if n <= 0 || n > count {
		n = count
	}
	out := make([]*messages.LogLine, 0, n)
	for i := count - n; i < count; i++ {
		idx := i
		if r.full {
			idx = (r.next + i) % len(r.lines)
		}
		out = append(out, r.lines[idx])
	}
	return out
}

// teeHandler sends each record to two handlers.
type teeHandler struct{ a, b slog.Handler }

func (t teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return t.a.Enabled(ctx, l) || t.b.Enabled(ctx, l)
}

func (t teeHandler) Handle(ctx context.Context, r slog.Record) error {
	var err error
	if t.a.Enabled(ctx, r.Level) {
		err = t.a.Handle(ctx, r.Clone())
	}
	if t.b.Enabled(ctx, r.Level) {
		_ = t.b.Handle(ctx, r)
	}
	return err
}

func (t teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{t.a.WithAttrs(attrs), t.b.WithAttrs(attrs)}
}

func (t teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{t.a.WithGroup(name), t.b.WithGroup(name)}
}

// withRing returns base's logger teed into the ring, at the daemon's level.
func withRing(base *slog.Logger, ring *logRing, level slog.Leveler) *slog.Logger {
	return slog.New(teeHandler{a: base.Handler(), b: logging.NewConsoleHandler(ring, level)})
}

// logsActor answers logs.tail: the daemon's own lines for module "daemon",
// and forwards every other request to the modules supervisor.
type logsActor struct {
	ring    *logRing
	modules *actor.PID
}

// logsKind names the logs actor in the tree.
const logsKind = "logs"

func (a *logsActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.LogsTailRequest:
		a.tail(ctx, msg)
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: logsKind})
	}
}

func (a *logsActor) tail(ctx actor.Context, req *messages.LogsTailRequest) {
	if req.Module != "daemon" {
		if a.modules == nil {
			ctx.Respond(&messages.LogsTailResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "unknown module %q", req.Module)})
			return
		}
		ctx.Forward(a.modules)
		return
	}
	n := int(req.Lines)
	if n == 0 {
		n = 100
	}
	ctx.Respond(&messages.LogsTailResponse{Module: "daemon", Lines: a.ring.tail(n)})
}
