package journal

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestFillInsertUsesTheTradeIndex: the fill insert's duplicate check must
// find (symbol, trade_id) through the fills_trade index, not scan every
// fill (which made a reconciliation of 10,000 fills take seconds).
func TestFillInsertUsesTheTradeIndex(t *testing.T) {
	j, err := Open(filepath.Join(t.TempDir(), "journal.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	rows, err := j.wdb.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+stmtSQL[stmtFill],
		"c1", "s1", "BTCUSDT", "BUY", "1", "1", "1", "0", "BNB", int64(7), int64(1), false)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rows.Close() }()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(plan, "\n")
	if !strings.Contains(all, "INDEX fills_trade") || strings.Contains(all, "SCAN fills") {
		t.Fatalf("the fill insert does not look trades up by index:\n%s", all)
	}
}
