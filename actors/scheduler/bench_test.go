package scheduler

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/tsc"
)

// benchJobs returns n jobs with a realistic mix of schedules.
func benchJobs(n int, action string) map[string]JobConfig {
	r := rand.New(rand.NewPCG(1, 2))
	jobs := make(map[string]JobConfig, n)
	for i := range n {
		j := DefaultJobConfig()
		j.Action = action
		switch i % 5 {
		case 0:
			j.Cron = fmt.Sprintf("%d %d * * *", r.IntN(60), r.IntN(24))
		case 1:
			j.Cron = fmt.Sprintf("*/%d * * * *", 1+r.IntN(30))
		case 2:
			j.Cron = fmt.Sprintf("%d 9-17 * * 1-5", r.IntN(60))
		case 3:
			j.At = fmt.Sprintf("%02d:%02d", r.IntN(24), r.IntN(60))
			j.Days = []int{1 + r.IntN(7)}
		case 4:
			j.Cron = "@hourly"
		}
		jobs[fmt.Sprintf("job%05d", i)] = j
	}
	return jobs
}

// BenchmarkNextRun10k: the next-run computation for 10,000 jobs, on an
// ordinary day and on a DST day (Europe/Berlin). ns/op is for all 10,000.
func BenchmarkNextRun10k(b *testing.B) {
	loc := mustLoc(b, "Europe/Berlin")
	cfg := DefaultConfig()
	cfg.Timezone = "Europe/Berlin"
	cfg.Jobs = benchJobs(10_000, "backtest.run")
	c, err := compile(cfg)
	if err != nil {
		b.Fatal(err)
	}
	scheds := make([]schedule, 0, len(c.jobs))
	for _, js := range c.jobs {
		scheds = append(scheds, js.sched)
	}
	for _, tc := range []struct {
		name string
		from time.Time
	}{
		{"ordinary_day", time.Date(2026, 6, 3, 10, 17, 0, 0, loc)},
		{"spring_forward_day", time.Date(2026, 3, 29, 0, 17, 0, 0, loc)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				for _, s := range scheds {
					_ = s.next(tc.from)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(scheds)), "ns/job")
		})
	}
}

// counter answers every request at once and counts them; done gets a
// value when the count reaches want.
type counter struct {
	n, want atomic.Int64
	done    chan struct{}
}

func (c *counter) Receive(ctx actor.Context) {
	switch ctx.Message().(type) {
	case *structpb.Struct:
		ctx.Respond(&messages.PingResponse{Name: "bench"})
		if c.n.Add(1) == c.want.Load() {
			c.done <- struct{}{}
		}
	}
}

// expect arms the counter for k more requests.
func (c *counter) expect(k int64) { c.want.Store(c.n.Load() + k) }

// benchScheduler spawns a scheduler with jobs whose action is answered by a
// counter, on a ManualClock.
func benchScheduler(b *testing.B, jobs map[string]JobConfig, start time.Time) (*actor.ActorSystem, *actor.PID, *ManualClock, *counter) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
	b.Cleanup(sys.Shutdown)
	cnt := &counter{done: make(chan struct{}, 1)}
	target := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return cnt }))
	router := rpc.NewRouter(time.Minute)
	router.MustAdd(rpc.Route{Method: "backtest.run", New: func() proto.Message { return &structpb.Struct{} }, Target: target})
	cfg := DefaultConfig()
	cfg.Timezone = "UTC"
	cfg.Jobs = jobs
	clock := NewManualClock(start)
	pid := sys.Root.Spawn(Props(cfg, Deps{Router: router, Clock: clock, Logger: actortest.Discard()}))
	b.Cleanup(func() {
		_ = sys.Root.StopFuture(pid).Wait()
		_ = sys.Root.StopFuture(target).Wait()
	})
	if _, err := TryRequest(sys, pid); err != nil {
		b.Fatal(err)
	}
	return sys, pid, clock, cnt
}

// TryRequest pings the scheduler: every earlier message has been handled.
func TryRequest(sys *actor.ActorSystem, pid *actor.PID) (*messages.PingResponse, error) {
	return actortest.TryRequest[*messages.PingResponse](sys, pid, &messages.PingRequest{}, time.Minute)
}

