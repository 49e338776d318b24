package cluster_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// counter is an acking bus subscriber that counts events.
type counter struct {
	acks *bus.Acker
	got  atomic.Int64
}

func (c *counter) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*messages.Event); ok {
		c.acks.Handled(ctx)
		c.got.Add(1)
	}
}

func (n *node) counter(b testing.TB, pattern string) *counter {
	c := &counter{acks: bus.NewAcker(n.bus, 65536)}
	pid := actortest.Spawn(b, n.sys, actor.PropsFromProducer(func() actor.Actor { return c }))
	res := actortest.Request[*messages.SubscribeResponse](b, n.sys, n.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: pid, QueueSize: 65536})
	if res.Error != nil {
		b.Fatal(res.Error)
	}
	return c
}

// benchNodes starts three nodes with real remotes on 127.0.0.1 and waits
// until they see each other.
func benchNodes(b *testing.B) []*node {
	b.Helper()
	nodes := startNodesWith(b, clustertestEtcd(b), nil, false, true, "a", "b", "c")
	for _, n := range nodes {
		waitMembers(b, n, "a", "b", "c")
	}
	return nodes
}

// burst is how far BenchmarkBusAcrossNodes's publisher may run ahead of
// its subscribers (two bursts at most: inside a forwarder's window).
const burst = 16384

// BenchmarkBusAcrossNodes publishes b.N events on node a to one subscriber
// on each of b and c (3 nodes, real remote over 127.0.0.1, one process) and
// reports events/s until both have every event; "local" is the floor: the
// same with both subscribers on a. The publisher stays inside the
// forwarders' window, so nothing is dropped: this is the sustained rate.
func BenchmarkBusAcrossNodes(b *testing.B) {
	nodes := benchNodes(b)
	a := nodes[0]
	run := 0
	for _, bc := range []struct {
		name string
		subs []*node
	}{{"local", []*node{a, a}}, {"3nodes", nodes[1:]}} {
		b.Run(bc.name, func(b *testing.B) {
			var cs []*counter
			// A topic of this run's own: the last run's subscribers leave
			// while this one's join, and a must wait for these.
			run++
			topic := fmt.Sprintf("bench.%s%d", bc.name, run)
			for _, n := range bc.subs {
				cs = append(cs, n.counter(b, topic+".>"))
			}
			for _, s := range bc.subs {
				if s != a {
					waitPattern(b, a, s.name, topic+".>")
				}
			}
			ev := func() *messages.Event { return &messages.Event{Topic: topic + ".tick", Source: "bench"} }
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				a.sys.Root.Send(a.bus, ev())
				if i%burst == burst-1 { // stay inside the forwarders' window: no drops
					for _, c := range cs {
						for c.got.Load() < int64(i+1-burst) {
							time.Sleep(100 * time.Microsecond)
						}
					}
				}
			}
			for _, c := range cs {
				for c.got.Load() < int64(b.N) {
					if time.Since(start) > 2*time.Minute {
						b.Fatalf("%d of %d events arrived", c.got.Load(), b.N)
					}
					time.Sleep(time.Millisecond)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}

// waitPattern waits until n sees pattern among of's patterns.
func waitPattern(t testing.TB, n *node, of, pattern string) {
	t.Helper()
	actortest.Eventually(t, 10*time.Second, func() bool {
		for _, m := range n.members(t).Members {
			if m.Node == of && slices.Contains(m.Patterns, pattern) {
				return true
			}
		}
		return false
	}, "%s sees %s's pattern %s", n.name, of, pattern)
}

// echo is a bus subscriber that sends each event's index (its source) back to a
// collector (on another node for the remote case).
type echo struct {
	acks *bus.Acker
	to   *actor.PID
}

func (e *echo) Receive(ctx actor.Context) {
	if ev, ok := ctx.Message().(*messages.Event); ok {
		e.acks.Handled(ctx)
		idx, _ := strconv.ParseUint(ev.Source, 10, 64)
		ctx.Send(e.to, wrapperspb.UInt64(idx))
	}
}

// BenchmarkBusLatency publishes 10,000 events/s on node a for b.N events
// to a subscriber on node b that sends each back to a; one goroutine on a
// (one clock) stamps the publish and the return, and p50/p99 of that
// round trip are reported (the one-way latency is below it). "local" is
// the floor: the subscriber on a.
func BenchmarkBusLatency(b *testing.B) {
	nodes := benchNodes(b)
	a := nodes[0]
	run := 0
	for _, bc := range []struct {
		name string
		sub  *node
	}{{"local", a}, {"remote", nodes[1]}} {
		b.Run(bc.name, func(b *testing.B) {
			back := make(chan uint64, 65536)
			collector := actortest.Spawn(b, a.sys, actor.PropsFromFunc(func(ctx actor.Context) {
				if v, ok := ctx.Message().(*wrapperspb.UInt64Value); ok {
					back <- v.Value
				}
			}))
			e := &echo{acks: bus.NewAcker(bc.sub.bus, 65536), to: collector}
			pid := actortest.Spawn(b, bc.sub.sys, actor.PropsFromProducer(func() actor.Actor { return e }))
			run++ // a topic of this run's own (see BenchmarkBusAcrossNodes)
			topic := fmt.Sprintf("lat.%s%d", bc.name, run)
			pattern := topic + ".>"
			actortest.Request[*messages.SubscribeResponse](b, bc.sub.sys, bc.sub.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: pid, QueueSize: 65536})
			if bc.sub != a {
				waitPattern(b, a, bc.sub.name, pattern)
			}
			lat := latencyRun(b, a, topic+".tick", back)
			reportLatency(b, lat)
		})
	}
}

// stamp is a bus subscriber that measures each event's one-way latency:
// its source is the publish time (ns since base), read on this goroutine's
// clock. Only comparable when every goroutine shares one CPU's clock.
type stamp struct {
	acks *bus.Acker
	base time.Time
	out  chan time.Duration
}

func (s *stamp) Receive(ctx actor.Context) {
	if ev, ok := ctx.Message().(*messages.Event); ok {
		s.acks.Handled(ctx)
		sent, _ := strconv.ParseInt(ev.Source, 10, 64)
		s.out <- time.Since(s.base) - time.Duration(sent)
	}
}

// BenchmarkBusOneWay publishes 10,000 events/s on node a for b.N events
// to a subscriber on node b and reports p50/p99 of publish -> delivery.
// The two times are taken on two goroutines, so it first bounds how far
// the CPUs' clocks disagree (clockSkewBound, reported as skew-bound-ns)
// and skips when that exceeds 20 µs. "local" is the floor.
func BenchmarkBusOneWay(b *testing.B) {
	bound, err := clockSkewBound()
	if err != nil || bound > 20*time.Microsecond {
		b.Skipf("the CPUs' clocks disagree by up to %s (%v): one-way times are not comparable; run under taskset -c 0", bound, err)
	}
	nodes := benchNodes(b)
	a := nodes[0]
	run := 0
	for _, bc := range []struct {
		name string
		sub  *node
	}{{"local", a}, {"remote", nodes[1]}} {
		b.Run(bc.name, func(b *testing.B) {
			base := time.Now()
			s := &stamp{acks: bus.NewAcker(bc.sub.bus, 65536), base: base, out: make(chan time.Duration, b.N)}
			pid := actortest.Spawn(b, bc.sub.sys, actor.PropsFromProducer(func() actor.Actor { return s }))
			run++
			topic := fmt.Sprintf("oneway.%s%d", bc.name, run)
			actortest.Request[*messages.SubscribeResponse](b, bc.sub.sys, bc.sub.bus, &messages.SubscribeRequest{Pattern: topic, Subscriber: pid, QueueSize: 65536})
			if bc.sub != a {
				waitPattern(b, a, bc.sub.name, topic)
			}
			const every = 100 * time.Microsecond
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				if d := time.Duration(i)*every - time.Since(start); d > 0 {
					time.Sleep(d)
				}
				a.sys.Root.Send(a.bus, &messages.Event{Topic: topic, Source: strconv.FormatInt(int64(time.Since(base)), 10)})
			}
			lat := make([]time.Duration, 0, b.N)
			deadline := time.After(time.Minute)
			for len(lat) < b.N {
				select {
				case d := <-s.out:
					lat = append(lat, d)
				case <-deadline:
					b.Fatalf("%d of %d events delivered after a minute", len(lat), b.N)
				}
			}
			slices.Sort(lat)
			reportLatency(b, lat)
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds()), "max-µs")
			b.ReportMetric(float64(bound.Nanoseconds()), "skew-bound-ns")
		})
	}
}

