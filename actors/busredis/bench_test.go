package busredis

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/redistest"
	"github.com/superbot/superbot/messages"
)

// The bridge's figures: events/s each way, against the floor of go-redis
// PUBLISHing the same messages (pipelined by 256) to a PSUBSCRIBEd client
// in the same run. Each keeps at most benchWindow events between its
// publisher and its receiver, so nothing is dropped and every event is
// counted once received:
//
//	go test -run '^$' -bench . -benchtime 200000x ./actors/busredis/

// benchWindow bounds the events in flight in every benchmark.
const benchWindow = 2048

// benchMessage is an exported price event, about 230 bytes.
func benchMessage(b *testing.B) (*messages.Event, string) {
	ev := messages.NewEvent("price.BTCUSDT.update", "connector", mustValue(b, map[string]any{"symbol": "BTCUSDT", "price": 97000.5, "qty": 0.25}))
	ev.Node, ev.Sequence = "node-a", 123456
	raw, err := appendExport(nil, ev, "superbot-0123456789abcdef")
	if err != nil {
		b.Fatal(err)
	}
	return ev, string(raw)
}

// BenchmarkRawPublish is the floor: go-redis alone.
func BenchmarkRawPublish(b *testing.B) {
	srv := redistest.Start(b)
	_, msg := benchMessage(b)
	got := newCounter()
	stop := receive(b, srv, "superbot.*", got)
	defer stop()
	c := srv.Client(0)
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(256, b.N-sent)
		awaitWindow(got, sent+n)
		pipe := c.Pipeline()
		for range n {
			pipe.Publish(context.Background(), "superbot.price.BTCUSDT.update", msg)
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	awaitCount(got, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkExport: bus publish -> bridge -> Redis -> a subscriber.
func BenchmarkExport(b *testing.B) {
	srv := redistest.Start(b)
	sys, busPID, status := benchBridge(b, srv, []string{"price.>"}, nil)
	ev, _ := benchMessage(b)
	got := newCounter()
	stop := receive(b, srv, "superbot.*", got)
	defer stop()
	b.ResetTimer()
	for i := range b.N {
		if i%256 == 0 {
			awaitWindow(got, i+256)
		}
		e := &messages.Event{Topic: ev.Topic, Source: ev.Source, Payload: ev.Payload}
		sys.Root.Send(busPID, e)
	}
	awaitCount(got, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if s := status(); s.GetExportDropped() != 0 {
		b.Fatalf("%d dropped", s.GetExportDropped())
	}
}

// BenchmarkImport: a program's PUBLISH -> Redis -> bridge -> a bus
// subscriber.
func BenchmarkImport(b *testing.B) {
	srv := redistest.Start(b)
	sys, busPID, status := benchBridge(b, srv, nil, []string{"price.>"})
	_, msg := benchMessage(b)
	msg = strings.Replace(msg, `"origin":"superbot-0123456789abcdef"`, `"origin":"elsewhere"`, 1)
	got := newCounter()
	ack := bus.NewAcker(busPID, 65536)
	counter := sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*messages.Event); ok {
			got.add()
			ack.Handled(ctx)
		}
	}))
	if r := actortest.Request[*messages.SubscribeResponse](b, sys, busPID, &messages.SubscribeRequest{Pattern: "price.>", Subscriber: counter, QueueSize: 65536}); r.GetError() != nil {
		b.Fatal(r.GetError())
	}
	c := srv.Client(0)
	b.ResetTimer()
	for sent := 0; sent < b.N; {
		n := min(256, b.N-sent)
		awaitWindow(got, sent+n)
		pipe := c.Pipeline()
		for range n {
			pipe.Publish(context.Background(), "superbot.price.BTCUSDT.update", msg)
		}
		if _, err := pipe.Exec(context.Background()); err != nil {
			b.Fatal(err)
		}
		sent += n
	}
	awaitCount(got, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if s := status(); s.GetImported() != uint64(b.N) {
		b.Fatalf("imported %d of %d (bad json %d)", s.GetImported(), b.N, s.GetBadJson())
	}
}

// benchBridge starts a bus and a connected bridge.
func benchBridge(b *testing.B, srv *redistest.Server, export, imports []string) (*actor.ActorSystem, *actor.PID, func() *messages.BusRedisStatusResponse) {
	sys := actor.NewActorSystem(actor.WithLoggerFactory(actortest.DiscardLoggerFactory))
	b.Cleanup(sys.Shutdown)
	cfg := bus.DefaultRedisConfig()
	cfg.URL, cfg.Export, cfg.Import, cfg.QueueSize = "redis://"+srv.Addr()+"/0", export, imports, 65536
	busPID := sys.Root.Spawn(bus.Props(bus.DefaultConfig(), "node-a", actortest.Discard()))
	bridge := sys.Root.Spawn(Props(cfg, Deps{Bus: busPID, Logger: actortest.Discard()}))
	b.Cleanup(func() { _ = sys.Root.StopFuture(bridge).Wait() })
	status := func() *messages.BusRedisStatusResponse {
		return actortest.Request[*messages.BusRedisStatusResponse](b, sys, bridge, &messages.BusRedisStatusRequest{})
	}
	actortest.Eventually(b, wait, func() bool { return status().GetConnected() }, "bridge connected")
	return sys, busPID, status
}

// receive counts the messages a plain Redis client gets on pattern.
func receive(b *testing.B, srv *redistest.Server, pattern string, got *counter) (stop func()) {
	ps := srv.Client(0).PSubscribe(context.Background(), pattern)
	if _, err := ps.Receive(context.Background()); err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := ps.ReceiveMessage(context.Background()); err != nil {
				return
			}
			got.add()
		}
	}()
	return func() { _ = ps.Close(); <-done }
}

// counter counts received events; waiters sleep until it moves.
type counter struct {
	n    atomic.Int64
	tick chan struct{}
}

func newCounter() *counter { return &counter{tick: make(chan struct{}, 1)} }

func (c *counter) add() {
	c.n.Add(1)
	select {
	case c.tick <- struct{}{}:
	default:
	}
}

// atLeast waits until n events were received.
func (c *counter) atLeast(n int) {
	for int(c.n.Load()) < n {
		<-c.tick
	}
}

// awaitWindow waits until fewer than benchWindow events before target are
// still in flight.
func awaitWindow(got *counter, target int) { got.atLeast(target - benchWindow) }

func awaitCount(got *counter, n int) { got.atLeast(n) }
