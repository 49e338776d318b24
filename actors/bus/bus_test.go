package bus_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, topic string
		want           bool
	}{
		{"price.BTCUSDT.update", "price.BTCUSDT.update", true},
		{"price.*.update", "price.BTCUSDT.update", true},
		{"price.*.update", "price.BTCUSDT.trade", false},
		{"price.*", "price.BTCUSDT.update", false},
		{"price.>", "price.BTCUSDT.update", true},
		{"price.>", "price", false},
		{">", "system.ready", true},
		{"*", "system", true},
		{"*", "system.ready", false},
		{"system.ready", "system", false},
		{"system", "system.ready", false},
		{"*.*", "a.b", true},
		{"a.*.c.>", "a.b.c.d.e", true},
		{"a.*.c.>", "a.b.c", false},
	}
	for _, c := range cases {
		t.Run(c.pattern+"~"+c.topic, func(t *testing.T) {
			if got := bus.Match(c.pattern, c.topic); got != c.want {
				t.Fatalf("Match(%q, %q) = %v, want %v", c.pattern, c.topic, got, c.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	cases := []struct {
		name      string
		s         string
		topicOK   bool
		patternOK bool
	}{
		{"plain", "system.ready", true, true},
		{"empty", "", false, false},
		{"empty segment", "a..b", false, false},
		{"trailing dot", "a.b.", false, false},
		{"star", "price.*.update", false, true},
		{"tail", "price.>", false, true},
		{"tail not last", "price.>.x", false, false},
		{"space", "a b", false, false},
		{"long", string(make([]byte, 300)), false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := bus.ValidateTopic(c.s); (err == nil) != c.topicOK {
				t.Fatalf("ValidateTopic(%q) = %v", c.s, err)
			}
			if err := bus.ValidatePattern(c.s); (err == nil) != c.patternOK {
				t.Fatalf("ValidatePattern(%q) = %v", c.s, err)
			}
		})
	}
}

func spawnBus(t *testing.T, sys *actor.ActorSystem, cfg bus.Config) *actor.PID {
	return actortest.Spawn(t, sys, bus.Props(cfg, "node-a", actortest.Logger(t)))
}

func subscribe(t *testing.T, sys *actor.ActorSystem, b, who *actor.PID, pattern string, size uint32) uint64 {
	t.Helper()
	res := actortest.Request[*messages.SubscribeResponse](t, sys, b, &messages.SubscribeRequest{Pattern: pattern, Subscriber: who, QueueSize: size})
	if res.Error != nil {
		t.Fatalf("subscribe %q: %v", pattern, res.Error)
	}
	return res.SubscriptionId
}

func publish(t *testing.T, sys *actor.ActorSystem, b *actor.PID, topic string) *messages.PublishResponse {
	t.Helper()
	return actortest.Request[*messages.PublishResponse](t, sys, b, &messages.PublishRequest{Event: messages.NewEvent(topic, "test", nil)})
}

func stats(t *testing.T, sys *actor.ActorSystem, b *actor.PID) *messages.BusStatsResponse {
	t.Helper()
	return actortest.Request[*messages.BusStatsResponse](t, sys, b, &messages.BusStatsRequest{})
}

func TestPublishRoutesByPattern(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	prices := actortest.NewProbe(t, sys)
	all := actortest.NewProbe(t, sys)
	subscribe(t, sys, b, prices.PID, "price.*.update", 0)
	subscribe(t, sys, b, all.PID, ">", 0)
	subscribe(t, sys, b, all.PID, "price.>", 0) // same subscriber twice: delivered once

	for _, topic := range []string{"price.BTCUSDT.update", "system.ready", "price.ETHUSDT.trade"} {
		if res := publish(t, sys, b, topic); res.Error != nil {
			t.Fatalf("publish %s: %v", topic, res.Error)
		}
	}
	ev := actortest.Expect[*messages.Event](t, prices, actortest.DefaultTimeout)
	if ev.Topic != "price.BTCUSDT.update" || ev.Node != "node-a" || ev.Sequence != 1 || ev.Time == nil || ev.Source != "test" {
		t.Fatalf("unexpected event %v", ev)
	}
	prices.ExpectNoMessage(30 * time.Millisecond)
	for i, want := range []string{"price.BTCUSDT.update", "system.ready", "price.ETHUSDT.trade"} {
		ev := actortest.Expect[*messages.Event](t, all, actortest.DefaultTimeout)
		if ev.Topic != want || ev.Sequence != uint64(i+1) {
			t.Fatalf("event %d = %s #%d, want %s #%d", i, ev.Topic, ev.Sequence, want, i+1)
		}
	}
	all.ExpectNoMessage(30 * time.Millisecond)
	st := stats(t, sys, b)
	if st.Published != 3 || st.Delivered != 4 || st.Subscriptions != 3 {
		t.Fatalf("stats = %v", st)
	}
}

func TestPublishToPatternIsAnError(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	subscribe(t, sys, b, p.PID, ">", 0)
	for _, topic := range []string{"price.*.update", "price.>", "", "a..b"} {
		res := publish(t, sys, b, topic)
		if res.Error == nil || res.Error.Code != messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT {
			t.Fatalf("publish %q: want invalid argument, got %v", topic, res)
		}
	}
	sys.Root.Send(b, messages.NewEvent("x.*", "test", nil)) // fire-and-forget: counted, not delivered
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return stats(t, sys, b).Rejected == 5 }, "rejected count")
	p.ExpectNoMessage(30 * time.Millisecond)
}

func TestSubscribeRejectsBadInput(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.Config{QueueSize: 8, MaxQueueSize: 16})
	p := actortest.NewProbe(t, sys)
	cases := []struct {
		name string
		req  *messages.SubscribeRequest
	}{
		{"no subscriber", &messages.SubscribeRequest{Pattern: ">"}},
		{"bad pattern", &messages.SubscribeRequest{Pattern: "a.>.b", Subscriber: p.PID}},
		{"queue too big", &messages.SubscribeRequest{Pattern: ">", Subscriber: p.PID, QueueSize: 17}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := actortest.Request[*messages.SubscribeResponse](t, sys, b, c.req)
			if res.Error == nil {
				t.Fatalf("want an error")
			}
		})
	}
	if st := stats(t, sys, b); st.Subscriptions != 0 {
		t.Fatalf("bad subscriptions were kept: %v", st)
	}
}

