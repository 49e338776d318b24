package exchangesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// replayRows are the bars of the replay tests: up, down, up with a gap
// before it (a missing minute), in ms.
var replayRows = []struct {
	open              int64
	o, h, l, c, v     string
	wantPath, wantQty []string
}{
	{1704067200000, "42000.00", "42100.50", "41950.25", "42080.00", "1.23457",
		[]string{"42000.00000000", "41950.25000000", "42100.50000000", "42080.00000000"},
		[]string{"0.30864000", "0.30864000", "0.30864000", "0.30865000"}},
	{1704067260000, "42080.00", "42090.00", "41900.00", "41910.10", "0.40000",
		[]string{"42080.00000000", "42090.00000000", "41900.00000000", "41910.10000000"},
		[]string{"0.10000000", "0.10000000", "0.10000000", "0.10000000"}},
	{1704067380000, "41910.10", "41999.99", "41910.10", "41950.00", "0.00003",
		[]string{"41910.10000000", "41910.10000000", "41999.99000000", "41950.00000000"},
		[]string{"0.00000000", "0.00000000", "0.00000000", "0.00003000"}},
}

// writeReplayCSV writes replayRows as a Binance klines CSV (µs times when
// micro, as in files from 2025 on) and returns its path.
func writeReplayCSV(t *testing.T, micro bool) string {
	t.Helper()
	var b strings.Builder
	for _, r := range replayRows {
		open, end := r.open, r.open+59999
		if micro {
			open, end = open*1000, end*1000+999
		}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%d,0,0,0,0,0\n", open, r.o, r.h, r.l, r.c, r.v, end)
	}
	p := filepath.Join(t.TempDir(), "BTCUSDT-1m.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// replayExchange starts an exchange replaying the CSV at path on BTCUSDT,
// with ETHUSDT walking beside it.
func replayExchange(t *testing.T, path string) *Exchange {
	t.Helper()
	cfg := testConfig()
	cfg.Symbols = cfg.Symbols[:2]
	cfg.Symbols[0].Price = ""
	cfg.Symbols[0].KlinesCSV = path
	return startExchange(t, cfg)
}

// streamEvent is a combined stream frame's event: a trade or a kline.
// Every key is declared: encoding/json matches keys case-insensitively, so
// "T" would otherwise land in the field of "t".
type streamEvent struct {
	Stream string `json:"stream"`
	Data   struct {
		E         string `json:"e"`
		EventTime int64  `json:"E"`
		ID        int64  `json:"t"`
		Price     string `json:"p"`
		Qty       string `json:"q"`
		Time      int64  `json:"T"`
		K         struct {
			Start      int64  `json:"t"`
			End        int64  `json:"T"`
			Open       string `json:"o"`
			High       string `json:"h"`
			Low        string `json:"l"`
			LastID     int64  `json:"L"`
			Close      string `json:"c"`
			Volume     string `json:"v"`
			TakerVol   string `json:"V"`
			Quote      string `json:"q"`
			TakerQuote string `json:"Q"`
			Final      bool   `json:"x"`
		} `json:"k"`
	} `json:"data"`
}

// dialStreams subscribes to BTCUSDT's trades and 1m klines on one
// connection (events in publication order); a reader goroutine hands them
// on (gorilla's reads cannot time out and go on).
func dialStreams(t *testing.T, ex *Exchange) <-chan streamEvent {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial(ex.WSBaseURL()+"/stream?streams=btcusdt@trade/btcusdt@kline_1m", nil)
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan streamEvent, 1024)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			_, b, err := c.ReadMessage()
			if err != nil {
				return
			}
			var ev streamEvent
			if json.Unmarshal(b, &ev) == nil {
				ch <- ev
			}
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-done
	})
	return ch
}

// drain returns the events sent so far: the exchange publishes
// synchronously, so they are on their way; it waits until none has come
// for a while.
func drain(ch <-chan streamEvent) []streamEvent {
	var out []streamEvent
	for {
		select {
		case ev := <-ch:
			out = append(out, ev)
		case <-time.After(300 * time.Millisecond):
			return out
		}
	}
}

