package busredis

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/internal/redistest"
	"github.com/superbot/superbot/messages"
)

// TestExport: a bus event on an export pattern reaches a plain Redis
// subscriber as the seed's event JSON; others do not.
func TestExport(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, srv, testConfig(srv, []string{"price.>"}, nil))
	sub := h.redisSubscribe("superbot.*")
	h.awaitConnected()

	h.publish("trade.executed", "orders", map[string]any{"id": 1}) // not exported
	h.publish("price.BTCUSDT.update", "connector", map[string]any{"price": 97000.5})
	ch, obj := sub.next()
	if ch != "superbot.price.BTCUSDT.update" {
		t.Fatalf("channel = %q, want the price topic's (trade.executed is not exported)", ch)
	}
	data, _ := obj["data"].(map[string]any)
	if obj["topic"] != "price.BTCUSDT.update" || obj["source"] != "connector" || obj["node"] != "node-a" ||
		obj["sequence"] != float64(2) || data["price"] != 97000.5 {
		t.Fatalf("exported = %v", obj)
	}
	if ts, _ := obj["timestamp"].(float64); ts < 1.7e9 {
		t.Fatalf("timestamp = %v, want Unix seconds", obj["timestamp"])
	}
	if origin, _ := obj["origin"].(string); !strings.HasPrefix(origin, "superbot-") {
		t.Fatalf("origin = %v", obj["origin"])
	}
	actortest.Eventually(t, wait, func() bool { return h.status().GetExported() == 1 }, "exported counted")
}

// TestImport: a message another program PUBLISHes on an import channel
// reaches a bus subscriber, with the source it names.
func TestImport(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, srv, testConfig(srv, nil, []string{"signals.>"}))
	probe := h.subscribe(">")
	h.awaitConnected()

	h.redisPublish("superbot.signals.BTCUSDT", `{"data":{"side":"BUY","qty":0.5},"source":"my_ai","timestamp":1733366400.25}`)
	h.redisPublish("superbot.signals.ETHUSDT", `{"data":[1,2]}`)
	ev := expectEvent(t, probe, "signals.BTCUSDT")
	if ev.GetSource() != "redis:my_ai" || ev.GetNode() != "node-a" {
		t.Fatalf("source %q node %q", ev.GetSource(), ev.GetNode())
	}
	if got := ev.GetTime().AsTime().UnixMilli(); got != 1733366400250 {
		t.Fatalf("time = %d ms, want the message's timestamp", got)
	}
	var v structpb.Value
	if err := ev.GetPayload().UnmarshalTo(&v); err != nil {
		t.Fatal(err)
	}
	if f := v.GetStructValue().GetFields(); f["side"].GetStringValue() != "BUY" || f["qty"].GetNumberValue() != 0.5 {
		t.Fatalf("payload = %v", &v)
	}
	if ev := expectEvent(t, probe, "signals.ETHUSDT"); ev.GetSource() != ImportedSource {
		t.Fatalf("source without one named = %q", ev.GetSource())
	}
	if s := h.status(); s.GetImported() != 2 {
		t.Fatalf("imported = %d", s.GetImported())
	}
}

