package scheduler

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/superbot/superbot/actors/internal/actortest"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// call is one request a route probe received.
type call struct {
	method string
	params map[string]any
	sender *actor.PID
}

// flushMsg asks a recorder to answer once everything before it is recorded.
type flushMsg struct{}

// recorder is a probe actor standing in for whatever answers a method (the
// module supervisor, the backtester) or for the bus: it records each message
// to a shared, ordered log and answers as its mode says.
type recorder struct {
	method string
	h      *harness
}

func (r *recorder) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case flushMsg:
		ctx.Respond(flushMsg{})
	case *messages.Event:
		r.h.mu.Lock()
		r.h.events = append(r.h.events, msg)
		r.h.mu.Unlock()
	case *structpb.Struct:
		c := call{method: r.method, params: msg.AsMap(), sender: ctx.Sender()}
		r.h.mu.Lock()
		mode := r.h.modes[r.method]
		if mode == "hold" {
			r.h.held = append(r.h.held, c)
		}
		r.h.mu.Unlock()
		switch mode {
		case "hold":
		case "exists":
			ctx.Respond(&messages.SchedulerRunResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS, "module is already running")})
		case "fail":
			ctx.Respond(&messages.SchedulerRunResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, "backtest crashed")})
		case "numbers":
			ctx.Respond(&messages.PublishResponse{Sequence: 56})
		default:
			ctx.Respond(&messages.PingResponse{Name: r.method})
		}
		r.h.calls <- c
	}
}

// harness runs one scheduler on a ManualClock with probes behind a router.
type harness struct {
	t      *testing.T
	sys    *actor.ActorSystem
	clock  *ManualClock
	router *rpc.Router
	pid    *actor.PID
	bus    *actor.PID
	probes map[string]*actor.PID
	calls  chan call

	mu     sync.Mutex
	modes  map[string]string // method -> "", "fail" or "hold"
	held   []call
	events []*messages.Event
}

// testMethods are the routes of the test router; each targets a recorder.
var testMethods = []string{"module.start", "module.stop", "module.restart", "backtest.run", "report.weekly", "report.drift", "slow.job"}

func newHarness(t *testing.T, start time.Time) *harness {
	t.Helper()
	sys := actortest.NewSystem(t)
	h := &harness{
		t: t, sys: sys, clock: NewManualClock(start),
		router: rpc.NewRouter(5 * time.Second),
		probes: map[string]*actor.PID{}, calls: make(chan call, 10000),
		modes: map[string]string{"slow.job": "hold"},
	}
	for _, m := range testMethods {
		pid := actortest.Spawn(t, sys, actor.PropsFromProducer(func() actor.Actor { return &recorder{method: m, h: h} }))
		h.probes[m] = pid
		h.router.MustAdd(rpc.Route{Method: m, New: func() proto.Message { return &structpb.Struct{} }, Target: pid})
	}
	// immediate.call answers at once.
	immediate := actortest.Spawn(t, sys, actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*structpb.Struct); ok {
			ctx.Respond(&messages.PingResponse{Name: "immediate"})
		}
	}))
	h.router.MustAdd(rpc.Route{Method: "immediate.call", New: func() proto.Message { return &structpb.Struct{} }, Target: immediate})
	// typed.run decodes into a message with one field, "name".
	h.router.MustAdd(rpc.Route{Method: "typed.run", New: func() proto.Message { return &messages.SchedulerRunRequest{} }, Target: h.probes["backtest.run"]})
	h.router.MustAdd(Routes(sys.NewLocalPID(Kind))...)
	h.bus = actortest.Spawn(t, sys, actor.PropsFromProducer(func() actor.Actor { return &recorder{method: "bus", h: h} }))
	return h
}

// start spawns the scheduler with cfg (validated first).
func (h *harness) start(cfg Config) *harness {
	h.t.Helper()
	if err := cfg.Validate(); err != nil {
		h.t.Fatalf("config: %v", err)
	}
	if err := ValidateActions(cfg, h.router.Methods()); err != nil {
		h.t.Fatalf("actions: %v", err)
	}
	pid, err := h.sys.Root.SpawnNamed(Props(cfg, Deps{Bus: h.bus, Router: h.router, Clock: h.clock, Logger: actortest.Logger(h.t)}), Kind)
	if err != nil {
		h.t.Fatalf("spawn: %v", err)
	}
	h.t.Cleanup(func() { _ = h.sys.Root.StopFuture(pid).Wait() })
	h.pid = pid
	h.settle()
	return h
}