// TestReplayPrintsTheBarPath: a replayed CSV row is four trades on the
// backtester's intrabar path (open, low/high, high/low, close; the volume
// split in lot steps, the last taking the remainder) at times inside the
// row's minute, printed by StepTrades without closing the kline; CloseBar
// moves the clock to the row's end and sends the closing kline, whose
// open time, prices and volume are the CSV row's, once. REST klines are the
// CSV's bars; the clock follows the CSV (µs times read as ms), and after
// the last row the CSV starts over later, not back in time.
func TestReplayPrintsTheBarPath(t *testing.T) {
	ex := replayExchange(t, writeReplayCSV(t, true))
	if got := ex.nowMs(); got != replayRows[0].open {
		t.Fatalf("clock at start = %d, want the first open %d", got, replayRows[0].open)
	}
	if got := ex.Price("BTCUSDT"); got != "42000.00000000" {
		t.Fatalf("start price = %s, want the first open", got)
	}
	c := dialStreams(t, ex)
	for i, r := range replayRows {
		if err := ex.StepTrades(); err != nil {
			t.Fatal(err)
		}
		var path, qty []string
		for _, ev := range drain(c) {
			switch ev.Data.E {
			case "trade":
				path, qty = append(path, ev.Data.Price), append(qty, ev.Data.Qty)
				if ev.Data.Time < r.open || ev.Data.Time >= r.open+60000 {
					t.Errorf("bar %d: trade at %d, outside its minute", i, ev.Data.Time)
				}
			case "kline":
				if ev.Data.K.Final {
					t.Errorf("bar %d: a closed kline before CloseBar: %+v", i, ev.Data.K)
				}
			}
		}
		if fmt.Sprint(path) != fmt.Sprint(r.wantPath) || fmt.Sprint(qty) != fmt.Sprint(r.wantQty) {
			t.Fatalf("bar %d: trades %v of %v, want %v of %v", i, path, qty, r.wantPath, r.wantQty)
		}
		if got := ex.nowMs(); got != r.open+45000 {
			t.Fatalf("bar %d: clock after its trades = %d, want %d", i, got, r.open+45000)
		}
		if err := ex.CloseBar(); err != nil {
			t.Fatal(err)
		}
		evs := drain(c)
		if len(evs) != 1 || !evs[0].Data.K.Final {
			t.Fatalf("bar %d: CloseBar sent %+v, want one closing kline", i, evs)
		}
		k := evs[0].Data.K
		if k.Start != r.open || k.Open != r.o+"000000" || k.High != r.h+"000000" || k.Low != r.l+"000000" ||
			k.Close != r.c+"000000" || k.Volume != r.v+"000" {
			t.Fatalf("bar %d: closing kline %+v, want the CSV row %+v", i, k, r)
		}
		if got := ex.nowMs(); got != r.open+60000 {
			t.Fatalf("bar %d: clock after CloseBar = %d, want %d", i, got, r.open+60000)
		}
	}
	// The next bar's trades do not close the last one again.
	if err := ex.StepTrades(); err != nil {
		t.Fatal(err)
	}
	span := replayRows[2].open + 60000 - replayRows[0].open
	for _, ev := range drain(c) {
		if ev.Data.E == "kline" && (ev.Data.K.Final || ev.Data.K.Start != replayRows[0].open+span) {
			t.Fatalf("after the wrap: kline %+v, want the first row's again, %d ms later, open", ev.Data.K, span)
		}
	}
	ex.Step() // closes the open bar and prints and closes the next
	ks := rawDo(t, ex, "GET", fmt.Sprintf("/api/v3/klines?symbol=BTCUSDT&interval=1m&startTime=%d&limit=4", replayRows[0].open), "", nil)
	var rows [][]any
	if err := json.Unmarshal([]byte(ks.raw), &rows); err != nil || len(rows) != 4 {
		t.Fatalf("klines: %s (%v)", ks.raw, err)
	}
	for i, j := range []int{0, 1, -1, 2} { // the missing minute is flat at the previous close, volume 0
		got := fmt.Sprint(int64(rows[i][0].(float64)), rows[i][1:6])
		want := fmt.Sprintf("%d [%s000000 %s000000 %s000000 %s000000 %s000]", replayRows[max(j, 0)].open,
			replayRows[max(j, 0)].o, replayRows[max(j, 0)].h, replayRows[max(j, 0)].l, replayRows[max(j, 0)].c, replayRows[max(j, 0)].v)
		if j < 0 {
			c := replayRows[1].c + "000000"
			want = fmt.Sprintf("%d [%s %s %s %s 0.00000000]", replayRows[1].open+60000, c, c, c, c)
		}
		if got != want {
			t.Errorf("REST kline %d = %s, want %s", i, got, want)
		}
	}
}

// TestReplayAdminPhases: the admin API steps a replay in phases; an
// exchange replaying nothing refuses them.
func TestReplayAdminPhases(t *testing.T) {
	ex := replayExchange(t, writeReplayCSV(t, false))
	post := func(ex *Exchange, body string) int {
		r := rawDo(t, ex, http.MethodPost, "/admin/step", body, nil)
		return r.status
	}
	if s := post(ex, `{"phase":"trades"}`); s != 200 || ex.Price("BTCUSDT") != "42080.00000000" || ex.nowMs() != replayRows[0].open+45000 {
		t.Fatalf("phase trades: %d, price %s, clock %d", s, ex.Price("BTCUSDT"), ex.nowMs())
	}
	if s := post(ex, `{"phase":"close"}`); s != 200 || ex.nowMs() != replayRows[0].open+60000 {
		t.Fatalf("phase close: %d, clock %d", s, ex.nowMs())
	}
	if s := post(ex, `{"phase":"later"}`); s != 400 {
		t.Fatalf("unknown phase: %d", s)
	}
	if s := post(ex, `{"n":2,"phase":"close"}`); s != 400 {
		t.Fatalf("n 2 with a phase: %d", s)
	}
	walk := startExchange(t, testConfig())
	if s := post(walk, `{"phase":"trades"}`); s != 400 {
		t.Fatalf("phase trades without a replay: %d", s)
	}
	if err := walk.CloseBar(); err == nil {
		t.Fatal("CloseBar without a replay succeeded")
	}
}

// TestReplayRefusesRowsOutOfOrder: rows must ascend by open time.
func TestReplayRefusesRowsOutOfOrder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.csv")
	rows := "1704067260000,1,1,1,1,1,1704067319999,0,0,0,0,0\n1704067200000,1,1,1,1,1,1704067259999,0,0,0,0,0\n"
	if err := os.WriteFile(p, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	cfg.Symbols[0].KlinesCSV = p
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "open times must ascend") {
		t.Fatalf("New = %v", err)
	}
}