// TestNoEcho: with the same patterns both ways, an imported event is not
// exported back and an exported one is not imported back.
func TestNoEcho(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, srv, testConfig(srv, []string{"signals.>"}, []string{"signals.>"}))
	probe := h.subscribe("signals.>")
	sub := h.redisSubscribe("superbot.signals.*")
	h.awaitConnected()

	// Redis -> bus: the bridge must not PUBLISH it again.
	h.redisPublish("superbot.signals.in", `{"data":1,"source":"ext"}`)
	if ch, _ := sub.next(); ch != "superbot.signals.in" { // the original
		t.Fatalf("first = %s", ch)
	}
	expectEvent(t, probe, "signals.in")
	h.publish("signals.out", "strategy", nil)
	if ch, obj := sub.next(); ch != "superbot.signals.out" {
		t.Fatalf("after the imported event Redis saw %s %v, want signals.out (an echo came back)", ch, obj)
	}
	// bus -> Redis: the bridge's import subscription sees signals.out and
	// must not publish it on the bus again.
	expectEvent(t, probe, "signals.out")
	h.redisPublish("superbot.signals.marker", `{"data":2}`)
	if ev := expectEvent(t, probe, "signals.marker"); ev.GetSource() != ImportedSource {
		t.Fatalf("marker source %q", ev.GetSource())
	}
	// exported is counted once Redis answered the PUBLISH, which may be
	// after the subscribers got it.
	var s *messages.BusRedisStatusResponse
	ok := func() bool {
		s = h.status()
		return s.GetEchoSkipped() == 2 && s.GetImportEcho() == 1 && s.GetExported() == 1 && s.GetImported() == 2
	}
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("echo_skipped %d import_echo %d exported %d imported %d, want 2 1 1 2",
				s.GetEchoSkipped(), s.GetImportEcho(), s.GetExported(), s.GetImported())
		}
		time.Sleep(time.Millisecond) // polling the counters
	}
}

// TestRedisKilledAndRestarted: the bridge alerts, keeps the bus free and
// bounded while Redis is gone, and works both ways once it is back.
func TestRedisKilledAndRestarted(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv, []string{"price.>"}, []string{"signals.>"})
	cfg.QueueSize = 8
	h := newHarness(t, srv, cfg)
	alerts := h.subscribe("alert.bus.redis.>")
	restored := h.subscribe(TopicRestored)
	probe := h.subscribe("signals.>")
	h.awaitConnected()

	srv.Kill()
	down := expectEvent(t, alerts, TopicDown)
	var p messages.BusRedisLinkChanged
	if err := down.GetPayload().UnmarshalTo(&p); err != nil || p.GetConnected() || p.GetReason() == "" || down.GetSource() != Kind {
		t.Fatalf("down alert = %v (%v) source %s", &p, err, down.GetSource())
	}
	const n = 50
	for i := range n { // each answered by the bus: Redis being gone blocks nothing
		h.publish(fmt.Sprintf("price.X%d.update", i), "connector", nil)
	}
	var last *messages.BusRedisStatusResponse
	defer func() {
		if t.Failed() {
			t.Logf("last status: %v", last)
		}
	}()
	actortest.Eventually(t, wait, func() bool {
		s := h.status()
		last = s
		// What the bus dropped for the bridge (its queue of 8 is full while
		// the bridge's mailbox lags) counts too.
		return !s.GetConnected() && s.GetDownSince() != nil && s.GetQueued() <= 8 &&
			s.GetExported()+s.GetExportDropped()+uint64(s.GetQueued())+busDropped(t, h, "price.>") == n
	}, "bounded export queue while redis is down")
	alerts.ExpectNoMessage(50 * time.Millisecond) // one alert per outage

	srv.Start() // same port, empty
	expectEvent(t, restored, TopicRestored)
	h.awaitConnected()
	if s := h.status(); s.GetReconnects() < 2 || s.GetDownSince() != nil {
		t.Fatalf("reconnects %d down_since %v, want >= 2 (both directions) and unset", s.GetReconnects(), s.GetDownSince())
	}
	sub := h.redisSubscribe("superbot.price.*")
	h.publish("price.BTCUSDT.update", "connector", nil)
	for { // the queued events of the outage may come first
		if ch, _ := sub.next(); ch == "superbot.price.BTCUSDT.update" {
			break
		}
	}
	h.redisPublish("superbot.signals.back", `{"data":"ok"}`)
	expectEvent(t, probe, "signals.back")
}

