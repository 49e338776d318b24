package daemon

import (
	"errors"
	"os"
	"runtime"
	"runtime/metrics"

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
	// The runtime's total counts heap pages already returned to the OS
	// (released): those are not resident, so they are taken off.
	ms := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
	}
	metrics.Read(ms)
	r.GoHeapBytes = ms[0].Value.Uint64()
	r.GoRuntimeBytes = ms[1].Value.Uint64() - ms[2].Value.Uint64()
	return r, nil
}

// Reload re-reads the config, as nats-server does: diff against the config
// in effect, check everything, apply key by key, and only then make live
// what was applied. A bad config changes nothing: the problems are returned
// and logged. What cannot change at runtime stays as it was and is listed
// in NotApplied with the reason, so the next reload reports it again.
// Before the daemon is ready (and once it is stopping) a reload is refused.
func (d *Daemon) Reload() *messages.ReloadConfigResponse {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	switch d.state.Load() {
	case stateStarting:
		return &messages.ReloadConfigResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
			"the daemon is starting: reload once it is ready (system.ready); nothing was changed")}
	case stateStopping:
		return &messages.ReloadConfigResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE,
			"the daemon is stopping: nothing was changed")}
	}
	_ = sdnotify.Notify(sdnotify.ReloadingState())
	defer func() { _ = sdnotify.Notify(sdnotify.Ready) }()
	next, err := config.Load(d.opts.ConfigPath)
	if err != nil {
		return d.rejectReload(err)
	}
	prev := d.Config()
	changed := config.DiffKeys(prev, next)
	if err := d.checkReload(changed, next); err != nil {
		return d.rejectReload(err)
	}
	res := &messages.ReloadConfigResponse{Changed: changed}
	for _, step := range d.reloadSteps(changed) {
		r := step.apply(prev, next)
		res.Actions = append(res.Actions, r.actions...)
		for _, key := range step.keys {
			why := r.note
			if why == "" {
				why = r.failed[key]
			}
			if why != "" {
				res.NotApplied = append(res.NotApplied, key+": "+why)
				continue
			}
			res.InEffect = append(res.InEffect, key)
		}
	}
	live, err := prev.With(next, res.InEffect)
	if err != nil { // a key DiffKeys gave that With cannot take: a bug
		d.log.Error("reload: config in effect not updated", "error", err)
		live = prev
		res.NotApplied, res.InEffect = append(res.NotApplied, res.InEffect...), nil
	}
	d.mu.Lock()
	d.live = live
	d.mu.Unlock()
	res.Applied = len(res.NotApplied) == 0
	d.log.Info("config reloaded", "in_effect", res.InEffect, "not_applied", res.NotApplied)
	return res
}

// rejectReload answers a reload whose config is bad: nothing changed.
func (d *Daemon) rejectReload(err error) *messages.ReloadConfigResponse {
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

// checkReload runs the checks of every component whose keys changed, before
// anything is applied.
func (d *Daemon) checkReload(changed []string, next *config.Config) error {
	var probs config.Problems
	for _, h := range d.hooks {
		if h.check == nil || len(h.claim(changed)) == 0 {
			continue
		}
		if err := h.check(d, next); err != nil {
			probs.List = append(probs.List, config.Problem{Key: h.section, Msg: err.Error()})
		}
	}
	if len(probs.List) == 0 {
		return nil
	}
	return &probs
}

// reloadStep applies some changed keys at once.
type reloadStep struct {
	keys  []string
	apply func(prev, next *config.Config) stepResult
}

// stepResult is what a reloadStep did.
type stepResult struct {
	// note says why none of the step's keys was applied; "" when they were
	// (but those in failed).
	note string
	// failed maps keys that were not applied to why.
	failed map[string]string
	// actions says what the step did, one line each.
	actions []string
}

// noted is a stepResult of a step that applied all (note "") or nothing.
func noted(note string) stepResult { return stepResult{note: note} }

// reloadSteps groups the changed keys by what applies them: the daemon's
// own keys, each component hook (one call for all its keys), and the rest,
// which needs a restart.
func (d *Daemon) reloadSteps(changed []string) []reloadStep {
	var steps []reloadStep
	claimed := map[string]bool{}
	for _, key := range changed {
		switch key {
		case "daemon.logging.level":
			steps = append(steps, reloadStep{keys: []string{key}, apply: d.applyLevel})
		case "daemon.shutdown_timeout": // read from the config in effect
			steps = append(steps, reloadStep{keys: []string{key}, apply: func(_, _ *config.Config) stepResult { return stepResult{} }})
		default:
			continue
		}
		claimed[key] = true
	}
	var mods []string // module definitions and autostart: applied at once
	for _, key := range changed {
		if isModulesKey(key) || key == "daemon.autostart" {
			mods = append(mods, key)
			claimed[key] = true
		}
	}
	if len(mods) > 0 {
		steps = append(steps, reloadStep{keys: mods, apply: func(_, next *config.Config) stepResult { return reloadModules(d, next) }})
	}
	for _, h := range d.hooks {
		keys := h.claim(changed)
		if h.reload == nil || len(keys) == 0 {
			continue
		}
		for _, k := range keys {
			claimed[k] = true
		}
		steps = append(steps, reloadStep{keys: keys, apply: func(_, next *config.Config) stepResult { return noted(h.reload(d, next)) }})
	}
	for _, key := range changed {
		if !claimed[key] {
			steps = append(steps, reloadStep{keys: []string{key}, apply: func(_, _ *config.Config) stepResult { return noted("takes effect after a restart") }})
		}
	}
	return steps
}

func (d *Daemon) applyLevel(_, next *config.Config) stepResult {
	lvl, err := logging.ParseLevel(next.Daemon.Logging.Level)
	if err != nil {
		return noted(err.Error())
	}
	d.level.Set(lvl)
	return stepResult{}
}

// coreRoutes are the daemon-wide methods answered by the root supervisor
// and the bus.
// monitoring.health is the local actor's (step 5): it adds the core
// modules to the root's answer.
func (d *Daemon) coreRoutes() []rpc.Route {
	var out []rpc.Route
	for _, rt := range supervisor.Routes(d.root) {
		if rt.Method != "monitoring.health" {
			out = append(out, rt)
		}
	}
	return append(out, bus.Routes(d.pids[bus.Kind])...)
}
