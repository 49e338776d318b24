package exchangesim

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	sendBuffer   = 1024
	writeTimeout = 10 * time.Second
)

var upgrader = websocket.Upgrader{
	CheckOrigin:       func(*http.Request) bool { return true },
	EnableCompression: false,
}

// wsConn is one WebSocket connection: one writer (the handler goroutine) and one reader.
type wsConn struct {
	c        *websocket.Conn
	send     chan []byte
	quit     chan struct{}
	stopOnce sync.Once
	combined bool
	subID    int          // user data subscription id, -1 when none
	acct     *account     // user data subscriber; guarded by hub.mu
	shutdown bool         // send serverShutdown before closing; guarded by hub.mu
	shutAt   int64        // ms; guarded by hub.mu
	onText   func([]byte) // request handler run by the reader goroutine
}

func (wc *wsConn) stop() { wc.stopOnce.Do(func() { close(wc.quit) }) }

// trySend queues a frame; a connection whose buffer is full is closed (slow consumer).
func (wc *wsConn) trySend(b []byte) {
	select {
	case wc.send <- b:
	default:
		wc.stop()
	}
}

// hub routes stream events to connections.
type hub struct {
	mu       sync.Mutex
	conns    map[*wsConn]map[string]bool // conn → streams
	byStream map[string]map[*wsConn]bool
}

func newHub() *hub {
	return &hub{conns: map[*wsConn]map[string]bool{}, byStream: map[string]map[*wsConn]bool{}}
}

func (h *hub) add(wc *wsConn, streams []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conns[wc] == nil {
		h.conns[wc] = map[string]bool{}
	}
	for _, s := range streams {
		h.conns[wc][s] = true
		if h.byStream[s] == nil {
			h.byStream[s] = map[*wsConn]bool{}
		}
		h.byStream[s][wc] = true
	}
}

func (h *hub) unsubscribe(wc *wsConn, streams []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, s := range streams {
		delete(h.conns[wc], s)
		delete(h.byStream[s], wc)
		if len(h.byStream[s]) == 0 {
			delete(h.byStream, s)
		}
	}
}

func (h *hub) list(wc *wsConn) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := []string{}
	for s := range h.conns[wc] {
		out = append(out, s)
	}
	return out
}

func (h *hub) remove(wc *wsConn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.conns[wc] {
		delete(h.byStream[s], wc)
		if len(h.byStream[s]) == 0 {
			delete(h.byStream, s)
		}
	}
	delete(h.conns, wc)
}

func (h *hub) has(stream string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.byStream[stream]) > 0
}

// publish sends a raw event to every subscriber of stream (wrapped for combined conns).
func (h *hub) publish(stream string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for wc := range h.byStream[stream] {
		if wc.combined {
			wc.trySend(wrapCombined(stream, data))
		} else {
			wc.trySend(data)
		}
	}
}

func wrapCombined(stream string, data []byte) []byte {
	b := make([]byte, 0, len(data)+len(stream)+24)
	b = append(b, `{"stream":"`...)
	b = append(b, stream...)
	b = append(b, `","data":`...)
	b = append(b, data...)
	return append(b, '}')
}

// publishUser pushes a user data event to the subscribers of a.
func (h *hub) publishUser(a *account, event any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var raw []byte
	for wc := range h.conns {
		if wc.acct != a {
			continue
		}
		if raw == nil {
			var err error
			if raw, err = json.Marshal(event); err != nil {
				return
			}
		}
		b, _ := json.Marshal(map[string]any{"subscriptionId": wc.subID, "event": json.RawMessage(raw)})
		wc.trySend(b)
	}
}

// closeAll closes every connection, first sending serverShutdown when shutdown is set.
func (h *hub) closeAll(shutdown bool, now int64) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	for wc := range h.conns {
		wc.shutdown, wc.shutAt = shutdown, now
		wc.stop()
	}
	return len(h.conns)
}

var streamRE = regexp.MustCompile(`^([a-z0-9]+)@(trade|bookTicker|kline_[0-9]+[smhdwM]|depth(5|10|20)?(@100ms|@1000ms)?)$`)

// validStream reports whether name is a stream this exchange serves.
func (e *Exchange) validStream(name string) bool {
	sm := streamRE.FindStringSubmatch(name)
	if sm == nil || e.markets[strings.ToUpper(sm[1])] == nil {
		return false
	}
	if iv, ok := strings.CutPrefix(sm[2], "kline_"); ok {
		return validInterval(iv)
	}
	return true
}

