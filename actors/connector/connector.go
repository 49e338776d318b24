// Package connector is SuperBot's only door to the exchange: an actor that
// owns the go-binance REST clients, the HTTP connection pool, one weighted
// request budget for the whole host and the market-data WebSocket streams.
//
// The actor never blocks its mailbox. REST calls run on a bounded pool of I/O
// workers (one go-binance client each: a client is not safe for concurrent
// calls) and come back as messages; each market stream has one goroutine that
// owns its connection and only sends messages back.
//
// Budget: every request has a Binance weight; the limit comes from
// exchangeInfo, the used weight is re-synced from X-MBX-USED-WEIGHT-1M, a
// headroom is kept, and queued requests leave in priority order (clock and
// limits, then orders, then market data). After a 429 or 418 nothing is sent,
// for anyone, until Retry-After has passed.
//
// Market data: identical concurrent requests are coalesced into one upstream
// call, and answers go through the cache actor with the TTL class of their
// kind ("ticker", "orderbook", "klines"). Idempotent GETs retry with backoff
// and jitter. Orders are never retried blindly: a timeout, a 5xx or a
// 429/418 after the request left is an unknown outcome, resolved by querying
// the client order ID (found: adopt; -2013: answered UNKNOWN, never resent:
// the order actor keeps resolving it). A placement that a ban in force keeps
// from leaving in time is NOT_SENT.
//
// Account access (balances, open orders, the account's trades) serves the
// order actor's reconciliation: signed GETs at order priority.
//
// User data: one WebSocket API connection (userDataStream.subscribe.signature)
// for every SubscribeUserDataRequest subscriber; execution reports and
// up/down changes go to each subscriber (see userdata.go).
//
// Streams are reference counted per subscriber PID (market.subscribe and
// [connector] streams: the connector itself holds the reference for the
// daemon), reconnect with backoff,
// reconnect when stale or before Binance's 24 h cut, and publish on the bus:
// price.SYMBOL.update, kline.SYMBOL.INTERVAL, book.SYMBOL.update. Closed
// klines are published once each and contiguously: gaps after a reconnect are
// filled from REST. Health changes are published as connector.up,
// connector.degraded and connector.down.
//
// Market streams are read by dialMarket (marketconn.go), not go-binance's
// Ws*Serve functions, whose URLs are package globals and whose stop races.
package connector

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	binance "github.com/adshao/go-binance/v2"
	"github.com/asynkron/protoactor-go/actor"

	"github.com/superbot/superbot/messages"
)

// Kind names the connector in the supervision tree.
const Kind = "connector"

// The connector answers every request with its response message; failures
// travel in the response's Error (INVALID_ARGUMENT before anything is sent,
// RATE_LIMITED when the budget, the queue or a ban refuses it, UNAVAILABLE
// when the exchange does not answer, NOT_FOUND, FAILED_PRECONDITION or
// UNAUTHENTICATED for exchange rejections). It never panics on a request.

// Deps are the connector's collaborators. Bus and Cache may be nil (no
// events; no caching).
type Deps struct {
	// Bus receives market data and health events (*messages.Event).
	Bus *actor.PID
	// Cache answers CacheGetRequest and CacheSetRequest.
	Cache *actor.PID
	// Logger is the connector's logger; nil discards.
	Logger *slog.Logger
}

// Props returns the connector's props (one connector per Props: a restart
// hands its subscriptions to the next incarnation through them). Validate
// cfg first: a producer has no error path.
func Props(cfg Config, deps Deps) *actor.Props {
	k := &kept{}
	return actor.PropsFromProducer(func() actor.Actor {
		log := deps.Logger
		if log == nil {
			log = slog.New(slog.DiscardHandler)
		}
		return &connectorActor{cfg: cfg, deps: deps, log: log.With("actor", Kind), kept: k}
	})
}

type connectorActor struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	kept *kept // carried over a restart

	self *actor.PID
	root *actor.RootContext
	gen  uint64 // incarnation: results of an earlier one are ignored

	transport *captureTransport
	jobs      chan *job
	cancel    context.CancelFunc
	timers    map[uint64]*time.Timer
	timerSeq  uint64

	budget  budget
	queue   jobQueue
	busy    int
	jobSeq  uint64
	ready   bool // exchangeInfo gave the limit
	offset  time.Duration
	syncing bool // a clock sync is in flight; signed requests wait
	wakeAt  time.Time

	pending map[string]*pending // coalescing key -> waiters
	orders  map[string]*orderOp // client order ID -> in-flight placement

	streams  map[streamKey]*stream
	watching map[string]int // subscriber PID key -> references
	ud       *userData      // the user data stream (nil: no subscriber)
	offsetMs *atomic.Int64  // a.offset for the user data runner's signatures

	health      string
	healthWhy   string
	netFailures int
	stats       counters
}

// incarnations numbers connector instances process-wide (a restart makes a
// new one; the clock is too coarse to tell them apart).
var incarnations atomic.Uint64

