//go:build soak

package daemon_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The crash harness (issue 10, "SIGKILL of the daemon during order placement, 100
// times"): a real superbotd trades live against a simulator in this process while
// placers send trading.order.place over the real socket; the daemon is SIGKILLed at a
// seeded random point (during placement, or while it starts and reconciles),
// restarted, and after each restart, once trading.reconcile says ok, the journal must
// match the exchange: no client order id twice on the exchange, no exchange order
// missing from the journal, statuses, fills and positions equal. Intents whose answer
// the kill swallowed are sent again with the same client order id (an idempotent
// retry: it must never make a second order).
//
//	make soak                                                  # 100 rounds
//	SUPERBOT_CRASH_ROUNDS=5 go test -tags soak -run 'TestTradingCrash$' -v ./runtime/daemon/
//	SUPERBOT_CRASH_SEED=42 ...                                 # replay a run's kill points
//	SUPERBOT_CRASH_DIR=/tmp/crash ...                          # keep the daemon logs and journal there

func envInt(t *testing.T, name string, def int64) int64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		t.Fatalf("%s=%q: want a non-negative integer", name, s)
	}
	return v
}

// TestTradingCrash runs SUPERBOT_CRASH_ROUNDS (default 100) kill/restart rounds.
func TestTradingCrash(t *testing.T) {
	runCrash(t, int(envInt(t, "SUPERBOT_CRASH_ROUNDS", 100)))
}

// TestTradingCrashQuick is the 5-round variant.
func TestTradingCrashQuick(t *testing.T) { runCrash(t, 5) }

// crashParams shape one run.
const (
	placers          = 4                      // concurrent trading.order.place callers
	ordersPerPlacer  = 10                     // per round, so the journal stays under trading.orders' limit
	placeWindow      = 600 * time.Millisecond // a kill lands uniformly in [0, placeWindow) of placement
	startKillPercent = 20                     // rounds killed while the daemon starts and reconciles
	faultPercent     = 30                     // rounds with an exchange fault on POST /api/v3/order
	reconcileWithin  = 60 * time.Second
)

// crashRow is one round of the summary table: ok/refus/lost are the placement
// answers (lost: the call the kill cut), retry the intents sent again, then what the
// comparison after the next restart found (dup: client ids twice on the exchange,
// miss: exchange orders missing from the journal, diff: status differs, phant:
// journal orders the exchange lacks, unres: journal orders in flight the exchange
// never got, fdiff: fills missing or extra, pos: positions differing), and the
// daemon's reconcile time.
type crashRow struct {
	round                       int
	killAt                      string
	answered, refused, unknown  int
	retried, fault              string
	exOrders, jOrders           int
	dups, missing, diff         int
	exTrades, jFills, fillsDiff int
	posDiff, phantoms, unres    int
	reconcileMs                 int64
}

// intent is one order the harness asked for; id "" lets the daemon make the client order id.
type intent struct {
	id, symbol, side, typ, qty, price, tif string
}

func (in intent) params() map[string]any {
	p := map[string]any{"symbol": in.symbol, "side": in.side, "type": in.typ, "quantity": in.qty, "client_order_id": in.id}
	if in.typ == "LIMIT" {
		p["price"], p["time_in_force"] = in.price, in.tif
	}
	return p
}

// answer is an intent the daemon answered, with the exchange order id it said (0: none yet).
type answer struct {
	in      intent
	orderID int64
}

// crashRun is the state shared by a run's rounds.
type crashRun struct {
	t   *testing.T
	ex  *exchangesim.Exchange
	rng *rand.Rand

	mu       sync.Mutex
	pending  map[string]intent // harness ids without an answer: sent again next round
	refusals map[string]int    // the daemon's refusals, by message (guarded by the round's tally lock)
	answered map[string]answer // harness id -> its intent and answer
}

