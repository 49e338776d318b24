package exchangesim

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/shopspring/decimal"
)

// fakeClock is an injectable clock that only moves when told to.
type fakeClock struct{ ms atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ms.Store(t.UnixMilli())
	return c
}

func (c *fakeClock) now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func (c *fakeClock) millis() int64       { return c.ms.Load() }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 500e6, time.UTC)

func publicClient(t testing.TB, ex *Exchange) *binance.Client {
	return newClient(t, ex, "", "")
}

func TestPingAndTime(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	c := publicClient(t, ex)
	if err := c.NewPingService().Do(ctx(t)); err != nil {
		t.Fatalf("ping: %v", err)
	}
	st, err := c.NewServerTimeService().Do(ctx(t))
	if err != nil || st != clk.millis() {
		t.Fatalf("time = %d, %v; want %d", st, err, clk.millis())
	}
}

func TestExchangeInfo(t *testing.T) {
	c := publicClient(t, shared)
	info, err := c.NewExchangeInfoService().Do(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Symbols) != 4 || len(info.RateLimits) < 3 || info.RateLimits[0].Limit != 6000 {
		t.Fatalf("info = %+v", info)
	}
	one, err := c.NewExchangeInfoService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(one.Symbols) != 1 {
		t.Fatalf("symbol filter: %v %+v", err, one)
	}
	s := one.Symbols[0]
	if s.PriceFilter().TickSize != "0.01000000" || s.LotSizeFilter().StepSize != "0.00001000" ||
		s.MarketLotSizeFilter().MaxQuantity != "100.00000000" || s.NotionalFilter().MinNotional != "5.00000000" {
		t.Fatalf("filters = %+v", s.Filters)
	}
	multi, err := c.NewExchangeInfoService().Symbols("BTCUSDT", "ETHUSDT").Do(ctx(t))
	if err != nil || len(multi.Symbols) != 2 {
		t.Fatalf("symbols filter: %v", err)
	}
}

func TestTickerPrice(t *testing.T) {
	c := publicClient(t, shared)
	tests := []struct {
		name    string
		svc     *binance.ListPricesService
		want    int
		wantErr string
	}{
		{"one symbol", c.NewListPricesService().Symbol("ETHUSDT"), 1, ""},
		{"symbols", c.NewListPricesService().Symbols([]string{"BTCUSDT", "BNBUSDT"}), 2, ""},
		{"all", c.NewListPricesService(), 4, ""},
		{"bad symbol", c.NewListPricesService().Symbol("NOPE"), 0, "-1121"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps, err := tt.svc.Do(ctx(t))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %s", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(ps) != tt.want {
				t.Fatalf("got %d prices, %v", len(ps), err)
			}
			for _, p := range ps {
				if len(strings.SplitN(p.Price, ".", 2)[1]) != 8 {
					t.Errorf("price %q is not 8 dp", p.Price)
				}
			}
		})
	}
	ps, _ := c.NewListPricesService().Symbol("BTCUSDT").Do(ctx(t))
	if ps[0].Price != shared.Price("BTCUSDT") {
		t.Fatalf("REST %s != in-process %s", ps[0].Price, shared.Price("BTCUSDT"))
	}
}

func TestTicker24hr(t *testing.T) {
	c := publicClient(t, shared)
	st, err := c.NewListPriceChangeStatsService().Symbol("BTCUSDT").Do(ctx(t))
	if err != nil || len(st) != 1 {
		t.Fatal(err)
	}
	s := st[0]
	if s.Count <= 0 || s.LastPrice != shared.Price("BTCUSDT") || s.Volume == "" || s.BidPrice >= s.AskPrice {
		t.Fatalf("stats = %+v", s)
	}
	hi, _ := decimal.NewFromString(s.HighPrice)
	lo, _ := decimal.NewFromString(s.LowPrice)
	if hi.LessThan(lo) {
		t.Fatalf("high %s < low %s", hi, lo)
	}
	all, err := c.NewListPriceChangeStatsService().Do(ctx(t))
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %d %v", len(all), err)
	}
}

