package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/superbot/superbot/messages"
)

// OrderFilter selects orders; zero fields match everything.
type OrderFilter struct {
	Strategy, Symbol string
	Statuses         []messages.TradeOrderStatus
	// SinceMs keeps orders created at or after it.
	SinceMs int64
	// Limit caps the result; 0 means all.
	Limit int
}

// FillFilter selects fills; zero fields match everything.
type FillFilter struct {
	Strategy, Symbol string
	// SinceMs keeps fills at or after it.
	SinceMs int64
	// Limit caps the result; 0 means all.
	Limit int
	// Ascending lists oldest first (default newest first).
	Ascending bool
}

// Event is one entry of an order's history.
type Event struct {
	Status      messages.TradeOrderStatus
	TimeMs      int64
	Reason      string
	ExecutedQty string
}

// OpenStatuses are the statuses OpenOrders returns: everything that may
// still change on the exchange.
var OpenStatuses = []messages.TradeOrderStatus{
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT,
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT,
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN,
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW,
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED,
	messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST,
}

const orderColumns = `client_order_id, strategy, symbol, side, type, quantity, price,
	time_in_force, status, exchange_order_id, executed_qty, cumulative_quote_qty,
	avg_price, created_ms, updated_ms, reason, mode, not_found, term`

// Orders lists the orders f selects, newest first (by created_ms).
func (j *Journal) Orders(f OrderFilter) ([]*messages.TradeOrder, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("%w: limit %d < 0", ErrInvalid, f.Limit)
	}
	var where []string
	var args []any
	if f.Strategy != "" {
		where, args = append(where, "strategy = ?"), append(args, f.Strategy)
	}
	if f.Symbol != "" {
		where, args = append(where, "symbol = ?"), append(args, f.Symbol)
	}
	if f.SinceMs != 0 {
		where, args = append(where, "created_ms >= ?"), append(args, f.SinceMs)
	}
	if len(f.Statuses) > 0 {
		in, sargs, err := statusArgs(f.Statuses)
		if err != nil {
			return nil, err
		}
		where, args = append(where, "status IN ("+in+")"), append(args, sargs...)
	}
	q := "SELECT " + orderColumns + " FROM orders"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_ms DESC, rowid DESC"
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	return j.queryOrders(q, args...)
}

// OpenOrders lists the orders in OpenStatuses, oldest first.
func (j *Journal) OpenOrders() ([]*messages.TradeOrder, error) {
	in, args, err := statusArgs(OpenStatuses)
	if err != nil {
		return nil, err
	}
	return j.queryOrders("SELECT "+orderColumns+" FROM orders WHERE status IN ("+in+
		") ORDER BY created_ms, rowid", args...)
}

// Order returns one order, or (nil, nil) when the journal has none by that
// client order id.
func (j *Journal) Order(clientID string) (*messages.TradeOrder, error) {
	orders, err := j.queryOrders("SELECT "+orderColumns+" FROM orders WHERE client_order_id = ?", clientID)
	if err != nil || len(orders) == 0 {
		return nil, err
	}
	return orders[0], nil
}

func statusArgs(statuses []messages.TradeOrderStatus) (string, []any, error) {
	args := make([]any, 0, len(statuses))
	for _, s := range statuses {
		name, ok := statusName(s)
		if !ok {
			return "", nil, fmt.Errorf("%w: status %d", ErrInvalid, s)
		}
		args = append(args, name)
	}
	return strings.TrimSuffix(strings.Repeat("?,", len(args)), ","), args, nil
}