// TestSlowSubscriberDropsOldest: a subscriber that never acks gets its first
// window; the bus then holds only the newest QueueSize events and counts the
// rest as dropped. Acking releases the held (newest) events.
func TestSlowSubscriberDropsOldest(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	subscribe(t, sys, b, p.PID, "tick", 4)
	for i := 0; i < 20; i++ {
		publish(t, sys, b, "tick")
	}
	for i := 1; i <= 4; i++ {
		if ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout); ev.Sequence != uint64(i) {
			t.Fatalf("window event %d has sequence %d", i, ev.Sequence)
		}
	}
	p.ExpectNoMessage(30 * time.Millisecond)
	st := stats(t, sys, b)
	if st.Dropped != 12 || st.Delivered != 4 || len(st.Patterns) != 1 || st.Patterns[0].Dropped != 12 || st.Patterns[0].Queued != 4 {
		t.Fatalf("stats = %v", st)
	}
	sys.Root.Send(b, &messages.EventAck{Subscriber: p.PID, Count: 4})
	for i := 17; i <= 20; i++ {
		if ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout); ev.Sequence != uint64(i) {
			t.Fatalf("held event has sequence %d, want %d", ev.Sequence, i)
		}
	}
	if st := stats(t, sys, b); st.Delivered != 8 || st.Patterns[0].Queued != 0 {
		t.Fatalf("stats after ack = %v", st)
	}
}

// TestHeldRingGrowsToTheWindow: a queue longer than the ring a subscriber
// starts with (64) still holds exactly its newest QueueSize events, in order,
// as the ring grows past a length that is not a power of two.
func TestHeldRingGrowsToTheWindow(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	const size = 200
	subscribe(t, sys, b, p.PID, "tick", size)
	for i := 0; i < 3*size; i++ {
		publish(t, sys, b, "tick")
	}
	for i := 1; i <= size; i++ {
		if ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout); ev.Sequence != uint64(i) {
			t.Fatalf("window event %d has sequence %d", i, ev.Sequence)
		}
	}
	if st := stats(t, sys, b); st.Dropped != size || st.Patterns[0].Queued != size {
		t.Fatalf("stats = %v", st)
	}
	sys.Root.Send(b, &messages.EventAck{Subscriber: p.PID, Count: size})
	for i := 2*size + 1; i <= 3*size; i++ {
		if ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout); ev.Sequence != uint64(i) {
			t.Fatalf("held event has sequence %d, want %d", ev.Sequence, i)
		}
	}
}