func runCrash(t *testing.T, rounds int) {
	seed := uint64(envInt(t, "SUPERBOT_CRASH_SEED", time.Now().UnixNano()%1_000_000_007))
	t.Logf("crash harness: %d rounds, seed %d (SUPERBOT_CRASH_SEED=%d replays the kill points)", rounds, seed, seed)
	ex := liveSim(t)
	dir := t.TempDir()
	if keep := os.Getenv("SUPERBOT_CRASH_DIR"); keep != "" { // keeps the daemon's logs and journal
		if err := os.MkdirAll(keep, 0o700); err != nil {
			t.Fatal(err)
		}
		dir = keep
	}
	cfg := liveConfig(ex, "")
	r := &crashRun{t: t, ex: ex, rng: rand.New(rand.NewPCG(seed, 0x5eed)), pending: map[string]intent{}, refusals: map[string]int{}, answered: map[string]answer{}}
	var rows []crashRow
	checked := 0 // rows[checked:] wait for the comparison after the next restart
	for round := 1; round <= rounds; round++ {
		p := startDaemon(t, dir, cfg)
		row := crashRow{round: round, fault: "-", retried: "-"}
		if r.rng.IntN(100) < startKillPercent {
			r.killDuringStart(p, &row)
		} else {
			c := p.client()
			r.check(c, rows[checked:])
			checked = len(rows)
			r.placeAndKill(p, c, round, &row)
		}
		rows = append(rows, row)
		if t.Failed() {
			break
		}
	}
	// The last restart: reconcile, compare, stop gracefully.
	p := startDaemon(t, dir, cfg)
	c := p.client()
	r.check(c, rows[checked:])
	printCrashTable(t, rows, seed)
	for msg, n := range r.refusals {
		t.Logf("refused %d times: %s", n, msg)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	p.wait(60 * time.Second)
}

// check waits for reconciliation and compares the journal with the exchange, filling
// in the rows of the kills since the last comparison (one, or more when kills came
// during start-up).
func (r *crashRun) check(c *client.Client, rows []crashRow) {
	t := r.t
	t.Helper()
	res := waitReconciled(t, c, reconcileWithin)
	a := align(t, c, r.ex)
	for i := range rows {
		w := &rows[i]
		w.exOrders, w.jOrders, w.exTrades, w.jFills = a.exOrders, a.jOrders, a.exTrades, a.jFills
		w.dups, w.missing, w.diff = len(a.duplicates), len(a.missing), len(a.statusDiff)
		w.fillsDiff, w.posDiff = len(a.fillsMissing)+len(a.fillsExtra), len(a.positionDiff)
		w.phantoms, w.unres = len(a.phantoms), a.unresolved
		rep := res.GetReport()
		w.reconcileMs = rep.GetFinishedMs() - rep.GetStartedMs()
	}
	if !a.ok() {
		t.Errorf("journal and exchange differ after a restart:\n%s", a)
	}
	r.checkIdempotent(c)
}

// checkIdempotent sends one answered intent again: the daemon must answer the
// recorded order, and the exchange must still hold it once.
func (r *crashRun) checkIdempotent(c *client.Client) {
	r.mu.Lock()
	var a answer
	for _, v := range r.answered { // map order: a random one
		if v.orderID != 0 {
			a = v
			break
		}
	}
	r.mu.Unlock()
	if a.orderID == 0 {
		return
	}
	var res messages.PlaceTradeOrderResponse
	err := rpcCall(context.Background(), c, "trading.order.place", a.in.params(), &res)
	if err != nil || res.GetOrder().GetExchangeOrderId() != a.orderID {
		r.t.Errorf("retry of answered %s: %v %v, want exchange order %d", a.in.id, err, res.GetOrder(), a.orderID)
	}
}

func (r *crashRun) killDuringStart(p *proc, row *crashRow) {
	d := time.Duration(r.rng.IntN(1500)) * time.Millisecond
	row.killAt = "start+" + d.String()
	time.Sleep(d) // the kill point, not a synchronisation
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
}

// placeAndKill sends the pending intents again and new ones from the placers while a
// stepper moves prices, then SIGKILLs the daemon at a random point.
func (r *crashRun) placeAndKill(p *proc, c *client.Client, round int, row *crashRow) {
	if r.rng.IntN(100) < faultPercent {
		kinds := []exchangesim.FaultKind{exchangesim.FaultDrop, exchangesim.FaultErrorAfter, exchangesim.FaultRateLimitAfter, exchangesim.FaultError}
		f := exchangesim.Fault{Kind: kinds[r.rng.IntN(len(kinds))], Route: "POST /api/v3/order", Count: 1 + r.rng.IntN(3)}
		if err := r.ex.InjectFault(f); err != nil {
			r.t.Fatal(err)
		}
		row.fault = fmt.Sprintf("%s x%d", f.Kind, f.Count)
	}
	r.mu.Lock()
	retry := make([]intent, 0, len(r.pending))
	for _, in := range r.pending {
		retry = append(retry, in)
	}
	r.mu.Unlock()
	row.retried = strconv.Itoa(len(retry))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var counts [3]int // answered, refused, unknown
	var cmu sync.Mutex
	tally := func(k int, refusal string) {
		cmu.Lock()
		defer cmu.Unlock()
		counts[k]++
		if refusal != "" {
			r.refusals[refusal]++
		}
	}
	plans := make([][]intent, placers)
	for i, in := range retry {
		plans[i%placers] = append(plans[i%placers], in)
	}
	for g := range placers {
		for i := range ordersPerPlacer {
			plans[g] = append(plans[g], r.newIntent(fmt.Sprintf("h%dx%dx%d", round, g, i)))
		}
	}
	for g := range placers {
		wg.Add(1)
		go func() { defer wg.Done(); r.placer(c, plans[g], stop, tally) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); r.stepper(stop) }()
	d := time.Duration(r.rng.Int64N(int64(placeWindow)))
	row.killAt = "place+" + d.Round(time.Millisecond).String()
	time.Sleep(d) // the kill point, not a synchronisation
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	p.wait(10 * time.Second)
	close(stop)
	wg.Wait()
	r.ex.ClearFaults()
	row.answered, row.refused, row.unknown = counts[0], counts[1], counts[2]
}

// newIntent makes a random small order: MARKET (fills at once), LIMIT near the price
// (fills when a step crosses it) or far from it (stays open). One in two lets the
// daemon make the client order id.
func (r *crashRun) newIntent(id string) intent {
	syms := []string{"BTCUSDT", "ETHUSDT"}
	qtys := map[string]string{"BTCUSDT": "0.001", "ETHUSDT": "0.02"}
	in := intent{symbol: syms[r.rng.IntN(2)], side: []string{"BUY", "SELL"}[r.rng.IntN(2)], tif: "GTC"}
	in.qty = qtys[in.symbol]
	if r.rng.IntN(2) == 0 {
		in.id = id
	}
	px := decimal.RequireFromString(r.ex.Price(in.symbol))
	switch k := r.rng.IntN(3); k {
	case 0:
		in.typ = "MARKET"
	default:
		in.typ = "LIMIT"
		off := decimal.NewFromFloat(0.0005) // near: crossed within a few steps
		if k == 2 {
			off = decimal.NewFromFloat(0.05) // far: stays open
		}
		if in.side == "BUY" {
			px = px.Mul(decimal.NewFromInt(1).Sub(off))
		} else {
			px = px.Mul(decimal.NewFromInt(1).Add(off))
		}
		in.price = px.Round(2).String()
	}
	return in
}

// placer sends its intents one after the other until the daemon dies or stop
// closes; the rest of its plan waits for the next round.
func (r *crashRun) placer(c *client.Client, plan []intent, stop <-chan struct{}, tally func(kind int, refusal string)) {
	for i, in := range plan {
		select {
		case <-stop:
			r.postpone(plan[i:])
			return
		default:
		}
		var res messages.PlaceTradeOrderResponse
		err := rpcCall(context.Background(), c, "trading.order.place", in.params(), &res)
		switch {
		case err == nil:
			tally(0, "")
			r.remember(in, res.GetOrder())
		case isRPCError(err):
			tally(1, err.Error()) // a definitive refusal (gate, risk): sent again next round all the same
			r.remember(in, nil)
		default: // the kill: this answer is lost, the rest is not sent
			tally(2, "")
			r.postpone(plan[i:])
			return
		}
	}
}

// postpone puts intents on the retry list.
func (r *crashRun) postpone(plan []intent) {
	for _, in := range plan {
		r.remember(in, nil)
	}
}

// remember records an intent's answer (o) or puts a harness id on the retry list.
func (r *crashRun) remember(in intent, o *messages.TradeOrder) {
	if in.id == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if o == nil {
		r.pending[in.id] = in
		return
	}
	delete(r.pending, in.id)
	r.answered[in.id] = answer{in: in, orderID: o.GetExchangeOrderId()}
}

// stepper moves every price one step every 20 ms until stop closes (resting orders fill).
func (r *crashRun) stepper(stop <-chan struct{}) {
	tk := time.NewTicker(20 * time.Millisecond)
	defer tk.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tk.C:
			r.ex.Step()
		}
	}
}

