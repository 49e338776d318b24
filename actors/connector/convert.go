package connector

import (
	binance "github.com/adshao/go-binance/v2"

	"github.com/superbot/superbot/messages"
)

func tickerProto(s *binance.PriceChangeStats) *messages.TickerResponse {
	return &messages.TickerResponse{
		Symbol: s.Symbol, LastPrice: s.LastPrice, BidPrice: s.BidPrice, AskPrice: s.AskPrice,
		OpenPrice: s.OpenPrice, HighPrice: s.HighPrice, LowPrice: s.LowPrice, Volume: s.Volume,
		QuoteVolume: s.QuoteVolume, PriceChangePercent: s.PriceChangePercent, CloseTimeMs: s.CloseTime,
	}
}

func depthProto(symbol string, d *binance.DepthResponse) *messages.DepthResponse {
	out := &messages.DepthResponse{Symbol: symbol, LastUpdateId: d.LastUpdateID}
	for _, b := range d.Bids {
		out.Bids = append(out.Bids, &messages.PriceLevel{Price: b.Price, Quantity: b.Quantity})
	}
	for _, b := range d.Asks {
		out.Asks = append(out.Asks, &messages.PriceLevel{Price: b.Price, Quantity: b.Quantity})
	}
	return out
}

func klinesProto(symbol, interval string, ks []*binance.Kline) *messages.KlinesResponse {
	out := &messages.KlinesResponse{Symbol: symbol, Interval: interval}
	for _, k := range ks {
		out.Klines = append(out.Klines, &messages.Kline{
			OpenTimeMs: k.OpenTime, CloseTimeMs: k.CloseTime, Open: k.Open, High: k.High, Low: k.Low,
			Close: k.Close, Volume: k.Volume, QuoteVolume: k.QuoteAssetVolume, Trades: k.TradeNum,
		})
	}
	return out
}

func wsKlineProto(k *binance.WsKline) *messages.Kline {
	return &messages.Kline{
		OpenTimeMs: k.StartTime, CloseTimeMs: k.EndTime, Open: k.Open, High: k.High, Low: k.Low,
		Close: k.Close, Volume: k.Volume, QuoteVolume: k.QuoteVolume, Trades: k.TradeNum,
	}
}

func levels(in []binance.Bid) []*messages.PriceLevel {
	out := make([]*messages.PriceLevel, 0, len(in))
	for _, l := range in {
		out = append(out, &messages.PriceLevel{Price: l.Price, Quantity: l.Quantity})
	}
	return out
}

// orderProto converts an order as GET /api/v3/order and openOrders give it.
func orderProto(o *binance.Order) *messages.Order {
	return &messages.Order{Symbol: o.Symbol, OrderId: o.OrderID, ClientOrderId: o.ClientOrderID, Side: string(o.Side),
		Type: string(o.Type), TimeInForce: string(o.TimeInForce), Price: o.Price, OrigQty: o.OrigQuantity,
		ExecutedQty: o.ExecutedQuantity, CumulativeQuoteQty: o.CummulativeQuoteQuantity, Status: string(o.Status),
		TimeMs: o.Time, UpdateTimeMs: o.UpdateTime}
}
