package orders

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/superbot/superbot/messages"
)

// A journal that refuses an intent: the order is never sent, the caller is
// told, nothing of it stays, and the orders committed beside it are
// unaffected (one bad write never poisons its neighbours). The refusal is
// a real SQLite error: a trigger on the journal's own file aborts the
// insert of one client order id.
func TestJournalRefusingAnIntentSendsNothing(t *testing.T) {
	f := newFixture(t, testCfg(ModeLive))
	db, err := sql.Open("sqlite", filepath.Join(f.dir, f.cfg.Journal))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(`CREATE TRIGGER refuse BEFORE INSERT ON orders WHEN NEW.client_order_id = 'sb-s1-refused'
		BEGIN SELECT RAISE(ABORT, 'disk refused the write'); END`); err != nil {
		t.Fatal(err)
	}

	r := f.place(limitBuy("s1", "sb-s1-refused"))
	if r.GetError() == nil || !strings.Contains(r.GetError().GetMessage(), "journal refused the order intent") {
		t.Fatalf("refused intent answered %v", r)
	}
	if n := f.fx.count(f.fx.places, "sb-s1-refused"); n != 0 {
		t.Fatalf("an order the journal refused was sent %d times", n)
	}
	ok := f.place(limitBuy("s1", "sb-s1-fine"))
	if ok.GetError() != nil || ok.GetOrder().GetStatus() != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
		t.Fatalf("the next order answered %v", ok)
	}
	f.restart()
	var ids []string
	for _, o := range f.orders("") {
		ids = append(ids, o.GetClientOrderId())
	}
	if len(ids) != 1 || ids[0] != "sb-s1-fine" {
		t.Fatalf("journal after a restart holds %v, want only sb-s1-fine", ids)
	}
}
