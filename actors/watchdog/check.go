package watchdog

import (
	"context"
	"errors"
	"sync"

	"github.com/shirou/gopsutil/v3/process"

	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

// job is one module to check; proc is the previous round's handle (for CPU %).
type job struct {
	target modules.WatchTarget
	proc   *process.Process
}

// runRound checks every job with at most cfg.MaxConcurrent at once and
// reports each result. It blocks: run it off the actor goroutine.
func runRound(ctx context.Context, cfg Config, jobs []job, report func(result)) {
	sem := make(chan struct{}, cfg.MaxConcurrent)
	var wg sync.WaitGroup
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			report(check(ctx, cfg, j))
		}()
	}
	wg.Wait()
}

// check inspects one process with gopsutil and, when set, its HTTP health.
func check(ctx context.Context, cfg Config, j job) result {
	r := result{target: j.target}
	p := j.proc
	if p == nil || int(p.Pid) != j.target.PID {
		var err error
		p, err = process.NewProcessWithContext(ctx, int32(j.target.PID))
		if errors.Is(err, process.ErrorProcessNotRunning) {
			r.gone = true
			return r
		}
		if err != nil {
			r.err = err
			return r
		}
	}
	r.proc = p
	if st, err := p.StatusWithContext(ctx); err == nil && len(st) > 0 && st[0] == process.Zombie {
		r.zombie = true
	} else if err != nil {
		if ok, _ := p.IsRunningWithContext(ctx); !ok {
			r.gone = true
			return r
		}
	}
	res := &messages.Resources{Pid: int32(j.target.PID)}
	if mi, err := p.MemoryInfoWithContext(ctx); err == nil {
		res.RssBytes = mi.RSS
	}
	if cpu, err := p.PercentWithContext(ctx, 0); err == nil {
		res.CpuPercent = cpu
	}
	if n, err := p.NumThreadsWithContext(ctx); err == nil {
		res.Threads = n
	}
	if n, err := p.NumFDsWithContext(ctx); err == nil {
		res.OpenFds = n
	}
	r.res = res
	if j.target.HealthURL != "" && !r.zombie {
		r.checked = true
		r.health = modules.CheckHealth(ctx, j.target.HealthURL, cfg.HealthTimeout)
	}
	return r
}
