package orders

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/actors/orders/journal"
	"github.com/superbot/superbot/messages"
)

// Read limits.
const (
	defaultLimit = 100
	maxLimit     = 10000
	maxStateSize = 1 << 20
)

func limitOf(l int32) int {
	switch {
	case l <= 0:
		return defaultLimit
	case l > maxLimit:
		return maxLimit
	}
	return int(l)
}

// onOrders is trading.orders, read from the journal off the mailbox.
func (a *orderActor) onOrders(ctx actor.Context, m *messages.TradeOrdersRequest) {
	f := journal.OrderFilter{Strategy: m.GetStrategy(), Symbol: strings.ToUpper(m.GetSymbol()), SinceMs: m.GetSinceMs(), Limit: limitOf(m.GetLimit())}
	switch st := strings.ToLower(m.GetStatus()); st {
	case "":
	case "open":
		for s := range messages.TradeOrderStatus_name {
			if isOpen(messages.TradeOrderStatus(s)) {
				f.Statuses = append(f.Statuses, messages.TradeOrderStatus(s))
			}
		}
		sort.Slice(f.Statuses, func(i, j int) bool { return f.Statuses[i] < f.Statuses[j] })
	default:
		v, ok := messages.TradeOrderStatus_value["TRADE_ORDER_STATUS_"+strings.ToUpper(st)]
		if !ok || v == 0 {
			ctx.Respond(&messages.TradeOrdersResponse{Error: invalid([]string{"status: unknown status " + quote(st) + " (open, intent, sent, unknown, new, partially_filled, filled, canceled, rejected, expired, not_sent, lost)"})})
			return
		}
		f.Statuses = []messages.TradeOrderStatus{messages.TradeOrderStatus(v)}
	}
	ahead := a.ahead()
	a.read(ctx, &messages.TradeOrdersResponse{Error: unavailable()}, func(j *journal.Journal) any {
		orders, err := j.Orders(f)
		if err != nil {
			return &messages.TradeOrdersResponse{Error: internal("journal read failed")}
		}
		return &messages.TradeOrdersResponse{Orders: overlay(orders, ahead, f.Statuses)}
	})
}

// ahead copies the orders whose state in memory is ahead of the journal (a
// write of them is queued): a placement is answered before its ack's
// commit (answerPlaced), and trading.orders right after it must not show
// the INTENT.
func (a *orderActor) ahead() map[string]*messages.TradeOrder {
	var m map[string]*messages.TradeOrder
	for id, t := range a.orders {
		if t.writes > 0 && !t.busy {
			if m == nil {
				m = map[string]*messages.TradeOrder{}
			}
			m[id] = clone(t.o)
		}
	}
	return m
}

// overlay replaces the journal's orders by their newer state in memory,
// dropping those the status filter no longer selects (an order the journal
// does not list yet under its new status is listed once its commit lands).
func overlay(orders []*messages.TradeOrder, ahead map[string]*messages.TradeOrder, statuses []messages.TradeOrderStatus) []*messages.TradeOrder {
	if len(ahead) == 0 {
		return orders
	}
	out := orders[:0]
	for _, o := range orders {
		if n := ahead[o.GetClientOrderId()]; n != nil {
			if len(statuses) > 0 && !slices.Contains(statuses, n.GetStatus()) {
				continue
			}
			o = n
		}
		out = append(out, o)
	}
	return out
}

func quote(s string) string { return "\"" + s + "\"" }

// onFills is trading.fills, newest first.
func (a *orderActor) onFills(ctx actor.Context, m *messages.TradeFillsRequest) {
	f := journal.FillFilter{Strategy: m.GetStrategy(), Symbol: strings.ToUpper(m.GetSymbol()), SinceMs: m.GetSinceMs(), Limit: limitOf(m.GetLimit())}
	a.read(ctx, &messages.TradeFillsResponse{Error: unavailable()}, func(j *journal.Journal) any {
		fills, err := j.Fills(f)
		if err != nil {
			return &messages.TradeFillsResponse{Error: internal("journal read failed")}
		}
		return &messages.TradeFillsResponse{Fills: fills}
	})
}

// onPositions is trading.positions, from the books in memory.
func (a *orderActor) onPositions(m *messages.PositionsRequest) *messages.PositionsResponse {
	if !a.loaded {
		return &messages.PositionsResponse{Error: unavailable()}
	}
	per, account := a.books.positions(m.GetStrategy())
	return &messages.PositionsResponse{Positions: per, Account: account}
}

// onBalance is trading.balance: the paper account's balances or the
// exchange's as last reconciled, and each strategy's share.
func (a *orderActor) onBalance() *messages.BalanceResponse {
	if !a.loaded {
		return &messages.BalanceResponse{Error: unavailable()}
	}
	resp := &messages.BalanceResponse{Mode: a.cfg.Mode, Balances: a.balances, UpdatedMs: a.balancesMs}
	if a.cfg.Mode == ModePaper {
		resp.Balances, resp.UpdatedMs = a.paperBalances(), a.nowMs()
	}
	resp.Strategies = a.strategyBooks("")
	return resp
}

