// Package redislog routes go-redis's own log lines (pool dial failures,
// discarded pub/sub connections ...) to slog at debug level. go-redis has
// one process-wide logger that otherwise prints to stderr; the actors using
// Redis already report what matters (fallback, link down) at warn and info.
package redislog

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

var (
	current atomic.Pointer[slog.Logger]
	once    sync.Once
)

// Route sends go-redis's log lines to log, at debug level, from now on
// (the last caller's logger wins: there is one go-redis logger).
func Route(log *slog.Logger) {
	current.Store(log)
	once.Do(func() { redis.SetLogger(logger{}) })
}

type logger struct{}

func (logger) Printf(ctx context.Context, format string, v ...any) {
	if l := current.Load(); l != nil {
		l.DebugContext(ctx, "redis client", "line", fmt.Sprintf(format, v...))
	}
}
