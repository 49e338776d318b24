package daemon_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/actors/backtest/engine"
	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The parity test (issue 11, section 2): a strategy in paper mode against
// the simulator replaying a CSV, and the backtester on the same CSV,
// produce the same orders and fills.
//
// Both sides share one market model: each bar is four trades
// (matcher.BarTrades), which the simulator prints and the engine feeds to
// the matcher; market orders fill at the last trade price plus the
// slippage, resting limit orders when a trade reaches them, as maker at
// their price ([trading.paper] fills = "trades"). The engine, per bar,
// feeds the trades, then hands the strategy its order updates and fills
// (it may react at once), then the closed bar (its orders go out at once).
// The daemon runs in lockstep with the replay, one bar in two phases, and
// waits for rest after each, so that the same happens in the same order by
// construction, not by luck of timing:
//
//  1. StepTrades prints the bar's trades. Rest: the bus has published them
//     and holds none back for the order actor (they are in its mailbox); a
//     trading.positions call, answered from that mailbox, comes back after
//     it has matched them; then the quiet state below: every fill they made
//     is published and the strategy has handled it, and its reactions.
//  2. CloseBar closes the bar: the strategy gets it only now, after its
//     fills (as in the engine), and its orders reach the order actor after
//     the trades (ordering 1 of the brief: the last price is the close).
//     Rest: the quiet state with the bar counted. Only then the next bar's
//     trades print (ordering 2: the fills reach the strategy first).
//
// Quiet (read in this order: the strategy, then the journal, then the
// bus): the strategy has counted the bars (a bar is counted after the
// strategy acted on it), every order it sent is in the journal with an
// outcome, the bus has published every order's events (here a LIMIT order
// rests first, a MARKET one fills at once, each fills whole) and every
// fill, and the strategy has handled every event the bus delivered to it
// (trading.strategies' events equals the bus's delivered count for its
// patterns; the bus delivers in publication order).

const (
	parityRows     = 200
	parityStrategy = "parity"
	paritySymbol   = "BTCUSDT"
	parityFee      = 0.001
	paritySlippage = 0.0005
	parityAlloc    = 10000.0
)

// parityBar is one CSV row as its decimal strings (both sides parse them).
type parityBar struct {
	open          int64
	o, h, l, c, v string
}

// parityCSV writes a 1-minute BTCUSDT klines CSV in Binance's public-data
// format: a seeded random walk from 42000 USDT, prices on the 0.01 tick,
// volumes on the 0.00001 lot step.
func parityCSV(t *testing.T) (string, []parityBar) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 2024))
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	cents := int64(4200000)
	cent := func(v int64) string { return fmt.Sprintf("%d.%02d", v/100, v%100) }
	var bars []parityBar
	var b strings.Builder
	for i := range parityRows {
		o := cents
		c := max(100, o+int64(rng.NormFloat64()*0.002*float64(o)))
		h := max(o, c) + rng.Int64N(3000)
		l := max(1, min(o, c)-rng.Int64N(3000))
		v := 50000 + rng.Int64N(2000000) // lot steps of 0.00001
		bar := parityBar{open: start + int64(i)*60000, o: cent(o), h: cent(h), l: cent(l), c: cent(c),
			v: fmt.Sprintf("%d.%05d", v/100000, v%100000)}
		fmt.Fprintf(&b, "%d,%s,%s,%s,%s,%s,%d,0,0,0,0,0\n", bar.open, bar.o, bar.h, bar.l, bar.c, bar.v, bar.open+59999)
		bars = append(bars, bar)
		cents = c
	}
	path := filepath.Join(t.TempDir(), "BTCUSDT-1m-2024-01-01.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, bars
}

// parityCase is one strategy run both ways.
type parityCase struct {
	kind string
	// toml is the strategy's params as a TOML inline table; params the same
	// for the engine.
	toml     string
	params   map[string]any
	minFills int
}

// parityConfig is the daemon's: paper on trades only, its own simulator
// off, the connector on ex; streams never go stale between two bars.
func parityConfig(ex *exchangesim.Exchange, pc parityCase) string {
	return fmt.Sprintf(`[daemon]
autostart = []
[daemon.modules.exchange-sim]
enabled = false
[connector]
base_url = %q
ws_base_url = %q
stale_after = "10m"
[trading]
mode = "paper"
[trading.paper]
fills = "trades"
slippage = %v
maker_fee = %v
taker_fee = %v
balances = { USDT = "100000" }
[trading.strategies.%s]
kind = %q
symbol = %q
interval = "1m"
allocation = "%v USDT"
params = %s
`, ex.BaseURL(), ex.WSBaseURL(), paritySlippage, parityFee, parityFee, parityStrategy, pc.kind, paritySymbol, parityAlloc, pc.toml)
}

