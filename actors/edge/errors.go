package edge

import (
	"errors"
	"strings"

	"github.com/superbot/superbot/actors/rpc"
	"github.com/superbot/superbot/messages"
)

// codeTable is the one table from internal error codes to JSON-RPC codes.
var codeTable = map[messages.ErrorCode]int{
	messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT:    CodeInvalidParams,
	messages.ErrorCode_ERROR_CODE_NOT_FOUND:           CodeNotFound,
	messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS:      CodeAlreadyExists,
	messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION: CodeFailedPrecondition,
	messages.ErrorCode_ERROR_CODE_UNAVAILABLE:         CodeUnavailable,
	messages.ErrorCode_ERROR_CODE_TIMEOUT:             CodeTimeout,
	messages.ErrorCode_ERROR_CODE_UNAUTHENTICATED:     CodeUnauthorized,
	messages.ErrorCode_ERROR_CODE_RATE_LIMITED:        CodeRateLimited,
	messages.ErrorCode_ERROR_CODE_INTERNAL:            CodeInternalError,
	messages.ErrorCode_ERROR_CODE_UNSPECIFIED:         CodeInternalError,
}

// errorDocs are the errors any method may answer with, for rpc.discover.
var errorDocs = []rpc.ErrorDoc{
	{Name: "ParseError", Code: CodeParseError, Message: stdMessages[CodeParseError]},
	{Name: "InvalidRequest", Code: CodeInvalidRequest, Message: stdMessages[CodeInvalidRequest]},
	{Name: "MethodNotFound", Code: CodeMethodNotFound, Message: stdMessages[CodeMethodNotFound]},
	{Name: "InvalidParams", Code: CodeInvalidParams, Message: stdMessages[CodeInvalidParams] + " (data says why)"},
	{Name: "InternalError", Code: CodeInternalError, Message: stdMessages[CodeInternalError]},
	{Name: "Unauthorized", Code: CodeUnauthorized, Message: "unauthorized: call auth.login with the daemon's token first"},
	{Name: "Unavailable", Code: CodeUnavailable, Message: "unavailable (too many connections, or the component is not running)"},
	{Name: "NotFound", Code: CodeNotFound, Message: "not found (data may list the known names)"},
	{Name: "AlreadyExists", Code: CodeAlreadyExists, Message: "already exists"},
	{Name: "FailedPrecondition", Code: CodeFailedPrecondition, Message: "failed precondition"},
	{Name: "Timeout", Code: CodeTimeout, Message: "the daemon did not answer in time"},
	{Name: "RateLimited", Code: CodeRateLimited, Message: "rate limited"},
}

// toRPCError maps an error from the router or an actor to the error object a
// client sees. Only *messages.Error carries a client-safe message; anything
// else is an internal error whose details stay in the daemon's log.
func toRPCError(err error) (e *rpcError, internal bool) {
	var me *messages.Error
	switch {
	case errors.Is(err, rpc.ErrUnknownMethod):
		return stdError(CodeMethodNotFound, nil), false
	case errors.Is(err, rpc.ErrBadParams):
		return stdError(CodeInvalidParams, err.Error()), false
	case errors.As(err, &me):
		code, ok := codeTable[me.Code]
		if !ok || code == CodeInternalError {
			return stdError(CodeInternalError, nil), true
		}
		listed := len(me.Details) == 0 || strings.Contains(me.Message, strings.Join(me.Details, ", "))
		if code == CodeInvalidParams { // the spec's message; ours is the data
			data := me.Message
			if !listed {
				data += ": " + strings.Join(me.Details, "; ")
			}
			return &rpcError{Code: code, Message: stdMessages[code], Data: data}, false
		}
		e := &rpcError{Code: code, Message: me.Message}
		if !listed {
			e.Data = me.Details // unless the message lists them already: named once
		}
		return e, false
	}
	return stdError(CodeInternalError, nil), true
}
