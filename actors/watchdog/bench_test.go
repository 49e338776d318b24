package watchdog

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/modules"
	"github.com/superbot/superbot/messages"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatchdog100Modules measures the watchdog's CPU with 100 running
// modules at a 1 s check interval, as a percentage of one core: each
// iteration is one second; the same seconds without the watchdog are the
// baseline. Run: go test -run '^$' -bench Watchdog100 -benchtime 10x ./actors/watchdog/
func BenchmarkWatchdog100Modules(b *testing.B) {
	mods := map[string]modules.ModuleConfig{}
	var names []string
	for i := range 100 {
		n := fmt.Sprintf("m%03d", i)
		m := execModule("/bin/sleep", "3600")
		mods[n] = m
		names = append(names, n)
	}
	mc := modules.Config{Modules: mods, Autostart: names}
	sys := actortest.NewSystem(b)
	bus := actortest.NewProbe(b, sys)
	mp := actortest.Spawn(b, sys, modules.Props(mc, modules.Deps{Bus: bus.PID}))
	b.Cleanup(func() {
		_, _ = actortest.TryRequest[*modules.StopAllResult](sys, mp, modules.StopAll{}, 30*time.Second)
	})
	if res, err := actortest.TryRequest[*modules.AutostartResult](sys, mp, modules.StartAutostart{}, 30*time.Second); err != nil || len(res.Started) != 100 {
		b.Fatalf("autostart: %v %v", res, err)
	}
	window := time.Duration(b.N) * time.Second
	measure := func() float64 {
		c0, t0 := cpuTime(), time.Now()
		<-time.After(window)
		return float64(cpuTime()-c0) / float64(time.Since(t0)) * 100
	}
	b.ResetTimer()
	base := measure()
	cfg := DefaultConfig()
	cfg.CheckInterval = time.Second
	wd := actortest.Spawn(b, sys, Props(cfg, Deps{Bus: bus.PID, Modules: mp}))
	with := measure()
	b.StopTimer()
	actortest.Eventually(b, 5*time.Second, func() bool {
		st := actortest.Request[*messages.ModuleStatusResponse](b, sys, mp, &messages.ModuleStatusRequest{Module: "m050"}).Status
		return st.GetResources().GetRssBytes() > 0
	}, "resources recorded")
	_ = sys.Root.StopFuture(wd).Wait()
	b.ReportMetric(base, "base-%cpu")
	b.ReportMetric(with, "with-%cpu")
	b.ReportMetric(with-base, "watchdog-%cpu")
}
