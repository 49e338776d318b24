package connector

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/adshao/go-binance/v2/common"
	"google.golang.org/protobuf/proto"

	"github.com/superbot/superbot/messages"
)

// jobResult is what a worker sends back after one REST call. Local only.
type jobResult struct {
	job     *job
	val     proto.Message // converted answer (nil on error)
	server  int64         // jobTime: exchange ms; jobExchangeInfo: limit
	window  time.Duration // jobExchangeInfo: the limit's window
	rtt     time.Duration
	err     error
	info    respInfo
	elapsed time.Duration
}

// placeParams are the validated fields of a PlaceOrderRequest.
type placeParams struct {
	side, typ, quantity, price, tif string
}

// runWorker runs REST calls until jobs is closed. It runs on its own
// goroutine with its own go-binance client (a client must not be shared:
// it writes UsedWeight on every response) and only sends results back.
func runWorker(ctx context.Context, cl *binance.Client, timeout time.Duration, jobs <-chan *job, send func(any)) {
	for j := range jobs {
		if ctx.Err() != nil {
			return
		}
		cl.TimeOffset = j.offset.Milliseconds()
		rctx, cancel := context.WithTimeout(ctx, timeout)
		rctx, ri := withRespInfo(rctx)
		start := time.Now()
		res := &jobResult{job: j}
		res.val, res.server, res.window, res.err = call(rctx, cl, j)
		cancel()
		res.elapsed = time.Since(start)
		res.rtt = res.elapsed
		res.info = *ri
		send(res)
	}
}

// call performs j's request with cl.
func call(ctx context.Context, cl *binance.Client, j *job) (proto.Message, int64, time.Duration, error) {
	switch j.kind {
	case jobTime:
		t, err := cl.NewServerTimeService().Do(ctx)
		return nil, t, 0, err
	case jobExchangeInfo:
		info, err := cl.NewExchangeInfoService().Symbol("BTCUSDT").Do(ctx)
		if err != nil {
			var ae *common.APIError
			if !errors.As(err, &ae) || ae.Code != -1121 {
				return nil, 0, 0, err
			}
			if info, err = cl.NewExchangeInfoService().Do(ctx); err != nil {
				return nil, 0, 0, err
			}
		}
		for _, rl := range info.RateLimits {
			if rl.RateLimitType == "REQUEST_WEIGHT" {
				return nil, rl.Limit, intervalDuration(rl.Interval, rl.IntervalNum), nil
			}
		}
		return nil, 0, 0, nil
	case jobTicker:
		s, err := cl.NewListPriceChangeStatsService().Symbol(j.symbol).Do(ctx)
		if err != nil || len(s) == 0 {
			return nil, 0, 0, orEmpty(err)
		}
		return tickerProto(s[0]), 0, 0, nil
	case jobDepth:
		d, err := cl.NewDepthService().Symbol(j.symbol).Limit(j.limit).Do(ctx)
		if err != nil {
			return nil, 0, 0, err
		}
		return depthProto(j.symbol, d), 0, 0, nil
	case jobKlines:
		s := cl.NewKlinesService().Symbol(j.symbol).Interval(j.interval).Limit(j.limit)
		if j.start > 0 {
			s.StartTime(j.start)
		}
		if j.end > 0 {
			s.EndTime(j.end)
		}
		ks, err := s.Do(ctx)
		if err != nil {
			return nil, 0, 0, err
		}
		return klinesProto(j.symbol, j.interval, ks), 0, 0, nil
	case jobPlace, jobGetOrder, jobCancel:
		v, err := callOrder(ctx, cl, j)
		return v, 0, 0, err
	case jobAccount, jobOpenOrders, jobMyTrades:
		v, err := callAccount(ctx, cl, j)
		return v, 0, 0, err
	}
	return nil, 0, 0, errors.New("unknown job kind " + strconv.Itoa(int(j.kind)))
}

