package reports

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/superbot/superbot/messages"
)

// journalReader reads the trading journal's orders and fills through its
// own query-only connection (the order actor writes the file; SQLite's WAL
// lets both work at once). Its columns are the journal's documented schema
// (actors/orders/journal). Used off the actor goroutine.
type journalReader struct {
	db *sql.DB
}

// openJournal opens path for reading. A journal that does not exist yet
// (nothing traded) reads as empty: (nil, nil).
func openJournal(path string) (*journalReader, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "query_only(1)")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("journal: open: %w", err)
	}
	db.SetMaxOpenConns(1)
	return &journalReader{db: db}, nil
}

func (r *journalReader) close() {
	if r != nil {
		_ = r.db.Close()
	}
}

// orders lists the orders created in [fromMs, toMs), of strategy ("" all),
// oldest first.
func (r *journalReader) orders(ctx context.Context, strategy string, fromMs, toMs int64) ([]*messages.TradeOrder, error) {
	if r == nil {
		return nil, nil
	}
	rows, err := r.db.QueryContext(ctx, `SELECT client_order_id, strategy, symbol, side, type,
		quantity, price, status, executed_qty, created_ms FROM orders
		WHERE created_ms >= ? AND created_ms < ? AND (? = '' OR strategy = ?)
		ORDER BY created_ms, rowid`, fromMs, toMs, strategy, strategy)
	if err != nil {
		return nil, fmt.Errorf("journal: orders: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var out []*messages.TradeOrder
	for rows.Next() {
		o := &messages.TradeOrder{}
		var status string
		if err := rows.Scan(&o.ClientOrderId, &o.Strategy, &o.Symbol, &o.Side, &o.Type,
			&o.Quantity, &o.Price, &status, &o.ExecutedQty, &o.CreatedMs); err != nil {
			return nil, fmt.Errorf("journal: orders: %w", err)
		}
		o.Status = messages.TradeOrderStatus(messages.TradeOrderStatus_value["TRADE_ORDER_STATUS_"+status])
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: orders: %w", err)
	}
	return out, nil
}

// fills lists the fills with time in [fromMs, toMs), of strategy ("" all),
// oldest first.
func (r *journalReader) fills(ctx context.Context, strategy string, fromMs, toMs int64) ([]*messages.TradeFill, error) {
	var out []*messages.TradeFill
	err := r.eachFill(ctx, strategy, fromMs, toMs, func(f *messages.TradeFill) { out = append(out, f) })
	return out, err
}

// eachFill calls fn with each fill of fills' selection in turn, without
// holding them all (a journal may hold millions).
func (r *journalReader) eachFill(ctx context.Context, strategy string, fromMs, toMs int64, fn func(*messages.TradeFill)) error {
	if r == nil {
		return nil
	}
	rows, err := r.db.QueryContext(ctx, `SELECT client_order_id, strategy, symbol, side, price,
		quantity, quote_qty, fee, fee_asset, time_ms, maker FROM fills
		WHERE time_ms >= ? AND time_ms < ? AND (? = '' OR strategy = ?)
		ORDER BY time_ms, id`, fromMs, toMs, strategy, strategy)
	if err != nil {
		return fmt.Errorf("journal: fills: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		f := &messages.TradeFill{}
		if err := rows.Scan(&f.ClientOrderId, &f.Strategy, &f.Symbol, &f.Side, &f.Price,
			&f.Quantity, &f.QuoteQty, &f.Fee, &f.FeeAsset, &f.TimeMs, &f.Maker); err != nil {
			return fmt.Errorf("journal: fills: %w", err)
		}
		fn(f)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: fills: %w", err)
	}
	return nil
}

// orderCounts counts the orders created in [fromMs, toMs) per strategy.
func (r *journalReader) orderCounts(ctx context.Context, fromMs, toMs int64) (map[string]int64, error) {
	out := map[string]int64{}
	if r == nil {
		return out, nil
	}
	rows, err := r.db.QueryContext(ctx, `SELECT strategy, COUNT(*) FROM orders
		WHERE created_ms >= ? AND created_ms < ? GROUP BY strategy`, fromMs, toMs)
	if err != nil {
		return nil, fmt.Errorf("journal: orders: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var name string
		var n int64
		if err := rows.Scan(&name, &n); err != nil {
			return nil, fmt.Errorf("journal: orders: %w", err)
		}
		out[name] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("journal: orders: %w", err)
	}
	return out, nil
}
