package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"
)

// watch starts the reader goroutine (once): from then on it reads every
// line, and calls wait for their answers.
func (c *Client) watch() {
	c.watching.Do(func() { go c.read() })
}

// wait returns the reply on ch, reading the connection itself while nobody
// else does. The error is ctx's when ctx ends first.
func (c *Client) wait(ctx context.Context, ch chan reply) (reply, error) {
	for {
		select {
		case r := <-ch:
			return r, nil
		case <-c.rtok:
			if r, done, err := c.lead(ctx, ch); done {
				return r, err
			}
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
}

// aLongTimeAgo is a read deadline that has passed: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// lead reads and dispatches lines, holding the read token, until the reply
// on ch has come, ctx ends, or the connection does (then every pending call
// gets its error, this one too). It gives the token back on return.
func (c *Client) lead(ctx context.Context, ch chan reply) (r reply, done bool, err error) {
	defer func() { c.rtok <- struct{}{} }()
	if ctx.Done() != nil {
		// The read has no deadline of its own: when ctx ends (cancelled, or
		// its deadline passed), this poke wakes it.
		stop := context.AfterFunc(ctx, func() { _ = c.conn.SetReadDeadline(aLongTimeAgo) })
		defer stop()
	}
	for {
		select {
		case r := <-ch:
			return r, true, nil
		default:
		}
		if c.ended() { // pending calls had their error: this one's is on ch
			select {
			case r := <-ch:
				return r, true, nil
			default:
				return reply{err: c.Err()}, true, nil
			}
		}
		if c.clearReadDeadline() && ctx.Err() != nil {
			// ctx ended, and its poke may have come before this cleared
			// it: the read would not be woken.
			return reply{}, true, ctx.Err()
		}
		line, err := c.readLine()
		if len(line) > 0 {
			c.dispatch(line)
		}
		switch {
		case err == nil:
		case isTimeout(err):
			c.poked = true // ours, or a late poke from a call that has returned
			if ctx.Err() != nil {
				return reply{}, true, ctx.Err()
			}
		default:
			c.end(err)
		}
	}
}

// clearReadDeadline removes the deadline a poke left on conn. It reports
// whether it did (and so may have removed a poke not yet seen).
func (c *Client) clearReadDeadline() bool {
	if !c.poked {
		return false
	}
	_ = c.conn.SetReadDeadline(time.Time{})
	c.poked = false
	return true
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// read is the reader goroutine (see watch): it takes the read token for
// good and routes every line until the connection ends, then fails what is
// pending.
func (c *Client) read() {
	<-c.rtok
	for !c.ended() {
		c.clearReadDeadline()
		line, err := c.readLine()
		if len(line) > 0 {
			c.dispatch(line)
		}
		if err != nil && isTimeout(err) {
			c.poked = true // a late poke from a call that has returned
			continue
		}
		if err != nil {
			c.end(err)
		}
	}
}

// readLine reads one '\n'-terminated line of at most maxLine bytes. A line
// cut short by a poke is kept for the next reader.
func (c *Client) readLine() ([]byte, error) {
	buf := c.partial
	c.partial = nil
	for {
		chunk, err := c.r.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return nil, fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && isTimeout(err) {
			c.partial = buf
			return nil, err
		}
		return bytes.TrimSpace(buf), err
	}
}

// dispatch routes one line: a response, a batch of responses, or a
// notification. Lines that are none of these are ignored.
func (c *Client) dispatch(line []byte) {
	if line[0] == '[' {
		var msgs []*message
		if json.Unmarshal(line, &msgs) != nil {
			return
		}
		for _, m := range msgs {
			if m != nil {
				c.route(m)
			}
		}
		return
	}
	var m message
	if !parseMessage(line, &m) {
		m = message{}
		if json.Unmarshal(line, &m) != nil {
			return
		}
	}
	c.route(&m)
}

func (c *Client) route(m *message) {
	if m.Method != "" {
		if len(m.ID) == 0 {
			c.notify(Notification{Method: m.Method, Params: m.Params})
		}
		return // a request from the daemon: none are defined
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := parseID(m.ID)
	if !ok {
		// An error the daemon could not tie to a request (e.g. a parse
		// error): it can only be for the call in flight when there is one.
		if m.Error == nil || len(c.pending) != 1 {
			return
		}
		for only := range c.pending {
			id = only
		}
	}
	if ch, ok := c.pending[id]; ok {
		delete(c.pending, id)
		ch <- reply{msg: m}
	}
}

func parseID(raw json.RawMessage) (uint64, bool) {
	if id, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
		return id, true // the usual case, without reflection
	}
	var id uint64
	if len(raw) == 0 || json.Unmarshal(raw, &id) != nil {
		return 0, false
	}
	return id, true
}
