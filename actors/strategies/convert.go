package strategies

import (
	"fmt"
	"strconv"

	"github.com/superbot/superbot/actors/strategies/strategy"
	"github.com/superbot/superbot/messages"
)

// num parses a decimal string; "" is 0.
func num(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	return strconv.ParseFloat(s, 64)
}

// decimal formats a price or quantity for the order actor.
func decimal(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// toBar converts a closed kline.
func toBar(k *messages.Kline) (strategy.Bar, error) {
	b := strategy.Bar{OpenTimeMs: k.GetOpenTimeMs(), CloseTimeMs: k.GetCloseTimeMs()}
	var errs [5]error
	b.Open, errs[0] = num(k.GetOpen())
	b.High, errs[1] = num(k.GetHigh())
	b.Low, errs[2] = num(k.GetLow())
	b.Close, errs[3] = num(k.GetClose())
	b.Volume, errs[4] = num(k.GetVolume())
	for _, err := range errs {
		if err != nil {
			return b, fmt.Errorf("kline: %w", err)
		}
	}
	return b, nil
}

func toTick(p *messages.PriceUpdate) (strategy.Tick, error) {
	t := strategy.Tick{TimeMs: p.GetTradeTimeMs(), TradeID: p.GetTradeId()}
	var err1, err2 error
	t.Price, err1 = num(p.GetPrice())
	t.Quantity, err2 = num(p.GetQuantity())
	if err1 != nil || err2 != nil {
		return t, fmt.Errorf("price update: bad number")
	}
	return t, nil
}

// toLevels converts book levels into dst (reused).
func toLevels(dst []strategy.Level, src []*messages.PriceLevel) ([]strategy.Level, error) {
	dst = dst[:0]
	for _, l := range src {
		p, err1 := num(l.GetPrice())
		q, err2 := num(l.GetQuantity())
		if err1 != nil || err2 != nil {
			return dst, fmt.Errorf("book level: bad number")
		}
		dst = append(dst, strategy.Level{Price: p, Quantity: q})
	}
	return dst, nil
}

func toSide(s string) strategy.Side {
	if s == "SELL" {
		return strategy.Sell
	}
	return strategy.Buy
}

func toType(s string) strategy.OrderType {
	if s == "MARKET" {
		return strategy.Market
	}
	return strategy.Limit
}

// toStatus maps the journal's status onto the strategy's.
func toStatus(s messages.TradeOrderStatus) strategy.Status {
	switch s {
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW:
		return strategy.StatusNew
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_PARTIALLY_FILLED:
		return strategy.StatusPartiallyFilled
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED:
		return strategy.StatusFilled
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_CANCELED:
		return strategy.StatusCanceled
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_REJECTED, messages.TradeOrderStatus_TRADE_ORDER_STATUS_NOT_SENT:
		return strategy.StatusRejected
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_EXPIRED:
		return strategy.StatusExpired
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_UNKNOWN:
		return strategy.StatusUnknown
	case messages.TradeOrderStatus_TRADE_ORDER_STATUS_LOST:
		return strategy.StatusLost
	}
	return strategy.StatusPending
}

// toUpdate converts a journal order (numbers that do not parse are 0).
func toUpdate(ref uint64, o *messages.TradeOrder) strategy.OrderUpdate {
	u := strategy.OrderUpdate{
		Ref: ref, ClientOrderID: o.GetClientOrderId(), Status: toStatus(o.GetStatus()),
		Side: toSide(o.GetSide()), Type: toType(o.GetType()), Reason: o.GetReason(),
	}
	u.Price, _ = num(o.GetPrice())
	u.Quantity, _ = num(o.GetQuantity())
	u.Filled, _ = num(o.GetExecutedQty())
	u.AvgPrice, _ = num(o.GetAvgPrice())
	return u
}

func toFill(ref uint64, f *messages.TradeFill) strategy.Fill {
	out := strategy.Fill{
		Ref: ref, ClientOrderID: f.GetClientOrderId(), Side: toSide(f.GetSide()),
		FeeAsset: f.GetFeeAsset(), TimeMs: f.GetTimeMs(), Maker: f.GetMaker(),
	}
	out.Price, _ = num(f.GetPrice())
	out.Quantity, _ = num(f.GetQuantity())
	out.Fee, _ = num(f.GetFee())
	return out
}

// maxPrefix bounds Config.ClientIDPrefix so that ids keep a useful part
// of the strategy's name.
const maxPrefix = 8
