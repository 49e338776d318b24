// Package reconcile aligns the trading journal with the exchange before any
// strategy may send (issue 10, "Reconciliation gate"). PlanOf is a pure
// planner: given what the journal knows and what the exchange answered, it
// says which fills to record, which journal orders changed, which exchange
// orders to adopt or cancel, which intents to close, and what it cannot
// explain. Props is the runner actor that fetches that input through the
// connector and hands the plan to its parent.
package reconcile

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/shopspring/decimal"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// StrategyExternal owns the orders and fills only the exchange knew.
const StrategyExternal = "external"

// Policies for open orders only the exchange knows (Input.External).
const (
	// ExternalAdopt adopts them into the journal as strategy "external".
	ExternalAdopt = "adopt"
	// ExternalCancel cancels them on the exchange.
	ExternalCancel = "cancel"
)

// Report results.
const (
	// ResultOK: everything was explained; trading may open.
	ResultOK = "ok"
	// ResultHalted: a mismatch was found; trading stays halted.
	ResultHalted = "halted"
)

// Input is what the planner aligns: the journal's view and the exchange's.
type Input struct {
	// Journal are the journal's open orders: INTENT, SENT, UNKNOWN, NEW,
	// PARTIALLY_FILLED, LOST. It may also hold closed orders (FILLED,
	// CANCELED, EXPIRED, REJECTED, NOT_SENT) whose fills may be incomplete,
	// e.g. closed by a REST answer while the user data stream was down:
	// their trades are then recorded as theirs instead of reading as a
	// lost record (a mismatch). A closed order is compared with the
	// exchange when a view of it is given, and never reopened.
	Journal []*messages.TradeOrder
	// LastTradeIDs is the journal's last exchange trade id per symbol:
	// trades at or below it are already recorded and ignored.
	LastTradeIDs map[string]int64
	// ExchangeOpen is GET openOrders for all symbols.
	ExchangeOpen []*messages.Order
	// Trades are myTrades since LastTradeIDs[sym]+1, every symbol fetched
	// (for a symbol without a journal trade: since before its oldest journal
	// order). For such a symbol none of an order's fills is recorded yet, so
	// its trades must add up to the exchange's executed quantity: a
	// shortfall is a mismatch, never a silent gap.
	Trades []*messages.ExchangeTrade
	// Backfill are trades of journal orders that the journal did not
	// record although LastTradeIDs passes them (fills recorded out of trade
	// id order, a user data event lost) or that came after Trades were
	// fetched, fetched by order id. They are recorded like Trades (a trade
	// in both, once).
	Backfill []*messages.ExchangeTrade
	// Queried are the journal orders not open on the exchange, queried by
	// client order id (the key); an absent key means "order does not exist".
	Queried map[string]*messages.Order
	// TradeOrders are the orders of trades the journal cannot place,
	// queried by exchange order id (the key). Order ids are unique per
	// symbol only: the planner places each order by its own symbol and
	// order id, never by the key, so two symbols' orders of one id may sit
	// under any two distinct keys.
	TradeOrders map[int64]*messages.Order
	// Balances are the account's balances, copied into the report.
	Balances []*messages.AssetBalance
	// External is "adopt" (also when empty) or "cancel".
	External string
	// Prefix starts our client order ids ("PREFIX-"): an order unknown to
	// the journal whose id has it is a record the journal lost (a
	// mismatch), never adopted as external, but see Term. Empty matches
	// nothing.
	Prefix string
	// Term is this leader's fencing token (0 on a single node). An order
	// unknown to the journal whose id is ours (clientid.Parse) and carries
	// an earlier term (> 0, < Term) was placed by an earlier leader whose
	// journal row did not reach this node: it is adopted into the strategy
	// its id names, its trades recorded, and counted in the report's
	// adopted_from_earlier_term. The same term, a later one, or none stays
	// a mismatch.
	Term int64
	// Strategies are the strategy names an id's shortened strategy part is
	// matched against (clientid.Owner); an id naming none of them is
	// adopted into the name it carries.
	Strategies []string
	// NowMs is the clock (Unix ms, the journal's clock) the ages of intents
	// are measured against.
	NowMs int64
	// RecvWindowMs: an INTENT not found on the exchange and younger than
	// this may still land; it becomes UNKNOWN instead of being closed.
	RecvWindowMs int64
	// Recorded is, per client order id, the quantity of the fills the
	// journal has recorded for the order (a decimal string). For a symbol
	// with journal trades, an order listed here must have recorded + new
	// fills adding up to the exchange's executed quantity, like an order of
	// a symbol without any; an order not listed is not checked.
	Recorded map[string]string
}