func TestUnsubscribeAndDeadSubscriber(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	id := subscribe(t, sys, b, p.PID, "a", 0)
	subscribe(t, sys, b, p.PID, "b", 0)
	res := actortest.Request[*messages.UnsubscribeResponse](t, sys, b, &messages.UnsubscribeRequest{SubscriptionId: id})
	if res.Error != nil || res.Removed != 1 {
		t.Fatalf("unsubscribe = %v", res)
	}
	res = actortest.Request[*messages.UnsubscribeResponse](t, sys, b, &messages.UnsubscribeRequest{SubscriptionId: id})
	if res.Error == nil || res.Error.Code != messages.ErrorCode_ERROR_CODE_NOT_FOUND {
		t.Fatalf("second unsubscribe = %v", res)
	}
	publish(t, sys, b, "a")
	publish(t, sys, b, "b")
	if ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout); ev.Topic != "b" {
		t.Fatalf("got %s", ev.Topic)
	}

	dying := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	subscribe(t, sys, b, dying, ">", 0)
	if err := sys.Root.StopFuture(dying).Wait(); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return stats(t, sys, b).Subscriptions == 1 }, "dead subscriber removed")
}

// ackingSubscriber counts events and acks through an Acker.
type ackingSubscriber struct {
	acks *bus.Acker
	got  atomic.Int64
}

func (s *ackingSubscriber) Receive(ctx actor.Context) {
	if _, ok := ctx.Message().(*messages.Event); ok {
		s.acks.Handled(ctx)
		s.got.Add(1)
	}
}

// TestAckerKeepsEventsFlowing: with acks, far more than one window arrives;
// whatever is not delivered is counted as dropped, nothing else is lost.
func TestAckerKeepsEventsFlowing(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	const n = 10_000
	sub := &ackingSubscriber{acks: bus.NewAcker(b, 16)}
	pid := actortest.Spawn(t, sys, actor.PropsFromProducer(func() actor.Actor { return sub }))
	subscribe(t, sys, b, pid, "x.>", 16)
	for i := 0; i < n; i++ {
		sys.Root.Send(b, &messages.Event{Topic: "x.y"})
		if i%8 == 7 { // let the subscriber keep up now and then
			actortest.Eventually(t, 5*time.Second, func() bool { return sub.got.Load() >= int64(i+1)-16 }, "subscriber lags")
		}
	}
	var st *messages.BusStatsResponse
	actortest.Eventually(t, 5*time.Second, func() bool {
		st = stats(t, sys, b)
		return st.Delivered+st.Dropped == n && sub.got.Load() == int64(st.Delivered)
	}, "every event delivered or counted as dropped")
	if st.Delivered < n/2 {
		t.Fatalf("only %d of %d delivered: acks do not reopen the window", st.Delivered, n)
	}
}

func BenchmarkPublishOneSubscriber(b *testing.B) {
	benchPublish(b, 0)
}

func BenchmarkPublish1000Patterns(b *testing.B) {
	benchPublish(b, 1000)
}

// benchPublish publishes b.N events to one acking subscriber, with extra
// non-matching pattern subscriptions held by another subscriber, and reports
// events/s end to end (until every event is delivered or counted as dropped).
func benchPublish(b *testing.B, extra int) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
	defer sys.Shutdown()
	bpid := sys.Root.Spawn(bus.Props(bus.Config{QueueSize: 4096, MaxQueueSize: 65536}, "bench", actortest.Discard()))
	defer func() { _ = sys.Root.StopFuture(bpid).Wait() }()
	sub := &ackingSubscriber{acks: bus.NewAcker(bpid, 65536)}
	pid := sys.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sub }))
	defer sys.Root.Stop(pid)
	if _, err := sys.Root.RequestFuture(bpid, &messages.SubscribeRequest{Pattern: "price.*.update", Subscriber: pid, QueueSize: 65536}, time.Second).Result(); err != nil {
		b.Fatal(err)
	}
	other := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	defer sys.Root.Stop(other)
	for i := 0; i < extra; i++ {
		if _, err := sys.Root.RequestFuture(bpid, &messages.SubscribeRequest{Pattern: fmt.Sprintf("kline.S%d.*", i), Subscriber: other}, time.Second).Result(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		sys.Root.Send(bpid, &messages.Event{Topic: "price.BTCUSDT.update", Source: "bench"})
	}
	var st *messages.BusStatsResponse
	for {
		res, err := sys.Root.RequestFuture(bpid, &messages.BusStatsRequest{}, 10*time.Second).Result()
		if err != nil {
			b.Fatal(err)
		}
		st = res.(*messages.BusStatsResponse)
		if st.Delivered+st.Dropped == uint64(b.N) && sub.got.Load() == int64(st.Delivered) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	b.ReportMetric(float64(st.Dropped), "dropped")
}

// TestSubscriptionsSurviveARestart restarts the bus (protoactor's Restart
// system message, what its supervisor sends after a failure) and expects its
// subscribers to keep receiving.
func TestSubscriptionsSurviveARestart(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	p := actortest.NewProbe(t, sys)
	subscribe(t, sys, b, p.PID, "a.>", 0)
	publish(t, sys, b, "a.one")
	actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout)
	proc, ok := sys.ProcessRegistry.Get(b)
	if !ok {
		t.Fatal("bus process not found")
	}
	proc.SendSystemMessage(b, &actor.Restart{})
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool {
		res, err := actortest.TryRequest[*messages.PublishResponse](sys, b, &messages.PublishRequest{Event: messages.NewEvent("a.two", "test", nil)}, time.Second)
		return err == nil && res.Error == nil
	}, "bus answers again")
	ev := actortest.Expect[*messages.Event](t, p, actortest.DefaultTimeout)
	if ev.Topic != "a.two" || ev.Sequence != 2 {
		t.Fatalf("after the restart: %s #%d", ev.Topic, ev.Sequence)
	}
	if st := stats(t, sys, b); st.Subscriptions != 1 {
		t.Fatalf("subscriptions after restart: %v", st)
	}
}