// BenchmarkDispatch10k: 10,000 jobs due in the same minute; one op is the
// wake-up that starts them all through the router, the counter answering
// each, and the scheduler recording every result.
func BenchmarkDispatch10k(b *testing.B) {
	const n = 10_000
	jobs := make(map[string]JobConfig, n)
	for i := range n {
		j := DefaultJobConfig()
		j.Cron, j.Action = "* * * * *", "backtest.run"
		jobs[fmt.Sprintf("job%05d", i)] = j
	}
	start := time.Date(2026, 6, 3, 10, 0, 30, 0, time.UTC)
	sys, pid, clock, cnt := benchScheduler(b, jobs, start)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		cnt.expect(n)
		clock.Set(start.Add(time.Duration(i+1) * time.Minute).Truncate(time.Minute))
		<-cnt.done
		if _, err := TryRequest(sys, pid); err != nil { // every result recorded
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/job")
}

// BenchmarkStart10k: spawning a scheduler with 10,000 jobs (compile and first
// schedule) until it answers.
func BenchmarkStart10k(b *testing.B) {
	jobs := benchJobs(10_000, "backtest.run")
	start := time.Date(2026, 6, 3, 10, 0, 30, 0, time.UTC)
	for b.Loop() {
		sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
		router := rpc.NewRouter(time.Minute)
		router.MustAdd(rpc.Route{Method: "backtest.run", New: func() proto.Message { return &structpb.Struct{} }, Target: sys.NewLocalPID("none")})
		cfg := DefaultConfig()
		cfg.Timezone = "UTC"
		cfg.Jobs = jobs
		pid := sys.Root.Spawn(Props(cfg, Deps{Router: router, Clock: NewManualClock(start), Logger: actortest.Discard()}))
		if _, err := TryRequest(sys, pid); err != nil {
			b.Fatal(err)
		}
		_ = sys.Root.StopFuture(pid).Wait()
		sys.Shutdown()
	}
}

// BenchmarkJobsLatencyWhileFiring: 100 jobs fire in the same second and a
// scheduler.jobs request arrives right behind the wake-up (and competes with
// the 100 replies, which the mailbox takes first). The "idle" case sends the
// same request with nothing firing: the baseline of this machine. Reports the
// request's latency: mean, p50, p99, max, and the share answered within 5 ms.
// time.Now steps by up to 4 ms on the CI VM, so single samples are coarse;
// the mean over many runs is not.
func BenchmarkJobsLatencyWhileFiring(b *testing.B) {
	const n = 100
	jobs := make(map[string]JobConfig, n)
	for i := range n {
		j := DefaultJobConfig()
		j.Cron, j.Action = "* * * * *", "backtest.run"
		jobs[fmt.Sprintf("job%03d", i)] = j
	}
	for _, firing := range []bool{false, true} {
		name := "idle"
		if firing {
			name = "100_jobs_firing"
		}
		b.Run(name, func(b *testing.B) {
			start := time.Date(2026, 6, 3, 10, 0, 30, 0, time.UTC)
			sys, pid, clock, cnt := benchScheduler(b, jobs, start)
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				if firing {
					cnt.expect(n)
					clock.Set(start.Add(time.Duration(i+1) * time.Minute).Truncate(time.Minute))
				}
				// time.Now moves in 4 ms steps here: time with the CPU counter,
				// keeping the calls that began and ended on one CPU.
				t0 := tsc.Now()
				res, err := actortest.TryRequest[*messages.SchedulerJobsResponse](sys, pid, &messages.SchedulerJobsRequest{}, time.Minute)
				if d := tsc.Since(t0); d != tsc.Invalid {
					lat = append(lat, d)
				}
				if err != nil || len(res.GetJobs()) != n {
					b.Fatalf("jobs: %v", err)
				}
				if firing {
					<-cnt.done
					if _, err := TryRequest(sys, pid); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportLatency(b, lat)
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	var sum time.Duration
	within := 0
	for _, d := range lat {
		sum += d
		if d <= 5*time.Millisecond {
			within++
		}
	}
	b.ReportMetric(ms(sum/time.Duration(len(lat))), "mean-ms")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
	b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
	b.ReportMetric(100*float64(within)/float64(len(lat)), "within5ms-%")
}
