package etcd

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// EventType says what happened to a key.
type EventType int

// Event types.
const (
	EventPut EventType = iota
	EventDelete
)

// Event is one change of a key.
type Event struct {
	Type EventType
	Kv   KeyValue
}

// WatchResponse is one batch of events, or the watch's end (Err set; the
// channel closes after it).
type WatchResponse struct {
	// Revision is the store's revision of this batch.
	Revision int64
	Events   []Event
	// Err ends the watch: a gateway error, a cancelled watch (compacted
	// revision, no leader) or a lost stream.
	Err error
}

// WatchOptions select what a watch sees.
type WatchOptions struct {
	// Prefix watches every key starting with the key.
	Prefix bool
	// FromRev is the first revision to see (0: from now on).
	FromRev int64
	// NoPut leaves out puts (deletes only).
	NoPut bool
}

// Watch follows key (or every key under it with opts.Prefix). The channel
// carries batches of events and closes when ctx ends, the client closes or
// the stream ends (the last response then carries Err, except after ctx
// ended). The watch requires a leader: a member that loses its leader
// ends the stream. The caller must read until the channel closes or cancel
// ctx.
func (c *Client) Watch(ctx context.Context, key string, opts WatchOptions) <-chan WatchResponse {
	ch := make(chan WatchResponse, 1)
	req := watchCreate{Key: []byte(key), StartRevision: i64(opts.FromRev)}
	if opts.Prefix {
		req.RangeEnd = prefixEnd(key)
	}
	if opts.NoPut {
		req.Filters = []string{"NOPUT"}
	}
	go c.watch(ctx, req, ch)
	return ch
}

type watchCreate struct {
	Key           []byte   `json:"key"`
	RangeEnd      []byte   `json:"range_end,omitempty"`
	StartRevision i64      `json:"start_revision,omitempty"`
	Filters       []string `json:"filters,omitempty"`
}

// watchResult is one result of the stream.
type watchResult struct {
	Header          header `json:"header"`
	Created         bool   `json:"created"`
	Canceled        bool   `json:"canceled"`
	CompactRevision i64    `json:"compact_revision"`
	CancelReason    string `json:"cancel_reason"`
	Events          []struct {
		Type string   `json:"type"`
		Kv   KeyValue `json:"kv"`
	} `json:"events"`
}

var errStreamEnded = errors.New("etcd: watch stream ended")

func (c *Client) watch(ctx context.Context, req watchCreate, ch chan<- WatchResponse) {
	defer close(ch)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(c.ctx, cancel) // Close ends the watch
	defer stop()
	body, err := json.Marshal(map[string]watchCreate{"create_request": req})
	if err != nil {
		deliver(ctx, ch, WatchResponse{Err: fmt.Errorf("etcd: encode watch: %w", err)})
		return
	}
	hr, err := c.send(ctx, "/v3/watch", body, http.Header{"Grpc-Metadata-Hasleader": {"true"}})
	if err != nil {
		deliver(ctx, ch, WatchResponse{Err: err})
		return
	}
	defer func() { _ = hr.Body.Close() }()
	sc := bufio.NewScanner(hr.Body)
	sc.Buffer(make([]byte, 0, 4096), MaxMessage)
	for sc.Scan() {
		wr, done := decodeWatch(sc.Bytes())
		if wr.Err == nil && len(wr.Events) == 0 && !done {
			continue // created, progress
		}
		if !deliver(ctx, ch, wr) || done {
			return
		}
	}
	err = sc.Err()
	if errors.Is(err, bufio.ErrTooLong) {
		err = fmt.Errorf("etcd: watch result exceeds %d bytes", MaxMessage)
	} else if err == nil {
		err = errStreamEnded
	}
	if ctx.Err() == nil {
		deliver(ctx, ch, WatchResponse{Err: err})
	}
}

// decodeWatch reads one line of the stream; done: the watch is over.
func decodeWatch(line []byte) (WatchResponse, bool) {
	if gerr := gatewayError(line); gerr != nil {
		return WatchResponse{Err: gerr}, true
	}
	var msg struct {
		Result *watchResult `json:"result"`
	}
	if err := json.Unmarshal(line, &msg); err != nil || msg.Result == nil {
		return WatchResponse{Err: fmt.Errorf("etcd: garbled watch result: %.200s", line)}, true
	}
	r := msg.Result
	if r.Canceled {
		return WatchResponse{Err: fmt.Errorf("etcd: watch cancelled (compact revision %d): %s", r.CompactRevision, r.CancelReason)}, true
	}
	wr := WatchResponse{Revision: int64(r.Header.Revision)}
	for _, ev := range r.Events {
		e := Event{Kv: ev.Kv}
		switch ev.Type {
		case "", "PUT":
		case "DELETE":
			e.Type = EventDelete
		default:
			return WatchResponse{Err: fmt.Errorf("etcd: watch event of type %q", ev.Type)}, true
		}
		wr.Events = append(wr.Events, e)
	}
	return wr, false
}

// deliver sends wr unless ctx ends first.
func deliver(ctx context.Context, ch chan<- WatchResponse, wr WatchResponse) bool {
	select {
	case ch <- wr:
		return true
	case <-ctx.Done():
		return false
	}
}