// clockSkewBound bounds how far the clocks of the CPUs this process may
// run on disagree: a thread on the first CPU and one on each other CPU
// pass a time stamp back and forth, and the least one-way delay seen in
// each direction bounds the skew (a delay is never negative). Zero with
// one CPU.
func clockSkewBound() (time.Duration, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return 0, err
	}
	var cpus []int
	for c := range 1024 {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	var worst time.Duration
	for _, other := range cpus[1:] {
		d, err := pingPong(cpus[0], other)
		if err != nil {
			return 0, err
		}
		worst = max(worst, d)
	}
	return worst, nil
}

// pingPong bounces a time stamp 20,000 times between a thread on CPU x
// and one on CPU y and returns the larger of the two least one-way delays.
func pingPong(x, y int) (time.Duration, error) {
	base := time.Now()
	var xy, yx atomic.Int64 // a stamp + 1; 0: empty
	pin := func(cpu int) error {
		runtime.LockOSThread() // never unlocked: the pinned thread exits with its goroutine
		var s unix.CPUSet
		s.Set(cpu)
		return unix.SchedSetaffinity(0, &s)
	}
	const rounds = 20000
	type result struct {
		least time.Duration
		err   error
	}
	done := make(chan result, 1)
	go func() {
		if err := pin(y); err != nil {
			xy.Store(-1)
			done <- result{err: err}
			return
		}
		least := time.Hour
		for range rounds {
			v := xy.Load()
			for ; v == 0; v = xy.Load() {
			}
			xy.Store(0)
			least = min(least, time.Since(base)-time.Duration(v-1))
			yx.Store(int64(time.Since(base)) + 1)
		}
		done <- result{least: least}
	}()
	errc := make(chan result, 1)
	go func() {
		if err := pin(x); err != nil {
			errc <- result{err: err}
			return
		}
		least := time.Hour
		for range rounds {
			xy.Store(int64(time.Since(base)) + 1)
			v := yx.Load()
			for ; v == 0; v = yx.Load() {
				if xy.Load() == -1 { // the other thread failed
					errc <- result{}
					return
				}
			}
			yx.Store(0)
			least = min(least, time.Since(base)-time.Duration(v-1))
		}
		errc <- result{least: least}
	}()
	a, b := <-errc, <-done
	if b.err != nil || a.err != nil {
		return 0, cmp.Or(a.err, b.err)
	}
	return max(a.least, b.least), nil
}

