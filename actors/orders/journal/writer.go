package journal

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// Write queues ops. They commit in one transaction together with whatever
// else is queued (group commit: a burst costs one fsync), all or nothing
// for this call. done runs on the writer goroutine after the commit (nil)
// or the rollback (the error); it must not block. Write copies the ops'
// messages, so the caller may change them once Write returns. Write never
// blocks on I/O; its queue is not bounded, so the caller bounds what it
// writes (the orders actor's risk and rate checks). A nil done is allowed.
//
// Ops that fail validation (ErrInvalid) and any Write after Close
// (ErrClosed) are refused at once: done runs on the caller's goroutine
// before Write returns, and nothing changes.
func (j *Journal) Write(ops []Op, done func(error)) {
	if done == nil {
		done = func(error) {}
	}
	if err := validate(ops); err != nil {
		j.failed.Add(1)
		done(err)
		return
	}
	r := request{ops: copyOps(ops), done: done}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		j.failed.Add(1)
		done(ErrClosed)
		return
	}
	j.queue = append(j.queue, r)
	j.mu.Unlock()
	j.signal()
}

// copyOps returns validated ops as values holding copies of the caller's
// messages and bytes: the writer reads them on its own goroutine.
func copyOps(ops []Op) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		switch o := op.(type) {
		case *PutOrder:
			out[i] = PutOrder{Order: proto.Clone(o.Order).(*messages.TradeOrder)}
		case PutOrder:
			out[i] = PutOrder{Order: proto.Clone(o.Order).(*messages.TradeOrder)}
		case *AddFill:
			out[i] = AddFill{Fill: proto.Clone(o.Fill).(*messages.TradeFill)}
		case AddFill:
			out[i] = AddFill{Fill: proto.Clone(o.Fill).(*messages.TradeFill)}
		case *PutState:
			out[i] = PutState{Strategy: o.Strategy, State: bytes.Clone(o.State), SavedMs: o.SavedMs}
		case PutState:
			out[i] = PutState{Strategy: o.Strategy, State: bytes.Clone(o.State), SavedMs: o.SavedMs}
		case *PutMeta:
			out[i] = *o
		case PutMeta:
			out[i] = o
		}
	}
	return out
}

// signal wakes the writer without blocking.
func (j *Journal) signal() {
	select {
	case j.wake <- struct{}{}:
	default:
	}
}

// run is the writer goroutine: it commits what is queued, batch after
// batch, until Close and an empty queue.
func (j *Journal) run() {
	defer close(j.stopped)
	for {
		batch, closed := j.take()
		if len(batch) == 1 && batch[0].snap != nil {
			batch[0].snap()
			continue
		}
		if len(batch) > 0 {
			j.commit(batch)
			continue
		}
		if closed {
			return
		}
		<-j.wake
	}
}

// take pops queued requests, up to maxBatch ops (at least one request). A
// Snapshot's request is taken alone: it ends the batch before it.
func (j *Journal) take() ([]request, bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n, ops := 0, 0
	if len(j.queue) > 0 && j.queue[0].snap != nil {
		n = 1
	} else {
		for n < len(j.queue) && j.queue[n].snap == nil && (n == 0 || ops+len(j.queue[n].ops) <= j.maxBatch) {
			ops += len(j.queue[n].ops)
			n++
		}
	}
	batch := make([]request, n)
	copy(batch, j.queue[:n])
	clear(j.queue[:n]) // drop references held by the backing array
	j.queue = j.queue[n:]
	if len(j.queue) == 0 {
		j.queue = nil
	}
	return batch, j.closed
}

// commit writes one batch in one transaction, then runs the dones. A
// request that fails rolls back alone (see txWriter.request).
func (j *Journal) commit(batch []request) {
	errs := make([]error, len(batch))
	if err := j.transact(batch, errs); err != nil {
		j.log.Error("journal commit failed", "requests", len(batch), "err", err)
		for i := range errs {
			if errs[i] == nil {
				errs[i] = err
			}
		}
	} else {
		j.commits.Add(1)
		j.committed(batch, errs)
	}
	for i, r := range batch {
		if errs[i] != nil {
			j.failed.Add(1)
		} else {
			j.writes.Add(1)
			j.ops.Add(uint64(len(r.ops)))
		}
		r.done(errs[i])
	}
}