type counters struct {
	upstream, coalesced, cacheHits, cacheMisses, retries, rateLimited uint64
	// status429 and status418 split rateLimited by the exchange's answer;
	// reconnects counts every stream reconnect (market and user data).
	status429, status418, reconnects uint64
}

// Receive is the connector's mailbox.
func (a *connectorActor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.onStarted(ctx)
	case *actor.Stopping, *actor.Restarting: // a restart discards this instance
		a.keep(ctx)
		a.release()
	case *messages.PingRequest:
		ctx.Respond(&messages.PingResponse{Name: Kind})
	case *messages.TickerRequest:
		a.onTicker(ctx, msg)
	case *messages.DepthRequest:
		a.onDepth(ctx, msg)
	case *messages.KlinesRequest:
		a.onKlines(ctx, msg)
	case *messages.ConnectorStatusRequest:
		ctx.Respond(a.status())
	case *messages.PlaceOrderRequest:
		a.onPlaceOrder(ctx, msg)
	case *messages.GetOrderRequest:
		a.onGetOrder(ctx, msg)
	case *messages.CancelOrderRequest:
		a.onCancelOrder(ctx, msg)
	case *messages.AccountRequest:
		a.onAccount(ctx, msg)
	case *messages.OpenOrdersRequest:
		a.onOpenOrders(ctx, msg)
	case *messages.MyTradesRequest:
		a.onMyTrades(ctx, msg)
	case *messages.SubscribeUserDataRequest:
		a.onSubscribeUserData(ctx, msg)
	case *messages.MarketSubscribeRequest:
		ctx.Respond(a.onMarketSubscribe(ctx, msg))
	case *messages.MarketUnsubscribeRequest:
		ctx.Respond(a.onMarketUnsubscribe(ctx, msg))
	case *messages.SubscribeStreamRequest:
		ctx.Respond(a.onSubscribe(ctx, msg))
	case *messages.UnsubscribeStreamRequest:
		ctx.Respond(a.onUnsubscribe(ctx, msg))
	case *actor.Terminated:
		a.onSubscriberGone(ctx, msg.Who)
	case *jobResult:
		a.onJobResult(ctx, msg)
	case *timerFired:
		a.onTimer(ctx, msg)
	case *streamState:
		a.onStreamState(ctx, msg)
	case *streamData:
		a.onStreamData(ctx, msg)
	case *userDataState:
		a.onUserDataState(ctx, msg)
	case *userDataReport:
		a.onUserDataReport(ctx, msg)
	case *messages.CacheSetResponse, *actor.Stopped:
		// cache writes are fire-and-forget; Stopping released everything
	default:
		a.log.Warn("unhandled message", "type", fmt.Sprintf("%T", msg))
	}
}

func (a *connectorActor) onStarted(ctx actor.Context) {
	a.self, a.root = ctx.Self(), ctx.ActorSystem().Root
	a.gen = incarnations.Add(1)
	a.timers = map[uint64]*time.Timer{}
	a.pending = map[string]*pending{}
	a.orders = map[string]*orderOp{}
	a.streams = map[streamKey]*stream{}
	a.watching = map[string]int{}
	a.offsetMs = new(atomic.Int64)
	a.budget = newBudget(a.cfg)
	a.health = "down"
	a.healthWhy = "starting"

	a.transport = newTransport(a.cfg)
	hc := &http.Client{Transport: a.transport}
	apiKey, secret := a.cfg.keys()
	var bctx context.Context
	bctx, a.cancel = context.WithCancel(context.Background())
	a.jobs = make(chan *job, a.cfg.IOWorkers)
	send := a.sender()
	for range a.cfg.IOWorkers {
		cl := binance.NewClient(apiKey, secret)
		cl.BaseURL = a.cfg.restURL()
		cl.HTTPClient = hc
		go runWorker(bctx, cl, a.cfg.RequestTimeout, a.jobs, send)
	}
	a.enqueue(ctx, a.newJob(jobTime, prioSystem))
	a.enqueue(ctx, a.newJob(jobExchangeInfo, prioSystem))
	a.after(a.cfg.TimeSyncInterval, timerTimeSync, nil)
	a.after(time.Second, timerSweep, nil)
	a.openConfigStreams(ctx)
	a.restoreKept(ctx)
	a.log.Info("connector started", "endpoint", a.cfg.Endpoint, "rest", a.cfg.restURL(), "ws", a.cfg.wsURL(), "io_workers", a.cfg.IOWorkers)
}

// sender returns a function that sends to this incarnation from any goroutine.
func (a *connectorActor) sender() func(any) {
	root, self := a.root, a.self
	return func(m any) { root.Send(self, m) }
}

func (a *connectorActor) release() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	close(a.jobs)
	for _, t := range a.timers {
		t.Stop()
	}
	for _, st := range a.streams {
		close(st.stop)
	}
	a.streams = map[streamKey]*stream{}
	if a.ud != nil {
		close(a.ud.stop)
		a.ud = nil
	}
	a.transport.close()
	a.cancel = nil
}
