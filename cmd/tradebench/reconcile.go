package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/superbot/superbot/actors/exchangesim"
)

// The reconcile figure's exchange state.
const (
	reconcileOpen   = 1000
	reconcileFilled = 100 // orders the missed fills belong to
	reconcileTrades = 10000
)

// reconcileFigure seeds the exchange with reconcileOpen resting orders and
// reconcileTrades fills of reconcileFilled orders, none of which the daemon's
// (fresh) journal knows (client ids "ext-...": adopted as strategy "external"),
// starts the daemon live and reports the wall time from the process start to the
// gate open with a report "ok", the daemon's own reconcile time, its requests
// and weight, and the 429/418 the simulator sent.
func reconcileFigure(w io.Writer, bin, dir string) error {
	ex, err := newSim(nil, 0)
	if err != nil {
		return err
	}
	defer func() { _ = ex.Close() }()
	seeded, err := ex.Seed(exchangesim.Seed{APIKey: exchangesim.DefaultAPIKey, Symbol: "BTCUSDT", OpenOrders: reconcileOpen,
		FilledOrders: reconcileFilled, Trades: reconcileTrades, ClientIDPrefix: "ext"})
	if err != nil {
		return err
	}
	limitedBefore := ex.RateLimitAnswers()
	d, err := startDaemon(bin, dir, daemonConfig(ex, "live", ""))
	if err != nil {
		return err
	}
	defer d.stop()
	c, err := d.dial()
	if err != nil {
		return err
	}
	defer func() { _ = c.Close() }()
	res, err := waitOpen(c, 120*time.Second)
	if err != nil {
		return err
	}
	wall := time.Since(d.started)
	limited := ex.RateLimitAnswers() - limitedBefore
	rep := res.GetReport()
	fmt.Fprintf(w, "reconcile: exchange seeded with %d open orders and %d missed fills (%d filled orders), journal empty\n",
		seeded.OpenOrders, seeded.Trades, seeded.FilledOrders)
	fmt.Fprintf(w, "reconcile: process start to gate open: %s (daemon's report: %d ms, %d requests, weight %d); 429/418 from the simulator: %d\n",
		wall.Round(time.Millisecond), rep.GetFinishedMs()-rep.GetStartedMs(), rep.GetRequests(), rep.GetWeight(), limited)
	fmt.Fprintf(w, "reconcile: open orders seen %d, adopted %d, fills recorded %d, orders resolved %d\n",
		rep.GetOpenOrdersSeen(), rep.GetOrdersAdopted(), rep.GetFillsRecorded(), rep.GetOrdersResolved())
	var errs []error
	if limited != 0 {
		errs = append(errs, fmt.Errorf("the simulator answered %d 429/418", limited))
	}
	if rep.GetOrdersAdopted() != reconcileOpen || rep.GetFillsRecorded() != reconcileTrades {
		errs = append(errs, fmt.Errorf("adopted %d of %d open orders, recorded %d of %d fills",
			rep.GetOrdersAdopted(), reconcileOpen, rep.GetFillsRecorded(), reconcileTrades))
	}
	if wall > 3*time.Second {
		errs = append(errs, fmt.Errorf("reconciled in %s, the issue asks <= 3 s", wall.Round(time.Millisecond)))
	}
	return errors.Join(errs...)
}
