package exchangesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

const (
	sendBuffer   = 1024
	writeTimeout = 10 * time.Second
	// maxStreams is Binance's limit of streams on one connection.
	maxStreams = 1024
	// maxIncoming is Binance's limit of incoming messages (JSON requests and ping frames)
	// per second on a market stream connection; a connection over it is closed.
	maxIncoming = 5
)

var upgrader = websocket.Upgrader{
	CheckOrigin:       func(*http.Request) bool { return true },
	EnableCompression: false,
}

// wsConn is one WebSocket connection: one writer (the handler goroutine) and one reader.
type wsConn struct {
	c         *websocket.Conn
	send      chan []byte
	quit      chan struct{}
	stopOnce  sync.Once
	combined  bool         // wrap events as {"stream","data"}; guarded by hub.mu
	subID     int          // user data subscription id, -1 when none
	acct      *account     // user data subscriber; guarded by hub.mu
	shutdown  bool         // send serverShutdown before closing; guarded by hub.mu
	shutAt    int64        // ms; guarded by hub.mu
	closeCode int          // close frame code; 0 = going away; guarded by hub.mu
	onText    func([]byte) // request handler run by the reader goroutine
	limited   bool         // apply the maxIncoming limit (market stream connections)
	recent    [maxIncoming]int64
	nRecent   int // messages counted in recent; reader goroutine only
}

func (wc *wsConn) stop() { wc.stopOnce.Do(func() { close(wc.quit) }) }

// trySend queues a frame. A connection whose buffer is full (slow consumer) is dropped:
// its socket is closed at once, so neither a publisher nor its writer waits for it.
// Callers hold hub.mu or run on wc's reader goroutine (wc.c is set under hub.mu).
func (wc *wsConn) trySend(b []byte) {
	select {
	case wc.send <- b:
	default:
		wc.stop()
		if wc.c != nil {
			_ = wc.c.Close()
		}
	}
}

// incoming counts one incoming message at now (ms) and reports whether the connection
// is still within maxIncoming messages per second. Reader goroutine only.
func (wc *wsConn) incoming(now int64) bool {
	if !wc.limited {
		return true
	}
	i := wc.nRecent % maxIncoming
	oldest := wc.recent[i] // the message maxIncoming messages ago
	wc.recent[i] = now
	wc.nRecent++
	return wc.nRecent <= maxIncoming || now-oldest >= 1000
}

// hub routes stream events to connections.
type hub struct {
	mu       sync.Mutex
	conns    map[*wsConn]map[string]bool // conn → streams
	byStream map[string]map[*wsConn]bool
	lastSent map[string]int64 // throttle key → ms of the last event sent
}

func newHub() *hub {
	return &hub{conns: map[*wsConn]map[string]bool{}, byStream: map[string]map[*wsConn]bool{}, lastSent: map[string]int64{}}
}

// add subscribes wc to streams; it reports false, subscribing none, when wc would then
// hold more than maxStreams streams.
func (h *hub) add(wc *wsConn, streams []string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.conns[wc]
	if cur == nil {
		cur = map[string]bool{}
		h.conns[wc] = cur
	}
	n := len(cur)
	for _, s := range streams {
		if !cur[s] {
			n++
		}
	}
	if n > maxStreams {
		return false
	}
	for _, s := range streams {
		cur[s] = true
		if h.byStream[s] == nil {
			h.byStream[s] = map[*wsConn]bool{}
		}
		h.byStream[s][wc] = true
	}
	return true
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
	return append([]string{}, sortedKeys(h.conns[wc])...) // [] rather than null when empty
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

// due reports whether stream has subscribers and the event identified by key was last
// sent at least every ms before now; if so it records now as its last sending.
func (h *hub) due(stream, key string, now, every int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.byStream[stream]) == 0 {
		return false
	}
	if last, ok := h.lastSent[key]; ok && now-last < every && now >= last {
		return false
	}
	h.lastSent[key] = now
	return true
}

