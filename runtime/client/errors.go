package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// JSON-RPC error codes: the five of the JSON-RPC 2.0 specification and the
// application codes superbotd answers with.
const (
	CodeParseError         = -32700
	CodeInvalidRequest     = -32600
	CodeMethodNotFound     = -32601
	CodeInvalidParams      = -32602
	CodeInternalError      = -32603
	CodeUnauthorized       = -32001
	CodeUnavailable        = -32003
	CodeNotFound           = -32004
	CodeAlreadyExists      = -32005
	CodeFailedPrecondition = -32006
	CodeTimeout            = -32008
	CodeRateLimited        = -32009
)

// Sentinel errors. Test them with errors.Is.
var (
	// ErrDaemonNotRunning is matched by the error Dial returns when nothing
	// listens: the socket file is missing or the connection is refused.
	ErrDaemonNotRunning = errors.New("superbotd is not running")
	// ErrUnauthorized is matched by the error Dial returns when auth.login
	// is refused, and by any *Error with code CodeUnauthorized.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrClosed is returned by calls made on (or pending when) Close is called.
	ErrClosed = errors.New("client closed")
	// ErrConnectionLost is returned by calls pending when the daemon closes
	// the connection or the connection breaks.
	ErrConnectionLost = errors.New("connection to superbotd lost")
)

// Error is an error response from the daemon.
type Error struct {
	// Code is the JSON-RPC error code (see the Code constants).
	Code int `json:"code"`
	// Message is the daemon's one-line description.
	Message string `json:"message"`
	// Data is the optional error data, as sent (e.g. the list of known
	// module names with CodeNotFound); nil when absent.
	Data json.RawMessage `json:"data,omitempty"`
}

// Error formats the error as "message (code N)" followed by the data when
// it is a list of names.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s (code %d)", e.Message, e.Code)
	if names := e.DataNames(); len(names) > 0 {
		s += "; known: " + strings.Join(names, ", ")
	} else if d := strings.TrimSpace(string(e.Data)); d != "" && d != "null" {
		var str string
		if json.Unmarshal(e.Data, &str) == nil {
			d = str
		}
		s += ": " + d
	}
	return s
}

// Is makes errors.Is(err, ErrUnauthorized) true for CodeUnauthorized.
func (e *Error) Is(target error) bool {
	return target == ErrUnauthorized && e.Code == CodeUnauthorized
}

// DataNames returns Data when it is a JSON list of strings (or an object
// holding exactly one such list, e.g. {"known": [...]}), else nil.
func (e *Error) DataNames() []string {
	if len(e.Data) == 0 {
		return nil
	}
	var names []string
	if err := json.Unmarshal(e.Data, &names); err == nil {
		return names
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &obj); err != nil || len(obj) != 1 {
		return nil
	}
	for _, v := range obj {
		if err := json.Unmarshal(v, &names); err == nil {
			return names
		}
	}
	return nil
}

// CodeOf returns the code of the *Error in err's chain, or 0 when err is not
// an error response.
func CodeOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// NotRunningError is returned by Dial when nothing listens at the address.
// errors.Is(err, ErrDaemonNotRunning) is true for it.
type NotRunningError struct {
	// Network is "unix" or "tcp".
	Network string
	// Address is the socket path or host:port that was tried.
	Address string
	// Reason is a short phrase: "no socket at PATH", "connection refused at ADDR".
	Reason string
	// Err is the underlying dial error.
	Err error
}

// Error returns "superbotd is not running (REASON)".
func (e *NotRunningError) Error() string {
	return fmt.Sprintf("%s (%s)", ErrDaemonNotRunning, e.Reason)
}

// Is reports whether target is ErrDaemonNotRunning.
func (e *NotRunningError) Is(target error) bool { return target == ErrDaemonNotRunning }

// Unwrap returns the dial error.
func (e *NotRunningError) Unwrap() error { return e.Err }

// DialError is returned by Dial when connecting fails for another reason
// than nothing listening (e.g. permission denied on the socket, a timeout).
type DialError struct {
	// Network is "unix" or "tcp"; Address the socket path or host:port.
	Network, Address string
	// Err is the underlying error.
	Err error
}

// Error returns "connect to NETWORK ADDRESS: ERR".
func (e *DialError) Error() string {
	return fmt.Sprintf("connect to %s %s: %v", e.Network, e.Address, e.Err)
}

// Unwrap returns the underlying error.
func (e *DialError) Unwrap() error { return e.Err }
