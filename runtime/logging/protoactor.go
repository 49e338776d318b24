package logging

import (
	"context"
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
)

// ActorLoggerFactory returns a logger factory for actor.WithLoggerFactory
// that routes protoactor's own logs into base's handler, tagged
// component=protoactor, with its Info-level chatter (system started,
// actor stopped, ...) lowered to Debug. Warnings and errors keep their level.
func ActorLoggerFactory(base *slog.Logger) func(*actor.ActorSystem) *slog.Logger {
	return func(*actor.ActorSystem) *slog.Logger {
		return slog.New(demoteInfo{base.Handler()}).With("component", "protoactor")
	}
}

// demoteInfo lowers records between Info and Warn to Debug.
type demoteInfo struct{ h slog.Handler }

func demote(l slog.Level) slog.Level {
	if l >= slog.LevelInfo && l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}

func (d demoteInfo) Enabled(ctx context.Context, l slog.Level) bool {
	return d.h.Enabled(ctx, demote(l))
}

func (d demoteInfo) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return d.h.Handle(ctx, r)
}

func (d demoteInfo) WithAttrs(attrs []slog.Attr) slog.Handler {
	return demoteInfo{d.h.WithAttrs(attrs)}
}

func (d demoteInfo) WithGroup(name string) slog.Handler {
	return demoteInfo{d.h.WithGroup(name)}
}