// reportLatency reports p50 and p99 of sorted latencies, in µs.
func reportLatency(b *testing.B, lat []time.Duration) {
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

// latencyRun publishes b.N events at 10,000/s and returns the sorted round
// trips. It runs on one goroutine, locked to its thread: every time it
// compares is its own. It blocks until a reply or the next send is due; a
// late timer only delays a send, whose time is taken just before it. Each
// event's source is its index, which the echo sends back.
func latencyRun(b *testing.B, a *node, topic string, back chan uint64) []time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const every = 100 * time.Microsecond
	sent := make([]time.Time, b.N)
	out := make([]time.Duration, 0, b.N)
	timer := time.NewTimer(0)
	defer timer.Stop()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N || len(out) < b.N; {
		for i < b.N && time.Since(start) >= time.Duration(i)*every {
			sent[i] = time.Now()
			a.sys.Root.Send(a.bus, &messages.Event{Topic: topic, Source: strconv.Itoa(i)})
			i++
		}
		wait := time.Minute
		if i < b.N {
			wait = time.Duration(i)*every - time.Since(start)
		}
		timer.Reset(wait)
		select {
		case idx := <-back:
			out = append(out, time.Since(sent[idx]))
		case <-timer.C:
		}
		if time.Since(start) > time.Duration(b.N)*every+time.Minute {
			b.Fatalf("%d of %d round trips after a minute past the schedule", len(out), b.N)
		}
	}
	slices.Sort(out)
	return out
}

// BenchmarkControlCall calls module.status through node a's router, one
// call at a time: "local" answered by a, "remote" with node = "b" (relayed
// over remote to b's cluster actor and its router, and back).
func BenchmarkControlCall(b *testing.B) {
	nodes := benchNodes(b)
	a := nodes[0]
	for _, n := range nodes[:2] {
		target := actortest.Spawn(b, n.sys, actor.PropsFromFunc(func(ctx actor.Context) {
			if req, ok := ctx.Message().(*messages.ModuleStatusRequest); ok {
				ctx.Respond(&messages.ModuleStatusResponse{Status: &messages.ModuleStatus{Name: req.Module, State: "running"}})
			}
		}))
		n.router.MustAdd(rpc.Route{Method: "module.status", Target: target, New: func() proto.Message { return &messages.ModuleStatusRequest{} }})
	}
	for _, bc := range []struct{ name, node string }{{"local", "a"}, {"remote", "b"}} {
		b.Run(bc.name, func(b *testing.B) {
			params, _ := json.Marshal(map[string]string{"module": "web", "node": bc.node})
			lat := make([]time.Duration, 0, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p, err := a.router.Call(a.sys.Root, "module.status", params)
				if err != nil {
					b.Fatal(err)
				}
				res, err := p.Result()
				if err != nil {
					b.Fatal(err)
				}
				if st := res.(*messages.ModuleStatusResponse); st.Status.GetState() != "running" {
					b.Fatalf("answer %v", res)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			reportLatency(b, lat)
		})
	}
}

// BenchmarkLocalPublish publishes b.N events to one local acking subscriber:
// "plain" on a bus of its own (no cluster), "clustered" on node a of a
// 3-node cluster whose other nodes subscribe to other topics (the cluster
// actor and two forwarders are subscribed on a's bus). Clustering must not
// slow local publishing when nobody remote wants the events.
func BenchmarkLocalPublish(b *testing.B) {
	nodes := benchNodes(b)
	a := nodes[0]
	nodes[1].counter(b, "elsewhere.>")
	nodes[2].counter(b, "other.*.topic")
	waitPatterns(b, a, "b", "elsewhere.>")
	waitPatterns(b, a, "c", "other.*.topic")
	plain := &node{name: "plain", sys: actortest.NewSystem(b)}
	plain.bus = actortest.Spawn(b, plain.sys, bus.Props(bus.DefaultConfig(), "plain", actortest.Discard()))
	for _, n := range []*node{plain, a} {
		name := "plain"
		if n == a {
			name = "clustered"
		}
		b.Run(name, func(b *testing.B) {
			c := n.counter(b, "price.*.update")
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				n.sys.Root.Send(n.bus, &messages.Event{Topic: "price.BTCUSDT.update", Source: "bench"})
			}
			for c.got.Load() < int64(b.N) {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
		})
	}
}
