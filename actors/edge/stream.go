package edge

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/bus"
	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// Stream kinds: how a matching event becomes a notification.
const (
	kindEvents = "events.event" // params: the whole event envelope
	kindLogs   = "logs.line"    // params: the event's payload (a log line)
)

// defaultStreamQueue is a connection's notification queue when the client
// asks for none.
const defaultStreamQueue = 1024

// maxStreamsPerConn bounds one connection's subscriptions (events.subscribe
// and logs.stream together).
const maxStreamsPerConn = 256

// maxTailLines bounds logs.stream's lines.
const maxTailLines = 10000

// subscribeCmd asks a connection's stream actor to subscribe; it answers
// *subscribeDone. Pre holds params of notifications to queue first (a log
// tail).
type subscribeCmd struct {
	pattern string
	kind    string
	queue   uint32
	pre     []proto.Message
}

type subscribeDone struct {
	id  uint64
	err error
}

type unsubscribeCmd struct{ id uint64 }

// streamSub is one subscription of a connection. id is the connection's
// own number for it (what the client sees, in answers and in every
// notification); busID is the bus's, 0 until the bus has answered (events
// that match are forwarded meanwhile).
type streamSub struct {
	id      uint64
	busID   uint64
	pattern string
	kind    string
}

// streamActor is a connection's bus subscriber: it turns events into
// notifications and queues them for the connection's writer goroutine,
// dropping (and counting) when the client reads too slowly.
type streamActor struct {
	c       *conn
	busPID  *actor.PID
	acks    *bus.Acker
	subs    []*streamSub
	nextID  uint64
	dropped uint64
}

func (a *streamActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *messages.Event:
		a.onEvent(ctx, msg)
	case *subscribeCmd:
		a.onSubscribe(ctx, msg)
	case *unsubscribeCmd:
		a.onUnsubscribe(ctx, msg)
	}
}

func (a *streamActor) onEvent(ctx actor.Context, ev *messages.Event) {
	a.acks.Handled(ctx)
	for _, s := range a.subs {
		if !bus.Match(s.pattern, ev.Topic) {
			continue
		}
		var body proto.Message = ev
		if s.kind == kindLogs && ev.Payload != nil {
			body = ev.Payload // rendered as the log line it holds
		}
		if b, err := a.notify(s.kind, s.id, body); err == nil {
			a.push(b)
		}
		return // one notification per event, whatever the overlap
	}
}

func (a *streamActor) push(b []byte) {
	select {
	case a.c.out <- b:
	case <-a.c.done:
	default:
		a.dropped++
	}
}

// notify renders a notification whose params object is body with the
// subscription id as its first member, so a client can tell its streams
// apart.
func (a *streamActor) notify(method string, sub uint64, body proto.Message) ([]byte, error) {
	b := make([]byte, 0, 256)
	b = append(b, `{"jsonrpc":"2.0","method":`...)
	b = strconv.AppendQuote(b, method)
	b = append(b, `,"params":{"subscription":`...)
	b = strconv.AppendUint(b, sub, 10)
	start := len(b)
	b, err := rpc.AppendEncode(b, body)
	if err != nil || len(b)-start < 2 || b[start] != '{' {
		return nil, fmt.Errorf("notification %s: %w", method, err)
	}
	if len(b)-start == 2 { // {}
		b = b[:start]
	} else {
		b[start] = ','
		b = b[:len(b)-1]
	}
	return append(b, `}}`...), nil
}

func (a *streamActor) onSubscribe(ctx actor.Context, cmd *subscribeCmd) {
	if len(a.subs) >= maxStreamsPerConn {
		ctx.Respond(&subscribeDone{err: messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT,
			"a connection has at most %d subscriptions", maxStreamsPerConn)})
		return
	}
	a.nextID++
	sub := &streamSub{id: a.nextID, pattern: cmd.pattern, kind: cmd.kind}
	for _, line := range cmd.pre {
		if b, err := a.notify(cmd.kind, sub.id, line); err == nil {
			a.push(b)
		}
	}
	a.subs = append(a.subs, sub)
	sender := ctx.Sender()
	f := ctx.RequestFuture(a.busPID, &messages.SubscribeRequest{Pattern: cmd.pattern, Subscriber: ctx.Self(), QueueSize: cmd.queue}, 5*time.Second)
	ctx.ReenterAfter(f, func(res any, err error) {
		m, err := rpc.Reply(res, err)
		if err != nil {
			a.remove(sub)
			ctx.Send(sender, &subscribeDone{err: err})
			return
		}
		sub.busID = m.(*messages.SubscribeResponse).SubscriptionId
		ctx.Send(sender, &subscribeDone{id: sub.id})
	})
}