// paperBalances lists the paper account, open orders' reservations locked.
func (a *orderActor) paperBalances() []*messages.AssetBalance {
	locked := map[string]float64{}
	for _, t := range a.orders {
		o := t.o
		if !isOpen(o.GetStatus()) {
			continue
		}
		base, quote := splitSymbol(o.GetSymbol())
		rest := dec(o.GetQuantity()) - dec(o.GetExecutedQty())
		if o.GetSide() == "BUY" {
			locked[quote] += rest * dec(o.GetPrice())
		} else {
			locked[base] += rest
		}
	}
	var out []*messages.AssetBalance
	for _, asset := range sortedKeys(a.paperBal) {
		total := a.paperBal[asset]
		out = append(out, &messages.AssetBalance{Asset: asset, Free: fmtDec(total - locked[asset]), Locked: fmtDec(locked[asset])})
	}
	return out
}

// onPnl is trading.pnl.
func (a *orderActor) onPnl(m *messages.PnlRequest) *messages.PnlResponse {
	if !a.loaded {
		return &messages.PnlResponse{Error: unavailable()}
	}
	resp := &messages.PnlResponse{Strategies: a.strategyBooks(m.GetStrategy())}
	t := a.books.totals("", a.nowMs())
	resp.Account = &messages.StrategyBook{RealizedPnl: fmtDec(t.realized), UnrealizedPnl: fmtDec(t.unrealized), Fees: fmtDec(t.fees),
		DailyPnl: fmtDec(t.daily), Used: fmtDec(t.notional), Halted: a.gate.manual, Fills: t.fills}
	return resp
}

// strategyBooks sums each strategy's book (name "" : all).
func (a *orderActor) strategyBooks(name string) []*messages.StrategyBook {
	names := map[string]bool{}
	for s := range a.books.pos {
		names[s] = true
	}
	for s := range a.cfg.Books {
		names[s] = true
	}
	var out []*messages.StrategyBook
	now := a.nowMs()
	for _, s := range sortedKeys(names) {
		if name != "" && s != name {
			continue
		}
		t := a.books.totals(s, now)
		b := &messages.StrategyBook{Strategy: s, RealizedPnl: fmtDec(t.realized), UnrealizedPnl: fmtDec(t.unrealized), Fees: fmtDec(t.fees),
			DailyPnl: fmtDec(t.daily), Used: fmtDec(a.used(s)), OpenOrders: uint32(a.openOrders(s)), Halted: a.gate.strategies[s], Fills: t.fills}
		if c, ok := a.cfg.Books[s]; ok {
			b.Allocation, b.QuoteAsset = fmtDec(c.Allocation), c.QuoteAsset
			b.Available = fmtDec(c.Allocation - a.used(s))
		}
		out = append(out, b)
	}
	return out
}

// onBackup is journal.backup: a consistent copy (VACUUM INTO) written off
// the mailbox.
func (a *orderActor) onBackup(ctx actor.Context, m *messages.JournalBackupRequest) {
	path := m.GetPath()
	if path == "" || len(path) > 4096 || !filepath.IsAbs(path) {
		ctx.Respond(&messages.JournalBackupResponse{Error: invalid([]string{"path: an absolute file path is required"})})
		return
	}
	if _, err := os.Lstat(path); err == nil {
		ctx.Respond(&messages.JournalBackupResponse{Error: messages.Errorf(messages.ErrorCode_ERROR_CODE_ALREADY_EXISTS, "%s exists; choose a new file", path)})
		return
	}
	a.read(ctx, &messages.JournalBackupResponse{Error: unavailable()}, func(j *journal.Journal) any {
		n, err := j.Backup(path)
		if err != nil {
			return &messages.JournalBackupResponse{Error: internal("backup failed: %v", err)}
		}
		return &messages.JournalBackupResponse{Path: path, Bytes: n, SchemaVersion: int32(j.SchemaVersion())}
	})
}

// onSaveState stores a strategy's state; answered once durable.
func (a *orderActor) onSaveState(ctx actor.Context, m *messages.SaveStrategyStateRequest) {
	switch {
	case !a.loaded:
		ctx.Respond(&messages.SaveStrategyStateResponse{Error: unavailable()})
		return
	case !strategyRE.MatchString(m.GetStrategy()):
		ctx.Respond(&messages.SaveStrategyStateResponse{Error: invalid([]string{"strategy: must match " + strategyRE.String()})})
		return
	case len(m.GetState()) > maxStateSize:
		ctx.Respond(&messages.SaveStrategyStateResponse{Error: invalid([]string{"state: larger than 1 MiB"})})
		return
	}
	sender, now := ctx.Sender(), a.nowMs()
	a.write([]journal.Op{journal.PutState{Strategy: m.GetStrategy(), State: m.GetState(), SavedMs: now}}, func(ctx actor.Context, err error) {
		resp := &messages.SaveStrategyStateResponse{SavedMs: now}
		if err != nil {
			resp = &messages.SaveStrategyStateResponse{Error: internal("the journal refused the state: %v", err)}
		}
		ctx.Send(sender, resp)
	})
}

// onLoadState reads a strategy's state off the mailbox.
func (a *orderActor) onLoadState(ctx actor.Context, m *messages.LoadStrategyStateRequest) {
	name := m.GetStrategy()
	a.read(ctx, &messages.LoadStrategyStateResponse{Error: unavailable()}, func(j *journal.Journal) any {
		state, saved, err := j.State(name)
		if err != nil {
			return &messages.LoadStrategyStateResponse{Error: internal("journal read failed")}
		}
		return &messages.LoadStrategyStateResponse{State: state, SavedMs: saved}
	})
}