// Plan is what reconciliation records and does. Everything in it is
// explained by the exchange's answers; what is not is in Mismatches.
type Plan struct {
	// Fills are the trades to record, oldest first per symbol, each once
	// (strategy of the journal order; "external" otherwise).
	Fills []*messages.TradeFill
	// Updates are journal orders (copies) with their new status, executed
	// quantity, exchange order id or not_found count. UNKNOWN and LOST
	// orders not found get not_found+1 (the orders actor applies lost_after).
	Updates []*messages.TradeOrder
	// Adopt are the exchange-only open orders adopted as strategy "external",
	// and the orders of an earlier term (Input.Term), open or not, adopted
	// into their strategies.
	Adopt []*messages.TradeOrder
	// Cancel are the exchange-only open orders to cancel (External is
	// "cancel"). Empty when Mismatches is not: a halted plan acts on nothing.
	Cancel []*messages.Order
	// CloseIntents are INTENTs the exchange never saw, closed as NOT_SENT.
	CloseIntents []*messages.TradeOrder
	// Mismatches are what cannot be explained, one line each; non-empty
	// means trading halts. Nothing is guessed for the orders they name.
	Mismatches []string
	// Report counts everything (requests and weight are the runner's).
	Report *messages.ReconcileReport
}

// PlanOf aligns in.Journal with the exchange's answers. It is pure: it
// reads in and returns a plan, changing nothing it was given.
func PlanOf(in Input) Plan {
	p := newPlanner(in)
	p.recordTrades()
	for _, j := range in.Journal {
		p.journalOrder(j)
	}
	p.exchangeOnly()
	return p.finish()
}

// orderKey names an exchange order: order ids are unique per symbol.
type orderKey struct {
	symbol string
	id     int64
}

// planner holds the indexes of one PlanOf call.
type planner struct {
	in       Input
	journal  map[string]*messages.TradeOrder // by client order id
	views    map[string]*messages.Order      // the exchange's view, by client order id
	owners   map[orderKey]string             // exchange order -> client order id
	traded   map[string]bool                 // client ids with new trades
	filled   map[string]decimal.Decimal      // client id -> quantity of its new trades
	lastMs   map[string]int64                // symbol -> time of its newest new trade
	badOrder map[string]bool                 // client ids named by a mismatch
	plan     Plan
	resolved uint32
	earlier  uint32 // orders adopted from an earlier term
}

func newPlanner(in Input) *planner {
	p := &planner{in: in, journal: make(map[string]*messages.TradeOrder, len(in.Journal)),
		views:  make(map[string]*messages.Order, len(in.ExchangeOpen)+len(in.Queried)+len(in.TradeOrders)),
		owners: make(map[orderKey]string), traded: make(map[string]bool), badOrder: make(map[string]bool),
		filled: make(map[string]decimal.Decimal), lastMs: make(map[string]int64)}
	for _, j := range in.Journal {
		if _, dup := p.journal[j.GetClientOrderId()]; dup {
			p.mismatch(j.GetClientOrderId(), "journal order %q: listed twice", j.GetClientOrderId())
			continue
		}
		p.journal[j.GetClientOrderId()] = j
		if j.GetExchangeOrderId() != 0 {
			p.owners[orderKey{j.GetSymbol(), j.GetExchangeOrderId()}] = j.GetClientOrderId()
		}
	}
	// Least to most authoritative: a later view of one client id wins.
	for _, id := range slices.Sorted(maps.Keys(in.TradeOrders)) {
		p.addView(in.TradeOrders[id].GetClientOrderId(), in.TradeOrders[id])
	}
	for _, cid := range slices.Sorted(maps.Keys(in.Queried)) {
		p.addView(cid, in.Queried[cid])
	}
	for _, o := range in.ExchangeOpen {
		p.addView(o.GetClientOrderId(), o)
	}
	return p
}

// addView records the exchange's view of the order cid.
func (p *planner) addView(cid string, o *messages.Order) {
	if o == nil {
		return
	}
	p.views[cid] = o
	k := orderKey{o.GetSymbol(), o.GetOrderId()}
	switch prev, known := p.owners[k]; {
	case !known:
		p.owners[k] = cid
	case prev != cid:
		p.mismatch(prev, "%s order %d: client id %q on the exchange, %q in the journal", k.symbol, k.id, cid, prev)
		p.badOrder[cid] = true
	}
}

// ours reports whether a client order id carries our prefix.
func (p *planner) ours(cid string) bool {
	return p.in.Prefix != "" && strings.HasPrefix(cid, p.in.Prefix)
}

// mismatch records one unexplained finding about the order cid ("" for
// none); an order is named at most once.
func (p *planner) mismatch(cid, format string, args ...any) {
	if cid != "" {
		if p.badOrder[cid] {
			return
		}
		p.badOrder[cid] = true
	}
	p.plan.Mismatches = append(p.plan.Mismatches, fmt.Sprintf(format, args...))
}

