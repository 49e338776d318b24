package edge

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/superbot/superbot/actors/rpc/jsonobj"
)

// Standard JSON-RPC 2.0 error codes and messages, exactly as the spec names them.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// Application error codes (the -32000 to -32099 server range).
const (
	CodeUnauthorized       = -32001
	CodeUnavailable        = -32003
	CodeNotFound           = -32004
	CodeAlreadyExists      = -32005
	CodeFailedPrecondition = -32006
	CodeTimeout            = -32008
	CodeRateLimited        = -32009
)

var stdMessages = map[int]string{
	CodeParseError:     "Parse error",
	CodeInvalidRequest: "Invalid Request",
	CodeMethodNotFound: "Method not found",
	CodeInvalidParams:  "Invalid params",
	CodeInternalError:  "Internal error",
}

// rpcError is the error object of a response.
type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func stdError(code int, data any) *rpcError {
	return &rpcError{Code: code, Message: stdMessages[code], Data: data}
}

// response is a JSON-RPC error response (a result is appended in place by
// handleOne). ID is the raw id of the request (echoed byte for byte) or
// null.
type response struct {
	JSONRPC string          `json:"jsonrpc"`
	Error   *rpcError       `json:"error"`
	ID      json.RawMessage `json:"id"`
}

var nullID = json.RawMessage("null")

func (r *response) encode() []byte {
	b, err := json.Marshal(r)
	if err != nil {
		return []byte(`{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"},"id":null}`)
	}
	return b
}

// request is one parsed and validated request object.
type request struct {
	Method string
	Params json.RawMessage
	ID     json.RawMessage // nil for a notification
}

func (r *request) isNotification() bool { return r.ID == nil }

// parseRequest validates one element (a whole message or a batch entry),
// which the caller has checked is valid JSON. On failure it returns the
// error response to send (whose id is the request's id when that id itself
// was valid, else null).
func parseRequest(raw json.RawMessage) (*request, *response) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &response{JSONRPC: "2.0", Error: stdError(CodeInvalidRequest, nil), ID: nullID}
	}
	f, ok := splitRequest(raw)
	if !ok {
		return nil, &response{JSONRPC: "2.0", Error: stdError(CodeInvalidRequest, nil), ID: nullID}
	}
	idOK := !f.hasID || validID(f.id)
	invalid := func() (*request, *response) {
		rid := nullID
		if f.hasID && idOK && !f.idTwice {
			rid = f.id
		}
		return nil, &response{JSONRPC: "2.0", Error: stdError(CodeInvalidRequest, nil), ID: rid}
	}
	if version, ok := jsonString(f.jsonrpc); !ok || version != "2.0" {
		return invalid()
	}
	method, ok := jsonString(f.method)
	if !ok || method == "" || !idOK || f.other || f.duplicate {
		return invalid()
	}
	if f.hasParams {
		p := bytes.TrimSpace(f.params)
		if len(p) == 0 || (p[0] != '{' && p[0] != '[') {
			return invalid()
		}
	}
	req := &request{Method: method, Params: f.params}
	if f.hasID {
		req.ID = f.id
	}
	return req, nil
}

// requestFields are the members of a request object. A repeated member
// makes the request invalid (duplicate): encoding/json would keep the last
// value, so `"method":"rpc.methods","method":"daemon.stop"` would run a
// method a reader of the first member does not expect.
type requestFields struct {
	jsonrpc, method, params, id []byte
	hasJSONRPC, hasMethod       bool
	hasParams, hasID            bool
	other                       bool // a member that is none of the four
	duplicate                   bool // one of the four given twice
	idTwice                     bool // the id itself: which to answer is unknown
}

func (f *requestFields) set(k, v []byte) {
	var seen *bool
	switch string(k) {
	case "jsonrpc":
		f.jsonrpc, seen = v, &f.hasJSONRPC
	case "method":
		f.method, seen = v, &f.hasMethod
	case "params":
		f.params, seen = v, &f.hasParams
	case "id":
		f.id, seen = v, &f.hasID
	default:
		f.other = true
		return
	}
	if *seen {
		f.duplicate = true
		f.idTwice = f.idTwice || seen == &f.hasID
	}
	*seen = true
}

// splitRequest splits a request object into its members in one pass
// (jsonobj), without allocating; a key with an escape or invalid UTF-8 is
// unescaped (or has its invalid bytes replaced) by encoding/json, so that
// "\u006dethod" is "method", and a duplicate for it.
func splitRequest(raw []byte) (requestFields, bool) {
	var f requestFields
	ok := jsonobj.Members(raw, func(k, v []byte) bool {
		if bytes.IndexByte(k, '\\') >= 0 || !utf8.Valid(k) {
			var key string
			quoted := append(append([]byte{'"'}, k...), '"')
			if json.Unmarshal(quoted, &key) != nil {
				return false
			}
			k = []byte(key)
		}
		f.set(k, v)
		return true
	})
	if !ok {
		return requestFields{}, false
	}
	return f, true
}

// jsonString decodes a JSON string value (without reflection when it has
// no escapes).
func jsonString(raw json.RawMessage) (string, bool) {
	if s, ok := jsonobj.Unquote(raw); ok {
		return s, true
	}
	var s string
	return s, len(raw) > 0 && json.Unmarshal(raw, &s) == nil
}

// validID: a string, a number or null. id is valid JSON (parseRequest's
// caller checked the whole message), so its first byte tells its type.
func validID(id json.RawMessage) bool {
	id = bytes.TrimSpace(id)
	if len(id) == 0 {
		return false
	}
	switch c := id[0]; {
	case c == '"':
		return true
	case c == 'n':
		return bytes.Equal(id, nullID)
	case c == '-' || (c >= '0' && c <= '9'):
		return true
	}
	return false
}
