package daemon

import (
	"time"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/edge"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/sdnotify"
)

// Shutdown runs the seed's shutdown sequence within the configured
// deadline; force skips the graceful waits. It is idempotent: later calls
// wait for the first to finish.
func (d *Daemon) Shutdown(reason string, force bool) {
	first := false
	d.stopOnce.Do(func() {
		first = true
		d.shutdown(reason, force)
		close(d.done)
	})
	if !first {
		<-d.done
	}
}

func (d *Daemon) shutdown(reason string, force bool) {
	d.state.Store(stateStopping)
	d.reloadMu.Lock()   // a reload under way finishes first; later ones are refused
	d.reloadMu.Unlock() //nolint:staticcheck // an empty critical section: waiting is the point
	begin := time.Now()
	d.deadline.Store(begin.Add(d.Config().Daemon.ShutdownTimeout).UnixNano())
	d.forced.Store(force)
	left := d.stepTimeout
	_ = sdnotify.Notify(sdnotify.Stopping)
	d.log.Info("shutdown step 1: graceful shutdown initiated", "reason", reason, "force", force)
	// system.shutdown goes out first: after step 8 there is no bus to carry it.
	d.publish("system.shutdown", &messages.SystemShutdown{Reason: reason})
	if pid := d.busPID(); pid != nil && d.sys != nil {
		// The bus answers in order: once it has, the event is with every
		// subscriber, and the edge (step 5) writes it to its clients
		// before it closes their connections.
		_, _ = d.sys.Root.RequestFuture(pid, &messages.BusStatsRequest{}, min(left(), 200*time.Millisecond)).Result()
	}
	if d.sys != nil && d.root != nil {
		for _, step := range []struct {
			msg  string
			hook string
			kind string
		}{
			{"shutdown step 1: leave the cluster", "cluster", ""},
			{"shutdown step 2: stop scheduler", "scheduler", ""},
			{"shutdown step 3: stop watchdog", "watchdog", ""},
			{"shutdown step 4: stop all modules", "modules", ""},
			{"shutdown step 5: stop ipc server", "", edge.Kind},
			{"shutdown step 6: save strategies, prepare orders", tradingKind, ""},
			{"shutdown step 6: stop downloads", "marketdata", ""},
			{"shutdown step 6: stop thread pools", "connector", ""},
			{"shutdown step 7: close cache", "cache", ""},
			{"shutdown step 8: stop redis bus bridge", "busredis", ""},
			{"shutdown step 8: close event bus", "", bus.Kind},
		} {
			d.log.Info(step.msg, "elapsed", time.Since(begin).Round(time.Microsecond).String()) //nolint:sloglint // the messages are the constants above
			if step.hook != "" {
				d.stopHook(step.hook)
			}
			if step.kind == bus.Kind && d.ring != nil {
				d.ring.sink.Store(nil) // log lines stop going to the bus before it goes
			}
			if step.kind != "" {
				d.stopChild(step.kind, left())
			}
			if step.kind == edge.Kind {
				d.listeners.Close()
			}
		}
		closeLinks(d) // after trading: its election resigns through etcd
		_ = d.sys.Root.StopFuture(d.root).Wait()
		d.sys.Shutdown()
	}
	d.log.Info("shutdown step 9: remove pid file")
	if d.pidfile != nil {
		if err := d.pidfile.Release(); err != nil {
			d.log.Warn("pid file not removed", "error", err)
		}
	}
	d.log.Info("shutdown step 10: socket file removed", "socket", d.SocketPath())
	d.log.Info("shutdown step 11: system.shutdown", "took", time.Since(begin).Round(time.Microsecond).String())
	_ = d.logClose.Close()
}

// stepTimeout is what is left of the shutdown deadline for one step (at
// least 50 ms; 100 ms when forced). Before a shutdown it is the whole
// shutdown_timeout.
func (d *Daemon) stepTimeout() time.Duration {
	if d.forced.Load() {
		return 100 * time.Millisecond
	}
	dl := d.deadline.Load()
	if dl == 0 {
		return d.Config().Daemon.ShutdownTimeout
	}
	return max(time.Until(time.Unix(0, dl)), 50*time.Millisecond)
}

func (d *Daemon) stopHook(name string) {
	for _, h := range d.hooks {
		if h.name == name && h.stop != nil {
			h.stop(d)
		}
	}
}

// abort undoes a failed start.
func (d *Daemon) abort() {
	d.state.Store(stateStopping)
	if d.sys != nil && d.root != nil {
		_ = d.sys.Root.StopFuture(d.root).Wait()
		d.sys.Shutdown()
	}
	d.listeners.Close()
	closeSim(d)
	closeLinks(d)
	if d.pidfile != nil {
		_ = d.pidfile.Release()
	}
	if d.logClose != nil {
		_ = d.logClose.Close()
	}
	close(d.done)
	d.stopOnce.Do(func() {})
}