// protoCall calls method and decodes its answer into res with protojson.
func protoCall(t *testing.T, c *client.Client, method string, params any, res proto.Message) {
	t.Helper()
	var raw json.RawMessage
	if err := c.Call(context.Background(), method, params, &raw); err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, res); err != nil {
		t.Fatalf("%s: decode %s: %v", method, raw, err)
	}
}

// busView is what the lockstep reads from events.stats.
type busView struct {
	published   map[string]uint64 // by topic
	subscribers map[string]uint32 // by pattern
	delivered   map[string]uint64 // by pattern
	queued      map[string]uint64 // by pattern
}

func readBus(t *testing.T, c *client.Client) busView {
	var st messages.BusStatsResponse
	protoCall(t, c, "events.stats", nil, &st)
	v := busView{published: map[string]uint64{}, subscribers: map[string]uint32{}, delivered: map[string]uint64{}, queued: map[string]uint64{}}
	for _, tp := range st.GetTopics() {
		v.published[tp.GetTopic()] = tp.GetPublished()
	}
	for _, p := range st.GetPatterns() {
		v.subscribers[p.GetPattern()], v.delivered[p.GetPattern()], v.queued[p.GetPattern()] = p.GetSubscribers(), p.GetDelivered(), p.GetQueued()
	}
	return v
}

// parityInfo returns trading.strategies' entry of the parity strategy.
func parityInfo(t *testing.T, c *client.Client) *messages.StrategyInfo {
	var st messages.StrategiesResponse
	protoCall(t, c, "trading.strategies", nil, &st)
	for _, s := range st.GetStrategies() {
		if s.GetName() == parityStrategy {
			return s
		}
	}
	t.Fatalf("trading.strategies lacks %s", parityStrategy)
	return nil
}

// poll calls cond until it holds, quickly (the lockstep polls a few times
// a bar), failing after a generous deadline with what cond last said.
func poll(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for wait := 500 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
		ok, why := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s (%s)", what, why)
		}
		time.Sleep(wait)
	}
}

// The strategy's bus patterns (the strategy host subscribes them).
var (
	parityPrice    = "price." + paritySymbol + ".update"
	parityPatterns = []string{"kline." + paritySymbol + ".1m", "order." + parityStrategy + ".>", "fill." + parityStrategy + ".>"}
)

// quiet reports whether the daemon is at rest with bars bars seen (see the
// file's comment), and if not, why.
func quiet(t *testing.T, c *client.Client, bars uint64) (bool, string) {
	in := parityInfo(t, c)
	if in.GetBars() != bars {
		return false, fmt.Sprintf("%d bars seen, want %d", in.GetBars(), bars)
	}
	orders := journalOrders(t, c)
	if uint64(len(orders)) != in.GetOrders() {
		return false, fmt.Sprintf("%d orders sent, %d journaled", in.GetOrders(), len(orders))
	}
	status, limits := map[string]uint64{}, uint64(0)
	for _, o := range orders {
		s := strings.ToLower(strings.TrimPrefix(o.GetStatus().String(), "TRADE_ORDER_STATUS_"))
		switch s {
		case "intent", "sent", "unknown", "lost", "partially_filled":
			return false, "order " + o.GetClientOrderId() + " is " + s
		}
		status[s]++
		if o.GetType() == "LIMIT" {
			limits++
		}
	}
	b := readBus(t, c)
	topic := "order." + parityStrategy + "." + paritySymbol + "."
	if b.published[topic+"new"] != limits {
		return false, fmt.Sprintf("%d limit orders, %d published new", limits, b.published[topic+"new"])
	}
	for _, s := range []string{"filled", "canceled", "expired", "rejected", "not_sent"} {
		if b.published[topic+s] != status[s] {
			return false, fmt.Sprintf("%d orders %s, %d published", status[s], s, b.published[topic+s])
		}
	}
	if f := b.published["fill."+parityStrategy+"."+paritySymbol]; f != status["filled"] {
		return false, fmt.Sprintf("%d orders filled, %d fills published", status["filled"], f)
	}
	var delivered, queued uint64
	for _, p := range parityPatterns {
		delivered, queued = delivered+b.delivered[p], queued+b.queued[p]
	}
	if in.GetEvents() != delivered || queued > 0 {
		return false, fmt.Sprintf("the strategy handled %d events of %d delivered, %d held", in.GetEvents(), delivered, queued)
	}
	return true, ""
}