// committed hands the ops of a committed batch's requests that did not
// fail to Options.OnCommit.
func (j *Journal) committed(batch []request, errs []error) {
	if j.onCommit == nil {
		return
	}
	n := 0
	for i, r := range batch {
		if errs[i] == nil {
			n += len(r.ops)
		}
	}
	if n == 0 {
		return
	}
	ops := make([]Op, 0, n)
	for i, r := range batch {
		if errs[i] == nil {
			ops = append(ops, r.ops...)
		}
	}
	j.onCommit(ops)
}

// transact runs the batch's valid requests in one transaction, recording a
// request's own failure in errs; the returned error fails the whole batch.
func (j *Journal) transact(batch []request, errs []error) error {
	ctx := context.Background()
	tx, err := j.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("journal: begin: %w", err)
	}
	w := &txWriter{ctx: ctx, tx: tx, prepared: &j.stmts}
	for i, r := range batch {
		reqErr, txErr := w.request(r.ops)
		if txErr != nil {
			_ = tx.Rollback()
			return txErr
		}
		if errs[i] = reqErr; reqErr != nil {
			j.log.Warn("journal write refused", "ops", len(r.ops), "err", reqErr)
		}
	}
	if err := tx.Commit(); err != nil {
		_ = tx.Rollback()
		return fmt.Errorf("journal: commit: %w", err)
	}
	return nil
}

// Statements the writer runs, prepared once on its connection.
const (
	stmtOrder = iota
	stmtFill
	stmtState
	stmtMeta
	stmtSavepoint
	stmtRelease
	stmtRollbackTo
	stmtCount
)

// statements is the writer's prepared statements, by stmt* index.
type statements [stmtCount]*sql.Stmt

