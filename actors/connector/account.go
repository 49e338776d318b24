package connector

import (
	"context"
	"strings"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// Account access for the order actor: balances, open orders and the
// account's trades. Each is one signed GET through the job queue at order
// priority, charged to the budget and retried like any idempotent GET; the
// answer goes back to the sender (job.reply).

// Binance weights of the account calls.
const (
	weightAccount       = 20
	weightOpenOrders    = 6  // one symbol
	weightOpenOrdersAll = 80 // every symbol
	weightMyTrades      = 20
	// weightOrderTrades: myTrades of one order (orderId set).
	weightOrderTrades = 5
)

func (a *connectorActor) onAccount(ctx actor.Context, _ *messages.AccountRequest) {
	j := a.newJob(jobAccount, prioOrder)
	a.sendAccountJob(ctx, j)
}

func (a *connectorActor) onOpenOrders(ctx actor.Context, m *messages.OpenOrdersRequest) {
	sym := strings.ToUpper(m.GetSymbol())
	if sym != "" && !symbolRE.MatchString(sym) {
		ctx.Respond(&messages.OpenOrdersResponse{Error: invalid("symbol: must be empty (all symbols) or match %s", symbolRE)})
		return
	}
	j := a.newJob(jobOpenOrders, prioOrder)
	j.symbol = sym
	if sym == "" {
		j.weight = weightOpenOrdersAll
	}
	a.sendAccountJob(ctx, j)
}

func (a *connectorActor) onMyTrades(ctx actor.Context, m *messages.MyTradesRequest) {
	sym := strings.ToUpper(m.GetSymbol())
	limit := int(m.GetLimit())
	if limit == 0 {
		limit = 500
	}
	var e *messages.Error
	switch {
	case !symbolRE.MatchString(sym):
		e = invalid("symbol: required, must match %s", symbolRE)
	case m.GetFromId() < 0:
		e = invalid("from_id: must be >= 0, got %d", m.GetFromId())
	case m.GetOrderId() < 0:
		e = invalid("order_id: must be >= 0, got %d", m.GetOrderId())
	case m.GetStartTimeMs() < 0:
		e = invalid("start_time_ms: must be >= 0, got %d", m.GetStartTimeMs())
	case limit < 1 || limit > 1000:
		e = invalid("limit: must be in [1, 1000], got %d", limit)
	}
	if e != nil {
		ctx.Respond(&messages.MyTradesResponse{Error: e})
		return
	}
	j := a.newJob(jobMyTrades, prioOrder)
	j.symbol, j.fromID, j.limit, j.start, j.orderID = sym, m.GetFromId(), limit, m.GetStartTimeMs(), m.GetOrderId()
	if j.orderID > 0 {
		j.weight = weightOrderTrades
	}
	a.sendAccountJob(ctx, j)
}

// sendAccountJob queues j on behalf of the sender.
func (a *connectorActor) sendAccountJob(ctx actor.Context, j *job) {
	j.reply = ctx.Sender()
	if j.reply == nil {
		a.log.Warn("account request without a sender dropped", "kind", int(j.kind))
		return
	}
	a.enqueue(ctx, j)
}

// onAccountResult answers an account call: its converted answer, or an
// empty response of its kind carrying e.
func (a *connectorActor) onAccountResult(ctx actor.Context, j *job, val proto.Message, e *messages.Error) {
	if e != nil || val == nil {
		switch j.kind {
		case jobAccount:
			val = &messages.AccountResponse{Error: e}
		case jobOpenOrders:
			val = &messages.OpenOrdersResponse{Error: e}
		default:
			val = &messages.MyTradesResponse{Error: e}
		}
	}
	ctx.Send(j.reply, val)
}

// callAccount performs an account call with cl. It runs on a worker.
func callAccount(ctx context.Context, cl *binance.Client, j *job) (proto.Message, error) {
	switch j.kind {
	case jobAccount:
		acc, err := cl.NewGetAccountService().Do(ctx)
		if err != nil {
			return nil, err
		}
		return accountProto(acc), nil
	case jobOpenOrders:
		s := cl.NewListOpenOrdersService()
		if j.symbol != "" {
			s.Symbol(j.symbol)
		}
		os, err := s.Do(ctx)
		if err != nil {
			return nil, err
		}
		out := &messages.OpenOrdersResponse{Orders: make([]*messages.Order, 0, len(os))}
		for _, o := range os {
			out.Orders = append(out.Orders, orderProto(o))
		}
		return out, nil
	default:
		s := cl.NewListTradesService().Symbol(j.symbol).Limit(j.limit)
		if j.orderID > 0 {
			s.OrderId(j.orderID)
		}
		if j.fromID > 0 {
			s.FromID(j.fromID)
		} else if j.start > 0 {
			s.StartTime(j.start)
		}
		ts, err := s.Do(ctx)
		if err != nil {
			return nil, err
		}
		return tradesProto(ts), nil
	}
}

// accountProto keeps the balances that are not zero.
func accountProto(acc *binance.Account) *messages.AccountResponse {
	out := &messages.AccountResponse{UpdateTimeMs: int64(acc.UpdateTime)}
	for _, b := range acc.Balances {
		if isZero(b.Free) && isZero(b.Locked) {
			continue
		}
		out.Balances = append(out.Balances, &messages.AssetBalance{Asset: b.Asset, Free: b.Free, Locked: b.Locked})
	}
	return out
}

// isZero reports whether a decimal string is zero ("0", "0.00000000", "").
func isZero(s string) bool { return strings.Trim(s, "0.") == "" }

func tradesProto(ts []*binance.TradeV3) *messages.MyTradesResponse {
	out := &messages.MyTradesResponse{Trades: make([]*messages.ExchangeTrade, 0, len(ts))}
	for _, t := range ts {
		out.Trades = append(out.Trades, &messages.ExchangeTrade{
			Symbol: t.Symbol, Id: t.ID, OrderId: t.OrderID, Price: t.Price, Qty: t.Quantity, QuoteQty: t.QuoteQuantity,
			Commission: t.Commission, CommissionAsset: t.CommissionAsset, TimeMs: t.Time, IsBuyer: t.IsBuyer, IsMaker: t.IsMaker,
		})
	}
	return out
}