// TestPaperOnAReplayEqualsTheBacktest: a strategy in paper mode on the
// simulator replaying 200 one-minute bars, driven in lockstep, places the
// same orders (side, type, quantity, price, final status) and gets the
// same fills (side, price, quantity, fee, maker), to 8 decimals, as the
// backtester on the same bars with the same strategy, allocation, fees
// and slippage: sma_cross (market orders) and grid (resting limit orders,
// its levels further apart than any bar's range: see gridCase). Times are
// not compared: the daemon stamps orders and fills with its own clock
// (the machine's, in 2026), the backtester with the bars' (2024).
func TestPaperOnAReplayEqualsTheBacktest(t *testing.T) {
	csv, bars := parityCSV(t)
	cases := map[string]parityCase{
		"sma_cross": {kind: "sma_cross", toml: "{ fast = 3, slow = 8, quantity = 0.01 }",
			params: map[string]any{"fast": int64(3), "slow": int64(8), "quantity": 0.01}, minFills: 4},
		"grid": gridCase(bars),
	}
	for _, name := range []string{"sma_cross", "grid"} {
		t.Run(name, func(t *testing.T) { runParity(t, csv, bars, cases[name]) })
	}
}

// gridCase is a grid of 7 levels around the first open, further apart
// than the widest bar: an order a fill leads to (the next level) cannot
// be reached in the same bar. So the one difference of timing left
// between the two sides does not matter: the engine hands the strategy
// its fills after the bar's four trades, while in the daemon the fill of
// the second trade may lead to an order the third and fourth trades reach
// the order actor after.
func gridCase(bars []parityBar) parityCase {
	var widest float64
	for _, b := range bars {
		widest = max(widest, pf(b.h)-pf(b.l))
	}
	gap := math.Ceil(widest/10)*10 + 10
	first := pf(bars[0].o)
	lower, upper := first-3*gap, first+3*gap
	return parityCase{kind: "grid", toml: fmt.Sprintf("{ lower = %.2f, upper = %.2f, levels = 7, quantity = 0.01 }", lower, upper),
		params: map[string]any{"lower": lower, "upper": upper, "levels": int64(7), "quantity": 0.01}, minFills: 4}
}

// runParity runs pc in paper mode against a simulator replaying csv, in
// lockstep, then the engine on bars, and compares.
func runParity(t *testing.T, csv string, bars []parityBar, pc parityCase) {
	simCfg := exchangesim.DefaultConfig()
	simCfg.Listen, simCfg.TickInterval, simCfg.Backfill = "127.0.0.1:0", 0, 0
	simCfg.Symbols = simCfg.Symbols[:1]
	simCfg.Symbols[0].Price, simCfg.Symbols[0].KlinesCSV = "", csv
	ex, err := exchangesim.New(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := ex.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ex.Close() })

	p := startDaemon(t, t.TempDir(), parityConfig(ex, pc))
	c := waitJournal(t, p)
	// Ready: the connector has the trade and kline streams open on the
	// simulator, the order actor listens to trades, the strategy (its
	// state loaded) to klines and its orders' events.
	poll(t, "streams and subscriptions in place", func() (bool, string) {
		b := readBus(t, c)
		ok := ex.Subscribers("btcusdt@trade") > 0 && ex.Subscribers("btcusdt@kline_1m") > 0 && b.subscribers[parityPrice] > 0
		for _, p := range parityPatterns {
			ok = ok && b.subscribers[p] > 0
		}
		return ok, fmt.Sprint(b.subscribers)
	})
	poll(t, "at rest before the first bar", func() (bool, string) { return quiet(t, c, 0) })
	for i := range bars {
		if err := ex.StepTrades(); err != nil {
			t.Fatal(err)
		}
		want := uint64(4 * (i + 1))
		poll(t, fmt.Sprintf("bar %d: its trades are the order actor's", i), func() (bool, string) {
			b := readBus(t, c)
			return b.published[parityPrice] == want && b.queued[parityPrice] == 0, fmt.Sprint(b.published[parityPrice], " published, want ", want)
		})
		var pos messages.PositionsResponse // answered from the order actor's mailbox: after the trades
		protoCall(t, c, "trading.positions", map[string]any{}, &pos)
		poll(t, fmt.Sprintf("bar %d: at rest after its trades", i), func() (bool, string) { return quiet(t, c, uint64(i)) })
		if err := ex.CloseBar(); err != nil {
			t.Fatal(err)
		}
		poll(t, fmt.Sprintf("bar %d: at rest after its close", i), func() (bool, string) { return quiet(t, c, uint64(i+1)) })
	}

	orders, fills := journalOrders(t, c), journalFills(t, c)
	filled := 0
	for _, o := range orders {
		if o.GetStatus() == messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
			filled++
		}
	}
	if len(fills) != filled {
		t.Fatalf("%d fills of %d filled orders: the lockstep counts one fill per order", len(fills), filled)
	}
	if len(fills) < pc.minFills {
		t.Fatalf("the strategy filled %d orders on %d bars: too few for the test to prove anything", len(fills), len(bars))
	}
	res, err := engine.Run(context.Background(), parityEngineConfig(bars, pc), nil)
	if err != nil {
		t.Fatal(err)
	}
	compareParity(t, orders, fills, res)
}