// callOrder places, queries or cancels an order with cl.
func callOrder(ctx context.Context, cl *binance.Client, j *job) (proto.Message, error) {
	switch j.kind {
	case jobPlace:
		p := j.place
		s := cl.NewCreateOrderService().Symbol(j.symbol).Side(binance.SideType(p.side)).Type(binance.OrderType(p.typ)).
			Quantity(p.quantity).NewClientOrderID(j.clientOrderID).NewOrderRespType(binance.NewOrderRespTypeRESULT)
		if p.price != "" {
			s.Price(p.price)
		}
		if p.tif != "" {
			s.TimeInForce(binance.TimeInForceType(p.tif))
		}
		o, err := s.Do(ctx)
		if err != nil {
			return nil, err
		}
		return &messages.Order{Symbol: o.Symbol, OrderId: o.OrderID, ClientOrderId: o.ClientOrderID, Side: string(o.Side),
			Type: string(o.Type), TimeInForce: string(o.TimeInForce), Price: o.Price, OrigQty: o.OrigQuantity,
			ExecutedQty: o.ExecutedQuantity, CumulativeQuoteQty: o.CummulativeQuoteQuantity, Status: string(o.Status),
			TimeMs: o.TransactTime, UpdateTimeMs: o.TransactTime}, nil
	case jobGetOrder:
		s := cl.NewGetOrderService().Symbol(j.symbol)
		if j.clientOrderID != "" {
			s.OrigClientOrderID(j.clientOrderID)
		} else {
			s.OrderID(j.orderID)
		}
		o, err := s.Do(ctx)
		if err != nil {
			return nil, err
		}
		return orderProto(o), nil
	default: // jobCancel
		s := cl.NewCancelOrderService().Symbol(j.symbol)
		if j.clientOrderID != "" {
			s.OrigClientOrderID(j.clientOrderID)
		} else {
			s.OrderID(j.orderID)
		}
		o, err := s.Do(ctx)
		if err != nil {
			return nil, err
		}
		return &messages.Order{Symbol: o.Symbol, OrderId: o.OrderID, ClientOrderId: o.OrigClientOrderID, Side: string(o.Side),
			Type: string(o.Type), TimeInForce: string(o.TimeInForce), Price: o.Price, OrigQty: o.OrigQuantity,
			ExecutedQty: o.ExecutedQuantity, CumulativeQuoteQty: o.CummulativeQuoteQuantity, Status: string(o.Status),
			TimeMs: o.TransactTime, UpdateTimeMs: o.TransactTime}, nil
	}
}

func orEmpty(err error) error {
	if err != nil {
		return err
	}
	return errors.New("empty answer")
}

// intervalDuration converts a rateLimits interval ("MINUTE", 1).
func intervalDuration(iv string, n int64) time.Duration {
	unit := map[string]time.Duration{"SECOND": time.Second, "MINUTE": time.Minute, "HOUR": time.Hour, "DAY": 24 * time.Hour}[iv]
	return unit * time.Duration(max(n, 1))
}

// failure classifies a REST error.
type failure int

const (
	failNone      failure = iota
	failRejected          // the exchange answered 4xx: the request was refused
	failLimited           // 429/418: not processed; wait for Retry-After
	failTimestamp         // -1021: re-sync the clock and send again
	failUnknown           // timeout, transport error, 5xx, -1006/-1007: may or may not have happened
	failNotFound          // -2013 (order does not exist)
)

// classify decides what err means for a request answered with ri.
func classify(err error, ri respInfo) (failure, int64) {
	if err == nil {
		return failNone, 0
	}
	var ae *common.APIError
	code := int64(0)
	if errors.As(err, &ae) {
		code = ae.Code
	}
	switch {
	case ri.status == http.StatusTooManyRequests || ri.status == http.StatusTeapot:
		if code == -1015 {
			return failRejected, code // too many new orders: this order is refused
		}
		return failLimited, code
	case ri.status >= 500 || code == -1006 || code == -1007:
		return failUnknown, code
	case code == -1021:
		return failTimestamp, code
	case code == -2013:
		return failNotFound, code
	case ae != nil && ri.status >= 400:
		return failRejected, code
	case ae != nil && ri.status == 0:
		return failRejected, code
	}
	return failUnknown, code
}