// TestBadInputCounted: messages that are not events, or on topics that
// cannot be imported, or too big, are dropped, counted, and warned about
// once per interval; the next good one goes through.
func TestBadInputCounted(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv, nil, []string{"signals.>", "price.*.update", "*.ready"})
	cfg.MaxMessageBytes = 256
	h := newHarness(t, srv, cfg)
	probe := h.subscribe(">")
	h.awaitConnected()

	for _, m := range []struct{ channel, payload string }{
		{"superbot.signals.a", "not json"},                                    // bad json
		{"superbot.signals.a", `{"price":5}`},                                 // bad json: not the event shape
		{"superbot.signals.a", `[1,2]`},                                       // bad json: not an object
		{"superbot.signals.a", `{"data":1} {"data":2}`},                       // bad json: two values
		{"superbot.signals.a", `{"data":1,"timestamp":-3}`},                   // bad json: timestamp
		{"superbot.price.a.b.update", `{"data":1}`},                           // bad topic: outside price.*.update
		{"superbot.signals.x y", `{"data":1}`},                                // bad topic: invalid
		{"superbot.signals.a", `{"topic":"signals.b","data":1}`},              // bad topic: not the channel's
		{"superbot.system.ready", `{"data":1}`},                               // bad topic: the daemon's own
		{"superbot.signals.a", `{"data":"` + strings.Repeat("x", 300) + `"}`}, // oversize
	} {
		h.redisPublish(m.channel, m.payload)
	}
	h.redisPublish("superbot.signals.good", `{"data":1}`)
	expectEvent(t, probe, "signals.good") // the first and only event
	s := h.status()
	if s.GetBadJson() != 5 || s.GetBadTopic() != 4 || s.GetOversize() != 1 || s.GetImported() != 1 {
		t.Fatalf("bad_json %d bad_topic %d oversize %d imported %d, want 5 4 1 1",
			s.GetBadJson(), s.GetBadTopic(), s.GetOversize(), s.GetImported())
	}
	if n := h.logs.count("redis message dropped"); n != 1 {
		t.Fatalf("%d drop warnings, want 1 (rate-limited)", n)
	}
}

// TestPasswordRedacted: the password in the URL opens Redis, and neither
// the status nor any log line shows it, nor a wrong one.
func TestPasswordRedacted(t *testing.T) {
	srv := redistest.StartWithPassword(t, "s3cret-Pa55")
	for _, tc := range []struct {
		name, password string
		works          bool
	}{
		{"right", "s3cret-Pa55", true},
		{"wrong", "wr0ng-Pa55", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(srv, []string{"price.>"}, []string{"signals.>"})
			cfg.URL = "redis://:" + tc.password + "@" + srv.Addr() + "/0"
			h := newHarness(t, srv, cfg)
			if tc.works {
				h.awaitConnected()
			} else {
				actortest.Eventually(t, wait, func() bool { return h.status().GetLastError() != "" }, "auth failure reported")
				if h.status().GetConnected() {
					t.Fatal("connected with a wrong password")
				}
			}
			s := h.status()
			if strings.Contains(s.GetUrl(), tc.password) || !strings.Contains(s.GetUrl(), "xxxxx") {
				t.Fatalf("status url = %q", s.GetUrl())
			}
			if strings.Contains(s.GetLastError(), tc.password) || strings.Contains(h.logs.String(), tc.password) {
				t.Fatal("the password is in the status or the logs")
			}
		})
	}
}

// TestDisabled: without a URL the bridge only says so.
func TestDisabled(t *testing.T) {
	sys := actortest.NewSystem(t)
	b := actortest.Spawn(t, sys, bus.Props(bus.DefaultConfig(), "n", actortest.Discard()))
	pid := actortest.Spawn(t, sys, Props(bus.DefaultRedisConfig(), Deps{Bus: b, Logger: actortest.Discard()}))
	s := actortest.Request[*messages.BusRedisStatusResponse](t, sys, pid, &messages.BusRedisStatusRequest{})
	if s.GetEnabled() || s.GetConnected() || s.GetUrl() != "" {
		t.Fatalf("status = %v", s)
	}
}

// TestRedisDownAtStart: a bridge that never reached Redis alerts and
// connects once Redis appears.
func TestRedisDownAtStart(t *testing.T) {
	srv := redistest.Start(t)
	srv.Kill()
	h := newHarness(t, srv, testConfig(srv, []string{"price.>"}, []string{"signals.>"}))
	actortest.Eventually(t, wait, func() bool { return h.status().GetDownSince() != nil }, "down reported")
	srv.Start()
	h.awaitConnected()
	if s := h.status(); s.GetDownSince() != nil {
		t.Fatalf("down_since still set: %v", s.GetDownSince())
	}
	if d, r := h.logs.count("redis bridge down"), h.logs.count("redis bridge restored"); d != 1 || r != 1 {
		t.Fatalf("%d down and %d restored log lines, want 1 each", d, r)
	}
}

