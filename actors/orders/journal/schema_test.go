package journal

import (
	"bytes"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// v1SQL is the v1 schema written by hand, as a journal of the first
// release holds it: no order_events table, no orders.not_found.
var v1SQL = []string{
	`CREATE TABLE orders (client_order_id TEXT PRIMARY KEY, strategy TEXT NOT NULL,
		symbol TEXT NOT NULL, side TEXT NOT NULL, type TEXT NOT NULL, quantity TEXT NOT NULL,
		price TEXT NOT NULL, time_in_force TEXT NOT NULL, status TEXT NOT NULL,
		exchange_order_id INTEGER NOT NULL, executed_qty TEXT NOT NULL,
		cumulative_quote_qty TEXT NOT NULL, avg_price TEXT NOT NULL, created_ms INTEGER NOT NULL,
		updated_ms INTEGER NOT NULL, reason TEXT NOT NULL, mode TEXT NOT NULL)`,
	`CREATE INDEX orders_strategy ON orders (strategy, created_ms)`,
	`CREATE INDEX orders_symbol ON orders (symbol, created_ms)`,
	`CREATE INDEX orders_status ON orders (status)`,
	`CREATE INDEX orders_created ON orders (created_ms)`,
	`CREATE TABLE fills (id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL,
		strategy TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
		quantity TEXT NOT NULL, quote_qty TEXT NOT NULL, fee TEXT NOT NULL,
		fee_asset TEXT NOT NULL, trade_id INTEGER NOT NULL, time_ms INTEGER NOT NULL,
		maker INTEGER NOT NULL, seq INTEGER NOT NULL, UNIQUE (client_order_id, seq))`,
	`CREATE UNIQUE INDEX fills_trade ON fills (symbol, trade_id) WHERE trade_id > 0`,
	`CREATE INDEX fills_time ON fills (time_ms)`,
	`CREATE INDEX fills_strategy ON fills (strategy, time_ms)`,
	`CREATE TABLE strategy_state (strategy TEXT PRIMARY KEY, state BLOB NOT NULL, saved_ms INTEGER NOT NULL)`,
	`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`,
	`INSERT INTO orders VALUES ('sb-old-1', 'old', 'BTCUSDT', 'BUY', 'LIMIT', '0.1', '100',
		'GTC', 'FILLED', 11, '0.1', '10', '100', 1000, 1500, '', 'live')`,
	`INSERT INTO orders VALUES ('sb-old-2', 'old', 'BTCUSDT', 'SELL', 'LIMIT', '0.1', '120',
		'GTC', 'NEW', 12, '', '', '', 2000, 2000, '', 'live')`,
	`INSERT INTO fills VALUES (1, 'sb-old-1', 'old', 'BTCUSDT', 'BUY', '100', '0.1', '10',
		'0.0001', 'BTC', 77, 1400, 0, 1)`,
	`INSERT INTO strategy_state VALUES ('old', x'0102', 1600)`,
	`INSERT INTO meta VALUES ('seq.old', '2')`,
	`PRAGMA user_version = 1`,
}

// rawDB opens a SQLite file without the journal.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMigratesV1Journal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db := rawDB(t, path)
	for _, s := range v1SQL {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v := j.SchemaVersion(); v != CurrentSchema {
		t.Fatalf("version %d after migration, want %d", v, CurrentSchema)
	}
	orders, err := j.Orders(OrderFilter{Strategy: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 2 || orders[0].ClientOrderId != "sb-old-2" || orders[1].Status != stFilled ||
		orders[1].ExecutedQty != "0.1" || orders[1].NotFound != 0 {
		t.Fatalf("orders after migration: %v", orders)
	}
	// The new table is seeded with each order's status.
	events, err := j.OrderEvents("sb-old-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, []Event{{Status: stFilled, TimeMs: 1500, ExecutedQty: "0.1"}}, events)
	fills, err := j.Fills(FillFilter{})
	if err != nil || len(fills) != 1 || fills[0].TradeId != 77 {
		t.Fatalf("fills after migration: %v, %v", fills, err)
	}
	if s, at, err := j.State("old"); err != nil || !bytes.Equal(s, []byte{1, 2}) || at != 1600 {
		t.Fatalf("state after migration: %v %d %v", s, at, err)
	}
	if v, ok, err := j.Meta("seq.old"); v != "2" || !ok || err != nil {
		t.Fatalf("meta after migration: %v %v %v", v, ok, err)
	}
	// And the new schema works on the old data.
	o := orders[0]
	o.Status, o.NotFound, o.UpdatedMs = stLost, 5, 3000
	mustWrite(t, j, PutOrder{o})
	if got, err := j.Order("sb-old-2"); err != nil || got.NotFound != 5 {
		t.Fatalf("updated migrated order: %v, %v", got, err)
	}
}

func TestRefusesNewerSchemaUntouched(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db := rawDB(t, path)
	for _, s := range []string{`CREATE TABLE future (x)`, `PRAGMA user_version = 99`} {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		if j != nil {
			_ = j.Close()
		}
		t.Fatalf("open newer schema: %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "v99") {
		t.Errorf("error does not say the file's version: %v", err)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(before, after) {
		t.Fatal("the refused file was modified")
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("refused file left %s behind", suffix)
		}
	}
}

// TestReadableWithSQLite3 opens the journal with the sqlite3 shell, as a
// user would.
func TestReadableWithSQLite3(t *testing.T) {
	bin, err := exec.LookPath("sqlite3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("sqlite3 missing (apt-get install -y sqlite3)")
		}
		t.Skip("sqlite3 missing (apt-get install -y sqlite3)")
	}
	j, path := openTemp(t)
	o := order("sb-s1-1", "s1", "BTCUSDT", stPartial, 1000)
	o.ExecutedQty = "0.0005"
	mustWrite(t, j, PutOrder{o}, AddFill{fill("sb-s1-1", "BTCUSDT", 5, 1001)})
	out, err := exec.Command(bin, "-readonly", path,
		`SELECT client_order_id, status, price, executed_qty, created_ms FROM orders;
		 SELECT trade_id, price, typeof(price), typeof(time_ms) FROM fills;
		 SELECT status FROM order_events;`).CombinedOutput()
	if err != nil {
		t.Fatalf("sqlite3: %v: %s", err, out)
	}
	want := "sb-s1-1|PARTIALLY_FILLED|50000.01|0.0005|1000\n5|50000.01|text|integer\nPARTIALLY_FILLED\n"
	if string(out) != want {
		t.Fatalf("sqlite3 printed\n%s\nwant\n%s", out, want)
	}
}

// TestMigratesV2JournalAddsTerm migrates a v2 journal (v1 plus migrateV2,
// as the previous release left it): its orders read term 0, a new order
// keeps the term it was written with, and an update never changes the
// term first recorded.
func TestMigratesV2JournalAddsTerm(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	db := rawDB(t, path)
	for _, s := range v1SQL {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := migrateV2(t.Context(), tx); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`PRAGMA user_version = 2`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if v := j.SchemaVersion(); v != 3 || CurrentSchema != 3 {
		t.Fatalf("version %d after migration (current %d), want 3", v, CurrentSchema)
	}
	old, err := j.Order("sb-old-2")
	if err != nil || old == nil || old.Term != 0 || old.Status != stNew {
		t.Fatalf("old order after migration: %v, %v", old, err)
	}
	o := order("sb-grid.a-1", "grid", "BTCUSDT", stNew, 5000)
	o.Term = 370
	mustWrite(t, j, PutOrder{o})
	if got, err := j.Order("sb-grid.a-1"); err != nil || got.GetTerm() != 370 {
		t.Fatalf("new order's term: %v, %v", got, err)
	}
	// An update by a later term (or one that does not say) keeps 370; an
	// old order adopted by a term gets it.
	o.Term, o.Status = 371, stFilled
	mustWrite(t, j, PutOrder{o})
	old.Term = 371
	mustWrite(t, j, PutOrder{old})
	if got, err := j.Order("sb-grid.a-1"); err != nil || got.GetTerm() != 370 || got.GetStatus() != stFilled {
		t.Fatalf("updated order: %v, %v", got, err)
	}
	if got, err := j.Order("sb-old-2"); err != nil || got.GetTerm() != 371 {
		t.Fatalf("old order written by a term: %v, %v", got, err)
	}
	open, err := j.OpenOrders()
	if err != nil || len(open) != 1 || open[0].GetTerm() != 371 {
		t.Fatalf("open orders: %v, %v", open, err)
	}
}
