package messages

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// NewEvent builds a bus event. A nil payload is allowed; a payload that
// cannot be packed (impossible for generated messages) is dropped.
func NewEvent(topic, source string, payload proto.Message) *Event {
	ev := &Event{Topic: topic, Source: source, Time: timestamppb.New(time.Now())}
	if payload != nil {
		if a, err := anypb.New(payload); err == nil {
			ev.Payload = a
		}
	}
	return ev
}

// Errorf builds an Error with a client-safe message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements the error interface so an *Error can travel as a Go error.
func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	return e.Code.String() + ": " + e.Message
}

// Responder is implemented by every XResponse: GetError returns nil on success.
type Responder interface {
	proto.Message
	GetError() *Error
}

// Final reports the statuses an order never leaves: FILLED, CANCELED,
// REJECTED, EXPIRED and NOT_SENT (LOST is still watched).
func (s TradeOrderStatus) Final() bool {
	switch s {
	case TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED,
		TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED,
		TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT:
		return true
	}
	return false
}