func (a *streamActor) onUnsubscribe(ctx actor.Context, cmd *unsubscribeCmd) {
	for _, s := range a.subs {
		if s.id == cmd.id && s.busID != 0 {
			a.remove(s)
			ctx.Send(a.busPID, &messages.UnsubscribeRequest{SubscriptionId: s.busID, Subscriber: ctx.Self()})
			ctx.Respond(&subscribeDone{id: s.id})
			return
		}
	}
	ctx.Respond(&subscribeDone{err: messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no subscription %d on this connection", cmd.id)})
}

func (a *streamActor) remove(sub *streamSub) {
	for i, s := range a.subs {
		if s == sub {
			a.subs = append(a.subs[:i], a.subs[i+1:]...)
			return
		}
	}
}

// ensureStream spawns the connection's stream actor and writer on first use.
func (c *conn) ensureStream(queue uint32) *actor.PID {
	c.smu.Lock()
	defer c.smu.Unlock()
	if c.stream != nil {
		return c.stream
	}
	if queue == 0 {
		queue = defaultStreamQueue
	}
	c.out = make(chan []byte, queue)
	a := &streamActor{c: c, busPID: c.s.deps.Bus, acks: bus.NewAcker(c.s.deps.Bus, queue)}
	c.stream = c.s.sys.Root.SpawnPrefix(actor.PropsFromProducer(func() actor.Actor { return a }), "edge-stream")
	c.writing.Add(1)
	go c.writeLoop()
	return c.stream
}

// writeLoop writes queued notifications until the connection closes, or,
// once drain is closed, until the queue is empty.
func (c *conn) writeLoop() {
	defer c.writing.Done()
	for {
		select {
		case b := <-c.out:
			if !c.write(b) {
				return
			}
		case <-c.drain:
			for {
				select {
				case b := <-c.out:
					if !c.write(b) {
						return
					}
				default:
					return
				}
			}
		case <-c.done:
			return
		}
	}
}

func (c *conn) subscribe(cmd *subscribeCmd) (uint64, error) {
	pid := c.ensureStream(cmd.queue)
	res, err := c.s.sys.Root.RequestFuture(pid, cmd, c.s.cfg.RequestTimeout).Result()
	if err != nil {
		return 0, fmt.Errorf("subscribe: %w", err)
	}
	done := res.(*subscribeDone)
	return done.id, done.err
}

func (c *conn) subscribeEvents(params json.RawMessage) (json.RawMessage, error) {
	m, err := rpc.Decode(edgeRoute("events.subscribe"), params)
	if err != nil {
		return nil, err
	}
	req := m.(*messages.EventsSubscribeRequest)
	if limit := c.s.cfg.MaxStreamQueue; req.QueueSize > uint32(limit) { // before anything is allocated
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "queue_size %d is over the limit of %d", req.QueueSize, limit)
	}
	if req.Pattern == "" {
		req.Pattern = ">"
	}
	if err := bus.ValidatePattern(req.Pattern); err != nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "%v", err)
	}
	id, err := c.subscribe(&subscribeCmd{pattern: req.Pattern, kind: kindEvents, queue: req.QueueSize})
	if err != nil {
		return nil, err
	}
	return rpc.Encode(&messages.EventsSubscribeResponse{Subscription: id})
}

func (c *conn) unsubscribe(params json.RawMessage) (json.RawMessage, error) {
	m, err := rpc.Decode(edgeRoute("events.unsubscribe"), params)
	if err != nil {
		return nil, err
	}
	c.smu.Lock()
	pid := c.stream
	c.smu.Unlock()
	id := m.(*messages.EventsUnsubscribeRequest).Subscription
	if pid == nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_NOT_FOUND, "no subscription %d on this connection", id)
	}
	res, err := c.s.sys.Root.RequestFuture(pid, &unsubscribeCmd{id: id}, c.s.cfg.RequestTimeout).Result()
	if err != nil {
		return nil, err
	}
	if d := res.(*subscribeDone); d.err != nil {
		return nil, d.err
	}
	return rpc.Encode(&messages.EventsUnsubscribeResponse{Removed: true})
}

// streamLogs answers logs.stream. With a module: its recent lines (through
// the logs.tail method) as notifications, then its live lines (topic
// logs.NAME). With no module, or "*": every module's and the daemon's live
// lines interleaved (logs.>), each naming its module; no tail.
func (c *conn) streamLogs(params json.RawMessage) (json.RawMessage, error) {
	m, err := rpc.Decode(edgeRoute("logs.stream"), params)
	if err != nil {
		return nil, err
	}
	p := m.(*messages.LogsTailRequest)
	if p.Lines > maxTailLines {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "lines %d is out of range: 0 to %d", p.Lines, maxTailLines)
	}
	if p.Module == "" || p.Module == "*" {
		return c.streamLogLines("logs.>", nil)
	}
	if err := bus.ValidateTopic("logs." + p.Module); err != nil {
		return nil, messages.Errorf(messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, "module %q: not a module name", p.Module)
	}
	var pre []proto.Message
	if rt, ok := c.s.deps.Router.Lookup("logs.tail"); ok {
		res, err := c.send(rt, p)
		if err != nil {
			return nil, err
		}
		if tr, ok := res.(*messages.LogsTailResponse); ok {
			for _, l := range tr.Lines {
				pre = append(pre, l)
			}
		}
	}
	return c.streamLogLines("logs."+p.Module, pre)
}

// streamLogLines subscribes the connection to log lines on pattern, after
// the notifications of pre.
func (c *conn) streamLogLines(pattern string, pre []proto.Message) (json.RawMessage, error) {
	id, err := c.subscribe(&subscribeCmd{pattern: pattern, kind: kindLogs, pre: pre})
	if err != nil {
		return nil, err
	}
	return rpc.Encode(&messages.EventsSubscribeResponse{Subscription: id})
}

func sortedUnique(in []string) []string {
	sort.Strings(in)
	out := in[:0]
	for i, s := range in {
		if i == 0 || s != in[i-1] {
			out = append(out, s)
		}
	}
	return out
}