// recordTrades turns the new trades into fills, each trade once.
func (p *planner) recordTrades() {
	trades := make([]*messages.ExchangeTrade, 0, len(p.in.Trades)+len(p.in.Backfill))
	for _, t := range p.in.Trades {
		if t != nil && t.GetId() > p.in.LastTradeIDs[t.GetSymbol()] {
			trades = append(trades, t)
		}
	}
	for _, t := range p.in.Backfill {
		if t != nil {
			trades = append(trades, t)
		}
	}
	slices.SortStableFunc(trades, func(a, b *messages.ExchangeTrade) int {
		return cmp.Or(strings.Compare(a.GetSymbol(), b.GetSymbol()), cmp.Compare(a.GetId(), b.GetId()))
	})
	trades = slices.CompactFunc(trades, func(a, b *messages.ExchangeTrade) bool {
		return a.GetSymbol() == b.GetSymbol() && a.GetId() == b.GetId()
	})
	for _, t := range trades {
		p.trade(t)
	}
}

func (p *planner) trade(t *messages.ExchangeTrade) {
	cid, known := p.owners[orderKey{t.GetSymbol(), t.GetOrderId()}]
	if !known { // named by its order, once (no client id can start with '#')
		p.mismatch(fmt.Sprintf("#%s/%d", t.GetSymbol(), t.GetOrderId()),
			"trade %d of %s order %d: the order is unknown to the journal and the exchange", t.GetId(), t.GetSymbol(), t.GetOrderId())
		return
	}
	strategy := StrategyExternal
	if j := p.journal[cid]; j != nil {
		strategy = j.GetStrategy()
	} else if _, owner, ok := p.earlierTerm(cid); ok {
		strategy = owner
	} else if p.ours(cid) {
		p.mismatch(cid, "trade %d of %s order %d (client id %q): our prefix, but the journal has no such order%s",
			t.GetId(), t.GetSymbol(), t.GetOrderId(), cid, p.termNote(cid))
		return
	}
	qty, ok1 := parseDec(t.GetQty())
	_, ok2 := parseDec(t.GetQuoteQty())
	if !ok1 || !ok2 || !qty.IsPositive() {
		p.mismatch(cid, "trade %d of %s order %d: unreadable quantity %q / quote %q", t.GetId(), t.GetSymbol(), t.GetOrderId(), t.GetQty(), t.GetQuoteQty())
		return
	}
	p.traded[cid] = true
	p.filled[cid] = p.filled[cid].Add(qty)
	p.lastMs[t.GetSymbol()] = max(p.lastMs[t.GetSymbol()], t.GetTimeMs())
	side := "SELL"
	if t.GetIsBuyer() {
		side = "BUY"
	}
	p.plan.Fills = append(p.plan.Fills, &messages.TradeFill{ClientOrderId: cid, Strategy: strategy, Symbol: t.GetSymbol(),
		Side: side, Price: t.GetPrice(), Quantity: t.GetQty(), QuoteQty: t.GetQuoteQty(), Fee: t.GetCommission(),
		FeeAsset: t.GetCommissionAsset(), TradeId: t.GetId(), TimeMs: t.GetTimeMs(), Maker: t.GetIsMaker()})
}

// finish fills the report and drops actions from a halted plan.
func (p *planner) finish() Plan {
	result := ResultOK
	if len(p.plan.Mismatches) > 0 {
		result = ResultHalted
		p.plan.Cancel = nil
	}
	p.plan.Report = &messages.ReconcileReport{
		StartedMs: p.in.NowMs, FinishedMs: p.in.NowMs, Result: result,
		OpenOrdersSeen: uint32(len(p.in.ExchangeOpen)), FillsRecorded: uint32(len(p.plan.Fills)),
		OrdersAdopted: uint32(len(p.plan.Adopt)), OrdersCanceled: uint32(len(p.plan.Cancel)),
		IntentsClosed: uint32(len(p.plan.CloseIntents)), OrdersResolved: p.resolved, AdoptedFromEarlierTerm: p.earlier,
		Mismatches: p.plan.Mismatches, Balances: p.in.Balances,
	}
	return p.plan
}

// clone copies a journal order so the plan never aliases the input.
func clone(o *messages.TradeOrder) *messages.TradeOrder {
	return proto.Clone(o).(*messages.TradeOrder)
}

// dec parses a decimal string the planner already validated ("" and
// garbage read as zero).
func dec(s string) decimal.Decimal {
	d, err := decimal.NewFromString(s)
	if err != nil {
		return decimal.Zero
	}
	return d
}