// TestRestartReleases: a restarted bridge stops its old goroutines (goleak
// checks none is left), keeps one bus subscription per pattern and works
// both ways again.
func TestRestartReleases(t *testing.T) {
	srv := redistest.Start(t)
	h := newHarness(t, srv, testConfig(srv, []string{"price.>"}, []string{"signals.>"}))
	probe := h.subscribe("signals.>")
	sub := h.redisSubscribe("superbot.*")
	h.awaitConnected()
	for range 3 {
		proc, ok := h.sys.ProcessRegistry.Get(h.bridge)
		if !ok {
			t.Fatal("bridge process not found")
		}
		proc.SendSystemMessage(h.bridge, &actor.Restart{})
	}
	h.awaitConnected()
	stats := actortest.Request[*messages.BusStatsResponse](t, h.sys, h.bus, &messages.BusStatsRequest{})
	if stats.GetSubscriptions() != 2 { // the probe's and the bridge's
		t.Fatalf("%d bus subscriptions after restarts, want 2: %v", stats.GetSubscriptions(), stats.GetPatterns())
	}
	h.publish("price.BTCUSDT.update", "connector", nil)
	if ch, _ := sub.next(); ch != "superbot.price.BTCUSDT.update" {
		t.Fatalf("exported to %s", ch)
	}
	h.redisPublish("superbot.signals.after", `{"data":1}`)
	expectEvent(t, probe, "signals.after")
	probe.ExpectNoMessage(100 * time.Millisecond) // imported once, not once per restart
}

// TestRedisHung: a Redis that stops answering (SIGSTOP) never blocks the
// bus: PUBLISHes time out, the bridge goes down with a bounded queue, and
// comes back when Redis does.
func TestRedisHung(t *testing.T) {
	srv := redistest.Start(t)
	cfg := testConfig(srv, []string{"price.>"}, nil)
	cfg.QueueSize, cfg.Timeout = 16, 300*time.Millisecond
	h := newHarness(t, srv, cfg)
	alerts := h.subscribe("alert.bus.redis.>")
	restored := h.subscribe(TopicRestored)
	h.awaitConnected()

	srv.Pause()
	resumed := false
	defer func() {
		if !resumed {
			srv.Resume()
		}
	}()
	const n = 200
	for i := range n { // each answered by the bus while Redis hangs
		h.publish(fmt.Sprintf("price.X%d.update", i), "connector", nil)
	}
	expectEvent(t, alerts, TopicDown)
	var last *messages.BusRedisStatusResponse
	defer func() {
		if t.Failed() {
			t.Logf("last status: %v", last)
			t.Logf("bus: %v", actortest.Request[*messages.BusStatsResponse](t, h.sys, h.bus, &messages.BusStatsRequest{}).GetPatterns())
		}
	}()
	actortest.Eventually(t, wait, func() bool {
		s := h.status()
		last = s
		// What the bus dropped for the bridge (its queue of 16 is full while
		// the bridge's mailbox lags) counts too.
		return !s.GetConnected() && s.GetQueued() <= 16 && s.GetExported() == 0 &&
			s.GetExportDropped()+uint64(s.GetQueued())+busDropped(t, h, "price.>") == n
	}, "bounded export queue while redis hangs")
	srv.Resume()
	resumed = true
	expectEvent(t, restored, TopicRestored)
	h.awaitConnected()
}

// busDropped is what the bus dropped for subscribers of pattern.
func busDropped(t *testing.T, h *harness, pattern string) uint64 {
	for _, p := range actortest.Request[*messages.BusStatsResponse](t, h.sys, h.bus, &messages.BusStatsRequest{}).GetPatterns() {
		if p.GetPattern() == pattern {
			return p.GetDropped()
		}
	}
	return 0
}