// journalOrders returns the strategy's orders (with the order actor's
// newer state of those whose write is pending), in the order sent.
func journalOrders(t *testing.T, c *client.Client) []*messages.TradeOrder {
	var r messages.TradeOrdersResponse
	protoCall(t, c, "trading.orders", map[string]any{"strategy": parityStrategy, "limit": 10000}, &r)
	out := r.GetOrders()
	seq := func(o *messages.TradeOrder) uint64 { // the strategy host's ids end in _SEQ (base 36)
		id := o.GetClientOrderId()
		n, _ := strconv.ParseUint(id[strings.LastIndexByte(id, '_')+1:], 36, 64)
		return n
	}
	slices.SortFunc(out, func(a, b *messages.TradeOrder) int { return cmp.Compare(seq(a), seq(b)) })
	return out
}

// journalFills returns the strategy's fills in the order they happened
// (the journal lists them newest first, by time then insertion).
func journalFills(t *testing.T, c *client.Client) []*messages.TradeFill {
	var r messages.TradeFillsResponse
	protoCall(t, c, "trading.fills", map[string]any{"strategy": parityStrategy, "limit": 10000}, &r)
	out := r.GetFills()
	slices.Reverse(out)
	return out
}

// parityEngineConfig is the same backtest: the CSV's bars parsed from the
// same decimal strings, the same strategy, allocation, fees, slippage and
// the simulator's BTCUSDT filters.
func parityEngineConfig(rows []parityBar, pc parityCase) engine.Config {
	bars := make([]strategy.Bar, 0, len(rows))
	for _, r := range rows {
		bars = append(bars, strategy.Bar{OpenTimeMs: r.open, CloseTimeMs: r.open + 59999,
			Open: pf(r.o), High: pf(r.h), Low: pf(r.l), Close: pf(r.c), Volume: pf(r.v)})
	}
	return engine.Config{
		Legs: []engine.Leg{{Name: parityStrategy, Kind: pc.kind, Symbol: paritySymbol, Interval: "1m", Allocation: parityAlloc,
			Params: pc.params, Bars: bars}},
		MakerFee: parityFee, TakerFee: parityFee, Slippage: paritySlippage,
		Filters: map[string]engine.Filters{paritySymbol: {TickSize: 0.01, StepSize: 0.00001, MinNotional: 5}},
	}
}

// pf parses a decimal string as both sides do ("" is 0).
func pf(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// d8 renders a journal decimal string or a float to 8 decimals.
func d8(v any) string {
	switch x := v.(type) {
	case string:
		return d8(pf(x))
	case float64:
		if math.Abs(x) < 5e-9 {
			x = 0
		}
		return strconv.FormatFloat(x, 'f', 8, 64)
	}
	return fmt.Sprint(v)
}

// compareParity compares the journal's orders and fills with the engine's,
// in order.
func compareParity(t *testing.T, orders []*messages.TradeOrder, fills []*messages.TradeFill, res *engine.Result) {
	t.Helper()
	var got, want []string
	for _, o := range orders {
		status := strings.TrimPrefix(o.GetStatus().String(), "TRADE_ORDER_STATUS_")
		got = append(got, fmt.Sprintf("order %s %s qty %s price %s %s", o.GetSide(), o.GetType(), d8(o.GetQuantity()), d8(o.GetPrice()), status))
	}
	for _, o := range res.Orders {
		want = append(want, fmt.Sprintf("order %s %s qty %s price %s %s", o.Side, o.Type, d8(o.Qty), d8(o.Price), o.Status))
	}
	for _, f := range fills {
		got = append(got, fmt.Sprintf("fill %s price %s qty %s fee %s maker %v", f.GetSide(), d8(f.GetPrice()), d8(f.GetQuantity()), d8(f.GetFee()), f.GetMaker()))
	}
	for _, f := range res.Fills {
		want = append(want, fmt.Sprintf("fill %s price %s qty %s fee %s maker %v", f.Side, d8(f.Price), d8(f.Qty), d8(f.Fee), f.Maker))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paper on the replay and the backtest differ:\npaper:\n%s\nbacktest:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	t.Logf("%d orders and %d fills equal", len(orders), len(fills))
}