var stmtSQL = [stmtCount]string{
	stmtOrder: `INSERT INTO orders (client_order_id, strategy, symbol, side, type,
	quantity, price, time_in_force, status, exchange_order_id, executed_qty,
	cumulative_quote_qty, avg_price, created_ms, updated_ms, reason, mode, not_found, term)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (client_order_id) DO UPDATE SET strategy = excluded.strategy,
	symbol = excluded.symbol, side = excluded.side, type = excluded.type,
	quantity = excluded.quantity, price = excluded.price,
	time_in_force = excluded.time_in_force, status = excluded.status,
	exchange_order_id = excluded.exchange_order_id, executed_qty = excluded.executed_qty,
	cumulative_quote_qty = excluded.cumulative_quote_qty, avg_price = excluded.avg_price,
	created_ms = CASE WHEN orders.created_ms = 0 THEN excluded.created_ms ELSE orders.created_ms END,
	updated_ms = excluded.updated_ms, reason = excluded.reason, mode = excluded.mode,
	not_found = excluded.not_found,
	term = CASE WHEN orders.term = 0 THEN excluded.term ELSE orders.term END`,
	// seq numbers an order's fills; (symbol, trade_id) makes a fill with a
	// trade id idempotent. The duplicate check repeats "trade_id > 0" so that
	// SQLite may use the partial index fills_trade (without it, every fill
	// scans the whole table: quadratic in a reconciliation's fills).
	stmtFill: `INSERT INTO fills (client_order_id, strategy, symbol, side, price, quantity,
	quote_qty, fee, fee_asset, trade_id, time_ms, maker, seq)
SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,
	COALESCE((SELECT MAX(seq) FROM fills WHERE client_order_id = ?1), 0) + 1
WHERE ?10 = 0 OR NOT EXISTS (SELECT 1 FROM fills WHERE symbol = ?3 AND trade_id = ?10 AND trade_id > 0)`,
	stmtState: `INSERT INTO strategy_state (strategy, state, saved_ms) VALUES (?, ?, ?)
ON CONFLICT (strategy) DO UPDATE SET state = excluded.state, saved_ms = excluded.saved_ms`,
	stmtMeta: `INSERT INTO meta (key, value) VALUES (?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
	stmtSavepoint:  `SAVEPOINT req`,
	stmtRelease:    `RELEASE req`,
	stmtRollbackTo: `ROLLBACK TO req`,
}

// prepare prepares the writer's statements on db.
func (s *statements) prepare(ctx context.Context, db *sql.DB) error {
	for i, q := range stmtSQL {
		st, err := db.PrepareContext(ctx, q)
		if err != nil {
			s.close()
			return fmt.Errorf("prepare: %w", err)
		}
		s[i] = st
	}
	return nil
}

func (s *statements) close() {
	for i, st := range s {
		if st != nil {
			_ = st.Close()
			s[i] = nil
		}
	}
}

// txWriter applies ops inside one transaction.
type txWriter struct {
	ctx      context.Context
	tx       *sql.Tx
	prepared *statements
	bound    statements // prepared, bound to tx on first use
}

func (w *txWriter) exec(k int, args ...any) error {
	if w.bound[k] == nil {
		w.bound[k] = w.tx.StmtContext(w.ctx, w.prepared[k])
	}
	_, err := w.bound[k].ExecContext(w.ctx, args...)
	return err
}

// request applies one Write's ops, all or none of them. One op is one
// statement, which SQLite applies atomically; several run in a savepoint.
// The first error is the request's own; the second, when the savepoint
// could not be rolled back, fails the whole transaction.
func (w *txWriter) request(ops []Op) (error, error) { //nolint:revive,staticcheck // two distinct errors
	if len(ops) == 1 {
		if err := w.apply(ops[0]); err != nil {
			return fmt.Errorf("journal: op 0: %w", err), nil
		}
		return nil, nil
	}
	if err := w.exec(stmtSavepoint); err != nil {
		return nil, fmt.Errorf("journal: savepoint: %w", err)
	}
	for i, op := range ops {
		if err := w.apply(op); err != nil {
			if rerr := w.exec(stmtRollbackTo); rerr != nil {
				return nil, fmt.Errorf("journal: rollback to savepoint: %w", rerr)
			}
			if rerr := w.exec(stmtRelease); rerr != nil {
				return nil, fmt.Errorf("journal: release savepoint: %w", rerr)
			}
			return fmt.Errorf("journal: op %d: %w", i, err), nil
		}
	}
	if err := w.exec(stmtRelease); err != nil {
		return nil, fmt.Errorf("journal: release savepoint: %w", err)
	}
	return nil, nil
}

func (w *txWriter) apply(op Op) error {
	switch o := op.(type) {
	case *PutOrder:
		return w.putOrder(o.Order)
	case PutOrder:
		return w.putOrder(o.Order)
	case *AddFill:
		return w.addFill(o.Fill)
	case AddFill:
		return w.addFill(o.Fill)
	case *PutState:
		return w.putState(*o)
	case PutState:
		return w.putState(o)
	case *PutMeta:
		return w.exec(stmtMeta, o.Key, o.Value)
	case PutMeta:
		return w.exec(stmtMeta, o.Key, o.Value)
	default:
		return fmt.Errorf("%w: unknown op %T", ErrInvalid, op)
	}
}

// putOrder upserts the order; the orders_event_* triggers append its
// order_events row.
func (w *txWriter) putOrder(o *messages.TradeOrder) error {
	status, _ := statusName(o.GetStatus())
	return w.exec(stmtOrder, o.GetClientOrderId(), o.GetStrategy(),
		o.GetSymbol(), o.GetSide(), o.GetType(), o.GetQuantity(), o.GetPrice(),
		o.GetTimeInForce(), status, o.GetExchangeOrderId(), o.GetExecutedQty(),
		o.GetCumulativeQuoteQty(), o.GetAvgPrice(), o.GetCreatedMs(), o.GetUpdatedMs(),
		o.GetReason(), o.GetMode(), int64(o.GetNotFound()), o.GetTerm())
}

func (w *txWriter) addFill(f *messages.TradeFill) error {
	return w.exec(stmtFill, f.GetClientOrderId(), f.GetStrategy(), f.GetSymbol(),
		f.GetSide(), f.GetPrice(), f.GetQuantity(), f.GetQuoteQty(), f.GetFee(),
		f.GetFeeAsset(), f.GetTradeId(), f.GetTimeMs(), f.GetMaker())
}

func (w *txWriter) putState(s PutState) error {
	state := s.State
	if state == nil {
		state = []byte{}
	}
	return w.exec(stmtState, s.Strategy, state, s.SavedMs)
}
