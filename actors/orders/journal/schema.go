package journal

import (
	"context"
	"database/sql"
	"fmt"
)

// migration moves the schema from version i to i+1 (i its index in
// migrations). It runs inside a transaction that also sets user_version.
type migration func(ctx context.Context, tx *sql.Tx) error

// migrations are the schema's history, oldest first; the current version is
// len(migrations). Append; never edit a migration that has shipped.
var migrations = []migration{
	migrateV1,
	migrateV2,
	migrateV3,
}

// CurrentSchema is the schema version this code writes: len(migrations).
const CurrentSchema = 3

// migrateV1 is the first schema: orders, fills, strategy state and meta.
// Decimals are TEXT, times INTEGER Unix milliseconds, statuses their names.
func migrateV1(ctx context.Context, tx *sql.Tx) error {
	return execAll(ctx, tx,
		`CREATE TABLE orders (
			client_order_id      TEXT PRIMARY KEY,
			strategy             TEXT NOT NULL,
			symbol               TEXT NOT NULL,
			side                 TEXT NOT NULL,
			type                 TEXT NOT NULL,
			quantity             TEXT NOT NULL,
			price                TEXT NOT NULL,
			time_in_force        TEXT NOT NULL,
			status               TEXT NOT NULL,
			exchange_order_id    INTEGER NOT NULL,
			executed_qty         TEXT NOT NULL,
			cumulative_quote_qty TEXT NOT NULL,
			avg_price            TEXT NOT NULL,
			created_ms           INTEGER NOT NULL,
			updated_ms           INTEGER NOT NULL,
			reason               TEXT NOT NULL,
			mode                 TEXT NOT NULL
		)`,
		`CREATE INDEX orders_strategy ON orders (strategy, created_ms)`,
		`CREATE INDEX orders_symbol ON orders (symbol, created_ms)`,
		`CREATE INDEX orders_status ON orders (status)`,
		`CREATE INDEX orders_created ON orders (created_ms)`,
		`CREATE TABLE fills (
			id              INTEGER PRIMARY KEY,
			client_order_id TEXT NOT NULL,
			strategy        TEXT NOT NULL,
			symbol          TEXT NOT NULL,
			side            TEXT NOT NULL,
			price           TEXT NOT NULL,
			quantity        TEXT NOT NULL,
			quote_qty       TEXT NOT NULL,
			fee             TEXT NOT NULL,
			fee_asset       TEXT NOT NULL,
			trade_id        INTEGER NOT NULL,
			time_ms         INTEGER NOT NULL,
			maker           INTEGER NOT NULL,
			seq             INTEGER NOT NULL,
			UNIQUE (client_order_id, seq)
		)`,
		`CREATE UNIQUE INDEX fills_trade ON fills (symbol, trade_id) WHERE trade_id > 0`,
		`CREATE INDEX fills_time ON fills (time_ms)`,
		`CREATE INDEX fills_strategy ON fills (strategy, time_ms)`,
		`CREATE TABLE strategy_state (
			strategy TEXT PRIMARY KEY,
			state    BLOB NOT NULL,
			saved_ms INTEGER NOT NULL
		)`,
		`CREATE TABLE meta (
			key   TEXT PRIMARY KEY,
			value TEXT NOT NULL
		)`,
	)
}

// migrateV2 adds the order history (order_events, seeded with each order's
// current status and appended by triggers when an order is inserted or its
// status, reason or executed quantity changes) and the orders' not_found
// counter.
func migrateV2(ctx context.Context, tx *sql.Tx) error {
	return execAll(ctx, tx,
		`ALTER TABLE orders ADD COLUMN not_found INTEGER NOT NULL DEFAULT 0`,
		`CREATE TABLE order_events (
			id              INTEGER PRIMARY KEY,
			client_order_id TEXT NOT NULL REFERENCES orders (client_order_id) ON DELETE CASCADE,
			status          TEXT NOT NULL,
			time_ms         INTEGER NOT NULL,
			reason          TEXT NOT NULL,
			executed_qty    TEXT NOT NULL
		)`,
		`CREATE INDEX order_events_order ON order_events (client_order_id, id)`,
		`INSERT INTO order_events (client_order_id, status, time_ms, reason, executed_qty)
			SELECT client_order_id, status, updated_ms, reason, executed_qty
			FROM orders ORDER BY created_ms, rowid`,
		`CREATE TRIGGER orders_event_insert AFTER INSERT ON orders BEGIN
			INSERT INTO order_events (client_order_id, status, time_ms, reason, executed_qty)
			VALUES (new.client_order_id, new.status,
				CASE WHEN new.updated_ms = 0 THEN new.created_ms ELSE new.updated_ms END,
				new.reason, new.executed_qty);
		END`,
		`CREATE TRIGGER orders_event_update AFTER UPDATE ON orders
		WHEN old.status IS NOT new.status OR old.reason IS NOT new.reason
			OR old.executed_qty IS NOT new.executed_qty BEGIN
			INSERT INTO order_events (client_order_id, status, time_ms, reason, executed_qty)
			VALUES (new.client_order_id, new.status,
				CASE WHEN new.updated_ms = 0 THEN new.created_ms ELSE new.updated_ms END,
				new.reason, new.executed_qty);
		END`,
	)
}

// migrateV3 adds the orders' term: the fencing token of the cluster leader
// that created the order (0 on a single node, and for every older row).
func migrateV3(ctx context.Context, tx *sql.Tx) error {
	return execAll(ctx, tx, `ALTER TABLE orders ADD COLUMN term INTEGER NOT NULL DEFAULT 0`)
}

func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// userVersion reads PRAGMA user_version, the schema version.
func userVersion(ctx context.Context, db *sql.DB) (int, error) {
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// migrate brings db from version from to CurrentSchema, one transaction per
// step.
func migrate(ctx context.Context, db *sql.DB, from int) error {
	for v := from; v < len(migrations); v++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate to v%d: %w", v+1, err)
		}
		if err := migrations[v](ctx, tx); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to v%d: %w", v+1, err)
		}
		// user_version lives in the file header: it commits with the tx.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("migrate to v%d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to v%d: commit: %w", v+1, err)
		}
	}
	return nil
}
