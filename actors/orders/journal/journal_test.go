package journal

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	"github.com/superbot/superbot/messages"
)

const (
	stIntent  = messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT
	stSent    = messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT
	stNew     = messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW
	stPartial = messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED
	stFilled  = messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED
	stCancel  = messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED
	stLost    = messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST
)

// waitTimeout bounds every wait for a done; generous for a loaded machine.
const waitTimeout = 30 * time.Second

func openTemp(t testing.TB) (*Journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "state", "journal.db")
	j, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j, path
}

// write runs one Write and waits for its done.
func write(t testing.TB, j *Journal, ops ...Op) error {
	t.Helper()
	ch := make(chan error, 1)
	j.Write(ops, func(err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-time.After(waitTimeout):
		t.Fatal("done never ran")
		return nil
	}
}

func mustWrite(t testing.TB, j *Journal, ops ...Op) {
	t.Helper()
	if err := write(t, j, ops...); err != nil {
		t.Fatal(err)
	}
}

func order(id, strategy, symbol string, status messages.TradeOrderStatus, created int64) *messages.TradeOrder {
	return &messages.TradeOrder{
		ClientOrderId: id, Strategy: strategy, Symbol: symbol, Side: "BUY", Type: "LIMIT",
		Quantity: "0.00100000", Price: "50000.01", TimeInForce: "GTC", Status: status,
		CreatedMs: created, UpdatedMs: created, Mode: "live",
	}
}

func fill(id, symbol string, tradeID, at int64) *messages.TradeFill {
	return &messages.TradeFill{
		ClientOrderId: id, Strategy: "s1", Symbol: symbol, Side: "BUY", Price: "50000.01",
		Quantity: "0.0005", QuoteQty: "25.000005", Fee: "0.0000005", FeeAsset: "BTC",
		TradeId: tradeID, TimeMs: at, Maker: tradeID%2 == 0,
	}
}

func diff(t testing.TB, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, protocmp.Transform()); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

func TestOpenMakesPrivateFiles(t *testing.T) {
	j, path := openTemp(t)
	mustWrite(t, j, PutMeta{Key: "k", Value: "v"})
	for p, want := range map[string]os.FileMode{filepath.Dir(path): 0o700, path: 0o600, path + "-wal": 0o600} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != want {
			t.Errorf("%s: mode %v, want %v", p, got, want)
		}
	}
	if v := j.SchemaVersion(); v != CurrentSchema || CurrentSchema != len(migrations) {
		t.Fatalf("schema version %d, current %d, migrations %d", v, CurrentSchema, len(migrations))
	}
}