func (e *Exchange) serveRawStream(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/ws/")
	if !e.validStream(name) {
		writeErr(w, errf(400, -1121, "Invalid stream %q.", name))
		return
	}
	e.serveStreams(w, r, []string{name}, false)
}

func (e *Exchange) serveCombinedStream(w http.ResponseWriter, r *http.Request) {
	names := strings.Split(r.URL.Query().Get("streams"), "/")
	for _, n := range names {
		if !e.validStream(n) {
			writeErr(w, errf(400, -1121, "Invalid stream %q.", n))
			return
		}
	}
	e.serveStreams(w, r, names, true)
}

func (e *Exchange) serveStreams(w http.ResponseWriter, r *http.Request, names []string, combined bool) {
	wc := &wsConn{send: make(chan []byte, sendBuffer), quit: make(chan struct{}), combined: combined, subID: -1}
	wc.onText = func(msg []byte) { e.handleStreamControl(wc, msg) }
	e.hub.add(wc, names) // before the handshake completes, so no event after it is missed
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		e.hub.remove(wc)
		return
	}
	wc.c = c
	e.runConn(wc)
}

// handleStreamControl answers SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS.
func (e *Exchange) handleStreamControl(wc *wsConn, msg []byte) {
	var req struct {
		Method string          `json:"method"`
		Params []string        `json:"params"`
		ID     json.RawMessage `json:"id"`
	}
	if json.Unmarshal(msg, &req) != nil || len(req.ID) == 0 {
		wc.trySend([]byte(`{"error":{"code":3,"msg":"Invalid JSON: expected value at line 1 column 1"}}`))
		return
	}
	var result any
	switch req.Method {
	case "SUBSCRIBE":
		for _, s := range req.Params {
			if !e.validStream(s) {
				b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 2, "msg": "Invalid request: unknown stream " + s}, "id": req.ID})
				wc.trySend(b)
				return
			}
		}
		e.hub.add(wc, req.Params)
	case "UNSUBSCRIBE":
		e.hub.unsubscribe(wc, req.Params)
	case "LIST_SUBSCRIPTIONS":
		result = e.hub.list(wc)
	default:
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 1, "msg": "Invalid request: unknown method"}, "id": req.ID})
		wc.trySend(b)
		return
	}
	b, _ := json.Marshal(map[string]any{"result": result, "id": req.ID})
	wc.trySend(b)
}

// runConn is the single writer of wc: it sends queued frames and pings until wc stops,
// the peer goes away or the exchange closes. It runs on the HTTP handler goroutine and
// starts one reader goroutine, which it waits for.
func (e *Exchange) runConn(wc *wsConn) {
	defer e.hub.remove(wc)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer wc.stop()
		wc.c.SetReadLimit(1 << 16)
		for {
			typ, msg, err := wc.c.ReadMessage()
			if err != nil {
				return
			}
			if typ == websocket.TextMessage && wc.onText != nil {
				wc.onText(msg)
			}
		}
	}()
	ping := time.NewTicker(e.cfg.PingInterval)
	defer ping.Stop()
	defer func() {
		_ = wc.c.Close()
		<-readerDone
	}()
	for {
		select {
		case b := <-wc.send:
			_ = wc.c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if wc.c.WriteMessage(websocket.TextMessage, b) != nil {
				return
			}
		case <-ping.C:
			if wc.c.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(writeTimeout)) != nil {
				return
			}
		case <-e.done:
			e.goodbye(wc)
			return
		case <-wc.quit:
			e.goodbye(wc)
			return
		}
	}
}

func (e *Exchange) goodbye(wc *wsConn) {
	e.hub.mu.Lock()
	shutdown, at, combined := wc.shutdown, wc.shutAt, wc.combined
	e.hub.mu.Unlock()
	dl := time.Now().Add(time.Second)
	if shutdown {
		ev, _ := json.Marshal(map[string]any{"e": "serverShutdown", "E": at})
		if combined {
			ev = wrapCombined("!serverShutdown", ev)
		}
		_ = wc.c.SetWriteDeadline(dl)
		_ = wc.c.WriteMessage(websocket.TextMessage, ev)
	}
	_ = wc.c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye"), dl)
}
