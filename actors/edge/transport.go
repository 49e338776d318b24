package edge

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"

	"github.com/gorilla/websocket"
)

// Transport frames one client connection's JSON-RPC messages: the edge's
// connection logic (requests, batches, login, streams, limits) runs over
// it whatever carries the messages. The Unix socket and TCP carry one
// message per line; the web UI's WebSocket one message per text frame.
// ReadMessage is called from one goroutine; WriteMessage is called under
// the connection's write lock; SetReadDeadline and Close may be called
// from any goroutine.
type Transport interface {
	// ReadMessage returns the next message, which may be a partial one
	// with a non-nil error (the caller handles the part it got at io.EOF).
	// A message longer than max bytes is errTooLarge, and nothing of it
	// is held.
	ReadMessage(max int) ([]byte, error)
	// WriteMessage sends one message.
	WriteMessage(b []byte) error
	// SetReadDeadline bounds the wait for the next message.
	SetReadDeadline(t time.Time) error
	// SetWriteDeadline bounds the next writes.
	SetWriteDeadline(t time.Time) error
	// RemoteAddr is the peer's address, which logins are counted by.
	RemoteAddr() net.Addr
	// Close closes the connection.
	Close() error
}

// lineTransport is newline-delimited JSON on a stream connection (the
// Unix socket and TCP).
type lineTransport struct {
	nc net.Conn
	r  *bufio.Reader // made on the first read
	bw *bufio.Writer
}

func newLineTransport(nc net.Conn) *lineTransport {
	return &lineTransport{nc: nc, bw: bufio.NewWriterSize(nc, 16<<10)}
}

func (t *lineTransport) ReadMessage(max int) ([]byte, error) {
	if t.r == nil {
		t.r = bufio.NewReaderSize(t.nc, 64<<10)
	}
	return readLine(t.r, max)
}

func (t *lineTransport) WriteMessage(b []byte) error {
	if _, err := t.bw.Write(b); err != nil {
		return err
	}
	if err := t.bw.WriteByte('\n'); err != nil {
		return err
	}
	return t.bw.Flush()
}

func (t *lineTransport) SetReadDeadline(d time.Time) error  { return t.nc.SetReadDeadline(d) }
func (t *lineTransport) SetWriteDeadline(d time.Time) error { return t.nc.SetWriteDeadline(d) }
func (t *lineTransport) RemoteAddr() net.Addr               { return t.nc.RemoteAddr() }
func (t *lineTransport) Close() error                       { return t.nc.Close() }

// readLine reads up to '\n' without holding more than max bytes; past max it
// stops reading and returns errTooLarge.
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max+1 { // +1: the newline itself
			return nil, errTooLarge
		}
		line = append(line, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return line, err
	}
}

// wsTransport is one JSON-RPC message (or batch) per WebSocket message.
type wsTransport struct {
	ws    *websocket.Conn
	limit int
}

// WebSocketTransport returns the transport of an upgraded WebSocket
// connection: each text (or binary) message is one JSON-RPC message or
// batch, and each answer or notification is one text message.
func WebSocketTransport(ws *websocket.Conn) Transport {
	return &wsTransport{ws: ws}
}

func (t *wsTransport) ReadMessage(max int) ([]byte, error) {
	if t.limit != max {
		t.ws.SetReadLimit(int64(max)) // gorilla stops reading past it
		t.limit = max
	}
	_, r, err := t.ws.NextReader()
	if err != nil {
		return nil, wsReadError(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, wsReadError(err)
	}
	return b, nil
}

// wsReadError maps gorilla's read errors to the edge's: too large, or the
// end of the connection.
func wsReadError(err error) error {
	if errors.Is(err, websocket.ErrReadLimit) {
		return errTooLarge
	}
	return err
}

func (t *wsTransport) WriteMessage(b []byte) error {
	return t.ws.WriteMessage(websocket.TextMessage, b)
}

func (t *wsTransport) SetReadDeadline(d time.Time) error  { return t.ws.SetReadDeadline(d) }
func (t *wsTransport) SetWriteDeadline(d time.Time) error { return t.ws.SetWriteDeadline(d) }
func (t *wsTransport) RemoteAddr() net.Addr               { return t.ws.RemoteAddr() }
func (t *wsTransport) Close() error                       { return t.ws.Close() }
