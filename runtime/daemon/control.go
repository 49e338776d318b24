package daemon

import (
	"errors"
	"os"
	"runtime"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/actors/supervisor"
	"github.com/superbot/superbot/config"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/logging"
	"github.com/superbot/superbot/runtime/sdnotify"
)

// control is the daemon side of the root supervisor (supervisor.Control).
type control struct{ d *Daemon }

func (c control) Stop(force bool) { c.d.Stop(force) }

func (c control) Reload() *messages.ReloadConfigResponse { return c.d.Reload() }

func (c control) Resources() (*messages.Resources, error) { return SelfResources() }

// SelfResources measures this process with gopsutil.
func SelfResources() (*messages.Resources, error) {
	p, err := process.NewProcess(int32(os.Getpid()))
	if err != nil {
		return nil, err
	}
	r := &messages.Resources{Pid: p.Pid, Goroutines: int32(runtime.NumGoroutine())}
	if cpu, err := p.CPUPercent(); err == nil {
		r.CpuPercent = cpu
	}
	if mem, err := p.MemoryInfo(); err == nil {
		r.RssBytes = mem.RSS
	}
	if n, err := p.NumThreads(); err == nil {
		r.Threads = n
	}
	if n, err := p.NumFDs(); err == nil {
		r.OpenFds = n
	}
	return r, nil
}

// Reload re-reads the config. A bad config changes nothing: the problems
// are returned and logged. A good one is applied section by section; what
// cannot change at runtime is reported as needing a restart.
func (d *Daemon) Reload() *messages.ReloadConfigResponse {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	_ = sdnotify.Notify(sdnotify.ReloadingState())
	defer func() { _ = sdnotify.Notify(sdnotify.Ready) }()
	next, err := config.Load(d.opts.ConfigPath)
	if err != nil {
		res := &messages.ReloadConfigResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, "config has problems; the running config is kept")}
		var probs *config.Problems
		if errors.As(err, &probs) {
			for _, p := range probs.List {
				res.Problems = append(res.Problems, p.String())
			}
		} else {
			res.Problems = []string{err.Error()}
		}
		res.Error.Details = res.Problems
		d.log.Warn("config reload rejected", "problems", len(res.Problems), "first", res.Problems[0])
		return res
	}
	prev := d.Config()
	changed := config.Diff(prev, next)
	d.mu.Lock()
	d.live = next
	d.mu.Unlock()
	res := &messages.ReloadConfigResponse{Applied: true}
	modulesDone := false
	for _, key := range changed {
		if isModulesKey(key) {
			if !modulesDone { // all module definitions at once
				modulesDone = true
				done, problems := reloadModules(d, next)
				res.Changed = append(res.Changed, done...)
				res.Problems = append(res.Problems, problems...)
			}
			continue
		}
		res.Changed = append(res.Changed, key)
		if note := d.apply(key, prev, next); note != "" {
			res.Problems = append(res.Problems, key+": "+note)
		}
	}
	d.log.Info("config reloaded", "changed", changed)
	return res
}

// apply puts one changed section into effect; it returns a note when the
// change needs a restart to take effect.
func (d *Daemon) apply(key string, prev, next *config.Config) string {
	switch key {
	case "daemon.logging":
		if lvl, err := logging.ParseLevel(next.Daemon.Logging.Level); err == nil {
			d.level.Set(lvl)
		}
		if next.Daemon.Logging.Format != prev.Daemon.Logging.Format || next.Daemon.Logging.File != prev.Daemon.Logging.File {
			return "level applied; format and file take effect after a restart"
		}
		return ""
	}
	for _, h := range d.hooks {
		if h.reload != nil && h.section == key {
			return h.reload(d, next)
		}
	}
	return "takes effect after a restart"
}

// coreRoutes are the daemon-wide methods answered by the root supervisor
// and the bus.
func (d *Daemon) coreRoutes() []rpc.Route {
	return append(supervisor.Routes(d.root), bus.Routes(d.pids[bus.Kind])...)
}