func TestOrdersRoundTrip(t *testing.T) {
	j, _ := openTemp(t)
	a := order("sb-s1-1", "s1", "BTCUSDT", stIntent, 1000)
	b := order("sb-s2-1", "s2", "ETHUSDT", stNew, 2000)
	b.ExchangeOrderId, b.NotFound, b.Reason = 42, 3, "queried"
	c := order("sb-s1-2", "s1", "ETHUSDT", stFilled, 3000)
	c.ExecutedQty, c.CumulativeQuoteQty, c.AvgPrice = "0.001", "50.00001", "50000.01"
	mustWrite(t, j, PutOrder{a}, &PutOrder{b}, PutOrder{c})

	got, err := j.Order("sb-s2-1")
	if err != nil {
		t.Fatal(err)
	}
	diff(t, b, got)
	if got, err := j.Order("nope"); got != nil || err != nil {
		t.Fatalf("absent order: %v, %v", got, err)
	}
	cases := []struct {
		name string
		f    OrderFilter
		want []*messages.TradeOrder
	}{
		{"all newest first", OrderFilter{}, []*messages.TradeOrder{c, b, a}},
		{"strategy", OrderFilter{Strategy: "s1"}, []*messages.TradeOrder{c, a}},
		{"symbol", OrderFilter{Symbol: "ETHUSDT"}, []*messages.TradeOrder{c, b}},
		{"statuses", OrderFilter{Statuses: []messages.TradeOrderStatus{stIntent, stFilled}}, []*messages.TradeOrder{c, a}},
		{"since", OrderFilter{SinceMs: 2000}, []*messages.TradeOrder{c, b}},
		{"limit", OrderFilter{Limit: 1}, []*messages.TradeOrder{c}},
		{"none", OrderFilter{Strategy: "s9"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := j.Orders(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, tc.want, got)
		})
	}
	open, err := j.OpenOrders()
	if err != nil {
		t.Fatal(err)
	}
	diff(t, []*messages.TradeOrder{a, b}, open)
	if _, err := j.Orders(OrderFilter{Limit: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative limit: %v", err)
	}
}

func TestPutOrderUpdatesAndRecordsHistory(t *testing.T) {
	j, _ := openTemp(t)
	o := order("sb-s1-1", "s1", "BTCUSDT", stIntent, 1000)
	mustWrite(t, j, PutOrder{o})
	steps := []struct {
		status messages.TradeOrderStatus
		at     int64
		exec   string
		reason string
	}{
		{stSent, 1001, "", ""},
		{stNew, 1002, "", ""},
		{stNew, 1003, "", ""}, // nothing changed but updated_ms: no event
		{stPartial, 1004, "0.0005", ""},
		{stPartial, 1005, "0.0008", ""},
		{stLost, 1006, "0.0008", "not found 5 times"},
		{stCancel, 1007, "0.0008", "canceled by user"},
	}
	for _, s := range steps {
		u := proto.Clone(o).(*messages.TradeOrder)
		u.Status, u.UpdatedMs, u.ExecutedQty, u.Reason = s.status, s.at, s.exec, s.reason
		u.CreatedMs = 99999 // the first created_ms stays
		mustWrite(t, j, PutOrder{u})
	}
	got, err := j.Order(o.ClientOrderId)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != stCancel || got.CreatedMs != 1000 || got.UpdatedMs != 1007 || got.ExecutedQty != "0.0008" {
		t.Fatalf("order after updates: %v", got)
	}
	events, err := j.OrderEvents(o.ClientOrderId)
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{
		{stIntent, 1000, "", ""},
		{stSent, 1001, "", ""},
		{stNew, 1002, "", ""},
		{stPartial, 1004, "", "0.0005"},
		{stPartial, 1005, "", "0.0008"},
		{stLost, 1006, "not found 5 times", "0.0008"},
		{stCancel, 1007, "canceled by user", "0.0008"},
	}
	diff(t, want, events)
}

func TestFillsRoundTripAndIdempotence(t *testing.T) {
	j, _ := openTemp(t)
	f1 := fill("a", "BTCUSDT", 7, 100)
	f2 := fill("a", "BTCUSDT", 9, 200)
	f3 := fill("b", "ETHUSDT", 3, 150)
	f3.Strategy = "s2"
	mustWrite(t, j, AddFill{f1}, &AddFill{f2}, AddFill{f3})
	mustWrite(t, j, AddFill{f1}, AddFill{f3}) // recorded again: no-op
	// Paper fills (trade id 0) are each recorded.
	p1, p2 := fill("p", "BTCUSDT", 0, 300), fill("p", "BTCUSDT", 0, 300)
	mustWrite(t, j, AddFill{p1})
	mustWrite(t, j, AddFill{p2})

	all, err := j.Fills(FillFilter{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, []*messages.TradeFill{p2, p1, f2, f3, f1}, all)
	cases := []struct {
		name string
		f    FillFilter
		want []*messages.TradeFill
	}{
		{"ascending", FillFilter{Ascending: true, Symbol: "BTCUSDT"}, []*messages.TradeFill{f1, f2, p1, p2}},
		{"strategy", FillFilter{Strategy: "s2"}, []*messages.TradeFill{f3}},
		{"since", FillFilter{SinceMs: 200, Ascending: true}, []*messages.TradeFill{f2, p1, p2}},
		{"limit", FillFilter{Limit: 2, Ascending: true}, []*messages.TradeFill{f1, f3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := j.Fills(tc.f)
			if err != nil {
				t.Fatal(err)
			}
			diff(t, tc.want, got)
		})
	}
	last, err := j.LastTradeIDs()
	if err != nil {
		t.Fatal(err)
	}
	diff(t, map[string]int64{"BTCUSDT": 9, "ETHUSDT": 3}, last)
}

func TestStateAndMetaRoundTrip(t *testing.T) {
	j, _ := openTemp(t)
	if s, at, err := j.State("s1"); s != nil || at != 0 || err != nil {
		t.Fatalf("absent state: %v %v %v", s, at, err)
	}
	if v, ok, err := j.Meta("k"); v != "" || ok || err != nil {
		t.Fatalf("absent meta: %v %v %v", v, ok, err)
	}
	big := bytes.Repeat([]byte{0xAB}, MaxStateBytes)
	mustWrite(t, j, PutState{Strategy: "s1", State: []byte("v1"), SavedMs: 5}, PutMeta{Key: "seq.s1", Value: "41"})
	mustWrite(t, j, &PutState{Strategy: "s1", State: big, SavedMs: 6}, &PutMeta{Key: "seq.s1", Value: "42"},
		PutState{Strategy: "s2", State: nil, SavedMs: 7}, PutMeta{Key: "empty"})
	s, at, err := j.State("s1")
	if err != nil || !bytes.Equal(s, big) || at != 6 {
		t.Fatalf("state s1: %d bytes at %d, %v", len(s), at, err)
	}
	if s, at, err := j.State("s2"); err != nil || len(s) != 0 || at != 7 {
		t.Fatalf("state s2: %v at %d, %v", s, at, err)
	}
	if v, ok, err := j.Meta("seq.s1"); v != "42" || !ok || err != nil {
		t.Fatalf("meta: %v %v %v", v, ok, err)
	}
	if v, ok, err := j.Meta("empty"); v != "" || !ok || err != nil {
		t.Fatalf("empty meta: %v %v %v", v, ok, err)
	}
}

func TestBadOpFailsItsWriteOnly(t *testing.T) {
	j, _ := openTemp(t)
	good := order("good", "s1", "BTCUSDT", stNew, 1)
	bad := []struct {
		name string
		op   Op
	}{
		{"nil order", PutOrder{}},
		{"nil pointer", (*PutOrder)(nil)},
		{"no client id", PutOrder{order("", "s1", "BTCUSDT", stNew, 1)}},
		{"unspecified status", PutOrder{order("x", "s1", "BTCUSDT", 0, 1)}},
		{"unknown status", PutOrder{order("x", "s1", "BTCUSDT", 99, 1)}},
		{"long id", PutOrder{order(strings.Repeat("x", MaxIDLen+1), "s1", "BTCUSDT", stNew, 1)}},
		{"nil fill", AddFill{}},
		{"negative trade id", AddFill{fill("x", "BTCUSDT", -1, 1)}},
		{"fill without symbol", AddFill{fill("x", "", 1, 1)}},
		{"state too big", PutState{Strategy: "s1", State: make([]byte, MaxStateBytes+1)}},
		{"state without strategy", PutState{State: []byte("x")}},
		{"meta without key", PutMeta{Value: "x"}},
		{"meta too big", PutMeta{Key: "k", Value: strings.Repeat("x", MaxMetaValue+1)}},
		{"unknown op", nil},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			// The bad op and a good op share a Write (both refused), while
			// another Write queued beside it commits.
			ch := make(chan error, 2)
			j.Write([]Op{PutMeta{Key: "with-bad", Value: "x"}, tc.op}, func(err error) { ch <- err })
			j.Write([]Op{PutOrder{good}}, func(err error) { ch <- err })
			errBad, errGood := <-ch, <-ch
			if !errors.Is(errBad, ErrInvalid) {
				t.Fatalf("bad write: %v, want ErrInvalid", errBad)
			}
			if errGood != nil {
				t.Fatalf("good write: %v", errGood)
			}
			if _, ok, _ := j.Meta("with-bad"); ok {
				t.Fatal("the bad write's good op was committed")
			}
		})
	}
	if st := j.Stats(); st.Failed != uint64(len(bad)) || st.Writes != uint64(len(bad)) {
		t.Fatalf("stats: %+v", st)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	j, _ := openTemp(t)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := write(t, j, PutMeta{Key: "k"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := j.Orders(OrderFilter{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := j.Checkpoint(); !errors.Is(err, ErrClosed) {
		t.Fatalf("checkpoint after close: %v", err)
	}
}

func TestCloseCommitsQueuedWritesAndReopens(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.db")
	j, err := Open(path, Options{MaxBatch: 7})
	if err != nil {
		t.Fatal(err)
	}
	const n = 300
	results := make(chan error, n)
	for i := range n {
		j.Write([]Op{PutOrder{order(fmt.Sprintf("o-%d", i), "s1", "BTCUSDT", stIntent, int64(i))}},
			func(err error) { results <- err })
	}
	if err := j.Close(); err != nil { // Close drains the queue first
		t.Fatal(err)
	}
	for range n {
		if err := <-results; err != nil {
			t.Fatal(err)
		}
	}
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() != 0 {
		t.Fatalf("WAL not checkpointed at close: %d bytes", st.Size())
	}
	j2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j2.Close()
	got, err := j2.Orders(OrderFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("%d orders after reopen, want %d", len(got), n)
	}
}

// TestFailingStatementRollsBackItsWriteOnly makes SQLite itself refuse an
// op (a trigger added behind the journal's back): the Write holding it
// fails whole, with its other ops rolled back, while Writes sharing the
// transaction commit.
func TestFailingStatementRollsBackItsWriteOnly(t *testing.T) {
	j, path := openTemp(t)
	db := rawDB(t, path)
	defer db.Close()
	if _, err := db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON meta WHEN new.key = 'boom'
		BEGIN SELECT RAISE(ABORT, 'boom refused'); END`); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx) // hold the write lock so all three share one commit
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	before := j.Stats().Commits
	ch := make([]chan error, 3)
	writes := [][]Op{
		{PutMeta{Key: "before", Value: "1"}},
		{PutOrder{order("multi", "s1", "BTCUSDT", stNew, 1)}, PutMeta{Key: "multi", Value: "1"}, PutMeta{Key: "boom"}},
		{PutMeta{Key: "boom"}},
	}
	for i, ops := range writes {
		ch[i] = make(chan error, 1)
		j.Write(ops, func(err error) { ch[i] <- err })
	}
	j.Write([]Op{PutMeta{Key: "after", Value: "1"}}, nil)
	last := make(chan error, 1)
	j.Write([]Op{PutMeta{Key: "last", Value: "1"}}, func(err error) { last <- err })
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	if err := <-ch[0]; err != nil {
		t.Fatalf("good write: %v", err)
	}
	for _, i := range []int{1, 2} {
		if err := <-ch[i]; err == nil || !strings.Contains(err.Error(), "boom refused") {
			t.Fatalf("write %d: %v, want the trigger's refusal", i, err)
		}
	}
	if err := <-last; err != nil {
		t.Fatalf("later write: %v", err)
	}
	for key, want := range map[string]bool{"before": true, "after": true, "last": true, "multi": false, "boom": false} {
		if _, ok, err := j.Meta(key); ok != want || err != nil {
			t.Errorf("meta %q present %v (%v), want %v", key, ok, err, want)
		}
	}
	if o, err := j.Order("multi"); o != nil || err != nil {
		t.Fatalf("the refused write's order was committed: %v, %v", o, err)
	}
	if events, _ := j.OrderEvents("multi"); len(events) != 0 {
		t.Fatalf("the refused write's order events were committed: %v", events)
	}
	if c := j.Stats().Commits - before; c > 2 {
		t.Fatalf("%d commits; the writes queued behind the lock should share at most 2", c)
	}
}

// TestWriteCopiesItsOps changes the messages right after Write returns, as
// the orders actor may: the journal commits what was passed (and -race sees
// no sharing with the writer goroutine).
func TestWriteCopiesItsOps(t *testing.T) {
	j, _ := openTemp(t)
	o := order("copy", "s1", "BTCUSDT", stIntent, 1)
	f := fill("copy", "BTCUSDT", 1, 1)
	st := PutState{Strategy: "s1", State: []byte("before"), SavedMs: 1}
	done := make(chan error, 1)
	j.Write([]Op{&PutOrder{o}, AddFill{f}, &st}, func(err error) { done <- err })
	o.Status, o.Price = stFilled, "1"
	f.Price = "1"
	copy(st.State, "AFTER!")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, err := j.Order("copy")
	if err != nil || got.Status != stIntent || got.Price != "50000.01" {
		t.Fatalf("order: %v, %v", got, err)
	}
	fills, err := j.Fills(FillFilter{})
	if err != nil || len(fills) != 1 || fills[0].Price != "50000.01" {
		t.Fatalf("fills: %v, %v", fills, err)
	}
	if s, _, err := j.State("s1"); err != nil || string(s) != "before" {
		t.Fatalf("state: %q, %v", s, err)
	}
}

// TestConnectionSettings checks what durability rests on: WAL, a commit
// fsynced (synchronous=FULL), foreign keys, a busy timeout, and readers
// that cannot write.
func TestConnectionSettings(t *testing.T) {
	j, _ := openTemp(t)
	for _, db := range []struct {
		name string
		q    func(string, ...any) *sql.Row
	}{{"writer", j.wdb.QueryRow}, {"reader", j.rdb.QueryRow}} {
		want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": fmt.Sprint(busyTimeoutMs)}
		if db.name == "writer" {
			want["synchronous"] = "2" // FULL
		} else {
			want["query_only"] = "1"
		}
		for pragma, v := range want {
			var got string
			if err := db.q("PRAGMA " + pragma).Scan(&got); err != nil || got != v {
				t.Errorf("%s: PRAGMA %s = %q (%v), want %q", db.name, pragma, got, err, v)
			}
		}
	}
	if _, err := j.rdb.Exec(`INSERT INTO meta (key, value) VALUES ('x', 'y')`); err == nil {
		t.Fatal("the read pool wrote")
	}
	if _, err := Open(filepath.Join(t.TempDir(), "j.db"), Options{MaxBatch: -1}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("negative MaxBatch: %v", err)
	}
}

// TestOddPath opens, writes and backs up a journal whose path holds URI
// characters (the driver takes a file: URI).
func TestOddPath(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a b?c#d%20e")
	j, err := Open(filepath.Join(dir, "j?.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	mustWrite(t, j, PutMeta{Key: "k", Value: "v"})
	if _, err := os.Stat(filepath.Join(dir, "j?.db-wal")); err != nil {
		t.Fatalf("journal not where asked: %v", err)
	}
	if _, err := j.Backup(filepath.Join(dir, "b#?.db")); err != nil {
		t.Fatal(err)
	}
	b, err := Open(filepath.Join(dir, "b#?.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v, ok, err := b.Meta("k"); v != "v" || !ok || err != nil {
		t.Fatalf("backup meta: %v %v %v", v, ok, err)
	}
}
