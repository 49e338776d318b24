package orders

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Journal meta keys.
const (
	metaSeqs          = "client_id_seq"     // JSON {strategy: last sequence}
	metaHalt          = "halt"              // the account's halt reason ("" : trading)
	metaStrategyHalts = "halted_strategies" // JSON {strategy: reason}
)

// writeDone says a journal write committed (err nil) or failed.
type writeDone struct {
	id    uint64
	err   error
	owner *orderActor // the incarnation that wrote
}

// lookupDone carries a journal lookup of a caller's client order id.
type lookupDone struct {
	id    string
	order *messages.TradeOrder
	err   error
}

// pendingPlace is a placement waiting for its client id's lookup.
type pendingPlace struct {
	req    *messages.PlaceTradeOrderRequest
	sender *actor.PID
}

type tickKind int

const (
	tickInFlight tickKind = iota
	tickOpenOrders
	// tickReconcile runs a failed reconciliation again (once, not every).
	tickReconcile
)

// tick is a timer's message.
type tick struct {
	kind  tickKind
	every time.Duration
	owner *orderActor // the incarnation whose timer fired
}

// stopped is one finished step of PrepareStop.
type stopped struct {
	step string
	err  error
}

// loaded is what the loader goroutine read from the journal at start.
type loaded struct {
	j             *journal.Journal
	err           error
	open          []*messages.TradeOrder
	fills         int
	books         *books
	lastTrade     map[string]int64
	tradeIDs      map[string]map[int64]bool
	filled        map[string]float64
	seqs          map[string]uint64
	halt          string
	strategyHalts map[string]string
	paperBal      map[string]float64
}

// load opens the journal and rebuilds the actor's state from it: open
// orders, every strategy's book from the fills, the last trade ids, the
// client id sequences, halts and the paper balances (config plus fills).
func load(path string, opts journal.Options, cfg Config, nowMs int64) *loaded {
	j, err := journal.Open(path, opts)
	if err != nil {
		return &loaded{err: err}
	}
	l := &loaded{j: j, books: newBooks(), lastTrade: map[string]int64{}, tradeIDs: map[string]map[int64]bool{},
		filled: map[string]float64{}, seqs: map[string]uint64{}, strategyHalts: map[string]string{}, paperBal: map[string]float64{}}
	fail := func(err error) *loaded { return &loaded{j: j, err: err} }
	if l.open, err = j.OpenOrders(); err != nil {
		return fail(err)
	}
	open := map[string]bool{}
	for _, o := range l.open {
		open[o.GetClientOrderId()] = true
	}
	for asset, v := range cfg.Paper.Balances {
		l.paperBal[asset] = dec(v)
	}
	fills, err := j.Fills(journal.FillFilter{Ascending: true})
	if err != nil {
		return fail(err)
	}
	l.fills = len(fills)
	for _, f := range fills {
		l.books.applyFill(f)
		applyBalance(l.paperBal, f)
		if open[f.GetClientOrderId()] {
			l.filled[f.GetClientOrderId()] += dec(f.GetQuantity())
		}
		if id := f.GetTradeId(); id > 0 {
			if id > l.lastTrade[f.GetSymbol()] {
				l.lastTrade[f.GetSymbol()] = id
			}
			if open[f.GetClientOrderId()] {
				m := l.tradeIDs[f.GetClientOrderId()]
				if m == nil {
					m = map[int64]bool{}
					l.tradeIDs[f.GetClientOrderId()] = m
				}
				m[id] = true
			}
		}
	}
	if cfg.Mode == ModeLive {
		if err := l.addUnsettled(j, fills, nowMs-unsettledWindowMs); err != nil {
			return fail(err)
		}
	}
	if err := readJSONMeta(j, metaSeqs, &l.seqs); err != nil {
		return fail(err)
	}
	if err := readJSONMeta(j, metaStrategyHalts, &l.strategyHalts); err != nil {
		return fail(err)
	}
	if l.halt, _, err = j.Meta(metaHalt); err != nil {
		return fail(err)
	}
	return l
}