func (h *harness) setMode(method, mode string) {
	h.mu.Lock()
	h.modes[method] = mode
	h.mu.Unlock()
}

// sync returns once the scheduler has handled everything sent to it so far.
func (h *harness) sync() {
	h.t.Helper()
	actortest.Request[*messages.PingResponse](h.t, h.sys, h.pid, &messages.PingRequest{})
}

// flush returns once every probe has recorded what the scheduler sent it.
func (h *harness) flush() {
	h.t.Helper()
	h.sync()
	for _, pid := range h.probes {
		actortest.Request[flushMsg](h.t, h.sys, pid, flushMsg{})
	}
	actortest.Request[flushMsg](h.t, h.sys, h.bus, flushMsg{})
}

// advanceTo moves the clock to target one wake-up at a time, as a real
// clock would pass through each of them.
func (h *harness) advanceTo(target time.Time) {
	h.t.Helper()
	for {
		h.sync()
		next, ok := h.clock.NextWake()
		if !ok || next.After(target) {
			h.clock.Set(target)
			h.sync()
			return
		}
		h.clock.Set(next)
		h.settle()
	}
}

// settle returns once the probes have answered what the scheduler sent them
// and the scheduler has taken in the answers.
func (h *harness) settle() {
	h.t.Helper()
	h.sync()
	for _, pid := range h.probes {
		actortest.Request[flushMsg](h.t, h.sys, pid, flushMsg{})
	}
	h.sync()
}

// takeCalls returns the calls recorded so far (after a flush), in order.
func (h *harness) takeCalls() []call {
	h.t.Helper()
	h.flush()
	var out []call
	for {
		select {
		case c := <-h.calls:
			out = append(out, c)
		default:
			return out
		}
	}
}

// takeEvents returns and forgets the bus events recorded so far.
func (h *harness) takeEvents() []*messages.Event {
	h.flush()
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.events
	h.events = nil
	return out
}

// releaseHeld answers every held call with success.
func (h *harness) releaseHeld() {
	h.mu.Lock()
	held := h.held
	h.held = nil
	h.mu.Unlock()
	for _, c := range held {
		h.sys.Root.Send(c.sender, &messages.PingResponse{Name: c.method})
	}
}

func (h *harness) jobs() []*messages.SchedulerJob {
	h.t.Helper()
	return actortest.Request[*messages.SchedulerJobsResponse](h.t, h.sys, h.pid, &messages.SchedulerJobsRequest{}).GetJobs()
}

func (h *harness) job(name string) *messages.SchedulerJob {
	h.t.Helper()
	res := actortest.Request[*messages.SchedulerJobsResponse](h.t, h.sys, h.pid, &messages.SchedulerJobsRequest{Name: name})
	if res.GetError() != nil {
		h.t.Fatalf("job %s: %v", name, res.GetError())
	}
	return res.GetJobs()[0]
}

// rpcCall calls method through the router, as the JSON-RPC edge would.
func (h *harness) rpcCall(method string, params string) (proto.Message, error) {
	h.t.Helper()
	p, err := h.router.Call(h.sys.Root, method, json.RawMessage(params))
	if err != nil {
		return nil, err
	}
	return p.Result()
}

// summary renders calls as "method module" for comparisons.
func summary(calls []call) []string {
	out := make([]string, 0, len(calls))
	for _, c := range calls {
		s := c.method
		if m, ok := c.params["module"].(string); ok {
			s += " " + m
		}
		out = append(out, s)
	}
	return out
}

// topics lists event topics with the event time in loc.
func topics(evs []*messages.Event, loc *time.Location) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		s := e.GetTopic()
		var w messages.WindowChanged
		var r messages.JobRun
		switch {
		case e.GetPayload().MessageIs(&w):
			_ = e.GetPayload().UnmarshalTo(&w)
			s += " " + w.GetAt().AsTime().In(loc).Format("01-02 15:04 MST")
		case e.GetPayload().MessageIs(&r):
			_ = e.GetPayload().UnmarshalTo(&r)
			s += " " + r.GetJob() + " " + r.GetStartedAt().AsTime().In(loc).Format("01-02 15:04 MST")
		}
		out = append(out, s)
	}
	return out
}

func filter(ss []string, keep func(string) bool) []string {
	return slices.DeleteFunc(slices.Clone(ss), func(s string) bool { return !keep(s) })
}
