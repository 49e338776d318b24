package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/shopspring/decimal"

	"github.com/superbot/superbot/actors/exchangesim"
	"github.com/superbot/superbot/messages"
	"github.com/superbot/superbot/runtime/client"
)

// The reconcile figure's exchange state.
const (
	reconcileOpen   = 1000
	reconcileFilled = 100 // orders the missed fills belong to
	reconcileTrades = 10000
)

// reconcileFigure: a daemon places reconcileFilled resting orders and stops; while it
// is down the exchange fills them with reconcileTrades fills and gains
// reconcileOpen resting orders the journal does not know (client ids "ext-...":
// adopted as strategy "external"). The daemon starts again; the figure is the wall
// time from its process start to the gate open with a report "ok", beside the
// daemon's own reconcile time, its requests and weight, and the 429/418 the
// simulator sent.
//
// traded says whether the journal holds a trade of the symbol from before (a daemon
// that traded); without one the daemon must still find all the fills of its orders.
func reconcileFigure(w io.Writer, bin, dir string, traded bool) error {
	ex, err := newSim(nil, 0)
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	cfg := daemonConfig(ex, "live", "")
	px := decimal.RequireFromString(ex.Price("BTCUSDT")).Mul(decimal.NewFromFloat(0.99)).Round(2).String()
	if err := placeResting(bin, dir, cfg, reconcileFilled, px, traded); err != nil {
		return err
	}
	seeded, err := ex.Seed(exchangesim.Seed{APIKey: exchangesim.DefaultAPIKey, Symbol: "BTCUSDT", OpenOrders: reconcileOpen,
		FillOpen: reconcileTrades, ClientIDPrefix: "ext"})
	if err != nil {
		return err
	}
	limitedBefore := ex.RateLimitAnswers()
	d, c, res, err := openDaemon(bin, dir, cfg, 120*time.Second)
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { _ = c.Close() }()
	wall := time.Since(d.started)
	limited := ex.RateLimitAnswers() - limitedBefore
	rep := res.GetReport()
	variant := "journal with an earlier trade of the symbol"
	if !traded {
		variant = "journal without a trade of the symbol"
	}
	fmt.Fprintf(w, "reconcile (%s): while the daemon was down: %d missed fills completed its %d resting orders; %d open orders it does not know appeared\n",
		variant, seeded.Trades, seeded.Filled, seeded.OpenOrders)
	fmt.Fprintf(w, "reconcile:   process start to gate open: %s (socket answering after %s; daemon's report: %d ms, %d requests, weight %d); 429/418 from the simulator: %d\n",
		wall.Round(time.Millisecond), d.up.Round(time.Millisecond), rep.GetFinishedMs()-rep.GetStartedMs(), rep.GetRequests(), rep.GetWeight(), limited)
	fmt.Fprintf(w, "reconcile:   open orders seen %d, adopted %d, fills recorded %d, orders resolved %d\n",
		rep.GetOpenOrdersSeen(), rep.GetOrdersAdopted(), rep.GetFillsRecorded(), rep.GetOrdersResolved())
	var errs []error
	if limited != 0 {
		errs = append(errs, fmt.Errorf("the simulator answered %d 429/418", limited))
	}
	if seeded.Filled != reconcileFilled {
		errs = append(errs, fmt.Errorf("%d of the daemon's %d orders were resting at the seed", seeded.Filled, reconcileFilled))
	}
	if rep.GetOrdersAdopted() != reconcileOpen || rep.GetFillsRecorded() != reconcileTrades {
		errs = append(errs, fmt.Errorf("adopted %d of %d open orders, recorded %d of %d fills",
			rep.GetOrdersAdopted(), reconcileOpen, rep.GetFillsRecorded(), reconcileTrades))
	}
	if wall > 3*time.Second {
		errs = append(errs, fmt.Errorf("reconciled in %s, the issue asks <= 3 s", wall.Round(time.Millisecond)))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s: %w", variant, errors.Join(errs...))
	}
	return nil
}

// placeResting runs a daemon on cfg that buys 0.001 BTCUSDT (filled at once) and
// places n resting BUY LIMIT orders of BTCUSDT at price (0.001, 100 quantity steps
// each), then stops it gracefully.
func placeResting(bin, dir, cfg string, n int, price string, traded bool) error {
	d, c, _, err := openDaemon(bin, dir, cfg, 60*time.Second)
	if err != nil {
		return err
	}
	defer d.stop()
	defer func() { _ = c.Close() }()
	// One marketable order first: the journal has a trade of BTCUSDT, as a daemon
	// that traded before has (trades are fetched from the journal's last one on).
	if traded {
		if err := buyThrough(c, price); err != nil {
			return err
		}
	}
	for i := range n {
		var res messages.PlaceTradeOrderResponse
		err := rpcCall(c, "trading.order.place", map[string]any{"strategy": "recon", "symbol": "BTCUSDT", "side": "BUY",
			"type": "LIMIT", "time_in_force": "GTC", "quantity": "0.001", "price": price}, &res)
		if err != nil {
			return fmt.Errorf("order %d: %w", i, err)
		}
		if st := res.GetOrder().GetStatus(); st != messages.TradeOrderStatus_TRADE_ORDER_STATUS_NEW {
			return fmt.Errorf("order %d: %s %s", i, st, res.GetOrder().GetReason())
		}
	}
	return nil
}

// buyThrough buys 0.001 BTCUSDT with a LIMIT IOC 3 % above price and waits until the
// journal says FILLED (the answer may come before the fill is applied).
func buyThrough(c *client.Client, price string) error {
	var res messages.PlaceTradeOrderResponse
	through := decimal.RequireFromString(price).Mul(decimal.NewFromFloat(1.03)).Round(2).String()
	if err := rpcCall(c, "trading.order.place", map[string]any{"strategy": "recon", "symbol": "BTCUSDT", "side": "BUY",
		"type": "LIMIT", "time_in_force": "IOC", "quantity": "0.001", "price": through}, &res); err != nil {
		return fmt.Errorf("first order: %w", err)
	}
	id := res.GetOrder().GetClientOrderId()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var orders messages.TradeOrdersResponse
		if err := rpcCall(c, "trading.orders", map[string]any{"strategy": "recon"}, &orders); err != nil {
			return err
		}
		for _, o := range orders.GetOrders() {
			if o.GetClientOrderId() == id && o.GetStatus() == messages.TradeOrderStatus_TRADE_ORDER_STATUS_FILLED {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("first order %s not FILLED in the journal within 10 s (answered %s)", id, res.GetOrder().GetStatus())
		}
	}
}