func TestBookTicker(t *testing.T) {
	c := publicClient(t, shared)
	one, err := c.NewListBookTickersService().Symbol("BNBUSDT").Do(ctx(t))
	if err != nil || len(one) != 1 || one[0].Symbol != "BNBUSDT" {
		t.Fatalf("one: %+v %v", one, err)
	}
	bid, _ := decimal.NewFromString(one[0].BidPrice)
	ask, _ := decimal.NewFromString(one[0].AskPrice)
	last, _ := decimal.NewFromString(shared.Price("BNBUSDT"))
	if !bid.LessThan(last) || !ask.GreaterThan(last) {
		t.Fatalf("bid %s last %s ask %s", bid, last, ask)
	}
	all, err := c.NewListBookTickersService().Do(ctx(t))
	if err != nil || len(all) != 4 {
		t.Fatalf("all: %d %v", len(all), err)
	}
}

func TestDepth(t *testing.T) {
	c := publicClient(t, shared)
	for _, limit := range []int{5, 20, 100, 1000, 5000} {
		t.Run(strconv.Itoa(limit), func(t *testing.T) {
			d, err := c.NewDepthService().Symbol("BTCUSDT").Limit(limit).Do(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			want := limit // "Order book": limit up to 5000, not capped at depth_levels
			if len(d.Bids) != want || len(d.Asks) != want || d.LastUpdateID <= 0 {
				t.Fatalf("depth: %d bids %d asks id %d", len(d.Bids), len(d.Asks), d.LastUpdateID)
			}
			if d.Bids[0].Price == "" || d.Bids[0].Price >= d.Asks[0].Price {
				t.Fatalf("best bid %q ask %q", d.Bids[0].Price, d.Asks[0].Price)
			}
		})
	}
	before, _ := c.NewDepthService().Symbol("BTCUSDT").Do(ctx(t))
	shared.Step()
	after, _ := c.NewDepthService().Symbol("BTCUSDT").Do(ctx(t))
	if after.LastUpdateID <= before.LastUpdateID {
		t.Fatalf("lastUpdateId did not grow: %d -> %d", before.LastUpdateID, after.LastUpdateID)
	}
}

func TestKlines(t *testing.T) {
	clk := newFakeClock(t0)
	ex := startExchange(t, testConfig(), WithClock(clk.now))
	c := publicClient(t, ex)
	ks, err := c.NewKlinesService().Symbol("BTCUSDT").Interval("1m").Limit(5).Do(ctx(t))
	if err != nil || len(ks) != 5 {
		t.Fatalf("klines: %d %v", len(ks), err)
	}
	for i := 1; i < len(ks); i++ {
		if ks[i].OpenTime != ks[i-1].CloseTime+1 {
			t.Fatalf("not contiguous at %d: %+v %+v", i, ks[i-1], ks[i])
		}
	}
	last := ks[len(ks)-1]
	if last.OpenTime > clk.millis() || last.CloseTime < clk.millis() {
		t.Fatalf("last kline %d-%d does not hold now %d", last.OpenTime, last.CloseTime, clk.millis())
	}
	if ks[0].Open == "" || ks[0].TradeNum <= 0 {
		t.Fatalf("kline = %+v", ks[0])
	}
	closed := ks[:4]
	for range 150 { // 2.5 minutes of steps
		clk.add(time.Second)
		ex.Step()
	}
	again, err := c.NewKlinesService().Symbol("BTCUSDT").Interval("1m").StartTime(closed[0].OpenTime).Limit(7).Do(ctx(t))
	if err != nil || len(again) != 7 {
		t.Fatalf("again: %d %v", len(again), err)
	}
	for i, k := range closed {
		if *again[i] != *k {
			t.Fatalf("closed kline %d changed:\n%+v\n%+v", i, k, again[i])
		}
	}
	mid, err := c.NewKlinesService().Symbol("BTCUSDT").Interval("1m").StartTime(closed[0].OpenTime + 1).Limit(1).Do(ctx(t))
	if err != nil || len(mid) != 1 || *mid[0] != *closed[1] {
		t.Fatalf("unaligned startTime: %v %+v", err, mid)
	}
	byEnd, err := c.NewKlinesService().Symbol("BTCUSDT").Interval("1m").EndTime(closed[1].OpenTime).Limit(2).Do(ctx(t))
	if err != nil || len(byEnd) != 2 || *byEnd[1] != *closed[1] {
		t.Fatalf("endTime: %v %+v", err, byEnd)
	}
	for _, iv := range []string{"1s", "5m", "1h", "1d", "1w", "1M"} {
		ks, err := c.NewKlinesService().Symbol("ETHUSDT").Interval(iv).Limit(3).Do(ctx(t))
		if err != nil || len(ks) == 0 {
			t.Fatalf("interval %s: %d %v", iv, len(ks), err)
		}
	}
	if _, err := c.NewKlinesService().Symbol("BTCUSDT").Interval("7m").Do(ctx(t)); err == nil || !strings.Contains(err.Error(), "-1120") {
		t.Fatalf("bad interval err = %v", err)
	}
}

func TestBucketStart(t *testing.T) {
	tests := []struct {
		name, iv string
		at, want time.Time
	}{
		{"minute", "1m", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)},
		{"4h", "4h", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2026, 3, 4, 4, 0, 0, 0, time.UTC)},
		{"week starts monday", "1w", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{"month", "1M", time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC), time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := bucketStart(tt.at.UnixMilli(), tt.iv); got != tt.want.UnixMilli() {
				t.Fatalf("bucketStart = %v, want %v", time.UnixMilli(got).UTC(), tt.want)
			}
		})
	}
}

