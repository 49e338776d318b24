package client

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
)

// Notification is a message the daemon sends without an id, such as
// "events.event" (params: the bus event) or "logs.line" (params: a log line).
type Notification struct {
	// Method is the notification's method, e.g. "events.event".
	Method string
	// Params are the raw params.
	Params json.RawMessage
}

// Subscription receives the notifications of one stream started with
// Subscribe. Its channel is closed when the subscription ends: Unsubscribe,
// Close, or the connection's end (then Err says why).
type Subscription struct {
	// ID is the "subscription" the daemon answered (0 when it sent none).
	ID uint64
	// Method is the notification method delivered, e.g. "events.event".
	Method string

	c           *Client
	unsubscribe string
	ch          chan Notification
	dropped     atomic.Uint64
	ended       bool  // guarded by c.mu
	err         error // guarded by c.mu
}

// Subscribe calls method with params (e.g. "events.subscribe" with
// {"pattern": ">"} or "logs.stream" with {"module": "trading"}) and returns a
// subscription that receives every notification named notification (e.g.
// "events.event", "logs.line") from then on, including those sent right
// after the answer.
//
// The daemon's notifications carry no subscription id, so two subscriptions
// on one client with the same notification method both receive each such
// notification, unless its params hold a "subscription" field, which is
// then used to route it. Use one client per stream to keep streams apart.
//
// A reader that falls behind by more than Options.SubscriptionBuffer
// notifications loses the oldest; Dropped counts them. The reader goroutine
// never blocks on a subscription, so calls keep working.
func (c *Client) Subscribe(ctx context.Context, method string, params any, notification string) (*Subscription, error) {
	c.watch() // notifications come whenever they come: a goroutine reads for them
	s := &Subscription{
		Method:      notification,
		c:           c,
		unsubscribe: unsubscribeMethod(method),
		ch:          make(chan Notification, c.subBuf),
	}
	c.mu.Lock()
	if c.err != nil || c.closed {
		c.mu.Unlock()
		return nil, c.alive()
	}
	c.subs[notification] = append(c.subs[notification], s)
	c.mu.Unlock()

	var res json.RawMessage
	if err := c.Call(ctx, method, params, &res); err != nil {
		c.remove(s, nil)
		return nil, err
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(res, &obj) == nil {
		id, _ := parseUint(obj["subscription"])
		c.mu.Lock() // the reader goroutine reads ID to route
		s.ID = id
		c.mu.Unlock()
	}
	return s, nil
}

// unsubscribeMethod returns the method that ends a stream started by method:
// "x.subscribe" → "x.unsubscribe"; logs.stream subscriptions share the
// events ids, so events.unsubscribe ends them; none for others.
func unsubscribeMethod(method string) string {
	if method == "logs.stream" {
		return "events.unsubscribe"
	}
	if base, ok := strings.CutSuffix(method, ".subscribe"); ok {
		return base + ".unsubscribe"
	}
	return ""
}

// parseUint reads a JSON number or a decimal string (protojson writes 64-bit
// integers as strings).
func parseUint(raw json.RawMessage) (uint64, bool) {
	var n uint64
	if json.Unmarshal(raw, &n) == nil {
		return n, true
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if n, err := strconv.ParseUint(s, 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// C returns the channel the notifications arrive on. It is closed when the
// subscription ends.
func (s *Subscription) C() <-chan Notification { return s.ch }

// Dropped returns how many notifications were dropped because the reader
// fell behind.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Err returns why the subscription ended: nil while it runs and after
// Unsubscribe, else the connection's error (ErrClosed, ErrConnectionLost).
func (s *Subscription) Err() error {
	s.c.mu.Lock()
	defer s.c.mu.Unlock()
	return s.err
}

// Unsubscribe ends the subscription: it tells the daemon (for methods named
// "x.subscribe", with "x.unsubscribe" {"subscription": ID}; for logs.stream,
// with events.unsubscribe) and closes the
// channel; notifications already buffered can still be read from it.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	var err error
	if s.unsubscribe != "" && s.c.alive() == nil {
		err = s.c.Call(ctx, s.unsubscribe, map[string]uint64{"subscription": s.ID}, nil)
	}
	s.c.remove(s, nil)
	return err
}

// remove detaches s from the client and ends it.
func (c *Client) remove(s *Subscription, cause error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := c.subs[s.Method]
	for i, o := range subs {
		if o == s {
			c.subs[s.Method] = append(subs[:i:i], subs[i+1:]...)
			break
		}
	}
	if len(c.subs[s.Method]) == 0 {
		delete(c.subs, s.Method)
	}
	s.end(cause)
}

// end closes the channel once. The caller holds c.mu.
func (s *Subscription) end(cause error) {
	if s.ended {
		return
	}
	s.ended = true
	s.err = cause
	close(s.ch)
}

// notify delivers n to the subscriptions of its method (runs on the
// reader).
func (c *Client) notify(n Notification) {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs := c.subs[n.Method]
	if len(subs) == 0 {
		return
	}
	if len(subs) > 1 {
		var p struct {
			Subscription json.RawMessage `json:"subscription"`
		}
		if json.Unmarshal(n.Params, &p) == nil && len(p.Subscription) > 0 {
			if id, ok := parseUint(p.Subscription); ok {
				for _, s := range subs {
					if s.ID == id {
						s.deliver(n)
						return
					}
				}
			}
		}
	}
	for _, s := range subs {
		s.deliver(n)
	}
}

// deliver never blocks: when the buffer is full it drops the oldest
// notification. Only the reader sends, under c.mu.
func (s *Subscription) deliver(n Notification) {
	for {
		select {
		case s.ch <- n:
			return
		default:
		}
		select {
		case <-s.ch:
			s.dropped.Add(1)
		default:
		}
	}
}