func (j *Journal) queryOrders(q string, args ...any) ([]*messages.TradeOrder, error) {
	rows, err := j.rdb.QueryContext(context.Background(), q, args...)
	if err != nil {
		return nil, j.readErr("orders", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*messages.TradeOrder
	for rows.Next() {
		o := &messages.TradeOrder{}
		var status string
		var notFound int64
		if err := rows.Scan(&o.ClientOrderId, &o.Strategy, &o.Symbol, &o.Side, &o.Type,
			&o.Quantity, &o.Price, &o.TimeInForce, &status, &o.ExchangeOrderId,
			&o.ExecutedQty, &o.CumulativeQuoteQty, &o.AvgPrice, &o.CreatedMs,
			&o.UpdatedMs, &o.Reason, &o.Mode, &notFound, &o.Term); err != nil {
			return nil, fmt.Errorf("journal: orders: %w", err)
		}
		if o.Status, err = parseStatus(status); err != nil {
			return nil, err
		}
		o.NotFound = uint32(notFound)
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: orders: %w", err)
	}
	return out, nil
}

// OrderEvents is an order's history, oldest first (empty when unknown).
func (j *Journal) OrderEvents(clientID string) ([]Event, error) {
	rows, err := j.rdb.QueryContext(context.Background(), `SELECT status, time_ms, reason,
		executed_qty FROM order_events WHERE client_order_id = ? ORDER BY id`, clientID)
	if err != nil {
		return nil, j.readErr("order events", err)
	}
	defer func() { _ = rows.Close() }()
	var out []Event
	for rows.Next() {
		var e Event
		var status string
		if err := rows.Scan(&status, &e.TimeMs, &e.Reason, &e.ExecutedQty); err != nil {
			return nil, fmt.Errorf("journal: order events: %w", err)
		}
		if e.Status, err = parseStatus(status); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: order events: %w", err)
	}
	return out, nil
}

// Fills lists the fills f selects, newest first unless f.Ascending.
func (j *Journal) Fills(f FillFilter) ([]*messages.TradeFill, error) {
	if f.Limit < 0 {
		return nil, fmt.Errorf("%w: limit %d < 0", ErrInvalid, f.Limit)
	}
	var where []string
	var args []any
	if f.Strategy != "" {
		where, args = append(where, "strategy = ?"), append(args, f.Strategy)
	}
	if f.Symbol != "" {
		where, args = append(where, "symbol = ?"), append(args, f.Symbol)
	}
	if f.SinceMs != 0 {
		where, args = append(where, "time_ms >= ?"), append(args, f.SinceMs)
	}
	q := `SELECT client_order_id, strategy, symbol, side, price, quantity, quote_qty,
		fee, fee_asset, trade_id, time_ms, maker FROM fills`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	if f.Ascending {
		q += " ORDER BY time_ms, id"
	} else {
		q += " ORDER BY time_ms DESC, id DESC"
	}
	if f.Limit > 0 {
		q, args = q+" LIMIT ?", append(args, f.Limit)
	}
	rows, err := j.rdb.QueryContext(context.Background(), q, args...)
	if err != nil {
		return nil, j.readErr("fills", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*messages.TradeFill
	for rows.Next() {
		x := &messages.TradeFill{}
		if err := rows.Scan(&x.ClientOrderId, &x.Strategy, &x.Symbol, &x.Side, &x.Price,
			&x.Quantity, &x.QuoteQty, &x.Fee, &x.FeeAsset, &x.TradeId, &x.TimeMs,
			&x.Maker); err != nil {
			return nil, fmt.Errorf("journal: fills: %w", err)
		}
		out = append(out, x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: fills: %w", err)
	}
	return out, nil
}

// LastTradeIDs returns the highest exchange trade id recorded per symbol
// (fills without a trade id are not counted).
func (j *Journal) LastTradeIDs() (map[string]int64, error) {
	rows, err := j.rdb.QueryContext(context.Background(),
		`SELECT symbol, MAX(trade_id) FROM fills WHERE trade_id > 0 GROUP BY symbol`)
	if err != nil {
		return nil, j.readErr("last trade ids", err)
	}
	defer func() { _ = rows.Close() }()
	out := map[string]int64{}
	for rows.Next() {
		var sym string
		var id int64
		if err := rows.Scan(&sym, &id); err != nil {
			return nil, fmt.Errorf("journal: last trade ids: %w", err)
		}
		out[sym] = id
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: last trade ids: %w", err)
	}
	return out, nil
}

// State returns a strategy's saved state and when it was saved; (nil, 0,
// nil) when none is.
func (j *Journal) State(strategy string) ([]byte, int64, error) {
	var state []byte
	var saved int64
	err := j.rdb.QueryRowContext(context.Background(),
		`SELECT state, saved_ms FROM strategy_state WHERE strategy = ?`, strategy).Scan(&state, &saved)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, j.readErr("state", err)
	}
	return state, saved, nil
}

// Meta returns a meta value and whether the key is set.
func (j *Journal) Meta(key string) (string, bool, error) {
	var v string
	err := j.rdb.QueryRowContext(context.Background(),
		`SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, j.readErr("meta", err)
	}
	return v, true, nil
}

// readErr wraps a read error, turning a closed pool into ErrClosed.
func (j *Journal) readErr(what string, err error) error {
	if errors.Is(err, sql.ErrConnDone) || strings.Contains(err.Error(), "database is closed") {
		return fmt.Errorf("journal: %s: %w", what, ErrClosed)
	}
	return fmt.Errorf("journal: %s: %w", what, err)
}
