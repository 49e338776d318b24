package busredis

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/redistest"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// wait bounds every wait for Redis or the bus: generous for a loaded
// 2-core machine.
const wait = 10 * time.Second

// harness is a real bus, a bridge and a real redis-server.
type harness struct {
	t      *testing.T
	sys    *actor.ActorSystem
	bus    *actor.PID
	bridge *actor.PID
	srv    *redistest.Server
	logs   *logBuffer
}

// testConfig is a bridge to srv with short reconnection waits.
func testConfig(srv *redistest.Server, export, imports []string) bus.RedisConfig {
	cfg := bus.DefaultRedisConfig()
	cfg.URL = "redis://" + srv.Addr() + "/0"
	cfg.Export, cfg.Import = export, imports
	cfg.ReconnectMax = 200 * time.Millisecond
	return cfg
}

func newHarness(t *testing.T, srv *redistest.Server, cfg bus.RedisConfig) *harness {
	t.Helper()
	h := &harness{t: t, sys: actortest.NewSystem(t), srv: srv, logs: &logBuffer{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("logs:\n" + h.logs.String())
		}
	})
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.bus = actortest.Spawn(t, h.sys, bus.Props(bus.DefaultConfig(), "node-a", log.With("component", "bus")))
	h.bridge = actortest.Spawn(t, h.sys, Props(cfg, Deps{Bus: h.bus, Logger: log.With("component", Kind)}))
	return h
}

func (h *harness) status() *messages.BusRedisStatusResponse {
	return actortest.Request[*messages.BusRedisStatusResponse](h.t, h.sys, h.bridge, &messages.BusRedisStatusRequest{})
}

// awaitConnected waits until every direction of the bridge is up.
func (h *harness) awaitConnected() {
	h.t.Helper()
	actortest.Eventually(h.t, wait, func() bool { return h.status().GetConnected() }, "bridge connected to redis")
}

// subscribe subscribes a probe to the bus.
func (h *harness) subscribe(pattern string) *actortest.Probe {
	h.t.Helper()
	p := actortest.NewProbe(h.t, h.sys)
	res := actortest.Request[*messages.SubscribeResponse](h.t, h.sys, h.bus, &messages.SubscribeRequest{Pattern: pattern, Subscriber: p.PID})
	if res.GetError() != nil {
		h.t.Fatalf("subscribe %s: %v", pattern, res.GetError())
	}
	return p
}

// publish publishes on the bus and waits for the bus's answer.
func (h *harness) publish(topic, source string, payload map[string]any) {
	h.t.Helper()
	ev := messages.NewEvent(topic, source, nil)
	if payload != nil {
		ev = messages.NewEvent(topic, source, mustValue(h.t, payload))
	}
	res := actortest.Request[*messages.PublishResponse](h.t, h.sys, h.bus, &messages.PublishRequest{Event: ev})
	if res.GetError() != nil {
		h.t.Fatalf("publish %s: %v", topic, res.GetError())
	}
}

// redisSub is a plain Redis client PSUBSCRIBEd to pattern, as a program
// outside SuperBot following the bus would be.
type redisSub struct {
	t  *testing.T
	ps *redis.PubSub
}

func (h *harness) redisSubscribe(pattern string) *redisSub {
	h.t.Helper()
	ps := h.srv.Client(0).PSubscribe(context.Background(), pattern)
	h.t.Cleanup(func() { _ = ps.Close() })
	if _, err := ps.ReceiveTimeout(context.Background(), wait); err != nil { // the subscription's confirmation
		h.t.Fatalf("psubscribe %s: %v", pattern, err)
	}
	return &redisSub{t: h.t, ps: ps}
}

// next returns the next message's channel and JSON object.
func (s *redisSub) next() (string, map[string]any) {
	s.t.Helper()
	m, err := s.ps.ReceiveMessage(timeoutCtx(s.t, wait))
	if err != nil {
		s.t.Fatalf("redis subscriber: %v", err)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(m.Payload), &obj); err != nil {
		s.t.Fatalf("exported message is not JSON: %v: %s", err, m.Payload)
	}
	return m.Channel, obj
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// redisPublish PUBLISHes payload as another program would.
func (h *harness) redisPublish(channel, payload string) {
	h.t.Helper()
	if err := h.srv.Client(0).Publish(context.Background(), channel, payload).Err(); err != nil {
		h.t.Fatalf("redis publish: %v", err)
	}
}

// expectEvent waits for the probe's next event and checks its topic.
func expectEvent(t *testing.T, p *actortest.Probe, topic string) *messages.Event {
	t.Helper()
	ev := actortest.Expect[*messages.Event](t, p, wait)
	if ev.GetTopic() != topic {
		t.Fatalf("next event is %s (source %s), want %s", ev.GetTopic(), ev.GetSource(), topic)
	}
	return ev
}

// logBuffer keeps the logs (to check what they hide) and shows them in
// the test log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	return len(p), nil
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// count counts the log lines with msg.
func (b *logBuffer) count(msg string) int {
	return strings.Count(b.String(), `msg="`+msg+`"`)
}

func mustValue(t testing.TB, v map[string]any) *structpb.Value {
	t.Helper()
	pv, err := structpb.NewValue(v)
	if err != nil {
		t.Fatal(err)
	}
	return pv
}