// unsettledWindowMs is how far back a restart looks for closed orders
// whose fills are not all recorded.
const unsettledWindowMs = 7 * 24 * 3600 * 1000

// addUnsettled adds to the orders held in memory the recent closed orders
// whose recorded fills fall short of their executed quantity (their final
// status came from a query before their trades): the reconciliation
// records their trades instead of taking them for strangers.
func (l *loaded) addUnsettled(j *journal.Journal, fills []*messages.TradeFill, sinceMs int64) error {
	closed, err := j.Orders(journal.OrderFilter{SinceMs: sinceMs, Statuses: []messages.TradeOrderStatus{
		messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED, messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED,
		messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED}})
	if err != nil {
		return err
	}
	sums := map[string]float64{}
	for _, f := range fills {
		if f.GetTimeMs() >= sinceMs {
			sums[f.GetClientOrderId()] += dec(f.GetQuantity())
		}
	}
	added := map[string]bool{}
	for _, o := range closed {
		if x := dec(o.GetExecutedQty()); x > 0 && sums[o.GetClientOrderId()] < x*(1-1e-9) {
			l.open = append(l.open, o)
			l.filled[o.GetClientOrderId()] = sums[o.GetClientOrderId()]
			added[o.GetClientOrderId()] = true
		}
	}
	for _, f := range fills {
		if id := f.GetClientOrderId(); added[id] && f.GetTradeId() > 0 {
			if l.tradeIDs[id] == nil {
				l.tradeIDs[id] = map[int64]bool{}
			}
			l.tradeIDs[id][f.GetTradeId()] = true
		}
	}
	return nil
}

func readJSONMeta(j *journal.Journal, key string, into any) error {
	v, ok, err := j.Meta(key)
	if err != nil || !ok || v == "" {
		return err
	}
	if err := json.Unmarshal([]byte(v), into); err != nil {
		return fmt.Errorf("journal meta %s: %w", key, err)
	}
	return nil
}

// jsonMeta is a PutMeta of v as JSON.
func jsonMeta(key string, v any) journal.Op {
	b, _ := json.Marshal(v) // maps of strings and numbers always marshal
	return journal.PutMeta{Key: key, Value: string(b)}
}

// applyBalance moves a paper account's balances by one fill (the fee is
// taken from its asset).
func applyBalance(bal map[string]float64, f *messages.TradeFill) {
	base, quote := splitSymbol(f.GetSymbol())
	qty, quoteQty := dec(f.GetQuantity()), dec(f.GetQuoteQty())
	if quoteQty == 0 {
		quoteQty = qty * dec(f.GetPrice())
	}
	if f.GetSide() == "BUY" {
		bal[base] += qty
		bal[quote] -= quoteQty
	} else {
		bal[base] -= qty
		bal[quote] += quoteQty
	}
	if fa := f.GetFeeAsset(); fa != "" {
		bal[fa] -= dec(f.GetFee())
	}
}

// Errors answered to callers.

func invalid(problems []string) *messages.Error {
	return &messages.Error{Code: messages.ErrorCode_ERROR_CODE_INVALID_ARGUMENT, Message: "invalid order: " + strings.Join(problems, "; "), Details: problems}
}

func precondition(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_FAILED_PRECONDITION, format, args...)
}

func internal(format string, args ...any) *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_INTERNAL, format, args...)
}

func unavailable() *messages.Error {
	return messages.Errorf(messages.ErrorCode_ERROR_CODE_UNAVAILABLE, "the trading journal is still opening")
}

// statusName is a status in lower case without its prefix ("filled").
func statusName(s messages.TradeOrderStatus) string {
	return strings.ToLower(strings.TrimPrefix(s.String(), "TRADE_ORDER_STATUS_"))
}

// isOpen reports the statuses the journal counts as open.
func isOpen(s messages.TradeOrderStatus) bool {
	switch s {
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_INTENT, messages.TradeOrderStatus_TRADE_ORDER_STATUS_SENT,
		messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN, messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW,
		messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED, messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST:
		return true
	}
	return false
}
