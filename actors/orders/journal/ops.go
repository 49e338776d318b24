package journal

import (
	"fmt"
	"strings"

	"github.com/superbot/superbot/messages"
)

// Size limits an op must respect (ErrInvalid otherwise).
const (
	// MaxStateBytes bounds a strategy's saved state.
	MaxStateBytes = 1 << 20
	// MaxIDLen bounds ids, names, symbols, sides, types, assets and keys.
	MaxIDLen = 128
	// MaxTextLen bounds decimals and reasons.
	MaxTextLen = 1024
	// MaxMetaValue bounds a meta value.
	MaxMetaValue = 64 << 10
	// MaxOpsPerWrite bounds one Write's ops.
	MaxOpsPerWrite = 1 << 16
)

// Op is one change Write applies: *PutOrder, *AddFill, *PutState or
// *PutMeta (values work as well as pointers).
type Op interface{ isOp() }

// PutOrder inserts or updates an order by client_order_id (its created_ms
// stays the first one recorded) and appends an order_events row (status,
// updated_ms, reason, executed_qty) when the order is new or its status,
// reason or executed quantity changed.
type PutOrder struct{ Order *messages.TradeOrder }

// AddFill records a fill. A fill with a trade id (> 0) is recorded once per
// (symbol, trade_id): recording it again is a no-op. A fill with trade id 0
// (paper) gets the next sequence number of its order and is always added.
type AddFill struct{ Fill *messages.TradeFill }

// PutState replaces a strategy's saved state (at most MaxStateBytes).
type PutState struct {
	Strategy string
	State    []byte
	SavedMs  int64
}

// PutMeta sets a key (id sequences, halt flag, paper balances, ...).
type PutMeta struct{ Key, Value string }

func (PutOrder) isOp() {}
func (AddFill) isOp()  {}
func (PutState) isOp() {}
func (PutMeta) isOp()  {}

// validate checks one Write's ops before anything is written.
func validate(ops []Op) error {
	if len(ops) > MaxOpsPerWrite {
		return fmt.Errorf("%w: %d ops in one write (max %d)", ErrInvalid, len(ops), MaxOpsPerWrite)
	}
	for i, op := range ops {
		if err := validateOp(op); err != nil {
			return fmt.Errorf("%w: op %d: %w", ErrInvalid, i, err)
		}
	}
	return nil
}

func validateOp(op Op) error {
	switch o := op.(type) {
	case *PutOrder:
		if o == nil {
			return fmt.Errorf("nil PutOrder")
		}
		return validateOrder(o.Order)
	case PutOrder:
		return validateOrder(o.Order)
	case *AddFill:
		if o == nil {
			return fmt.Errorf("nil AddFill")
		}
		return validateFill(o.Fill)
	case AddFill:
		return validateFill(o.Fill)
	case *PutState:
		if o == nil {
			return fmt.Errorf("nil PutState")
		}
		return validateState(*o)
	case PutState:
		return validateState(o)
	case *PutMeta:
		if o == nil {
			return fmt.Errorf("nil PutMeta")
		}
		return validateMeta(*o)
	case PutMeta:
		return validateMeta(o)
	default:
		return fmt.Errorf("unknown op %T", op)
	}
}

func validateOrder(o *messages.TradeOrder) error {
	if o == nil {
		return fmt.Errorf("PutOrder without an order")
	}
	if _, ok := statusName(o.GetStatus()); !ok || o.GetStatus() == messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNSPECIFIED {
		return fmt.Errorf("order %q: status %v", o.GetClientOrderId(), o.GetStatus())
	}
	return checkFields("order",
		required("client_order_id", o.GetClientOrderId(), MaxIDLen),
		required("strategy", o.GetStrategy(), MaxIDLen),
		required("symbol", o.GetSymbol(), MaxIDLen),
		optional("side", o.GetSide(), MaxIDLen),
		optional("type", o.GetType(), MaxIDLen),
		optional("quantity", o.GetQuantity(), MaxTextLen),
		optional("price", o.GetPrice(), MaxTextLen),
		optional("time_in_force", o.GetTimeInForce(), MaxIDLen),
		optional("executed_qty", o.GetExecutedQty(), MaxTextLen),
		optional("cumulative_quote_qty", o.GetCumulativeQuoteQty(), MaxTextLen),
		optional("avg_price", o.GetAvgPrice(), MaxTextLen),
		optional("reason", o.GetReason(), MaxTextLen),
		optional("mode", o.GetMode(), MaxIDLen),
	)
}

func validateFill(f *messages.TradeFill) error {
	if f == nil {
		return fmt.Errorf("AddFill without a fill")
	}
	if f.GetTradeId() < 0 {
		return fmt.Errorf("fill of %q: trade id %d < 0", f.GetClientOrderId(), f.GetTradeId())
	}
	return checkFields("fill",
		required("client_order_id", f.GetClientOrderId(), MaxIDLen),
		optional("strategy", f.GetStrategy(), MaxIDLen),
		required("symbol", f.GetSymbol(), MaxIDLen),
		optional("side", f.GetSide(), MaxIDLen),
		optional("price", f.GetPrice(), MaxTextLen),
		optional("quantity", f.GetQuantity(), MaxTextLen),
		optional("quote_qty", f.GetQuoteQty(), MaxTextLen),
		optional("fee", f.GetFee(), MaxTextLen),
		optional("fee_asset", f.GetFeeAsset(), MaxIDLen),
	)
}

func validateState(s PutState) error {
	if len(s.State) > MaxStateBytes {
		return fmt.Errorf("state of %q: %d bytes (max %d)", s.Strategy, len(s.State), MaxStateBytes)
	}
	return checkFields("state", required("strategy", s.Strategy, MaxIDLen))
}

func validateMeta(m PutMeta) error {
	return checkFields("meta",
		required("key", m.Key, MaxIDLen),
		optional("value", m.Value, MaxMetaValue))
}

// field is one string field's check result ("" when fine).
type field string

func required(name, v string, max int) field {
	if v == "" {
		return field(name + " is empty")
	}
	return optional(name, v, max)
}

func optional(name, v string, max int) field {
	if len(v) > max {
		return field(fmt.Sprintf("%s is %d bytes (max %d)", name, len(v), max))
	}
	return ""
}

func checkFields(what string, fields ...field) error {
	var bad []string
	for _, f := range fields {
		if f != "" {
			bad = append(bad, string(f))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s: %s", what, strings.Join(bad, ", "))
	}
	return nil
}

// statusPrefix is what the journal strips from a status's enum name.
const statusPrefix = "TRADE_ORDER_STATUS_"

// statusName is the name the journal stores ("NEW").
func statusName(s messages.TradeOrderStatus) (string, bool) {
	name, ok := messages.TradeOrderStatus_name[int32(s)]
	return strings.TrimPrefix(name, statusPrefix), ok
}

// parseStatus reads a stored status name.
func parseStatus(name string) (messages.TradeOrderStatus, error) {
	v, ok := messages.TradeOrderStatus_value[statusPrefix+name]
	if !ok {
		return 0, fmt.Errorf("journal: unknown order status %q", name)
	}
	return messages.TradeOrderStatus(v), nil
}