// publish sends a raw event to every subscriber of stream (wrapped for combined conns).
// It never blocks: a subscriber whose buffer is full is disconnected.
func (h *hub) publish(stream string, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var wrapped []byte
	for wc := range h.byStream[stream] {
		if !wc.combined {
			wc.trySend(data)
			continue
		}
		if wrapped == nil {
			wrapped = wrapCombined(stream, data)
		}
		wc.trySend(wrapped)
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

// serveRawStream serves /ws and /ws/<anything>. A path naming a stream (it has an '@' or
// starts with '!') subscribes to it and must be valid; any other path (clients such as
// ccxt dial /ws/0) opens a connection with no stream, ready for SUBSCRIBE.
func (e *Exchange) serveRawStream(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/ws"), "/")
	var names []string
	if strings.ContainsRune(name, '@') || strings.HasPrefix(name, "!") {
		if !e.validStream(name) {
			writeErr(w, errf(400, -1121, "Invalid stream %q.", name))
			return
		}
		names = []string{name}
	}
	e.serveStreams(w, r, names, false)
}

// serveCombinedStream serves /stream?streams=a/b/… (or /stream with none).
func (e *Exchange) serveCombinedStream(w http.ResponseWriter, r *http.Request) {
	var names []string
	if s := r.URL.Query().Get("streams"); s != "" {
		names = strings.Split(s, "/")
	}
	if len(names) > maxStreams {
		writeErr(w, errf(400, -1101, "Too many streams: at most %d per connection.", maxStreams))
		return
	}
	for _, n := range names {
		if !e.validStream(n) {
			writeErr(w, errf(400, -1121, "Invalid stream %q.", n))
			return
		}
	}
	e.serveStreams(w, r, names, true)
}

func (e *Exchange) serveStreams(w http.ResponseWriter, r *http.Request, names []string, combined bool) {
	wc := &wsConn{send: make(chan []byte, sendBuffer), quit: make(chan struct{}), combined: combined, subID: -1, limited: true}
	wc.onText = func(msg []byte) { e.handleStreamControl(wc, msg) }
	e.hub.add(wc, names) // before the handshake completes, so no event after it is missed
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		e.hub.remove(wc)
		return
	}
	e.hub.mu.Lock()
	wc.c = c
	e.hub.mu.Unlock()
	e.runConn(wc)
}

// runConn is the single writer of wc: it sends queued frames and pings until wc stops,
// the peer goes away or the exchange closes. It runs on the HTTP handler goroutine and
// starts one reader goroutine, which it waits for.
func (e *Exchange) runConn(wc *wsConn) {
	defer e.hub.remove(wc)
	readerDone := make(chan struct{})
	go e.readConn(wc, readerDone)
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

// readConn is wc's reader goroutine: it answers pings, counts incoming messages and hands
// text frames to wc.onText until the connection fails or goes over the message limit.
func (e *Exchange) readConn(wc *wsConn, done chan<- struct{}) {
	defer close(done)
	defer wc.stop()
	over := func() {
		e.hub.mu.Lock()
		wc.closeCode = websocket.ClosePolicyViolation
		e.hub.mu.Unlock()
		wc.stop()
	}
	wc.c.SetReadLimit(1 << 16)
	wc.c.SetPingHandler(func(data string) error {
		if !wc.incoming(e.nowMs()) {
			over()
			return nil
		}
		err := wc.c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(writeTimeout))
		if err == websocket.ErrCloseSent { //nolint:errorlint // gorilla returns the sentinel itself
			return nil
		}
		return err
	})
	for {
		typ, msg, err := wc.c.ReadMessage()
		if err != nil {
			return
		}
		if !wc.incoming(e.nowMs()) {
			over()
			return
		}
		if typ == websocket.TextMessage && wc.onText != nil {
			wc.onText(msg)
		}
	}
}

func (e *Exchange) goodbye(wc *wsConn) {
	e.hub.mu.Lock()
	shutdown, at, combined, code := wc.shutdown, wc.shutAt, wc.combined, wc.closeCode
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
	msg := websocket.FormatCloseMessage(websocket.CloseGoingAway, "bye")
	if code == websocket.ClosePolicyViolation {
		msg = websocket.FormatCloseMessage(code, "too many messages")
	}
	_ = wc.c.WriteControl(websocket.CloseMessage, msg, dl)
}
