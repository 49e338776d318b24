package exchangesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
)

// Live subscribing on a market stream connection (Binance "Web Socket Streams", section
// "Live Subscribing/Unsubscribing to streams"): SUBSCRIBE, UNSUBSCRIBE,
// LIST_SUBSCRIPTIONS, SET_PROPERTY and GET_PROPERTY, answered {"result":…,"id":…} or
// {"error":{"code":…,"msg":…},"id":…} with the codes of its "Error Messages" table.

// streamIDRE is the accepted form of a string id: alphanumeric, at most 36 characters.
var streamIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,36}$`)

// controlError is one answer of the "Error Messages" table.
type controlError struct {
	code int
	msg  string
}

// handleStreamControl answers one request received on a market stream connection.
// It runs on the connection's reader goroutine.
func (e *Exchange) handleStreamControl(wc *wsConn, msg []byte) {
	var req struct {
		Method *string          `json:"method"`
		Params json.RawMessage  `json:"params"`
		ID     *json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(msg, &req); err != nil {
		var se *json.SyntaxError
		if !errors.As(err, &se) { // valid JSON, not an object of this shape
			b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 2, "msg": "Invalid request: expected an object with method, params and id"}})
			wc.trySend(b)
			return
		}
		line, col := jsonErrorPos(msg, se.Offset)
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": 3,
			"msg": fmt.Sprintf("Invalid JSON: expected value at line %d column %d", line, col)}})
		wc.trySend(b)
		return
	}
	id := json.RawMessage("null")
	if req.ID != nil {
		id = *req.ID
	}
	result, ce := e.streamControl(wc, req.Method, req.Params, id)
	var b []byte
	if ce != nil {
		b, _ = json.Marshal(map[string]any{"error": map[string]any{"code": ce.code, "msg": ce.msg}, "id": id})
	} else {
		b, _ = json.Marshal(map[string]any{"result": result, "id": id})
	}
	wc.trySend(b)
}

func (e *Exchange) streamControl(wc *wsConn, method *string, params json.RawMessage, id json.RawMessage) (any, *controlError) {
	if !validControlID(id) {
		return nil, &controlError{2, "Invalid request: request ID must be an unsigned integer"}
	}
	if method == nil {
		return nil, &controlError{2, "Invalid request: missing field `method`"}
	}
	switch *method {
	case "SUBSCRIBE", "UNSUBSCRIBE":
		var names []string
		if len(params) > 0 && json.Unmarshal(params, &names) != nil {
			return nil, &controlError{2, "Invalid request: params must be a list of stream names"}
		}
		if *method == "UNSUBSCRIBE" {
			e.hub.unsubscribe(wc, names)
			return nil, nil
		}
		for _, n := range names {
			if !e.validStream(n) {
				return nil, &controlError{2, "Invalid request: invalid stream " + n}
			}
		}
		if !e.hub.add(wc, names) {
			return nil, &controlError{2, fmt.Sprintf("Invalid request: too many streams (at most %d per connection)", maxStreams)}
		}
		return nil, nil
	case "LIST_SUBSCRIPTIONS":
		return e.hub.list(wc), nil
	case "SET_PROPERTY", "GET_PROPERTY":
		return e.streamProperty(wc, *method == "SET_PROPERTY", params)
	}
	return nil, &controlError{2, fmt.Sprintf("Invalid request: unknown variant `%s`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`", *method)}
}

// streamProperty sets or gets the one property Binance has, "combined".
func (e *Exchange) streamProperty(wc *wsConn, set bool, params json.RawMessage) (any, *controlError) {
	var ps []json.RawMessage
	if json.Unmarshal(params, &ps) != nil || len(ps) == 0 {
		return nil, &controlError{2, "Invalid request: property name must be a string"}
	}
	if set && len(ps) > 2 || !set && len(ps) > 1 {
		return nil, &controlError{2, "Invalid request: too many parameters"}
	}
	var name string
	if json.Unmarshal(ps[0], &name) != nil {
		return nil, &controlError{2, "Invalid request: property name must be a string"}
	}
	if name != "combined" {
		return nil, &controlError{0, "Unknown property"}
	}
	e.hub.mu.Lock()
	defer e.hub.mu.Unlock()
	if !set {
		return wc.combined, nil
	}
	var v bool
	if len(ps) < 2 || json.Unmarshal(ps[1], &v) != nil {
		return nil, &controlError{1, "Invalid value type: expected Boolean"}
	}
	wc.combined = v
	return nil, nil
}

// validControlID accepts the id forms Binance lists: a 64-bit signed integer, an
// alphanumeric string of at most 36 characters, or null.
func validControlID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if string(id) == "null" {
		return true
	}
	var n int64
	if json.Unmarshal(id, &n) == nil {
		return true
	}
	var s string
	return json.Unmarshal(id, &s) == nil && streamIDRE.MatchString(s)
}

// jsonErrorPos returns the 1-based line and column of byte offset off (a
// json.SyntaxError's Offset: the bytes read before the error) in msg.
func jsonErrorPos(msg []byte, off int64) (line, col int) {
	n := int(min(max(off-1, 0), int64(len(msg))))
	line, col = 1, 1
	for _, c := range msg[:n] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}