func TestRPCPublishCannotForgeDaemonTopics(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	for _, topic := range []string{"system.ready", "alert.module.failed", "module.x.started"} {
		res := actortest.Request[*messages.PublishResponse](t, sys, b, &messages.EventsPublishRequest{Topic: topic})
		if res.Error == nil {
			t.Fatalf("events.publish %s was accepted", topic)
		}
	}
	if res := actortest.Request[*messages.PublishResponse](t, sys, b, &messages.EventsPublishRequest{Topic: "trade.executed", Source: "bot"}); res.Error != nil {
		t.Fatalf("trade.executed: %v", res.Error)
	}
}

// TestUnsubscribeForgetsTheAckCredit: the ack credits of local subscribers
// go when their last subscription does, whether they unsubscribe or die;
// a subscriber that subscribes again gets a fresh credit and its acks
// still reopen its window.
// TestStoppedBusDropsItsCredits: a bus that stops leaves no ack credit
// behind (they were kept, with their actor system, for good).
func TestStoppedBusDropsItsCredits(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	for range 3 {
		subscribe(t, sys, b, actortest.NewProbe(t, sys).PID, "a.>", 0)
	}
	if got := bus.CreditsOf(sys); got != 3 {
		t.Fatalf("%d credits for 3 subscribers", got)
	}
	if err := sys.Root.StopFuture(b).Wait(); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return bus.CreditsOf(sys) == 0 }, "the stopped bus's credits dropped")
}

func TestUnsubscribeForgetsTheAckCredit(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := spawnBus(t, sys, bus.DefaultConfig())
	const n = 50
	for range n {
		p := actortest.NewProbe(t, sys)
		subscribe(t, sys, b, p.PID, "a.>", 0)
		subscribe(t, sys, b, p.PID, "b", 0)
		if res := actortest.Request[*messages.UnsubscribeResponse](t, sys, b, &messages.UnsubscribeRequest{Subscriber: p.PID}); res.Removed != 2 {
			t.Fatalf("unsubscribe = %v", res)
		}
	}
	if got := bus.CreditsOf(sys); got != 0 {
		t.Fatalf("%d ack credits left after %d subscribers unsubscribed", got, n)
	}
	dying := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	subscribe(t, sys, b, dying, ">", 0)
	if bus.CreditsOf(sys) != 1 {
		t.Fatal("no credit for a local subscriber")
	}
	if err := sys.Root.StopFuture(dying).Wait(); err != nil {
		t.Fatal(err)
	}
	actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return bus.CreditsOf(sys) == 0 }, "dead subscriber's credit dropped")

	// Subscribe, unsubscribe, subscribe again: acks go to the new credit.
	sub := &ackingSubscriber{acks: bus.NewAcker(b, 4)}
	pid := actortest.Spawn(t, sys, actor.PropsFromProducer(func() actor.Actor { return sub }))
	for round := range 2 {
		id := subscribe(t, sys, b, pid, "x", 4)
		before := sub.got.Load()
		for i := range 40 {
			publish(t, sys, b, "x")
			actortest.Eventually(t, actortest.DefaultTimeout, func() bool { return sub.got.Load() == before+int64(i)+1 },
				"round %d: event %d delivered", round, i)
		}
		actortest.Request[*messages.UnsubscribeResponse](t, sys, b, &messages.UnsubscribeRequest{SubscriptionId: id})
	}
	if got := bus.CreditsOf(sys); got != 0 {
		t.Fatalf("%d ack credits left", got)
	}
}