func TestAvgPrice(t *testing.T) {
	c := publicClient(t, shared)
	ap, err := c.NewAveragePriceService().Symbol("ETHUSDT").Do(ctx(t))
	if err != nil || ap.Mins != 5 || ap.Price == "" {
		t.Fatalf("avgPrice = %+v, %v", ap, err)
	}
}

func TestDeterministicPath(t *testing.T) {
	path := func(seed int64) []string {
		cfg := testConfig()
		cfg.Seed = seed
		clk := newFakeClock(t0)
		ex, err := New(cfg, WithClock(clk.now))
		if err != nil {
			t.Fatal(err)
		}
		defer ex.Close()
		var out []string
		for range 50 {
			clk.add(time.Second)
			ex.Step()
			out = append(out, ex.Price("BTCUSDT"), ex.Price("SOLUSDT"))
		}
		return out
	}
	a, b, c := path(7), path(7), path(8)
	if strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatal("same seed gave different paths")
	}
	if strings.Join(a, ",") == strings.Join(c, ",") {
		t.Fatal("different seeds gave the same path")
	}
}

func TestKlinesCSVReplay(t *testing.T) {
	cfg := testConfig()
	cfg.Backfill = 0
	cfg.Symbols[0].Price = ""
	cfg.Symbols[0].KlinesCSV = "testdata/BTCUSDT-1m-sample.csv"
	ex, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	// The price starts at the first open; each step is a whole bar, ending at its close;
	// after the last row the CSV starts over.
	want := []string{"93576.00000000", "93610.93000000", "93634.01000000", "93561.88000000", "93588.00000000", "93610.93000000"}
	got := []string{ex.Price("BTCUSDT")}
	for range 5 {
		ex.Step()
		got = append(got, ex.Price("BTCUSDT"))
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("replay = %v, want %v", got, want)
	}
	m := ex.markets["BTCUSDT"]
	var v int64
	for _, tk := range m.ticks[4:8] {
		v += tk.qty
	}
	if m.qty(v).String() != "7.55302" {
		t.Fatalf("replayed volume of the second bar = %s", m.qty(v))
	}
	cfg.Symbols[0].KlinesCSV = "testdata/missing.csv"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "symbols[0].klines_csv:") {
		t.Fatalf("missing csv: %v", err)
	}
}

func TestParseKlinesCSV(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantOpen int64
		wantErr  bool
	}{
		{"ms", "1698364800000,34151.66,34171.28,33972.39,34015.27,908.27,1698368399999,30937869.6,41459,416.4,14187002.7,0\n", 1698364800000, false},
		{"us", "1735689600000000,93576.0,93610.9,93537.5,93610.9,8.2,1735689659999999,768978.5,1313,3.9,370442.7,0\n", 1735689600000, false},
		{"short row", "1,2,3\n", 0, true},
		{"bad number", "x,1,1,1,1,1,1,1,1,1,1,0\n", 0, true},
		{"empty", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := ParseKlinesCSV(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if err == nil && rows[0].OpenTime != tt.wantOpen {
				t.Fatalf("open = %d, want %d", rows[0].OpenTime, tt.wantOpen)
			}
		})
	}
}