func printCrashTable(t *testing.T, rows []crashRow, seed uint64) {
	var b strings.Builder
	fmt.Fprintf(&b, "crash harness summary (seed %d); counts after the restart that follows each kill (a kill during start-up shares the next comparison)\n", seed)
	fmt.Fprintf(&b, "%5s %-16s %5s %5s %5s %5s %-22s %6s %6s %4s %4s %4s %5s %5s %6s %6s %5s %4s %6s\n",
		"round", "kill", "ok", "refus", "lost", "retry", "fault", "ex_ord", "j_ord", "dup", "miss", "diff", "phant", "unres",
		"ex_tr", "j_fill", "fdiff", "pos", "rec_ms")
	var tot crashRow
	for _, w := range rows {
		fmt.Fprintf(&b, "%5d %-16s %5d %5d %5d %5s %-22s %6d %6d %4d %4d %4d %5d %5d %6d %6d %5d %4d %6d\n",
			w.round, w.killAt, w.answered, w.refused, w.unknown, w.retried, w.fault, w.exOrders, w.jOrders,
			w.dups, w.missing, w.diff, w.phantoms, w.unres, w.exTrades, w.jFills, w.fillsDiff, w.posDiff, w.reconcileMs)
		tot.answered += w.answered
		tot.refused += w.refused
		tot.unknown += w.unknown
		tot.dups += w.dups
		tot.missing += w.missing
		tot.diff += w.diff
		tot.fillsDiff += w.fillsDiff
		tot.posDiff += w.posDiff
		tot.phantoms += w.phantoms
	}
	fmt.Fprintf(&b, "total: %d kills; answered %d, refused %d, unanswered %d; duplicates %d, missing from journal %d, status diffs %d, fill diffs %d, position diffs %d, phantom orders %d\n",
		len(rows), tot.answered, tot.refused, tot.unknown, tot.dups, tot.missing, tot.diff, tot.fillsDiff, tot.posDiff, tot.phantoms)
	t.Log("\n" + b.String())
}
